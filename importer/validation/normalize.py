"""Vectorised repairs and format tests for lead field values; no messages here.

Every function takes a Series of stripped text ("" = empty) and works column-wide: pandas
string methods, or one plain str method per cell where pandas' own per-cell overhead is
most of the cost on a big sheet. A normalizer returns the repaired values plus, per warning
code, the row labels it repaired that way; values it cannot repair are returned as given,
for the format tests (the `is_*` functions, which pandera runs) to reject.
"""

from __future__ import annotations

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


_Test = Callable[[pd.Series], pd.Series]


@dataclass
class Normalized:
    """Repaired values (same index as the input) and, per warning code, the rows repaired so.

    What normalizing learnt of the values spares the format rules a pass over them:
    `known` holds masks a test would give (by test), `distinct` the values normalized
    once per distinct value and each row's position among them.
    """

    values: pd.Series
    warnings: dict[str, pd.Index] = field(default_factory=dict)
    known: dict[_Test, np.ndarray] = field(default_factory=dict)
    distinct: tuple[np.ndarray, pd.Series] | None = None

    def tested(self, test: _Test) -> np.ndarray | None:
        """`test` over the values as a boolean array, when known without a pass over them."""
        if test in self.known:
            return self.known[test]
        if self.distinct is not None:
            codes, values = self.distinct
            return test(values).to_numpy(dtype=bool)[codes]
        return None


def strip(values: pd.Series) -> pd.Series:
    """Surrounding whitespace removed (including non-breaking spaces); missing values as ""."""
    cells = _text(values)
    # str.strip mapped over the array: twice as quick as a list comprehension into a new
    # array (1M cells in 30 ms); a cell with nothing to strip stays the same object.
    stripped = np.fromiter(map(str.strip, cells), dtype=object, count=len(cells))
    return pd.Series(stripped, index=values.index, dtype=values.dtype, copy=False)


def _text(values: pd.Series) -> np.ndarray:
    """The cells as an object array of str, a missing value (None, NaN) as ""."""
    cells = values.to_numpy(dtype=object)
    # Mapped sheets hold only str: one C-speed check spares a fillna copy of each column.
    if pd.api.types.infer_dtype(cells, skipna=False) == "string":
        return cells
    return values.fillna("").to_numpy(dtype=object)


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
    if normalizer is unchanged or not few_distinct:
        # Trimming is all a free-text field gets: no distinct values to find first.
        typed = strip(raw)
        return typed, normalizer(typed)
    codes, uniques = pd.factorize(_text(raw))
    distinct = pd.Series(uniques, dtype=raw.dtype)
    typed = strip(distinct)
    result = normalizer(typed)
    warnings = {
        code: raw.index[np.isin(codes, labels.to_numpy())]
        for code, labels in result.warnings.items()
    }
    normalized = _spread(result.values, codes, raw)
    distinct = (codes, result.values.reset_index(drop=True))
    return _spread(typed, codes, raw), Normalized(normalized, warnings, distinct=distinct)


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


def with_warnings(values: pd.Series, **masks: pd.Series) -> Normalized:
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
    return with_warnings(
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
    return with_warnings(out, state_normalized=named)


def normalize_email(values: pd.Series) -> Normalized:
    """Lower-cased (already trimmed)."""
    return Normalized(lower(values))


def lower(values: pd.Series) -> pd.Series:
    """`.str.lower()`, for a column of text."""
    cells = values.to_numpy(dtype=object).tolist()
    bulk = "\x00".join(cells) if cells and _all_text(values) else ""
    # ASCII text lower-cased in one call (a third of the time of .str.lower, which calls a
    # lambda per cell), when no cell holds the NUL that joins them; a column lower-cased
    # already (most email columns) is kept as it is, not copied cell by cell.
    if bulk.isascii() and bulk and bulk.count("\x00") == len(cells) - 1:
        lowered = bulk.lower()
        if lowered == bulk:
            return values.copy()
        return pd.Series(lowered.split("\x00"), index=values.index, dtype=values.dtype)
    return values.str.lower()


def _all_text(values: pd.Series) -> bool:
    return pd.api.types.infer_dtype(values.to_numpy(dtype=object), skipna=False) == "string"


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


def is_email(values: pd.Series) -> pd.Series:
    return syntax.is_email(values)


INT64_MAX = "9223372036854775807"  # what the API's JSON decoder keeps as an integer


def fits_int64(digits: pd.Series) -> pd.Series:
    """Digit strings (leading zeros allowed) no larger than a 64-bit integer."""
    stripped = digits.str.lstrip("0")
    length = stripped.str.len()
    top = len(INT64_MAX)
    return (length < top) | ((length == top) & (stripped <= INT64_MAX))


def is_integer(values: pd.Series) -> pd.Series:
    return _digits(values) & fits_int64(values)


def is_boolean(values: pd.Series) -> pd.Series:
    return values.isin(("1", "0"))


def is_browser_redirect(values: pd.Series) -> pd.Series:
    return values.isin(BROWSER_REDIRECTS)
