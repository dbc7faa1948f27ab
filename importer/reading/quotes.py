"""Find CSV cells that a stray quote stretched over the rows after them; reads no file.

A field that starts with `"` runs to the next `"` anywhere in the file: one stray quote
turns the rows after it into the text of one cell, and the sheet silently has fewer rows.
"""

from __future__ import annotations

import pandas as pd

from importer.errors import SheetError
from importer.reading.notes import SPANS_LINES, CellNote

# One cell over more lines than this, with no other cell spanning lines, is taken for a
# stray quote even when the lines it swallowed do not look like rows.
MAX_LONE_FIELD_LINES = 10
STRAY_HINT = 'check for a stray " at the start of that cell ("" stands for a quote inside one)'


def line_count(data: bytes, encoding: str) -> int:
    """Physical lines in the file's bytes (a last line without a line break counts)."""
    if encoding.startswith("utf-16"):
        text = data.decode(encoding, errors="replace")
        return text.count("\n") + (0 if text.endswith("\n") else 1)
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def check_cells_spanning_lines(
    path: object,
    frame: pd.DataFrame,
    header: list[str],
    delimiter: str,
) -> list[CellNote]:
    """Refuse (SheetError) a cell that swallowed rows; note a lone cell spanning lines.

    `frame` is the sheet's text cells indexed by spreadsheet row, `header` the header
    cells as read. Swallowed rows: a line inside the cell with as many delimiters as the
    header has between its columns, or one cell alone in the file over more than
    MAX_LONE_FIELD_LINES lines.
    """
    spanning = _spanning_cells(frame)
    if not spanning:
        return []
    lines = _first_lines(frame, header)
    for row, column in spanning:
        text = frame.at[row, column]
        inner = text.splitlines()[1:]
        looks_like_rows = len(header) >= 3 and any(
            line.count(delimiter) >= len(header) - 1 for line in inner
        )
        lone_and_long = len(spanning) == 1 and len(inner) >= MAX_LONE_FIELD_LINES
        if looks_like_rows or lone_and_long:
            what = "lines that look like rows" if looks_like_rows else "lines"
            raise SheetError(
                f'{path}: line {lines[row]}: the cell in column "{column}" (row {row}) runs '
                f"over the next {len(inner)} {what}, so they are not read as rows",
                hint=STRAY_HINT,
            )
    if len(spanning) > 1:
        return []  # several cells span lines: a sheet with multi-line cells, not a stray
    row, column = spanning[0]
    count = len(frame.at[row, column].splitlines())
    message = (
        f"the cell starting on line {lines[row]} spans {count} lines, the only one in the "
        "file that does; if it should not, check for a stray quote"
    )
    return [CellNote(row, column, SPANS_LINES, message)]


def _spanning_cells(frame: pd.DataFrame) -> list[tuple[int, str]]:
    found = []
    for column in frame.columns:
        cells = frame[column]
        hit = cells.str.contains("\n", regex=False) | cells.str.contains("\r", regex=False)
        found += [(int(row), str(column)) for row in cells.index[hit.fillna(False)]]
    return sorted(found)


def _first_lines(frame: pd.DataFrame, header: list[str]) -> pd.Series:
    """The physical line each row starts on, counting the line breaks inside cells."""
    breaks = sum((frame[c].str.count("\n").fillna(0) for c in frame.columns), start=0)
    before = breaks.cumsum().shift(fill_value=0)
    header_breaks = sum(cell.count("\n") for cell in header)
    return (before + frame.index.to_series() + header_breaks).astype(int)
