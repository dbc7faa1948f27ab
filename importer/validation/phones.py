"""Mobile numbers: ten digits of a possible North American number; no messages, no I/O.

Column-wide like the other repairs (see normalize.py): an extension is cut, punctuation and
the US country code go, numbers Excel made of the cell are recovered, and what is left is
tested against the North American Numbering Plan on a fixed-width numpy array.
"""

from __future__ import annotations

import re
from itertools import compress

import numpy as np
import pandas as pd

from importer.validation.normalize import Normalized, with_warnings

# What Excel or pandas leave of a number: "8015554444.0", "8.015554444E+09", "8.015554444e9".
_NUMBER = r"[0-9]+\.0*|[0-9](?:\.[0-9]+)?[eE]\+?[0-9]{1,2}"
# Separators people type inside phone numbers.
_PHONE_PUNCTUATION = r"[\s().\-/+]"
_PHONE_PUNCTUATION_RE = re.compile(_PHONE_PUNCTUATION)
_PHONE_DELETE = bytes(c for c in range(128) if _PHONE_PUNCTUATION_RE.fullmatch(chr(c)))
# A trailing extension: "x12", "ext. 12", "ext 12", "extn 12", "extension 12", "#12".
_EXTENSION = r"(?i)^(.*?\d[)\s]*?)[\s,;]*(?:(?:x|ext|extn|extension)\.?:?|#)\s*\d{1,7}$"
_EXTENSION_RE = re.compile(_EXTENSION)
# Dialled from outside North America to another country: "+39", "0044", "011 44" (but
# "+1", "001" and "011 1" reach North America).
_FOREIGN_PREFIX = r"\s*(?:\+[\s(]*|0[\s(]*0|0[\s(]*1[\s(]*1)[\s()\-.]*[02-9]\d{0,2}"
_FOREIGN_PREFIX_RE = re.compile(_FOREIGN_PREFIX)


def normalize_mobile(values: pd.Series) -> Normalized:
    """Ten digits: an extension ("x12", "ext. 12", "#12") dropped with a warning,
    punctuation and spaces removed, a leading "+1"/"1" on 11 digits or the "001" a caller
    abroad dials dropped; numbers Excel made of the cell ("8015554444.0",
    "8.015554444E+09") recovered with a warning when they are exact integers of 10 or 11
    digits. Another country's prefix ("+39", "0044", "011 44") is left as typed, for
    `is_mobile` to reject; so are ten digits that are no possible North American number."""
    ten, mobile = _ten_digits(values)
    repair = ~ten & (values.to_numpy(dtype=object) != "")
    if not repair.any():
        return Normalized(values.copy(), known={is_mobile: mobile})
    sub = values[repair]
    base, extension = _without_extension(sub)
    number = _numbers(base)
    digits = _without_punctuation(base)
    if number.any():
        digits[number] = _integer_text(base[number])
    digits = _without_country_prefix(digits, _abroad(base))
    ten, possible = _ten_digits(digits)
    good = pd.Series(ten & possible, index=digits.index)
    # By position, not by label: aligning 1M labels costs more than the repair.
    repaired = values.to_numpy(dtype=object).copy()
    fixed = np.flatnonzero(repair)[good.to_numpy()]
    repaired[fixed] = digits.to_numpy(dtype=object)[good]
    out = pd.Series(repaired, index=values.index, dtype=values.dtype, copy=False)
    # What is_mobile would say of `out`: numbers possible as typed, and those repaired
    # (a cell left as typed is not ten digits, or it would not have been repaired).
    mobile[fixed] = True
    normalized = with_warnings(
        out,
        mobile_recovered_from_number=number & good,
        mobile_extension_dropped=extension & good,
    )
    normalized.known[is_mobile] = mobile
    return normalized


def _without_extension(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The cells without a trailing extension, and where one was cut."""
    cells = values.tolist()
    cut = np.zeros(len(cells), dtype=bool)
    # Only cells holding an x, a t (ext) or a # can have one: the regex runs on those alone,
    # and a column with none at all is passed over with a few searches of its joined text.
    bulk = "\x00".join(cells)
    if not any(mark in bulk for mark in ("x", "X", "#", "t", "T")):
        return values, pd.Series(cut, index=values.index)
    maybe = np.array(
        [("x" in v) or ("X" in v) or ("#" in v) or ("t" in v) or ("T" in v) for v in cells], bool
    )
    if not maybe.any():
        return values, pd.Series(cut, index=values.index)
    found = values[maybe].str.extract(_EXTENSION)[0]
    has = found.notna().to_numpy()
    base = values.copy()
    base.loc[found.index[has]] = found[has]
    cut[np.flatnonzero(maybe)[has]] = True
    return base, pd.Series(cut, index=values.index)


def _abroad(values: pd.Series) -> pd.Series:
    """True where a cell starts like an international number: "+" then not 1, or 00 / 011
    (a call from abroad) then not 1."""
    cells = values.tolist()
    first = np.array(cells, dtype="U1") if cells else np.zeros(0, dtype="U1")
    maybe = (first == "+") | (first == "0")
    abroad = np.zeros(len(cells), dtype=bool)
    if maybe.any():
        abroad[maybe] = values[maybe].str.match(_FOREIGN_PREFIX).to_numpy(dtype=bool)
    return pd.Series(abroad, index=values.index)


def _without_country_prefix(digits: pd.Series, abroad: pd.Series) -> pd.Series:
    """Ten digits from eleven starting with 1 or thirteen starting with 001; cells dialled
    abroad are left alone (they fail the length or the area-code test)."""
    cells = digits.tolist()
    lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
    long = np.flatnonzero((lengths == 11) | (lengths == 13))
    if len(long) == 0 and not abroad.any():
        return digits
    out = np.array(cells, dtype=object)
    away = abroad.to_numpy(dtype=bool)
    for i in long:  # rows with a country prefix only (a minority)
        cell = cells[i]
        if lengths[i] == 11 and cell.startswith("1") and not away[i]:
            out[i] = cell[1:]
        elif lengths[i] == 13 and cell.startswith("001"):
            out[i] = cell[3:]
    out[away] = ""
    return pd.Series(out, index=digits.index, dtype=digits.dtype)


def _ten_digits(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(exactly ten ASCII digits, and those a possible North American number: area code
    and exchange start with 2-9, the area code is not a service code 211, 311 ... 911)."""
    cells = values.tolist()
    ten = np.zeros(len(cells), dtype=bool)
    possible = np.zeros(len(cells), dtype=bool)
    if not cells:
        return ten, possible
    sized = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells)) == 10
    # The ten-character cells side by side in one ASCII buffer, a row of bytes each: the
    # checks are byte comparisons over the whole column, no per-cell Python (a 1M-row
    # column in about 0.15 s). A cell that is not ASCII is never ten ASCII digits.
    joined = "".join(compress(cells, sized.tolist()))
    if not joined.isascii():
        return _ten_digits_unicode(cells)
    digits = np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, 10)
    is_digit = (digits >= ord("0")).all(axis=1) & (digits <= ord("9")).all(axis=1)
    area = (digits[:, 0] >= ord("2")) & ~((digits[:, 1] == ord("1")) & (digits[:, 2] == ord("1")))
    exchange = digits[:, 3] >= ord("2")
    ten[sized] = is_digit
    possible[sized] = is_digit & area & exchange
    return ten, possible


