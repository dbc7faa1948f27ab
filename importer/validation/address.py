"""Parse one-cell US addresses (fullAddress) and spot PO boxes; no messages, no I/O.

An address is read from its end, as a US mailing line is written: an optional country,
then the zip, then the state (code or name), and before them the street and city, which
are kept as typed. Each distinct cell is parsed once (a cell is several regex searches;
pandas' .str methods would run the same searches cell by cell), and the results are
spread back over the rows.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from importer.countries import country_of, in_sentence
from importer.usps import (
    FOREIGN_REGIONS,
    MILITARY_CODES,
    OTHER_REGION_BY_NAME,
    STATE_BY_NAME,
    STATE_CODES,
)
from importer.validation.canonical import canonical_cells

# Problem codes an address can have ("" = none).
INVALID = "invalid_full_address"
NOT_US = "not_us_address"
MILITARY = "military_address"

# A street that is a mailbox, not a house: PO BOX 12, P.O. Box, P O BOX, Post Office Box,
# POB 12, PO Drawer 5, Caller Box 9, PMB 12 (a private mailbox at a mail store), a "Box 12"
# starting the street or after it ("200 Hawthorne Lane Box 33549", "2000 Chambers, Box A").
# Not Box Elder St or Boxwood Dr, and not a rural route's box ("RR 2 Box 15", "HC 68 Box 23"),
# which is a house on the route.
PO_BOX_PATTERN = (
    r"(?:^|[\s,(#])(?:p\.?\s*o\.?\s*(?:box|drawer|bx)(?![a-z])|post\s+office\s+box(?![a-z])"
    r"|pob\s*#?\s*\d|pmb\s*#?\s*\d|caller\s+box(?![a-z]))"
)
_PO_BOX = re.compile(PO_BOX_PATTERN, re.IGNORECASE)
_ANY_BOX = re.compile(r"\bbox\s*#?\s*(?:\d|[a-z](?![a-z]))", re.IGNORECASE)
_RURAL_ROUTE = re.compile(
    r"\b(?:r\.?\s?r\.?|hc|rfd|rural\s+route|star\s+route|route|rte)\s*#?\s*\d+[\s,]+box\b",
    re.IGNORECASE,
)
_MAYBE_BOX = re.compile(r"[bB]|(?i:rawer)")  # "DrAwer" too, as _PO_BOX ignores case
_BOX_WORDS = ("box", "bx", "pob", "pmb", "drawer")  # in ASCII text, one is in every box

_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_COMMAS = re.compile(r"\s*,[\s,]*")
# What a trailing number (a zip, or what is left of one) is made of.
_NUMBER_CHARS = "0123456789 -"
_ZIP5 = re.compile(r"\d{5}(?:-\d{4})?")
_ZIP_SPACED4 = re.compile(r"(\d{5}) (\d{4})")
_SHORT_ZIP = re.compile(r"\d{3,4}")
# A Canadian postal code (A1A 1A1), anywhere in the last part of the line.
_CANADIAN = re.compile(r"(?<![\w])([A-Za-z]\d[A-Za-z])[ -]?(\d[A-Za-z]\d)(?![\w])")
# The most words a state's name has ("Northern Mariana Islands", "Armed Forces Europe").
_LONGEST_NAME = 5
_ENDS_IN_ZIP = re.compile(r"\d{5}(?:-\d{4})?$")
_NOT_LETTER = re.compile(r"[^A-Za-z]")
_STATE_NAME_KEYS = {_NOT_LETTER.sub("", name).upper(): code for name, code in STATE_BY_NAME.items()}
_OTHER_NAME_KEYS = {
    _NOT_LETTER.sub("", name).upper(): code for name, code in OTHER_REGION_BY_NAME.items()
}


class ParsedAddress(NamedTuple):
    """One address cell read: the line to send, its parts, and what is wrong with it."""

    line: str  # the normalized line ("" when the address has a problem)
    street: str  # everything before the state and zip (street, unit, city)
    state: str  # a USPS code, or ""
    zip: str  # 5 digits (or ZIP+4), or ""
    zip_typed: str  # the zip as typed, when it was repaired (zero-padded)
    code: str = ""  # "" or INVALID / NOT_US / MILITARY
    why: str = ""  # what is wrong, to finish a message about the cell


def parse_address(text: str) -> ParsedAddress:
    """Read one address cell (see the module docstring); never raises."""
    if "\n" in text or "\r" in text:
        text = _BREAKS.sub(", ", text)
    line = " ".join(text.split())
    if "," in line:
        line = _COMMAS.sub(", ", line)
    line = line.strip(" ,;")
    line, foreign = _drop_country(line)
    if foreign:
        return _refused(NOT_US, f"is in {in_sentence(foreign)}, not the United States")
    canadian = _CANADIAN.search(line.rsplit(",", 1)[-1])
    if canadian:
        code = f"{canadian.group(1)} {canadian.group(2)}".upper()
        return _refused(NOT_US, f"has a Canadian postal code ({code}), not a US zip")
    rest, state, zip_code, zip_typed, problem = _state_and_zip(line)
    if problem:
        return _refused(*problem)
    if not (state or zip_code):
        return _refused(INVALID, "has no US state or zip code at its end")
    if not rest:
        return _refused(INVALID, "has no street before its state and zip")
    tail = " ".join(part for part in (state, zip_code) if part)
    return ParsedAddress(f"{rest}, {tail}", rest, state, zip_code, zip_typed)


def _refused(code: str, why: str) -> ParsedAddress:
    return ParsedAddress("", "", "", "", "", code, why)


def _drop_country(line: str) -> tuple[str, str]:
    """The line without a US country tail; or the foreign country it ends with."""
    if "," in line:
        rest, last = line.rsplit(",", 1)
        if _is_state_word(last):
            # "..., PR 00901, Puerto Rico": a territory named as the country, after the zip.
            return (rest.rstrip(" ,"), "") if _ENDS_IN_ZIP.search(rest) else (line, "")
        country = country_of(last.strip())
        if country == "US":
            return rest.rstrip(" ,"), ""
        if country is not None:
            return line, country
    words = line.split()
    for count in (1, 2, 3, 4):  # "USA", "United States", "United States of America"
        tail = " ".join(words[-count:])
        if count < len(words) and country_of(tail) == "US" and not _is_state_word(tail):
            return " ".join(words[:-count]).rstrip(" ,"), ""  # the line is single-spaced
    return line, ""


def _is_state_word(text: str) -> bool:
    """A US state or territory code or name (which wins over a country of that spelling)."""
    key = _letters_key(text)
    return key in STATE_CODES or key in _STATE_NAME_KEYS


@lru_cache(maxsize=65536)
def _letters_key(word: str) -> str:
    """A word's letters, upper-cased: how state codes and names are looked up."""
    return _NOT_LETTER.sub("", word).upper()


