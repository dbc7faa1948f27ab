"""Offline USPS facts: state codes, state names and 3-digit zip prefixes per state; no I/O.

Which codes a lead may carry is a decision (see the validation docs): the 50 states, DC and
the inhabited territories PR, VI, GU, AS, MP are sendable; the military mail codes AA, AE,
AP are known but refused (an APO/FPO box is not a house); the freely associated states FM,
MH, PW and Canada's provinces are known only to be named as foreign.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The 50 states, DC and the five inhabited territories: the codes a lead may be sent with.
STATE_NAMES: dict[str, str] = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "District of Columbia",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "PR": "Puerto Rico",
    "VI": "Virgin Islands",
    "GU": "Guam",
    "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}

STATE_CODES = frozenset(STATE_NAMES)

# The military mail "states" (APO/FPO/DPO): real USPS codes, but never a house to survey.
MILITARY_NAMES: dict[str, str] = {
    "AA": "Armed Forces Americas",
    "AE": "Armed Forces Europe",
    "AP": "Armed Forces Pacific",
}
MILITARY_CODES = frozenset(MILITARY_NAMES)

# Codes a US address form may offer that are not the US: the freely associated states
# (their own countries, with USPS service) and Canada's provinces and territories.
FOREIGN_REGIONS: dict[str, str] = {
    "FM": "the Federated States of Micronesia",
    "MH": "the Marshall Islands",
    "PW": "Palau",
    "AB": "Alberta, Canada",
    "BC": "British Columbia, Canada",
    "MB": "Manitoba, Canada",
    "NB": "New Brunswick, Canada",
    "NL": "Newfoundland and Labrador, Canada",
    "NS": "Nova Scotia, Canada",
    "NT": "the Northwest Territories, Canada",
    "NU": "Nunavut, Canada",
    "ON": "Ontario, Canada",
    "PE": "Prince Edward Island, Canada",
    "QC": "Quebec, Canada",
    "SK": "Saskatchewan, Canada",
    "YT": "Yukon, Canada",
}
_FOREIGN_NAME_ALIASES: dict[str, str] = {
    "FEDERATED STATES OF MICRONESIA": "FM",
    "MICRONESIA": "FM",
    "MARSHALL ISLANDS": "MH",
    "PALAU": "PW",
    "ALBERTA": "AB",
    "BRITISH COLUMBIA": "BC",
    "MANITOBA": "MB",
    "NEW BRUNSWICK": "NB",
    "NEWFOUNDLAND AND LABRADOR": "NL",
    "NEWFOUNDLAND": "NL",
    "NOVA SCOTIA": "NS",
    "NORTHWEST TERRITORIES": "NT",
    "NUNAVUT": "NU",
    "ONTARIO": "ON",
    "PRINCE EDWARD ISLAND": "PE",
    "QUEBEC": "QC",
    "QUÉBEC": "QC",
    "SASKATCHEWAN": "SK",
    "YUKON": "YT",
}

# Other spellings people type for the same places (upper-cased, single-spaced).
_NAME_ALIASES: dict[str, str] = {
    "WASHINGTON DC": "DC",
    "WASHINGTON D.C.": "DC",
    "D.C.": "DC",
    "US VIRGIN ISLANDS": "VI",
    "U.S. VIRGIN ISLANDS": "VI",
    "NORTHERN MARIANAS": "MP",
    "VIRGIN ISLANDS OF THE UNITED STATES": "VI",
    "USVI": "VI",
    "COMMONWEALTH OF PUERTO RICO": "PR",
}

# Full name (upper-cased, single-spaced) -> code.
STATE_BY_NAME: dict[str, str] = {name.upper(): code for code, name in STATE_NAMES.items()}
STATE_BY_NAME.update(_NAME_ALIASES)
# Names of the codes that are known but not sendable (military, foreign), same shape.
OTHER_REGION_BY_NAME: dict[str, str] = {
    **{name.upper(): code for code, name in MILITARY_NAMES.items()},
    **_FOREIGN_NAME_ALIASES,
}

# 3-digit zip prefixes per state, as inclusive ranges (USPS prefix assignments), and the
# prefixes that also serve other states (SHARED_PREFIXES). Prefixes in no range (000-004,
# 886, 887, ...) belong to no state. The military codes have prefixes too (AE 090-099,
# AA 340, AP 962-966): their zips are known; the code itself is refused elsewhere.
ZIP_PREFIX_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "NY": ((5, 5), (100, 149)),
    "PR": ((6, 7), (9, 9)),
    "VI": ((8, 8),),
    "MA": ((10, 27), (55, 55)),
    "RI": ((28, 29),),
    "NH": ((30, 38),),
    "ME": ((39, 49),),
    "VT": ((50, 54), (56, 59)),
    "CT": ((60, 69),),
    "NJ": ((70, 89),),
    "AE": ((90, 99),),
    "PA": ((150, 196),),
    "DE": ((197, 199),),
    "DC": ((200, 200), (202, 205), (569, 569), (888, 888)),
    "VA": ((201, 201), (220, 246)),
    "MD": ((206, 219),),
    "WV": ((247, 268),),
    "NC": ((270, 289),),
    "SC": ((290, 299),),
    "GA": ((300, 319), (398, 399)),
    "FL": ((320, 339), (341, 349)),
    "AA": ((340, 340),),
    "AL": ((350, 369),),
    "TN": ((370, 385),),
    "MS": ((386, 397),),
    "KY": ((400, 427),),
    "OH": ((430, 459),),
    "IN": ((460, 479),),
    "MI": ((480, 499),),
    "IA": ((500, 528),),
    "WI": ((530, 549),),
    "MN": ((550, 567),),
    "SD": ((570, 577),),
    "ND": ((580, 588),),
    "MT": ((590, 599),),
    "IL": ((600, 629),),
    "KS": ((660, 679),),
    "NE": ((680, 693),),
    "LA": ((700, 714),),
    "AR": ((716, 729),),
    "MO": ((630, 658),),
    "OK": ((730, 732), (734, 749)),
    "TX": ((733, 733), (750, 799), (885, 885)),
    "CO": ((800, 816),),
    "WY": ((820, 831),),
    "ID": ((832, 838),),
    "UT": ((840, 847),),
    "AZ": ((850, 865),),
    "NM": ((870, 884),),
    "NV": ((889, 898),),
    "CA": ((900, 961),),
    "AP": ((962, 966),),
    "HI": ((967, 968),),
    "AS": (),
    "GU": ((969, 969),),
    "MP": (),
    "OR": ((970, 979),),
    "WA": ((980, 994),),
    "AK": ((995, 999),),
}

# Prefixes shared across a state line: prefix -> the other states it serves (after the
# one whose range holds it).
SHARED_PREFIXES: dict[int, tuple[str, ...]] = {
    63: ("NY",),  # Fishers Island, NY is 06390
    205: ("MD", "VA"),  # federal agencies' own zips: 20588 (MD), 20598 (VA)
    726: ("MO",),  # the Missouri side of Lead Hill, AR (72644)
    739: ("TX",),  # Texhoma, TX (73960) beside Texhoma, OK
    834: ("WY",),  # Alta, WY (83414) is served from Idaho
    967: ("AS",),  # American Samoa's 96799 beside Hawaii's 967
    969: ("MP",),  # Guam and the Northern Marianas share 969
}


def _either(states: list[str]) -> str:
    return states[0] if len(states) == 1 else ", ".join(states[:-1]) + " or " + states[-1]


def _prefix_owners() -> list[list[str]]:
    owners: list[list[str]] = [[] for _ in range(1000)]
    for state, ranges in ZIP_PREFIX_RANGES.items():
        for low, high in ranges:
            for prefix in range(low, high + 1):
                owners[prefix].append(state)
    for prefix, states in SHARED_PREFIXES.items():
        owners[prefix].extend(states)
    return owners


_OWNERS = _prefix_owners()
# "840" -> "UT"; "969" -> "GU or MP"; "205" -> "DC, MD or VA"; prefixes of no state left out.
PREFIX_OWNER_TEXT: dict[str, str] = {
    f"{p:03d}": _either(states) for p, states in enumerate(_OWNERS) if states
}


# Lookup tables indexed by prefix number (1000 = not a zip) and state position (last = none).
_STATE_ORDER = {code: position for position, code in enumerate(ZIP_PREFIX_RANGES)}
_NO_PREFIX = 1000
_IN_STATE = np.zeros((_NO_PREFIX + 1, len(_STATE_ORDER) + 1), dtype=bool)
for _prefix, _states in enumerate(_OWNERS):
    for _state in _states:
        _IN_STATE[_prefix, _STATE_ORDER[_state]] = True
_KNOWN_PREFIX = np.asarray(_IN_STATE.any(axis=1), dtype=bool)


def states_of_zip(zip_code: str) -> list[str]:
    """States whose 3-digit prefixes include this 5-digit zip ([] when none or malformed)."""
    if len(zip_code) < 3 or not zip_code[:3].isdigit():
        return []
    return list(_OWNERS[int(zip_code[:3])])


def _prefix_numbers(zips: pd.Series) -> np.ndarray:
    """Each zip's 3-digit prefix as a number; 1000 where the value is not 5 digits."""
    codes, uniques = pd.factorize(zips.to_numpy(dtype=object))
    distinct = pd.Series(uniques, dtype=object)
    five = distinct.str.fullmatch(r"[0-9]{5}").to_numpy(dtype=bool)
    prefixes = distinct.str.slice(0, 3).where(five, str(_NO_PREFIX))
    return prefixes.astype(int).to_numpy()[codes]


def _state_numbers(states: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(states.to_numpy(dtype=object))
    positions = pd.Series(uniques, dtype=object).map(_STATE_ORDER).fillna(len(_STATE_ORDER))
    return positions.astype(int).to_numpy()[codes]


def zip_in_state(zips: pd.Series, states: pd.Series) -> np.ndarray:
    """True where the zip's prefix belongs to the state (both already normalized)."""
    return _IN_STATE[_prefix_numbers(zips), _state_numbers(states)]


def zip_prefix_known(zips: pd.Series) -> np.ndarray:
    """True where the zip is 5 digits whose 3-digit prefix belongs to some state or territory."""
    return _KNOWN_PREFIX[_prefix_numbers(zips)]
