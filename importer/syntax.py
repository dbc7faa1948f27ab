"""Syntax rules every stage shares: what an email address is, how names compare; no I/O.

One rule, one place: validation, appointments and suggest-mapping all ask this module. The
sandbox keeps its own copy on purpose (it must not share the client's bugs); a test runs
both on the same inputs.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Pragmatic address syntax: local@domain.tld, one @, no spaces, dot-separated atoms that
# neither start nor end with a dot (so a..b@x.com and a.@x.com fail), a 2+ letter TLD.
EMAIL_PATTERN = (
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}"
)
_EMAIL = re.compile(EMAIL_PATTERN, re.IGNORECASE)
# The same rule for ASCII text, where ignoring case is the same as naming both cases: a
# third quicker than IGNORECASE, whose Unicode case folding ASCII never needs.
_EMAIL_ASCII = re.compile(EMAIL_PATTERN.replace("a-z", "a-zA-Z"))
_NOT_NAME = re.compile(r"[\W_]+")


def is_email(values: pd.Series) -> pd.Series:
    """Column-wide: True where the (trimmed) text is an email address; case is ignored."""
    cells = values.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(cells, skipna=False) != "string":  # missing values: False
        return values.str.fullmatch(EMAIL_PATTERN, case=False).fillna(False).astype(bool)
    # The compiled pattern mapped over the cells: pandas' .str.fullmatch wraps each call
    # in Python code of its own, which costs more than the match (1M cells: 0.3 s, not 1).
    pattern = _EMAIL_ASCII if "".join(cells).isascii() else _EMAIL
    found = np.fromiter(map(bool, map(pattern.fullmatch, cells)), dtype=bool, count=len(cells))
    return pd.Series(found, index=values.index)


def looks_like_email(cell: str) -> bool:
    """The same rule for one cell."""
    return _EMAIL.fullmatch(cell.strip()) is not None


def compact(text: str) -> str:
    """A name without case, spaces or punctuation: "State/Region" -> "stateregion"."""
    return _NOT_NAME.sub("", text.lower())
