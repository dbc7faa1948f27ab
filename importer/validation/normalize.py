"""Vectorised repairs and format tests for lead field values; no messages here.

Every function takes a Series of stripped text ("" = empty) and works column-wide: pandas
string methods, or one plain str method per cell where pandas' own per-cell overhead is
most of the cost on a big sheet. A normalizer returns the repaired values plus, per warning
code, the row labels it repaired that way; values it cannot repair are returned as given,
for the format tests (the `is_*` functions, which pandera runs) to reject.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from importer import syntax
from importer.countries import country_of
from importer.usps import (
    FOREIGN_REGIONS,
    MILITARY_CODES,
    OTHER_REGION_BY_NAME,
    STATE_BY_NAME,
    STATE_CODES,
)

KNOWN_REGION_CODES = STATE_CODES | MILITARY_CODES | frozenset(FOREIGN_REGIONS)
# A Canadian postal code, as a zip column may hold one: "N8N 3N2", "n8n3n2".
CANADIAN_POSTAL_CODE = r"[A-Za-z]\d[A-Za-z][ -]?\d[A-Za-z]\d"

BROWSER_REDIRECTS = ("profile", "scheduling", "deal")

_BOOLEANS = {
    "1": "1",
    "0": "0",
    "1.0": "1",
    "0.0": "0",
    "true": "1",
    "false": "0",
    "yes": "1",
    "no": "0",
}

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


@dataclass
class Normalized:
    """Repaired values (same index as the input) and, per warning code, the rows repaired so."""

    values: pd.Series
    warnings: dict[str, pd.Index] = field(default_factory=dict)


def strip(values: pd.Series) -> pd.Series:
    """Surrounding whitespace removed (including non-breaking spaces); no missing values."""
    # str.strip over a list: about four times quicker than .str.strip on 1M python-backed
    # strings, which calls a lambda per cell and checks each for NaN.
    stripped = np.array([v.strip() for v in values.tolist()], dtype=object)
    return pd.Series(stripped, index=values.index, dtype=values.dtype)


def unchanged(values: pd.Series) -> Normalized:
    """For free-text fields: trimming is all they get."""
    return Normalized(values)


def normalize_column(
    raw: pd.Series, normalizer: Callable[[pd.Series], Normalized], *, few_distinct: bool
) -> tuple[pd.Series, Normalized]:
    """The column as typed (trimmed) and its normalized form.

    With `few_distinct` (states, zips, constants...) the work is done once per distinct
    value and spread back to the rows with numpy, which is several times faster there.
    """
    raw = raw.fillna("")
    if not few_distinct:
        typed = strip(raw)
        return typed, normalizer(typed)
    codes, uniques = pd.factorize(raw.to_numpy(dtype=object))
    distinct = pd.Series(uniques, dtype=raw.dtype)
    typed = strip(distinct)
    result = normalizer(typed)
    warnings = {
        code: raw.index[np.isin(codes, labels.to_numpy())]
        for code, labels in result.warnings.items()
    }
    return _spread(typed, codes, raw), Normalized(_spread(result.values, codes, raw), warnings)


def _spread(distinct: pd.Series, codes: np.ndarray, like: pd.Series) -> pd.Series:
    return pd.Series(distinct.to_numpy(dtype=object)[codes], index=like.index, dtype=like.dtype)


def per_distinct(test: Callable[[pd.Series], pd.Series], values: pd.Series) -> np.ndarray:
    """`test` run once per distinct value, as a boolean array over all rows."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    return test(pd.Series(uniques, dtype=values.dtype)).to_numpy(dtype=bool)[codes]


def _digits(values: pd.Series) -> pd.Series:
    """True where every character is an ASCII digit ("" is not)."""
    return values.str.isascii() & values.str.isdigit()


def _labels(mask: pd.Series) -> pd.Index:
    return mask.index[mask.to_numpy()]


def _with_warnings(values: pd.Series, **masks: pd.Series) -> Normalized:
    return Normalized(values, {code: _labels(mask) for code, mask in masks.items() if mask.any()})


def normalize_zip(values: pd.Series) -> Normalized:
    """Five digits. ZIP+4 is cut to five (a warning only without the hyphen), Excel numbers
    ("84045.0") lose their ".0", and 3- or 4-digit numbers get back the zeros Excel dropped."""
    repair = ~(_digits(values) & (values.str.len() == 5)) & (values != "")
    out = values.copy()
    if not repair.any():
        return Normalized(out)
    sub = values[repair]
    plus4 = sub.str.fullmatch(r"[0-9]{5}[- ][0-9]{4}")
    bare9 = sub.str.fullmatch(r"[0-9]{9}")
    number = sub.str.fullmatch(r"[0-9]{3,5}\.0*")
    short = sub.str.fullmatch(r"[0-9]{3,4}")
    whole = sub.str.split(".", n=1).str[0]
    out.loc[sub.index[(plus4 | bare9).to_numpy()]] = sub[plus4 | bare9].str.slice(0, 5)
    out.loc[sub.index[(number | short).to_numpy()]] = whole[number | short].str.zfill(5)
    padded = (number | short) & (whole.str.len() < 5)
    return _with_warnings(
        out,
        zip_zero_padded=padded,
        zip_from_number=number & ~padded,
        zip_plus4_assumed=bare9,
    )


