"""Break a one-line US address and a full name into parts, as Enerflo does; no geocoding here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from importer.sandbox.geo import STATES

STATE_NAMES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI",
    "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
    "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND",
    "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "puerto rico": "PR", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
    "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA",
    "washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
    "virgin islands": "VI", "us virgin islands": "VI", "u.s. virgin islands": "VI",
    "guam": "GU", "american samoa": "AS", "northern mariana islands": "MP",
}  # fmt: skip

# Words that end a street name, so "2214 N Honeydew Dr Saratoga Springs" splits after "Dr".
_SUFFIX_WORDS = (
    "st street ave avenue av rd road dr drive ln lane blvd boulevard ct court cir circle "
    "pl place way pkwy parkway hwy highway ter terrace trl trail loop sq square cv cove "
    "pt point aly alley xing crossing plz plaza expy expressway fwy freeway bnd bend "
    "rdg ridge vw view walk crk creek cres crescent hts heights holw hollow"
)
_SUFFIXES = frozenset(_SUFFIX_WORDS.split())
# Abbreviations only: "West Jordan" and "South Jordan" are cities.
_DIRECTIONS = frozenset("n s e w ne nw se sw".split())  # noqa: SIM905
_UNITS = frozenset("apt unit ste suite bldg fl lot rm spc".split())  # noqa: SIM905
# Utah-style grid addresses have no suffix: "1180 W 400 N Orem".
_GRID = re.compile(r"^\d+\s+[NSEW]\.?\s+\d+\s+[NSEW]\.?(?=\s|$)", re.IGNORECASE)
_ZIP_TAIL = re.compile(r"(?:^|[\s,]+)(\d{5})(?:-\d{4})?$")
_CODE_TAIL = re.compile(r"(?:^|[\s,]+)([A-Za-z]{2})\.?$")
_COUNTRY_TAIL = re.compile(r"[\s,]+(?:USA|U\.S\.A\.|US|United States)$", re.IGNORECASE)
_NAME_TAILS = [
    (re.compile(rf"(?:^|[\s,]+){name}$", re.IGNORECASE), code)
    for name, code in sorted(STATE_NAMES.items(), key=lambda item: -len(item[0]))
]


@dataclass(frozen=True)
class AddressParts:
    address: str
    city: str
    state: str | None
    zip: str | None


def parse_full_address(text: str) -> AddressParts:
    """Split "2214 N Honeydew Dr, Saratoga Springs, UT 84045" (commas optional) into parts.

    Works from the end: zip, then state (code or name), then the city, which is the last
    comma-separated part, or what follows the street's suffix when there are no commas.
    """
    rest = _COUNTRY_TAIL.sub("", " ".join(text.split()).strip(" ,"))
    zip_code, rest = _take(_ZIP_TAIL, rest)
    state, rest = _take_state(rest)
    parts = [part.strip() for part in rest.split(",") if part.strip()]
    if len(parts) >= 2:
        return AddressParts(", ".join(parts[:-1]), parts[-1], state, zip_code)
    street, city = _split_street_city(parts[0] if parts else "")
    return AddressParts(street, city, state, zip_code)


def split_full_name(full_name: str) -> tuple[str, str]:
    """First word is the first name, the rest the last name; "Bueller, Ferris" also works."""
    if "," in full_name:
        last, _, first = full_name.partition(",")
        return " ".join(first.split()), " ".join(last.split())
    words = full_name.split()
    if not words:
        return "", ""
    return words[0], " ".join(words[1:])


def _take(pattern: re.Pattern[str], text: str) -> tuple[str | None, str]:
    match = pattern.search(text)
    if match is None:
        return None, text
    return match.group(1), text[: match.start()].rstrip(" ,")


def _take_state(text: str) -> tuple[str | None, str]:
    code, rest = _take(_CODE_TAIL, text)
    if code and code.upper() in STATES:
        return code.upper(), rest
    for pattern, state in _NAME_TAILS:
        match = pattern.search(text)
        if match:
            return state, text[: match.start()].rstrip(" ,")
    return None, text


def _split_street_city(text: str) -> tuple[str, str]:
    grid = _GRID.match(text)
    if grid:
        return grid.group(0), text[grid.end() :].strip()
    words = text.split()
    end = _street_end(words)
    return " ".join(words[:end]), " ".join(words[end:])


def _street_end(words: list[str]) -> int:
    """Index just past the street (suffix, then a direction or unit); all words if none."""
    bare = [word.strip(".,").lower() for word in words]
    for index in range(2, len(bare)):
        if bare[index] in _SUFFIXES:
            end = index + 1
            if end < len(bare) and bare[end] in _DIRECTIONS:
                end += 1
            if end < len(bare) and bare[end] in _UNITS:
                end = min(end + 2, len(bare))
            elif end < len(bare) and bare[end].startswith("#"):
                end += 1
            return end
    return len(words)
