"""One-cell addresses already in the canonical shape, found column-wide; no messages, no I/O.

The shape is the one a template like "{Street}, {City}, {State} {Zip}" writes, and most
cells of a big fullAddress column have: "<street and city>, ST 12345[-6789]", already
single-spaced with each comma followed by one space, ST a state code, and nothing before
", ST" that ends in a zip. `parse_address` would give such a cell back unchanged, split at
its end. This module finds those cells with numpy over the column's bytes (no regex, no
Python per cell) for speed alone: a 1M-row column in about 0.3 s, where a regex per cell
takes 1.5 s and parsing each cell 40 s (python benchmarks/run.py --only dry_heavy).
tests/test_speed_paths.py checks it against `parse_address` on generated and real cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress
from operator import itemgetter

import numpy as np
import pandas as pd

from importer.usps import STATE_CODES

_SPACE, _COMMA, _SEMICOLON, _HYPHEN = (ord(c) for c in " ,;-")
# Two capital letters as a number (26 * first + second): is it a state code, and which?
# ("AA", number 0, is none.)
_STATE = np.zeros(26 * 26, dtype=bool)
_STATE_TEXT = np.full(26 * 26, "", dtype=object)
for _code in STATE_CODES:
    _STATE[26 * (ord(_code[0]) - 65) + ord(_code[1]) - 65] = True
    _STATE_TEXT[26 * (ord(_code[0]) - 65) + ord(_code[1]) - 65] = _code
# Place values of nine digits, most significant first.
_PLACES = 10 ** np.arange(8, -1, -1, dtype=np.int64)
# The shortest canonical cell: a one-letter street, ", ST ", five digits.
_SHORTEST = 11


@dataclass
class CanonicalCells:
    """Some canonical cells of a column: their positions, and their parts in that order."""

    rows: np.ndarray
    street: np.ndarray
    state: np.ndarray
    zip: np.ndarray


def canonical_cells(cells: list[str]) -> list[CanonicalCells]:
    """The canonical cells among `cells` (trimmed text), split as parse_address splits them,
    in two groups: those with a five-digit zip and those with a ZIP+4.

    Cells that are not ASCII are never taken (parse those one by one).
    """
    ascii_rows = np.flatnonzero(np.fromiter(map(str.isascii, cells), dtype=bool, count=len(cells)))
    candidates = cells if len(ascii_rows) == len(cells) else [cells[i] for i in ascii_rows]
    state, zip_long, zip_number = _canonical_states(candidates)
    groups = []
    for width, long in ((5, False), (10, True)):
        take = (state != 0) & (zip_long == long)
        every = bool(take.all())
        group = candidates if every else list(compress(candidates, take.tolist()))
        # "<street>, ST <zip>": the zip is the last `width` characters, the state two
        # before it after a space (one shared str per state), the street before ", ".
        street = _sliced(group, slice(None, -(width + 5)))
        zip_code = _zip_text(zip_number[take], long)
        groups.append(CanonicalCells(ascii_rows[take], street, _STATE_TEXT[state[take]], zip_code))
    return groups


def _sliced(cells: list[str], part: slice) -> np.ndarray:
    return np.fromiter(map(itemgetter(part), cells), dtype=object, count=len(cells))


def _zip_text(numbers: np.ndarray, long: bool) -> np.ndarray:
    """The zips of canonical cells from their digits as numbers (12345, or 123456789 for
    "12345-6789"): the text each cell ends with, one str object per distinct zip (a column
    holds few). Twice as quick as slicing each cell and sharing the slices."""
    codes, distinct = pd.factorize(numbers)
    if long:
        texts = [f"{n // 10_000:05d}-{n % 10_000:04d}" for n in distinct.tolist()]
    else:
        texts = [f"{n:05d}" for n in distinct.tolist()]
    return np.array(texts, dtype=object)[codes]


# What is read of each cell: its last bytes, as far back as a ZIP+4, ", ST " and another
# ZIP+4 (which the street must not end with) reach.
_TAIL = 25
# Cells looked at together: their text, tails and the temporaries made of them stay small
# and their memory is reused block after block (new memory is slow to come by).
_BLOCK = 1 << 16


def _canonical_states(cells: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the state's number, 0 for a cell that is not canonical; whether it ends in a ZIP+4;
    its zip's digits as a number, meaningless for a cell that is not canonical) per cell of
    ASCII `cells`."""
    state = np.zeros(len(cells), dtype=np.int64)
    zip_long = np.zeros(len(cells), dtype=bool)
    zip_number = np.zeros(len(cells), dtype=np.int64)
    for start in range(0, len(cells), _BLOCK):
        block = slice(start, start + _BLOCK)
        state[block], zip_long[block], zip_number[block] = _block_states(cells[block])
    return state, zip_long, zip_number