def _state_and_zip(line: str) -> tuple[str, str, str, str, tuple[str, str] | None]:
    """(rest, state, zip, zip as typed when repaired, problem) read from the line's end."""
    number = _number_tail(line)
    if number:
        before, typed = number
        rest, state, problem = _state_at_end(before, strict=False)
        if problem:
            return rest, "", "", "", problem
        zip_code, repaired, bad = _read_zip(typed, has_state=bool(state))
        if bad:
            return rest, state, "", "", (INVALID, f'ends in "{typed}", which is not a 5-digit zip')
        if zip_code:
            return rest, state, zip_code, typed if repaired else "", None
    rest, state, problem = _state_at_end(line, strict=True)
    return rest, state, "", "", problem


def _number_tail(line: str) -> tuple[str, str] | None:
    """(what stands before, the number) when the line ends in a number ("84601",
    "84601-1234", "8014") that is a word of its own (not the "80" of "I-80")."""
    head = line.rstrip(_NUMBER_CHARS)
    number = line[len(head) :].lstrip(" -")
    if not number or not number[0].isdigit() or not number[-1].isdigit():
        return None
    before = line[: len(line) - len(number)]
    if before and before[-1] not in " ,":
        return None
    return before.rstrip(" ,"), number


def _read_zip(typed: str, has_state: bool) -> tuple[str, bool, bool]:
    """(zip, repaired, bad) for the number ending a line.

    Five digits (or ZIP+4) are a zip. Three or four digits right after a state are a zip
    that lost its leading zeros (Excel): repaired. Any other number after a state is a
    bad zip; without a state it is not a zip at all (a house or box number).
    """
    if _ZIP5.fullmatch(typed):
        return typed, False, False
    spaced = _ZIP_SPACED4.fullmatch(typed)
    if spaced:
        return f"{spaced.group(1)}-{spaced.group(2)}", False, False
    if has_state and _SHORT_ZIP.fullmatch(typed):
        return typed.zfill(5), True, False
    return "", False, has_state


def _state_at_end(text: str, strict: bool) -> tuple[str, str, tuple[str, str] | None]:
    """(rest, state code, problem) for the state (code or name) ending `text`.

    Before a zip, two letters that are a part of their own (", ZZ 12345") are a state,
    judged; two letters after a space that are no code are part of the city. Without a zip
    (`strict`), a code must be upper-case or a part of its own, so the "Ct" of "12 Oak Ct"
    is not Connecticut.
    """
    head, comma, last = text.rpartition(",")
    words = last.split()
    before = f"{head}, " if comma else ""  # "12 Elm St, Provo UT" keeps its ", "
    for count in range(min(len(words), _LONGEST_NAME), 0, -1):
        word = " ".join(words[-count:])
        whole_part = count == len(words)
        rest = (head if whole_part else before + " ".join(words[:-count])).rstrip(" ,")
        key = _letters_key(word)
        if count > 1 or len(key) > 2:
            code = _STATE_NAME_KEYS.get(key) or _OTHER_NAME_KEYS.get(key)
            if code is not None:
                return rest, *_judge(code, word)
            continue
        letters = word.replace(".", "")
        if len(letters) != 2 or not letters.isalpha():
            continue
        own_part = whole_part and bool(comma)
        if strict and not (word.isupper() or own_part):
            continue
        if key in STATE_CODES or key in MILITARY_CODES or key in FOREIGN_REGIONS:
            return rest, *_judge(key, word)
        if own_part and not strict:
            return rest, "", (INVALID, f'has "{word}" before its zip, which is not a US state')
    return text, "", None


