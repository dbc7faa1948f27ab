"""Turn cells as calamine returns them into the text Excel's General format shows; reads no file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd


def cells_to_text(rows: list[list[Any]]) -> pd.DataFrame:
    """Cells as calamine returns them -> a frame of str, converted column by column."""
    raw = pd.DataFrame(rows)
    return pd.DataFrame({j: _column_text(raw[j]) for j in raw.columns}, index=raw.index, copy=False)


def _column_text(column: pd.Series) -> pd.Series | np.ndarray | list[str]:
    """One column of calamine cells as General-format text; vectorised for the common kinds."""
    kind = column.dtype.kind
    if isinstance(column.dtype, pd.StringDtype):
        return column
    if kind == "f":
        return _floats_text(column.to_numpy())
    if kind in "iu":
        return column.astype(str)
    if kind == "b":
        return np.where(column.to_numpy(), "TRUE", "FALSE")
    return _mixed_text(column.to_numpy(dtype=object))


def _mixed_text(values: np.ndarray) -> np.ndarray:
    """Text and numbers mixed (a zip column with empty cells): floats in one vector op."""
    out = values.copy()
    is_float = np.fromiter((type(v) is float for v in values), dtype=bool, count=len(values))
    if is_float.any():
        out[is_float] = _floats_text(values[is_float].astype(np.float64))
    for i in np.flatnonzero(~is_float):
        if type(out[i]) is not str:
            out[i] = cell_text(out[i])
    return out


def _floats_text(values: np.ndarray) -> np.ndarray:
    whole = np.isfinite(values) & (np.abs(values) < 1e15) & (values == np.trunc(values))
    out = np.empty(len(values), dtype=object)
    out[whole] = values[whole].astype(np.int64).astype(str)
    out[~whole] = [_float_text(v) for v in values[~whole]]
    return out


def _float_text(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.15G}"


def cell_text(value: object) -> str:
    """One cell as Excel's General format shows it: 84045.0 -> "84045", True -> "TRUE"."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _float_text(float(value))
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return _datetime_text(dt.datetime.combine(dt.date(2000, 1, 1), value))[11:]
    if isinstance(value, dt.timedelta):
        return _duration_text(value)
    return str(value)


def _datetime_text(value: dt.datetime) -> str:
    # Excel stores times as fractions of a day; round away the float noise to the second.
    value = value.replace(microsecond=0) + dt.timedelta(seconds=value.microsecond >= 500_000)
    if value.time() == dt.time(0):
        return value.date().isoformat()
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _duration_text(value: dt.timedelta) -> str:
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
