"""What an xlsx results sheet can hold and how results name their columns; no file I/O.

Excel counts text in UTF-16 code units (an emoji is two): a cell holds 32,767 of them, a
sheet 16,384 columns and 1,048,576 rows, a sheet title 31 units and no `'` at either end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from importer.errors import UsageError
from importer.models import RESULT_COLUMNS
from importer.reading.sheet import SourceSheet

MAX_CELL_UNITS = 32_767
MAX_COLUMNS = 16_384
MAX_ROWS = 1_048_576  # the header included
MAX_TITLE_UNITS = 31
META_CHUNK_UNITS = 32_000  # what one hidden-sheet cell carries of a long value
SOURCE_SUFFIX = " (source)"
_RENAMED = re.compile(
    "(" + "|".join(re.escape(c) for c in RESULT_COLUMNS) + ")((?: \\(source\\))+)"
)


def utf16_units(text: str) -> int:
    """Length as Excel counts it: characters outside the BMP count twice."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def written_column(name: str) -> str:
    """The header a source column gets in a results file, never one of the import_* names.

    `import_status` becomes `import_status (source)`, which in turn (had the source one
    too) becomes `import_status (source) (source)`: one more suffix each, so the names
    stay distinct and `source_column` undoes it exactly.
    """
    if name in RESULT_COLUMNS or _RENAMED.fullmatch(name):
        return name + SOURCE_SUFFIX
    return name


def source_column(written: str) -> str:
    """Undo `written_column` (for a name read from a results file's source columns)."""
    if _RENAMED.fullmatch(written):
        return written.removesuffix(SOURCE_SUFFIX)
    return written


def cell_chunks(text: str, units: int = META_CHUNK_UNITS) -> Iterator[str]:
    """`text` in pieces of at most `units` UTF-16 units, never splitting a surrogate pair.

    Yields one empty piece for empty text, so every value takes at least one cell.
    """
    if utf16_units(text) <= units:
        yield text
        return
    encoded = text.encode("utf-16-le", "surrogatepass")
    start = 0
    while start < len(encoded):
        end = min(start + 2 * units, len(encoded))
        if (
            end < len(encoded)
            and 0xDC00 <= int.from_bytes(encoded[end : end + 2], "little") <= 0xDFFF
        ):
            end -= 2  # do not cut between the two halves of an astral character
        yield encoded[start:end].decode("utf-16-le", "surrogatepass")
        start = end


def sheet_title(name: str | None, taken: set[str], default: str) -> str:
    """A legal xlsx sheet title for `name`: no []:*?/\\, no `'` at either end, at most 31
    UTF-16 units, not one of `taken` (compared case-insensitively, as Excel does)."""
    title = "".join("_" if ch in "[]:*?/\\" else ch for ch in (name or default))
    title = re.sub(r"^'|'$", "_", title)
    while utf16_units(title) > MAX_TITLE_UNITS:
        title = title[:-1]
    title = re.sub(r"'$", "_", title)  # cutting may leave one at the end
    if not title.strip("_ ") or title.casefold() in {t.casefold() for t in taken}:
        return default
    return title


def xlsx_misfit(columns: list[str], series: list[pd.Series], rows: int) -> str | None:
    """What an xlsx sheet could not hold of these columns (as written), or None."""
    if len(columns) > MAX_COLUMNS:
        return (
            f"{len(columns):,} columns with the {len(RESULT_COLUMNS)} import_* columns; "
            f"an xlsx sheet holds at most {MAX_COLUMNS:,}"
        )
    if rows + 1 > MAX_ROWS:
        return f"{rows:,} rows; an xlsx sheet holds at most {MAX_ROWS - 1:,} under its header"
    for name in columns:
        if utf16_units(name) > MAX_CELL_UNITS:
            return (
                f'the column name "{name[:40]}..." is {utf16_units(name):,} characters long; '
                f"an xlsx cell holds at most {MAX_CELL_UNITS:,}"
            )
    for name, column in zip(columns, series, strict=False):  # series may be the source's only
        found = _long_cell(column)
        if found is not None:
            row, units = found
            return (
                f'row {row}, column "{name}" holds {units:,} characters; an xlsx cell holds '
                f"at most {MAX_CELL_UNITS:,}"
            )
    return None


def _long_cell(column: pd.Series) -> tuple[int, int] | None:
    """(row, length) of the first cell over MAX_CELL_UNITS, or None; cheap when none is
    near (a cell of at most half the limit in characters cannot pass it in units)."""
    lengths = column.astype(str).str.len()
    near = lengths[lengths > MAX_CELL_UNITS // 2]
    for row in near.index:
        units = utf16_units(str(column.at[row]))
        if units > MAX_CELL_UNITS:
            return int(row), units
    return None


def check_fits(out: Path, sheet: SourceSheet, mapping_text: str) -> None:
    """Refuse, before anything is sent, an xlsx OUT that could not hold the results whole.

    Nothing is checked for a .csv OUT, which holds any number of columns and any length
    of text. `mapping_text` always fits (the hidden sheet stores long values in pieces);
    it is taken so the run can hand over everything OUT will hold. Raises UsageError
    naming the first cell, column or count that would not fit, with the hint to write CSV.
    """
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        return
    frame = sheet.frame
    columns = [written_column(str(c)) for c in frame.columns] + list(RESULT_COLUMNS)
    series = [frame[c] for c in frame.columns]
    problem = xlsx_misfit(columns, series, len(frame))
    if problem is not None:
        raise UsageError(
            f"{out}: the results would not fit in an xlsx file: {problem}",
            hint=f"write the results as CSV instead: -o {out.with_suffix('.csv')}",
        )