def _judge(code: str, word: str) -> tuple[str, tuple[str, str] | None]:
    if code in STATE_CODES:
        return code, None
    if code in MILITARY_CODES:
        return "", (MILITARY, f"has the military mail code {code} (APO/FPO/DPO), not a house")
    return "", (NOT_US, f'has "{word}", which is {FOREIGN_REGIONS[code]}, not the United States')


# ---------------------------------------------------------------- column-wide


def parse_addresses(values: pd.Series) -> pd.DataFrame:
    """Every cell of a (trimmed) column parsed, one row per cell: the ParsedAddress fields.

    Empty cells give an empty row with no problem. Cells already in the canonical shape
    are found column-wide and split without a parse (see validation/canonical.py); each
    distinct other cell is parsed once. Both give exactly what `parse_address` gives.
    """
    cells = values.to_numpy(dtype=object)
    columns = {name: np.full(len(cells), "", dtype=object) for name in ParsedAddress._fields}
    others = cells != ""
    for quick in canonical_cells(cells.tolist()):
        columns["line"][quick.rows] = cells[quick.rows]
        columns["street"][quick.rows] = quick.street
        columns["state"][quick.rows] = quick.state
        columns["zip"][quick.rows] = quick.zip
        others[quick.rows] = False
    rows = np.flatnonzero(others)
    codes, distinct = pd.factorize(cells[rows])
    parsed = [_canonical(text) or parse_address(text) for text in distinct.tolist()]
    for j, name in enumerate(ParsedAddress._fields):
        columns[name][rows] = np.array([fields[j] for fields in parsed], dtype=object)[codes]
    return pd.DataFrame(columns, index=values.index, dtype=object, copy=False)


_EMPTY = ParsedAddress("", "", "", "", "")
# "<street and city>, ST 12345[-6789]": the canonical shape (see validation/canonical.py),
# for the cells that column-wide search leaves out (not ASCII).
_CANONICAL = re.compile(r"(.+), ([A-Z]{2}) ([0-9]{5}(?:-[0-9]{4})?)")


def _canonical(text: str) -> ParsedAddress | None:
    """`parse_address(text)` for a cell in the canonical shape, else None (parse it fully).

    The shape: already single-spaced and comma-normalized (parse_address would not change
    it), ending ", ST 12345" with ST a state code, and nothing before that ends in a zip
    (which parse_address reads as an address followed by a territory's name). A test
    compares the two on every cell this takes.
    """
    match = _CANONICAL.fullmatch(text)
    if match is None:
        return None
    rest, state, zip_code = match.groups()
    if state not in STATE_CODES or _ENDS_IN_ZIP.search(rest):
        return None
    if " ".join(text.split()) != text or text.strip(" ,;") != text:
        return None
    if _COMMAS.sub(", ", text) != text:  # "12 Elm St , UT 84045" loses a space
        return None
    return ParsedAddress(text, rest, state, zip_code, "")


def is_po_box(values: pd.Series) -> np.ndarray:
    """Column-wide: True where the street text is (or holds) a PO box or a private mailbox."""
    texts = values.tolist()
    found = np.zeros(len(texts), dtype=bool)
    if texts:
        maybe = _box_candidates(texts)
        found[maybe] = [_is_box(texts[i]) for i in maybe.tolist()]
    return found


def _box_candidates(texts: list[str]) -> np.ndarray:
    """Rows whose text may hold a box: quick searches of the joined column, so that the
    full patterns run on few cells."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts = np.cumsum(lengths + 1) - lengths - 1
    bulk = "\x00".join(texts)
    if bulk.isascii():
        # Every pattern holds one of these words in some case. Literal searches of the
        # lower-cased column are much quicker than the search below, which stops at every
        # "b" ("Boston", "Blvd"): 1M streets in 0.1 s, not 0.6 (benchmarks/run.py dry_heavy).
        lowered = bulk.lower()
        hits = [m.start() for word in _BOX_WORDS for m in re.finditer(word, lowered)]
    else:
        hits = [m.start() for m in _MAYBE_BOX.finditer(bulk)]
    return np.unique(np.searchsorted(starts, hits, side="right") - 1)


def _is_box(text: str) -> bool:
    if _PO_BOX.search(text):
        return True
    return _ANY_BOX.search(text) is not None and _RURAL_ROUTE.search(text) is None