def _ten_digits_unicode(cells: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """_ten_digits for a column holding non-ASCII text: one fixed-width unicode array."""
    # Ten characters long, counted with len: numpy drops the NULs that end a cell, so a
    # fixed width would take "8015554444\x00" for ten digits.
    sized = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells)) == 10
    chars = np.array(cells, dtype="U10").view(np.uint32).reshape(len(cells), 10)
    numbers = chars.astype(np.int64) - ord("0")
    ten = ((numbers >= 0) & (numbers <= 9)).all(axis=1) & sized
    area = (numbers[:, 0] >= 2) & ~((numbers[:, 1] == 1) & (numbers[:, 2] == 1))
    exchange = numbers[:, 3] >= 2
    return ten, ten & area & exchange


def mobile_problem(text: str) -> str:
    """What is wrong with one mobile cell that `is_mobile` refused, to finish a message."""
    match = _EXTENSION_RE.fullmatch(text)
    base = match.group(1) if match else text
    foreign = _FOREIGN_PREFIX_RE.match(base)
    if foreign:
        prefix = foreign.group(0).strip()
        return f"is not a North American number ({prefix} dials another country)"
    digits = _PHONE_PUNCTUATION_RE.sub("", base)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    elif len(digits) == 13 and digits.startswith("001"):
        digits = digits[3:]
    if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
        return "is not a 10-digit phone number"
    area, exchange = digits[:3], digits[3:6]
    if area[0] in "01":
        return f"is not a North American number (area code {area} cannot start with {area[0]})"
    if area[1:] == "11":
        return f"is not a North American number ({area} is a service code, not an area code)"
    return f"is not a North American number (exchange {exchange} cannot start with {exchange[0]})"


def _numbers(values: pd.Series) -> pd.Series:
    """True where a cell is a number as Excel or pandas left it (`_NUMBER`)."""
    # Every such number has a "." or an exponent: the regex runs on those cells alone, and
    # a column with none at all (most) is passed over with a few searches of its text.
    cells = values.tolist()
    number = np.zeros(len(cells), dtype=bool)
    bulk = "\x00".join(cells)
    if not any(mark in bulk for mark in (".", "e", "E")):
        return pd.Series(number, index=values.index)
    maybe = np.array([("." in v) or ("e" in v) or ("E" in v) for v in cells], dtype=bool)
    if maybe.any():
        number[maybe] = values[maybe].str.fullmatch(_NUMBER).to_numpy(dtype=bool)
    return pd.Series(number, index=values.index)


def _without_punctuation(values: pd.Series) -> pd.Series:
    """The cells with `_PHONE_PUNCTUATION` removed."""
    cells = values.tolist()
    bulk = "\x00".join(cells)
    # ASCII cells (nearly all): one bytes.translate over the joined column, not a regex per
    # cell (ten times quicker on 1M phones). Both paths remove the same characters.
    if bulk.isascii() and bulk.count("\x00") == len(cells) - 1:
        kept = bulk.encode("ascii").translate(None, _PHONE_DELETE).decode("ascii").split("\x00")
    else:
        kept = [_PHONE_PUNCTUATION_RE.sub("", v) for v in cells]
    return pd.Series(kept, index=values.index, dtype=values.dtype)


def _integer_text(values: pd.Series) -> pd.Series:
    """Numbers that are exact integers of 10 or 11 digits as digit text; "" otherwise."""
    floats = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        exact = np.isfinite(floats) & (floats == np.floor(floats))
        exact &= (floats >= 1e9) & (floats < 1e11)
    text = np.where(exact, np.where(exact, floats, 0).astype(np.int64).astype(str), "")
    return pd.Series(text, index=values.index, dtype=values.dtype)


def is_mobile(values: pd.Series) -> pd.Series:
    """Ten digits that are a possible North American number."""
    return pd.Series(_ten_digits(values)[1], index=values.index)
