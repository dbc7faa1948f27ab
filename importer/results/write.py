"""Write the results workbook (xlsx or csv); never decides a status or reads a file back."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

import importer
from importer.errors import OutputError
from importer.masking import displayable
from importer.models import RESULT_COLUMNS, Problem, RowStatus
from importer.reading.sheet import SourceSheet
from importer.results.layout import (
    cell_chunks,
    sheet_title,
    written_column,
    xlsx_misfit,
)

FORMAT_VERSION = "1"
META_SHEET = "_enerflo_import"
SUMMARY_SHEET = "Summary"
CSV_SHEET = "Leads"
MAX_COMMENTS = 10_000  # Excel crawls with more; every message is also in import_message.
# Temp files of an earlier run killed mid-write, older than this process, are ours to clean.
STARTED_AT = time.time()
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
STATUS_COLOURS = {
    # status -> (fill, font), Excel's own "good / bad / neutral" palette plus grey
    "created": ("#C6EFCE", "#006100"),
    "updated": ("#C6EFCE", "#006100"),
    "valid": ("#C6EFCE", "#006100"),
    "invalid": ("#FFC7CE", "#9C0006"),
    "rejected": ("#FFC7CE", "#9C0006"),
    "failed": ("#FCD5B4", "#974706"),
    "pending": ("#E7E6E6", "#595959"),
}
OUTPUT_HINT = "choose another path with -o, or close the file if it is open in Excel"


@dataclass
class ResultsSummary:
    """What the Summary sheet says about the run besides the rows themselves."""

    command: str
    endpoint: str | None
    started_at: str
    finished_at: str
    extra: dict[str, str] = field(default_factory=dict)


def write_results(
    out: Path,
    sheet: SourceSheet,
    results: pd.DataFrame,
    problems: Iterable[Problem],
    field_columns: dict[str, tuple[str, ...]],
    summary: ResultsSummary,
    mapping_text: str,
) -> None:
    """Write every source row with its result columns to OUT (.xlsx or .csv), atomically.

    The file appears complete or not at all (temp file beside OUT, then os.replace).
    Raises OutputError when OUT cannot be written.
    """
    out = Path(out)
    kind = out.suffix.lower()
    if kind not in (".xlsx", ".csv"):
        raise OutputError(f"{out}: results must be an .xlsx or .csv file", hint=OUTPUT_HINT)
    table = _ResultsTable.build(sheet, results)
    misfit = xlsx_misfit(table.columns, table.series, len(table.index)) if kind == ".xlsx" else None
    if misfit is not None:
        # check_fits should have refused this before sending; never cut it silently now.
        fallback = out.with_suffix(".csv")
        _write_atomically(fallback, lambda tmp: _write_csv(tmp, table))
        raise OutputError(
            f"{out}: the results do not fit in an xlsx file ({misfit}); they were written "
            f"whole to {fallback} instead",
            hint=f"retry from {fallback} with -m and the mapping",
        )
    if kind == ".csv":
        _write_atomically(out, lambda tmp: _write_csv(tmp, table))
        return
    facts = _facts(sheet, table, summary, mapping_text)
    _write_atomically(
        out,
        lambda tmp: _write_xlsx(
            tmp, table, list(problems), field_columns, summary, facts, mapping_text
        ),
    )


def _write_atomically(out: Path, write: Callable[[Path], None]) -> None:
    """Run `write` on a temp file beside OUT, then put it in OUT's place.

    The temp file is created with the mode the user's umask gives a new file, or with
    OUT's own mode when OUT exists (a results file made private stays private).
    """
    tmp = _temp_beside(out)
    try:
        write(tmp)
        os.replace(tmp, out)
    except (OSError, XlsxWriterException) as exc:
        raise OutputError(
            f"{out}: cannot write the results ({describe_error(exc)})", OUTPUT_HINT
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


# -- the table both formats write -----------------------------------------------------------


@dataclass
class _ResultsTable:
    sheet_name: str
    columns: list[str]  # as written: source columns (renamed on a clash) then RESULT_COLUMNS
    source_columns: list[str]  # as read from the source
    series: list[pd.Series]  # one str Series per written column
    index: pd.Index  # source row numbers, in order

    @classmethod
    def build(cls, sheet: SourceSheet, results: pd.DataFrame) -> _ResultsTable:
        source = list(sheet.frame.columns)
        results = results.reindex(index=sheet.frame.index, columns=list(RESULT_COLUMNS))
        series = [_text_series(sheet.frame[c]) for c in source]
        series += [_displayable(_text_series(results[c])) for c in RESULT_COLUMNS]
        written = [written_column(c) for c in source]
        name = sheet_title(sheet.sheet_name, {SUMMARY_SHEET, META_SHEET}, CSV_SHEET)
        return cls(name, written + list(RESULT_COLUMNS), source, series, sheet.frame.index)

    @cached_property
    def values(self) -> list[list[str]]:
        """Column-major lists: the cheapest shape to walk cell by cell."""
        return [column.tolist() for column in self.series]

    def rows(self) -> Iterable[tuple[str, ...]]:
        return zip(*self.values, strict=True)


def _text_series(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.StringDtype) and not column.hasnans:
        return column
    if pd.api.types.infer_dtype(column, skipna=False) == "string":
        # All str already (the results columns): a C-speed check, not a loop over cells.
        return pd.Series(column.to_numpy(dtype=object), index=column.index, dtype=str)
    text = ["" if v is None or v != v else str(v) for v in column.tolist()]
    return pd.Series(text, index=column.index, dtype=str)


def _displayable(column: pd.Series) -> pd.Series:
    """A results column with file-name bytes that are not UTF-8 escaped (messages can name
    a survey photo); one join finds out whether any cell needs it."""
    try:
        "".join(column.tolist()).encode("utf-8")
    except UnicodeEncodeError:
        return column.map(displayable)
    return column


def _temp_beside(out: Path) -> Path:
    """A new, empty temp file beside OUT (see _write_atomically for its mode)."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(out)
        mode = _mode_of(out)
        for _ in range(100):
            tmp = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
            try:
                handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                continue
            if mode is not None:
                os.chmod(tmp, mode)
            os.close(handle)
            return tmp
        raise FileExistsError(f"no free temp file name beside {out}")
    except OSError as exc:
        raise OutputError(
            f"{out}: cannot write the results ({describe_error(exc)})", OUTPUT_HINT
        ) from exc


