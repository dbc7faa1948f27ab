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

import re
from dataclasses import dataclass
from itertools import compress
from operator import itemgetter

import numpy as np

from importer.usps import STATE_CODES

_SPACE, _COMMA, _SEMICOLON, _HYPHEN = (ord(c) for c in " ,;-")
# Two capital letters as a number (26 * first + second): is it a state code?
_STATE = np.zeros(26 * 26, dtype=bool)
_STATE[[26 * (ord(code[0]) - 65) + ord(code[1]) - 65 for code in STATE_CODES]] = True
_BAD_SPACING = [re.compile(b"  "), re.compile(b" ,"), re.compile(b",(?! )")]
_CONTROL = re.compile(b"[\x01-\x1f]")
_NOT_CONTROL = bytes([0, *range(32, 256)])
# The shortest canonical cell: a one-letter street, ", ST ", five digits.
_SHORTEST = 11


@dataclass
class CanonicalCells:
    """The canonical cells of a column: their positions, and their parts in that order."""

    rows: np.ndarray
    street: np.ndarray
    state: np.ndarray
    zip: np.ndarray


def canonical_cells(cells: list[str]) -> CanonicalCells:
    """The canonical cells among `cells` (trimmed text), split as parse_address splits them.

    Cells that are not ASCII are never taken (parse those one by one).
    """
    ascii_rows = np.flatnonzero(np.fromiter(map(str.isascii, cells), dtype=bool, count=len(cells)))
    candidates = cells if len(ascii_rows) == len(cells) else [cells[i] for i in ascii_rows]
    canonical, zip_long = _canonical_mask(candidates)
    rows, parts = [], []
    for width, long in ((5, False), (10, True)):
        take = canonical & (zip_long == long)
        rows.append(ascii_rows[take])
        group = list(compress(candidates, take.tolist()))
        # "<street>, ST <zip>": the zip is the last `width` characters, the state two
        # before it after a space, the street what comes before ", ".
        parts.append(
            [
                _sliced(group, slice(None, -(width + 5))),
                _sliced(group, slice(-(width + 3), -(width + 1))),
                _sliced(group, slice(-width, None)),
            ]
        )
    street, state, zip_code = (np.concatenate(column) for column in zip(*parts, strict=True))
    return CanonicalCells(np.concatenate(rows), street, state, zip_code)


def _sliced(cells: list[str], part: slice) -> np.ndarray:
    return np.fromiter(map(itemgetter(part), cells), dtype=object, count=len(cells))


# What is read of each cell: its last bytes, as far back as a ZIP+4, ", ST " and another
# ZIP+4 (which the street must not end with) reach.
_TAIL = 25


def _canonical_mask(cells: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(canonical, ends in a ZIP+4) per cell of ASCII `cells`."""
    lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
    ok = lengths >= _SHORTEST
    if not ok.any():
        return ok, np.zeros(len(cells), dtype=bool)
    starts = np.cumsum(lengths + 1) - lengths - 1
    encoded = "\x00".join(cells).encode("ascii")
    data = np.frombuffer(encoded, dtype=np.uint8)
    ok[_rows_with_bad_spacing(encoded, starts)] = False
    # Each cell's last _TAIL bytes side by side (a cell shorter than that shows the end of
    # the one before, which the length tests below keep out of every decision).
    padded = np.concatenate((np.zeros(_TAIL, dtype=np.uint8), data))
    tails = np.lib.stride_tricks.sliding_window_view(padded, _TAIL)[starts + lengths]
    zip_long = ok & (lengths >= _SHORTEST + 5) & _zip_plus4(tails, 0)
    for long, width in ((False, 5), (True, 10)):
        rows = np.flatnonzero(ok & (zip_long == long))
        ok[rows] = _state_before_zip(tails[rows], lengths[rows], width)
    first = data[np.where(ok, starts, 0)]  # nor may it start with a space, comma or ";"
    ok &= (first != _SPACE) & (first != _COMMA) & (first != _SEMICOLON)
    return ok, zip_long


def _state_before_zip(tails: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """Whether each tail (of a cell of `lengths`) is ", ST " and a zip `width` long, with
    no zip right before the comma (parse_address reads "..., 84045, UT 84601" as an address
    followed by a territory's name)."""
    zip_code = _zip_plus4(tails, 0) if width == 10 else _five_digits(tails, 0)
    first, second = _back(tails, width + 3), _back(tails, width + 2)
    shaped = (_back(tails, width + 1) == _SPACE) & (_back(tails, width + 4) == _SPACE)
    shaped &= _back(tails, width + 5) == _COMMA
    capitals = (first >= 65) & (first <= 90) & (second >= 65) & (second <= 90)
    state = _STATE[np.where(capitals, 26 * (first.astype(np.int64) - 65) + second - 65, 0)]
    street = lengths - width - 5
    after_zip = (street >= 5) & _five_digits(tails, width + 5)
    after_zip |= (street >= 10) & _zip_plus4(tails, width + 5)
    return zip_code & shaped & capitals & state & ~after_zip


def _back(tails: np.ndarray, k: int) -> np.ndarray:
    """The byte `k` places before each cell's end."""
    return tails[:, _TAIL - k]


def _five_digits(tails: np.ndarray, skip: int) -> np.ndarray:
    """Five digits end the tail once `skip` bytes are cut off its end."""
    return _digits(tails, skip, 5)


def _zip_plus4(tails: np.ndarray, skip: int) -> np.ndarray:
    """ "12345-6789" ends the tail once `skip` bytes are cut off its end."""
    hyphen = _back(tails, skip + 5) == _HYPHEN
    return _digits(tails, skip, 4) & hyphen & _digits(tails, skip + 5, 5)


def _digits(tails: np.ndarray, skip: int, count: int) -> np.ndarray:
    block = tails[:, _TAIL - skip - count : _TAIL - skip]
    return np.asarray(((block >= 48) & (block <= 57)).all(axis=1))


def _rows_with_bad_spacing(encoded: bytes, starts: np.ndarray) -> np.ndarray:
    """Rows (positions in `starts`) holding what parse_address would respace: whitespace
    other than a space, two spaces, a space before a comma, a comma with no space after.

    Control characters count as bad too (whitespace is among them): such a row is only
    parsed the slow way. NUL is not, being the separator. Searches of the bytes, not numpy
    arrays as long as the column: new memory is slow to come by on a big sheet.
    """
    hits = [m.start() for pattern in _BAD_SPACING for m in pattern.finditer(encoded)]
    if encoded.translate(None, _NOT_CONTROL):
        hits += [m.start() for m in _CONTROL.finditer(encoded)]
    return np.unique(np.searchsorted(starts, hits, side="right") - 1)