def _block_states(cells: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_canonical_states` of a block of cells."""
    lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
    ok = lengths >= _SHORTEST
    if not ok.any():
        return np.zeros(len(cells), dtype=np.int64), ok, np.zeros(len(cells), dtype=np.int64)
    # NULs in front, so that every cell has a whole tail before it; NUL between cells.
    encoded = ("\x00" * _TAIL + "\x00".join(cells)).encode("ascii")
    ends = np.cumsum(lengths + 1) - 1 + _TAIL
    data = np.frombuffer(encoded, dtype=np.uint8)
    ok[_rows_with_bad_spacing(data, ends - lengths)] = False
    first = data[np.where(ok, ends - lengths, 0)]  # nor may a cell start with " ", "," or ";"
    ok &= (first != _SPACE) & (first != _COMMA) & (first != _SEMICOLON)
    # Each cell's last _TAIL bytes side by side (a cell shorter than that shows the end of
    # the one before, which the length tests keep out of every decision).
    tails = np.lib.stride_tricks.sliding_window_view(data, _TAIL)[ends - _TAIL]
    state, zip_long = _tail_state(tails, lengths)
    return np.where(ok, state, 0), zip_long & ok, _zip_number(tails, zip_long)


def _zip_number(tails: np.ndarray, zip_long: np.ndarray) -> np.ndarray:
    """The digits ending each tail as a number: the last five, or for a ZIP+4 the five
    before the hyphen then the four after it."""
    last = tails[:, -10:].astype(np.int64) - 48
    five = last[:, 5:] @ _PLACES[4:]
    nine = last[:, :5] @ _PLACES[:5] + last[:, 6:] @ _PLACES[5:]
    return np.where(zip_long, nine, five)


def _tail_state(tails: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the state's number or 0, ends in a ZIP+4) for each tail."""
    digit = (tails - 48) < 10  # bytes wrap around: below "0" is above "9" here
    zip_long = (lengths >= _SHORTEST + 5) & _zip_plus4(tails, digit, 0)
    short = _state_before_zip(tails, digit, lengths, 5)
    long = _state_before_zip(tails, digit, lengths, 10)
    return np.where(zip_long, long, short), zip_long


def _state_before_zip(
    tails: np.ndarray, digit: np.ndarray, lengths: np.ndarray, width: int
) -> np.ndarray:
    """The number of the state of each tail (of a cell of `lengths`) that is ", ST " and a
    zip `width` long, with no zip right before the comma (parse_address reads "..., 84045,
    UT 84601" as an address followed by a territory's name); 0 for the others."""
    zip_code = _zip_plus4(tails, digit, 0) if width == 10 else _digits(digit, 0, 5)
    first, second = _back(tails, width + 3), _back(tails, width + 2)
    shaped = (_back(tails, width + 1) == _SPACE) & (_back(tails, width + 4) == _SPACE)
    shaped &= _back(tails, width + 5) == _COMMA
    capitals = (first >= 65) & (first <= 90) & (second >= 65) & (second <= 90)
    number = np.where(capitals, 26 * (first.astype(np.int64) - 65) + second - 65, 0)
    street = lengths - width - 5
    after_zip = (street >= 5) & _digits(digit, width + 5, 5)
    after_zip |= (street >= 10) & _zip_plus4(tails, digit, width + 5)
    canonical = zip_code & shaped & capitals & _STATE[number] & ~after_zip
    return np.where(canonical, number, 0)


def _back(tails: np.ndarray, k: int) -> np.ndarray:
    """The byte `k` places before each cell's end."""
    return tails[:, _TAIL - k]


def _zip_plus4(tails: np.ndarray, digit: np.ndarray, skip: int) -> np.ndarray:
    """ "12345-6789" ends the tail once `skip` bytes are cut off its end."""
    hyphen = _back(tails, skip + 5) == _HYPHEN
    return _digits(digit, skip, 4) & hyphen & _digits(digit, skip + 5, 5)


def _digits(digit: np.ndarray, skip: int, count: int) -> np.ndarray:
    """`count` digits end the tail (`digit`: which of its bytes are digits) once `skip`
    bytes are cut off its end."""
    found = _back(digit, skip + 1).copy()
    for k in range(skip + 2, skip + count + 1):  # byte by byte: .all(axis=1) is slower
        found &= _back(digit, k)
    return found


def _rows_with_bad_spacing(data: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Rows (positions in `starts`) holding what parse_address would respace: whitespace
    other than a space, two spaces, a space before a comma, a comma with no space after.

    Control characters count as bad too (whitespace is among them): such a row is only
    parsed the slow way. NUL is not, being the separator. `data` is one block's bytes:
    a few numpy passes over it are quicker than searching the bytes for each pattern
    (5 ms a block of 65,536 cells, not 7.7; python benchmarks/run.py --only dry_heavy).
    """
    space, comma = data == _SPACE, data == _COMMA
    # Each byte with the one after it (the last byte has none: a comma there has no space).
    bad = np.zeros(len(data), dtype=bool)
    bad[:-1] = space[:-1] & (space[1:] | comma[1:])  # "  " or " ,"
    bad[:-1] |= comma[:-1] & ~space[1:]
    bad[-1:] |= comma[-1:]
    bad |= (data - 1) < 31  # 1 to 31 (bytes wrap around: NUL - 1 is 255)
    hits = np.flatnonzero(bad)
    return np.unique(np.searchsorted(starts, hits, side="right") - 1)