def _mode_of(out: Path) -> int | None:
    """OUT's permission bits when it exists (kept on replace), else None (umask decides)."""
    try:
        return out.stat().st_mode & 0o7777
    except FileNotFoundError:
        return None


def _remove_stale_temps(out: Path) -> None:
    """Delete our temp files for OUT that a killed earlier run left behind.

    Ours: named `.<OUT name>.<8 characters>.tmp` (as this module and, before it, mkstemp
    named them) and last written before this process started, so never a write in flight.
    """
    pattern = re.compile(re.escape(f".{out.name}.") + r"[a-z0-9_]{8}\.tmp")
    for entry in os.scandir(out.parent):
        if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            try:
                if entry.stat(follow_symlinks=False).st_mtime < STARTED_AT:
                    os.unlink(entry.path)
            except FileNotFoundError:
                pass  # another run cleaned it first


def describe_error(exc: Exception) -> str:
    """The OS's reason ("permission denied") behind a failed write or read, else the text."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    cause = exc.__context__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    return str(exc)


# -- csv ------------------------------------------------------------------------------------


def neutralize(column: pd.Series) -> pd.Series:
    """Prefix one `'` to cells a spreadsheet would run as a formula.

    A cell starting with = + - @ tab or CR, or already with `'`, gets one `'` in front,
    so `unneutralize` (strip one leading `'`) gives back exactly the original text.
    """
    return _prefix_where(column, FORMULA_STARTS, add=True)


def unneutralize(column: pd.Series) -> pd.Series:
    """Undo `neutralize`: remove one leading `'` where there is one."""
    return _prefix_where(column, ("'",), add=False)


def _prefix_where(column: pd.Series, starts: tuple[str, ...], add: bool) -> pd.Series:
    # First characters as a numpy U1 array: ~10x faster than .str.startswith on
    # python-backed strings, and it matters for a 1M-row CSV.
    first = column.to_numpy(dtype=object).astype("U1")
    hit = np.isin(first, starts)
    if not hit.any():
        return column
    column = column.copy()
    column[hit] = ("'" + column[hit]) if add else column[hit].str.slice(1)
    return column


def _write_csv(tmp: Path, table: _ResultsTable) -> None:
    names = [_neutral_text(c) for c in table.columns]
    columns = [neutralize(column).tolist() for column in table.series]
    # csv.writer over the column lists writes the bytes DataFrame.to_csv wrote, about a
    # third faster for 1M rows. The BOM is written by hand: Excel reads a BOM-less UTF-8
    # CSV as Windows-1252 and mangles accents, and "utf-8-sig" as the file's encoding
    # costs a Python-level encode call per row.
    with tmp.open("w", encoding="utf-8", newline="", buffering=1 << 20) as handle:
        handle.write("\ufeff")
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(names)
        writer.writerows(zip(*columns, strict=True))


def _neutral_text(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# -- xlsx -----------------------------------------------------------------------------------


def _write_xlsx(
    tmp: Path,
    table: _ResultsTable,
    problems: list[Problem],
    field_columns: dict[str, tuple[str, ...]],
    summary: ResultsSummary,
    facts: list[tuple[str, str]],
    mapping_text: str,
) -> None:
    options = {
        "constant_memory": True,  # rows stream to disk: flat memory for 100k+ rows
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
    }
    book = xlsxwriter.Workbook(str(tmp), options)
    data = book.add_worksheet(table.sheet_name)
    summary_sheet = book.add_worksheet(SUMMARY_SHEET)
    meta = book.add_worksheet(META_SHEET)
    meta.hide()
    flagged = _flagged_cells(problems, field_columns, table)
    _write_data(book, data, table, flagged)
    _write_summary(book, summary_sheet, table, problems, summary, facts)
    _write_meta(meta, facts + [("mapping_text", mapping_text)])
    book.close()


def _flagged_cells(
    problems: list[Problem], field_columns: dict[str, tuple[str, ...]], table: _ResultsTable
) -> dict[int, dict[int, list[str]]]:
    """Sheet row -> column -> messages, for the source cells behind each failed rule."""
    position = {name: j for j, name in enumerate(table.source_columns)}
    errors = [p for p in problems if p.is_error]
    rows = table.index.get_indexer([p.row for p in errors])
    flagged: dict[int, dict[int, list[str]]] = {}
    for problem, row in zip(errors, rows, strict=True):
        columns = [position[c] for c in field_columns.get(problem.field, ()) if c in position]
        for j in columns if row >= 0 else ():
            flagged.setdefault(int(row) + 1, {}).setdefault(j, []).append(problem.message)
    return flagged


def _write_data(
    book: xlsxwriter.Workbook,
    ws: Worksheet,
    table: _ResultsTable,
    flagged: dict[int, dict[int, list[str]]],
) -> None:
    last_row, last_col = len(table.index), len(table.columns) - 1
    header = book.add_format({"bold": True, "bg_color": "#F2F2F2", "bottom": 1})
    bad_cell = book.add_format({"bg_color": "#FFC7CE"})
    for j, width in enumerate(_widths(table)):
        ws.set_column(j, j, width)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, last_row, last_col)
    _status_formats(book, ws, table.columns.index("import_status"), last_row)
    for j, name in enumerate(table.columns):
        ws.write_string(0, j, name, header)
    write = ws.write_string
    comments = MAX_COMMENTS
    for r, row in enumerate(table.rows(), start=1):
        marks = flagged.get(r)
        if marks is not None:
            comments = _write_marked_row(ws, r, row, marks, bad_cell, comments)
            continue
        for j, value in enumerate(row):
            if value:
                write(r, j, value)


def _write_marked_row(
    ws: Worksheet,
    r: int,
    row: tuple[str, ...],
    marks: dict[int, list[str]],
    bad_cell: Format,
    comments: int,
) -> int:
    for j, value in enumerate(row):
        if j in marks:
            if value:
                ws.write_string(r, j, value, bad_cell)
            else:
                ws.write_blank(r, j, None, bad_cell)
            if comments > 0:
                comment = displayable("\n".join(marks[j]))
                ws.write_comment(r, j, comment, {"x_scale": 2.5, "y_scale": 1.5})
                comments -= 1
        elif value:
            ws.write_string(r, j, value)
    return comments


def _widths(table: _ResultsTable, sample: int = 2000) -> list[float]:
    """Header or longest early value, whichever is wider, within 8..60 characters."""
    widths = []
    for name, values in zip(table.columns, table.values, strict=True):
        longest = max((len(v) for v in values[:sample]), default=0)
        widths.append(float(min(60, max(8, len(name) + 3, longest + 1))))
    return widths


def _status_formats(book: xlsxwriter.Workbook, ws: Worksheet, col: int, last_row: int) -> None:
    for status, (fill, font) in STATUS_COLOURS.items():
        colour = book.add_format({"bg_color": fill, "font_color": font})
        rule = {"type": "cell", "criteria": "==", "value": f'"{status}"', "format": colour}
        ws.conditional_format(1, col, max(last_row, 1), col, rule)


def _write_summary(
    book: xlsxwriter.Workbook,
    ws: Worksheet,
    table: _ResultsTable,
    problems: list[Problem],
    summary: ResultsSummary,
    facts: list[tuple[str, str]],
) -> None:
    bold = book.add_format({"bold": True})
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 48)
    ws.set_column(2, 3, 14)
    ws.set_column(4, 4, 70)
    known = dict(facts)
    lines: list[tuple[str, ...]] = [
        ("enerflo-import results",),
        ("source file", Path(known["source_path"]).name),  # displayable already
        ("source sheet", known["source_sheet"]),
        ("source sha256", known["source_sha256"]),
        ("command", summary.command),
        ("endpoint", summary.endpoint or "(none: nothing sent)"),
        ("started at", summary.started_at),
        ("finished at", summary.finished_at),
        *summary.extra.items(),
        (),
        ("status", "rows"),
        *_status_counts(table),
        (),
        ("problem", "kind", "rows", "example row", "example message"),
        *_top_problems(problems, table),
    ]
    for r, line in enumerate(lines):
        fmt = bold if r == 0 or line[:1] in (("status",), ("problem",)) else None
        for j, value in enumerate(line):
            if value:
                ws.write_string(r, j, displayable(str(value)), fmt)


def _status_counts(table: _ResultsTable) -> list[tuple[str, str]]:
    counts = Counter(table.values[table.columns.index("import_status")])
    order = [str(s) for s in RowStatus] + sorted(set(counts) - {str(s) for s in RowStatus})
    lines = [(status, str(counts[status])) for status in order if counts[status]]
    return lines + [("total", str(len(table.index)))]


def _top_problems(
    problems: list[Problem], table: _ResultsTable, most: int = 20
) -> list[tuple[str, ...]]:
    counts = Counter((p.code, p.is_error) for p in problems)
    first: dict[tuple[str, bool], Problem] = {}
    for p in problems:
        first.setdefault((p.code, p.is_error), p)
    lines: list[tuple[str, ...]] = []
    for (code, is_error), n in counts.most_common(most):
        example = first[(code, is_error)]
        row = int(table.index.get_indexer([example.row])[0]) + 2
        kind = "error" if is_error else "warning"
        lines.append((code, kind, str(n), str(row) if row > 1 else "", example.message))
    return lines


def _facts(
    sheet: SourceSheet, table: _ResultsTable, summary: ResultsSummary, mapping_text: str
) -> list[tuple[str, str]]:
    # Lists as ASCII JSON: \uXXXX escapes read back exactly, whatever the names hold.
    written = json.dumps(table.columns)
    source = json.dumps(table.source_columns)
    return [
        ("format_version", FORMAT_VERSION),
        ("tool_version", importer.__version__),
        ("command", summary.command),
        ("written_at", summary.finished_at),
        ("source_path", displayable(str(sheet.path))),
        ("source_sha256", sheet.sha256),
        ("kind", sheet.kind),
        ("source_sheet", sheet.sheet_name or ""),
        ("header_row", str(sheet.header_row)),
        ("encoding", sheet.encoding or ""),
        ("delimiter", sheet.delimiter or ""),
        ("results_sheet", table.sheet_name),
        ("source_columns", source),
        ("written_columns", written),
        ("result_columns", json.dumps(list(RESULT_COLUMNS))),
        # What retry compares with to report rows deleted by hand.
        ("record_ids", json.dumps(table.series[table.columns.index("import_record_id")].tolist())),
        # What read_results checks it got back: Excel cuts cells it cannot hold on save.
        ("mapping_sha256", text_sha256(mapping_text)),
        ("columns_sha256", text_sha256(written + source)),
    ]


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _write_meta(ws: Worksheet, facts: list[tuple[str, str]]) -> None:
    """key/value rows; a value longer than a cell holds continues on rows with the same key,
    in pieces of at most 32,000 UTF-16 units (what Excel counts), so Excel never cuts one."""
    ws.write_string(0, 0, "key")
    ws.write_string(0, 1, "value")
    r = 1
    for key, value in facts:
        for piece in cell_chunks(value):
            ws.write_string(r, 0, key)
            ws.write_string(r, 1, piece)
            r += 1
