"""Offline geocoding for the sandbox: zip or state to a plausible point, zone and office.

Not a real geocoder: a state centroid, refined for a few 3-digit zip prefixes, is enough
for a rehearsal. It must not touch the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    lat: float
    lng: float
    timezone: str


@dataclass(frozen=True)
class Office:
    id: int
    name: str
    lat: float
    lng: float


# Seeded offices every company shares; a lead without office_name goes to the nearest.
OFFICES: tuple[Office, ...] = (
    Office(1000, "Utah Office", 40.3916, -111.8508),
    Office(1001, "Arizona Office", 33.4152, -111.8315),
    Office(1002, "California Office", 33.6846, -117.8265),
    Office(1003, "Texas Office", 30.2672, -97.7431),
    Office(1004, "Florida Office", 27.9506, -82.4572),
    Office(1005, "New Jersey Office", 40.2206, -74.7597),
)

_NY, _CHI = "America/New_York", "America/Chicago"
_DEN, _LA = "America/Denver", "America/Los_Angeles"

# USPS code -> approximate centroid and the zone most of the state keeps.
STATES: dict[str, Place] = {
    "AL": Place(32.806671, -86.791130, _CHI),
    "AK": Place(61.370716, -152.404419, "America/Anchorage"),
    "AZ": Place(33.729759, -111.431221, "America/Phoenix"),
    "AR": Place(34.969704, -92.373123, _CHI),
    "CA": Place(36.116203, -119.681564, _LA),
    "CO": Place(39.059811, -105.311104, _DEN),
    "CT": Place(41.597782, -72.755371, _NY),
    "DE": Place(39.318523, -75.507141, _NY),
    "DC": Place(38.897438, -77.026817, _NY),
    "FL": Place(27.766279, -81.686783, _NY),
    "GA": Place(33.040619, -83.643074, _NY),
    "HI": Place(21.094318, -157.498337, "Pacific/Honolulu"),
    "ID": Place(44.240459, -114.478828, "America/Boise"),
    "IL": Place(40.349457, -88.986137, _CHI),
    "IN": Place(39.849426, -86.258278, "America/Indiana/Indianapolis"),
    "IA": Place(42.011539, -93.210526, _CHI),
    "KS": Place(38.526600, -96.726486, _CHI),
    "KY": Place(37.668140, -84.670067, _NY),
    "LA": Place(31.169546, -91.867805, _CHI),
    "ME": Place(44.693947, -69.381927, _NY),
    "MD": Place(39.063946, -76.802101, _NY),
    "MA": Place(42.230171, -71.530106, _NY),
    "MI": Place(43.326618, -84.536095, "America/Detroit"),
    "MN": Place(45.694454, -93.900192, _CHI),
    "MS": Place(32.741646, -89.678696, _CHI),
    "MO": Place(38.456085, -92.288368, _CHI),
    "MT": Place(46.921925, -110.454353, _DEN),
    "NE": Place(41.125370, -98.268082, _CHI),
    "NV": Place(38.313515, -117.055374, _LA),
    "NH": Place(43.452492, -71.563896, _NY),
    "NJ": Place(40.298904, -74.521011, _NY),
    "NM": Place(34.840515, -106.248482, _DEN),
    "NY": Place(42.165726, -74.948051, _NY),
    "NC": Place(35.630066, -79.806419, _NY),
    "ND": Place(47.528912, -99.784012, _CHI),
    "OH": Place(40.388783, -82.764915, _NY),
    "OK": Place(35.565342, -96.928917, _CHI),
    "OR": Place(44.572021, -122.070938, _LA),
    "PA": Place(40.590752, -77.209755, _NY),
    "PR": Place(18.220833, -66.590149, "America/Puerto_Rico"),
    # The other inhabited territories: the API geocodes their addresses. The military mail
    # codes (AA, AE, AP) and the freely associated states (FM, MH, PW) are not here: the
    # API refuses them.
    "VI": Place(18.335765, -64.896335, "America/St_Thomas"),
    "GU": Place(13.444304, 144.793731, "Pacific/Guam"),
    "AS": Place(-14.270972, -170.132217, "Pacific/Pago_Pago"),
    "MP": Place(15.097900, 145.673900, "Pacific/Saipan"),
    "RI": Place(41.680893, -71.511780, _NY),
    "SC": Place(33.856892, -80.945007, _NY),
    "SD": Place(44.299782, -99.438828, _CHI),
    "TN": Place(35.747845, -86.692345, _CHI),
    "TX": Place(31.054487, -97.563461, _CHI),
    "UT": Place(40.150032, -111.862434, _DEN),
    "VT": Place(44.045876, -72.710686, _NY),
    "VA": Place(37.769337, -78.169968, _NY),
    "WA": Place(47.400902, -121.490494, _LA),
    "WV": Place(38.491226, -80.954453, _NY),
    "WI": Place(44.268543, -89.616508, _CHI),
    "WY": Place(42.755966, -107.302490, _DEN),
}

# 3-digit zip prefix ranges (inclusive) -> state, from the USPS prefix allocation.
_ZIP3_STATES: tuple[tuple[int, int, str], ...] = (
    (5, 5, "NY"), (6, 7, "PR"), (8, 8, "VI"), (9, 9, "PR"), (10, 27, "MA"), (28, 29, "RI"),
    (30, 38, "NH"), (39, 49, "ME"), (50, 54, "VT"), (55, 55, "MA"), (56, 59, "VT"), (60, 69, "CT"),
    (70, 89, "NJ"), (100, 149, "NY"), (150, 196, "PA"), (197, 199, "DE"), (200, 205, "DC"),
    (206, 219, "MD"), (220, 246, "VA"), (247, 268, "WV"), (270, 289, "NC"), (290, 299, "SC"),
    (300, 319, "GA"), (320, 349, "FL"), (350, 369, "AL"), (370, 385, "TN"), (386, 397, "MS"),
    (398, 399, "GA"), (400, 427, "KY"), (430, 459, "OH"), (460, 479, "IN"), (480, 499, "MI"),
    (500, 528, "IA"), (530, 549, "WI"), (550, 567, "MN"), (569, 569, "DC"), (570, 577, "SD"),
    (580, 588, "ND"), (590, 599, "MT"), (600, 629, "IL"), (630, 658, "MO"), (660, 679, "KS"),
    (680, 693, "NE"), (700, 714, "LA"), (716, 729, "AR"), (730, 749, "OK"), (750, 799, "TX"),
    (800, 816, "CO"), (820, 831, "WY"), (832, 838, "ID"), (840, 847, "UT"), (850, 865, "AZ"),
    (870, 884, "NM"), (885, 885, "TX"), (889, 898, "NV"), (900, 961, "CA"), (967, 968, "HI"),
    (969, 969, "GU"), (970, 979, "OR"), (980, 994, "WA"), (995, 999, "AK"),
)  # fmt: skip

# A few metro prefixes, so leads in one state do not all sit on the same point.
_ZIP3_PLACES: dict[str, Place] = {
    "840": Place(40.3499, -111.9047, _DEN),  # Lehi, Saratoga Springs
    "841": Place(40.7608, -111.8910, _DEN),  # Salt Lake City
    "846": Place(40.2338, -111.6585, _DEN),  # Provo
    "847": Place(37.0965, -113.5684, _DEN),  # St. George
    "850": Place(33.4484, -112.0740, "America/Phoenix"),  # Phoenix
    "852": Place(33.4152, -111.8315, "America/Phoenix"),  # Mesa, Tempe
    "857": Place(32.2226, -110.9747, "America/Phoenix"),  # Tucson
    "891": Place(36.1699, -115.1398, _LA),  # Las Vegas
    "895": Place(39.5296, -119.8138, _LA),  # Reno
    "802": Place(39.7392, -104.9903, _DEN),  # Denver
    "837": Place(43.6150, -116.2023, "America/Boise"),  # Boise
    "838": Place(47.6777, -116.7805, _LA),  # Coeur d'Alene keeps Pacific time
    "900": Place(34.0522, -118.2437, _LA),  # Los Angeles
    "921": Place(32.7157, -117.1611, _LA),  # San Diego
    "926": Place(33.6595, -117.9988, _LA),  # Huntington Beach, Irvine
    "941": Place(37.7749, -122.4194, _LA),  # San Francisco
    "958": Place(38.5816, -121.4944, _LA),  # Sacramento
    "750": Place(32.7767, -96.7970, _CHI),  # Dallas
    "770": Place(29.7604, -95.3698, _CHI),  # Houston
    "787": Place(30.2672, -97.7431, _CHI),  # Austin
    "799": Place(31.7619, -106.4850, _DEN),  # El Paso keeps Mountain time
    "100": Place(40.7128, -74.0060, _NY),  # New York
    "021": Place(42.3601, -71.0589, _NY),  # Boston
    "606": Place(41.8781, -87.6298, _CHI),  # Chicago
    "331": Place(25.7617, -80.1918, _NY),  # Miami
    "336": Place(27.9506, -82.4572, _NY),  # Tampa
    "328": Place(28.5383, -81.3792, _NY),  # Orlando
}


def state_for_zip(zip_code: str) -> str | None:
    """The state a 5-digit zip belongs to, None when the prefix is unallocated."""
    prefix = int(zip_code[:3])
    for low, high, state in _ZIP3_STATES:
        if low <= prefix <= high:
            return state
    return None


def locate(zip_code: str | None, state: str | None) -> Place | None:
    """A plausible point for a lead: its zip's metro or state, else its state's centroid.

    A zip that belongs to another state than the one given loses: the state is usually
    typed by a person, the zip is what spreadsheets mangle.
    """
    zip_state = state_for_zip(zip_code) if zip_code else None
    if zip_code and zip_state and (not state or state == zip_state):
        return _ZIP3_PLACES.get(zip_code[:3], STATES.get(zip_state))
    return STATES.get(state) if state else None


def find_office(name: str | None, place: Place | None) -> Office | None:
    """The office named (case-insensitive), else the one nearest `place`, else None."""
    if name:
        wanted = name.strip().casefold()
        for office in OFFICES:
            if office.name.casefold() == wanted:
                return office
    if place is None:
        return None
    return min(OFFICES, key=lambda office: _distance_km(place, office))


def _distance_km(place: Place, office: Office) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (place.lat, place.lng, office.lat, office.lng))
    hav = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 12742.0 * math.asin(math.sqrt(hav))
