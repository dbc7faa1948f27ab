"""Write the results workbook (xlsx or csv); never decides a status or reads a file back."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from importer import __version__
from importer.errors import OutputError
from importer.models import DONE, RESULT_COLUMNS, Problem, RowStatus
from importer.reading.sheet import SourceSheet
from importer.results.summary import group_problems

FORMAT_VERSION = "1"
META_SHEET = "_enerflo_import"
SUMMARY_SHEET = "Summary"
CSV_SHEET = "Leads"
MAX_COMMENTS = 10_000  # Excel crawls with more; every message is also in import_message.
CHUNK = 32_000  # an xlsx cell holds at most 32,767 characters
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
STATUS_COLOURS = {
    # status -> (fill, font), Excel's own "good / bad / neutral" palette plus grey
    RowStatus.CREATED: ("#C6EFCE", "#006100"),
    RowStatus.UPDATED: ("#C6EFCE", "#006100"),
    RowStatus.UNCHANGED: ("#DDEBF7", "#1F4E78"),  # muted blue: fine, and nothing was sent
    RowStatus.VALID: ("#C6EFCE", "#006100"),
    RowStatus.INVALID: ("#FFC7CE", "#9C0006"),
    RowStatus.REJECTED: ("#FFC7CE", "#9C0006"),
    RowStatus.FAILED: ("#FCD5B4", "#974706"),
    RowStatus.PENDING: ("#E7E6E6", "#595959"),
}
# Safe to follow: re-running the same command resumes from the journal, so nothing accepted
# is sent again (another -o would start a new journal and send every row again).
OUTPUT_HINT = (
    "close the file if it is open in Excel (or free disk space), then run the same command "
    "again: it resumes from the journal and sends nothing accepted twice"
)
REHEARSAL_NOTE = "yes: rows went to the embedded sandbox; nothing reached Enerflo"


@dataclass(frozen=True)
class SourceFacts:
    """Where the rows came from, as the hidden sheet records it for retry."""

    path: str
    sha256: str
    kind: str
    sheet: str
    header_row: int
    encoding: str = ""
    delimiter: str = ""

    @classmethod
    def of(cls, sheet: SourceSheet) -> SourceFacts:
        return cls(
            str(sheet.path.resolve()),
            sheet.sha256,
            sheet.kind,
            sheet.sheet_name or "",
            sheet.header_row,
            sheet.encoding or "",
            sheet.delimiter or "",
        )


@dataclass
class ResultsSummary:
    """What the Summary sheet says about the run besides the rows themselves.

    `destination` holds the facts of where rows were sent (endpoint, key fingerprint, base
    URL, partner; never the key), empty for a dry run.
    """

    command: str
    started_at: str
    finished_at: str
    destination: dict[str, str] = field(default_factory=dict)
    sent_to: str = ""  # how the Summary names the destination
    rehearsal: bool = False
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class ResultsContent:
    """Everything a results file holds: the source rows as read, and what became of them."""

    rows: pd.DataFrame  # the source columns, as read, indexed by spreadsheet row
    sheet_title: str | None  # the data sheet's name (a CSV source has none)
    source: SourceFacts
    results: pd.DataFrame  # the import_* columns, same index
    problems: list[Problem]
    field_columns: dict[str, tuple[str, ...]]  # field label -> the source columns it reads
    summary: ResultsSummary
    mapping_text: str
    mapping_warnings: list[str] = field(default_factory=list)


def write_results(out: Path, content: ResultsContent) -> None:
    """Write every source row with its result columns to OUT (.xlsx or .csv), atomically.

    The file appears complete or not at all (temp file beside OUT, then os.replace).
    Raises OutputError when OUT cannot be written.
    """
    out = Path(out)
    kind = out.suffix.lower()
    if kind not in (".xlsx", ".csv"):
        raise OutputError(f"{out}: results must be an .xlsx or .csv file", hint=OUTPUT_HINT)
    table = _ResultsTable.build(content)
    tmp = _temp_beside(out)
    try:
        if kind == ".csv":
            _write_csv(tmp, table)
        else:
            _write_xlsx(tmp, table, content, _facts(content, table))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a results file is a normal document
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
    def build(cls, content: ResultsContent) -> _ResultsTable:
        rows = content.rows
        source = list(rows.columns)
        results = content.results.reindex(index=rows.index, columns=list(RESULT_COLUMNS))
        series = [_text_series(rows[c]) for c in source]
        series += [_text_series(results[c]) for c in RESULT_COLUMNS]
        written = [f"{c} (source)" if c in RESULT_COLUMNS else c for c in source]
        name = _sheet_title(content.sheet_title)
        return cls(name, written + list(RESULT_COLUMNS), source, series, rows.index)

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


def _sheet_title(name: str | None) -> str:
    """The source sheet's name, made a legal xlsx title that clashes with neither of ours."""
    title = "".join("_" if ch in "[]:*?/\\" else ch for ch in (name or CSV_SHEET))[:31]
    taken = {SUMMARY_SHEET.casefold(), META_SHEET.casefold()}
    return CSV_SHEET if not title.strip("'") or title.casefold() in taken else title