def normalize_state(values: pd.Series) -> Normalized:
    """Two-letter codes upper-cased silently; full names in any case and spacing become
    their code with a warning; the codes and names of military mail and foreign regions
    (AE, MH, Ontario) become their code silently, for the rules that refuse them; anything
    else is left for `is_state` to reject."""
    upper = values.str.upper()
    is_code = upper.isin(KNOWN_REGION_CODES)
    out = values.copy()
    out[is_code] = upper[is_code]
    rest = ~is_code & (values != "")
    if not rest.any():
        return Normalized(out)
    spaced = upper[rest].str.replace(r"\s+", " ", regex=True)
    codes = spaced.map(STATE_BY_NAME)
    named = codes.notna()
    out.loc[named.index[named.to_numpy()]] = codes[named]
    others = spaced.map(OTHER_REGION_BY_NAME)
    other = others.notna() & ~named
    out.loc[other.index[other.to_numpy()]] = others[other]
    return _with_warnings(out, state_normalized=named)


def normalize_mobile(values: pd.Series) -> Normalized:
    """Ten digits: an extension ("x12", "ext. 12", "#12") dropped with a warning,
    punctuation and spaces removed, a leading "+1"/"1" on 11 digits or the "001" a caller
    abroad dials dropped; numbers Excel made of the cell ("8015554444.0",
    "8.015554444E+09") recovered with a warning when they are exact integers of 10 or 11
    digits. Another country's prefix ("+39", "0044", "011 44") is left as typed, for
    `is_mobile` to reject; so are ten digits that are no possible North American number."""
    ten, _ = _ten_digits(values)
    repair = ~ten & (values != "").to_numpy()
    out = values.copy()
    if not repair.any():
        return Normalized(out)
    sub = values[repair]
    base, extension = _without_extension(sub)
    number = _numbers(base)
    digits = _without_punctuation(base)
    digits[number] = _integer_text(base[number])
    digits = _without_country_prefix(digits, _abroad(base))
    ten, possible = _ten_digits(digits)
    good = pd.Series(ten & possible, index=digits.index)
    out.loc[sub.index[good.to_numpy()]] = digits[good]
    return _with_warnings(
        out,
        mobile_recovered_from_number=number & good,
        mobile_extension_dropped=extension & good,
    )


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
    if not cells:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    # One fixed-width unicode array, a character per column: no per-cell Python. Eleven
    # wide, so that a longer cell shows a character in the last column.
    chars = np.array(cells, dtype="U11").view(np.uint32).reshape(len(cells), 11)
    numbers = chars[:, :10].astype(np.int64) - ord("0")
    ten = ((numbers >= 0) & (numbers <= 9)).all(axis=1) & (chars[:, 10] == 0)
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
    # Every such number has a "." or an exponent: the regex runs on those cells alone.
    cells = values.tolist()
    maybe = np.array([("." in v) or ("e" in v) or ("E" in v) for v in cells], dtype=bool)
    number = np.zeros(len(cells), dtype=bool)
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


def normalize_email(values: pd.Series) -> Normalized:
    """Lower-cased (already trimmed)."""
    return Normalized(values.str.lower())


def normalize_integer(values: pd.Series) -> Normalized:
    """Whole numbers; a trailing ".0" (a number as Excel or pandas wrote it) is dropped."""
    number = values.str.fullmatch(r"[0-9]+\.0*")
    out = values.copy()
    if number.any():
        out[number] = values[number].str.split(".", n=1).str[0]
    return Normalized(out)


def normalize_boolean(values: pd.Series) -> Normalized:
    """1/0/true/false/yes/no in any case -> "1" / "0"; anything else left as given."""
    known = values.str.lower().map(_BOOLEANS)
    return Normalized(known.where(known.notna(), values).astype(values.dtype))


def normalize_choice(values: pd.Series) -> Normalized:
    """Lower-cased, for fields with a fixed set of words (browser_redirect)."""
    return Normalized(values.str.lower())


def is_zip(values: pd.Series) -> pd.Series:
    return _digits(values) & (values.str.len() == 5)


def is_state(values: pd.Series) -> pd.Series:
    return values.isin(STATE_CODES)


def is_known_region(values: pd.Series) -> pd.Series:
    """A state, a military mail code or a foreign region's code (refused by other rules)."""
    return values.isin(KNOWN_REGION_CODES)


def is_not_military(values: pd.Series) -> pd.Series:
    return ~values.isin(MILITARY_CODES)


def is_not_foreign_region(values: pd.Series) -> pd.Series:
    return ~values.isin(FOREIGN_REGIONS)


def is_zip_or_canadian(values: pd.Series) -> pd.Series:
    """A zip, or a Canadian postal code (refused as foreign, not as a malformed zip)."""
    return is_zip(values) | is_canadian_postal_code(values)


def is_canadian_postal_code(values: pd.Series) -> pd.Series:
    return values.str.fullmatch(CANADIAN_POSTAL_CODE).fillna(False).astype(bool)


def is_not_canadian_postal_code(values: pd.Series) -> pd.Series:
    return ~is_canadian_postal_code(values)


def is_us_country(values: pd.Series) -> pd.Series:
    """The United States in any usual spelling or language ("" counts as the US)."""
    return pd.Series([country_of(v) == "US" for v in values.tolist()], index=values.index)


def is_mobile(values: pd.Series) -> pd.Series:
    """Ten digits that are a possible North American number."""
    return pd.Series(_ten_digits(values)[1], index=values.index)


def is_email(values: pd.Series) -> pd.Series:
    return syntax.is_email(values)


def is_integer(values: pd.Series) -> pd.Series:
    return _digits(values)


def is_boolean(values: pd.Series) -> pd.Series:
    return values.isin(("1", "0"))


def is_browser_redirect(values: pd.Series) -> pd.Series:
    return values.isin(BROWSER_REDIRECTS)