def _temp_beside(out: Path) -> Path:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as exc:
        raise OutputError(
            f"{out}: cannot write the results ({describe_error(exc)})", OUTPUT_HINT
        ) from exc
    os.close(handle)
    return Path(name)


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
    tmp: Path, table: _ResultsTable, content: ResultsContent, facts: list[tuple[str, str]]
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
    flagged = _flagged_cells(content.problems, content.field_columns, table)
    _write_data(book, data, table, flagged)
    _write_summary(book, summary_sheet, table, content)
    _write_meta(meta, facts + [("mapping_text", content.mapping_text)])
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
                ws.write_comment(r, j, "\n".join(marks[j]), {"x_scale": 2.5, "y_scale": 1.5})
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
    book: xlsxwriter.Workbook, ws: Worksheet, table: _ResultsTable, content: ResultsContent
) -> None:
    bold = book.add_format({"bold": True})
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 48)
    ws.set_column(2, 3, 14)
    ws.set_column(4, 4, 70)
    summary, source = content.summary, content.source
    lines: list[tuple[str, ...]] = [
        ("enerflo-import results",),
        ("source file", Path(source.path).name),
        ("source sheet", source.sheet),
        ("source sha256", source.sha256),
        ("command", summary.command),
        ("sent to", summary.sent_to or "(nothing sent: a dry run)"),
        *([("rehearsal", REHEARSAL_NOTE)] if summary.rehearsal else []),
        *(
            [("api key fingerprint", summary.destination["key_fingerprint"])]
            if summary.destination.get("key_fingerprint")
            else []
        ),
        ("started at", summary.started_at),
        ("finished at", summary.finished_at),
        *summary.extra.items(),
        (),
        ("status", "rows"),
        *_status_counts(table),
        (),
        ("problem", "kind", "rows", "example row", "example message"),
        *_top_problems(content, table),
    ]
    for r, line in enumerate(lines):
        fmt = bold if r == 0 or line[:1] in (("status",), ("problem",)) else None
        for j, value in enumerate(line):
            if value:
                ws.write_string(r, j, str(value), fmt)


def _status_counts(table: _ResultsTable) -> list[tuple[str, str]]:
    counts = Counter(table.values[table.columns.index("import_status")])
    order = [str(s) for s in RowStatus] + sorted(set(counts) - {str(s) for s in RowStatus})
    lines = [(status, str(counts[status])) for status in order if counts[status]]
    return lines + [("total", str(len(table.index)))]


def _top_problems(content: ResultsContent, table: _ResultsTable, most: int = 20):
    groups = group_problems(content.problems, content.results)[:most]
    lines: list[tuple[str, ...]] = []
    for group in groups:
        row = int(table.index.get_indexer([group.example_row])[0]) + 2
        kind = "error" if group.is_error else "warning"
        lines.append(
            (group.kind, kind, str(group.rows), str(row) if row > 1 else "", group.example)
        )
    return lines


def _facts(content: ResultsContent, table: _ResultsTable) -> list[tuple[str, str]]:
    source, summary = content.source, content.summary
    return [
        ("format_version", FORMAT_VERSION),
        ("tool_version", __version__),
        ("command", summary.command),
        ("written_at", summary.finished_at),
        ("source_path", source.path),
        ("source_sha256", source.sha256),
        ("kind", source.kind),
        ("source_sheet", source.sheet),
        ("header_row", str(source.header_row)),
        ("encoding", source.encoding),
        ("delimiter", source.delimiter),
        *summary.destination.items(),
        # What retry keeps taken whatever the user does to the cells: ids accepted so far.
        ("accepted_ids", json.dumps(_accepted_ids(content.results), ensure_ascii=False)),
        ("results_sheet", table.sheet_name),
        ("source_columns", json.dumps(table.source_columns, ensure_ascii=False)),
        ("written_columns", json.dumps(table.columns, ensure_ascii=False)),
        ("result_columns", json.dumps(list(RESULT_COLUMNS))),
        # What retry compares with to report rows deleted by hand.
        ("record_ids", json.dumps(table.series[table.columns.index("import_record_id")].tolist())),
    ]


def _accepted_ids(results: pd.DataFrame) -> dict[str, str]:
    """record id -> lead id of every row the destination has (accepted or unchanged)."""
    accepted = results["import_status"].isin([str(s) for s in DONE])
    chosen = results.loc[accepted, ["import_record_id", "import_lead_id"]].astype(str)
    return dict(zip(chosen["import_record_id"], chosen["import_lead_id"], strict=True))


def _write_meta(ws: Worksheet, facts: list[tuple[str, str]]) -> None:
    """key/value rows; a value longer than a cell holds continues on rows with the same key."""
    ws.write_string(0, 0, "key")
    ws.write_string(0, 1, "value")
    r = 1
    for key, value in facts:
        for start in range(0, max(len(value), 1), CHUNK):
            ws.write_string(r, 0, key)
            ws.write_string(r, 1, value[start : start + CHUNK])
            r += 1
