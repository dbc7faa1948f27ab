"""Write the results workbook (xlsx or csv); never decides a status or reads a file back."""

from __future__ import annotations

import csv
import hashlib
import json
import math
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

from importer import __version__
from importer.errors import OutputError
from importer.masking import displayable
from importer.models import DONE, RESULT_COLUMNS, Problem, RowStatus
from importer.reading.sheet import SourceSheet
from importer.results.layout import cell_chunks, sheet_title, written_column, xlsx_misfit
from importer.results.summary import group_problems

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
ERROR_FILL = "#FFC7CE"  # a source cell that broke a rule (Excel's "bad" red)
WARNING_FILL = "#FFF2CC"  # a cell repaired or suspicious: a milder yellow
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
    facts = _facts(content, table)
    _write_atomically(out, lambda tmp: _write_xlsx(tmp, table, content, facts))


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
    cells: list[np.ndarray]  # one object array of str per written column
    index: pd.Index  # source row numbers, in order

    @classmethod
    def build(cls, content: ResultsContent) -> _ResultsTable:
        rows = content.rows
        source = list(rows.columns)
        results = content.results.reindex(index=rows.index, columns=list(RESULT_COLUMNS))
        cells = [_text_cells(rows[c]) for c in source]
        cells += [_displayable(_text_cells(results[c])) for c in RESULT_COLUMNS]
        written = [written_column(c) for c in source]
        name = sheet_title(content.sheet_title, {SUMMARY_SHEET, META_SHEET}, CSV_SHEET)
        return cls(name, written + list(RESULT_COLUMNS), source, cells, rows.index)

    @cached_property
    def values(self) -> list[list[str]]:
        """Column-major lists: the cheapest shape to walk cell by cell."""
        return [column.tolist() for column in self.cells]

    @property
    def series(self) -> list[pd.Series]:
        """One str Series per written column, indexed by source row (for the xlsx check)."""
        return [pd.Series(c, index=self.index, dtype=object, copy=False) for c in self.cells]

    def rows(self) -> Iterable[tuple[str, ...]]:
        return zip(*self.values, strict=True)

    def column(self, name: str) -> list[str]:
        return self.cells[self.columns.index(name)].tolist()


def _text_cells(column: pd.Series) -> np.ndarray:
    """The column's cells as str, "" for a missing one (never to be written to)."""
    values = column.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        # All str already (nearly always): a C-speed check, not a loop over cells.
        return values
    return np.array(["" if v is None or v != v else str(v) for v in values.tolist()], dtype=object)


def _displayable(cells: np.ndarray) -> np.ndarray:
    """A results column with file-name bytes that are not UTF-8 escaped (messages can name
    a survey photo); one join finds out whether any cell needs it."""
    try:
        "".join(cells.tolist()).encode("utf-8")
    except UnicodeEncodeError:
        return np.array([displayable(cell) for cell in cells.tolist()], dtype=object)
    return cells


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
    cells = column.to_numpy(dtype=object).tolist()
    changed = _prefixed(cells, starts, add)
    if changed is cells:
        return column
    return pd.Series(changed, index=column.index, dtype=column.dtype)


def _prefixed(cells: list[str], starts: tuple[str, ...], add: bool, bulk: str = "") -> list[str]:
    """`cells` with one `'` added (or removed) where a cell starts with one of `starts`;
    `cells` itself when none does. `bulk` is the cells joined by NUL, if already made."""
    # Most columns have no such cell, which searches of the joined column tell: first for
    # the character anywhere (a quick scan), and only if it is there for it after a NUL
    # (a false alarm from a NUL inside a cell only costs the exact pass). Ten times quicker
    # than looking at each cell for 1M rows (benchmarks/run.py --only dry_csv).
    bulk = "\x00" + (bulk or "\x00".join(cells))
    if not any(start in bulk and "\x00" + start in bulk for start in starts):
        return cells
    if add:
        return ["'" + v if v.startswith(starts) else v for v in cells]
    return [v[1:] if v.startswith(starts) else v for v in cells]


# csv.writer (QUOTE_MINIMAL) quotes a cell holding one of these, doubling its quotes.
_QUOTED_CHARS = (",", '"', "\r", "\n")


# Rows written at a time: their cells as lists, and the text joined to look into them,
# stay small, and their memory is reused block after block (on a big sheet, memory the
# process takes anew costs more than the work done in it).
_CSV_BLOCK = 1 << 16


def _write_csv(tmp: Path, table: _ResultsTable) -> None:
    names = [_neutral_text(c) for c in table.columns]
    # The BOM is written by hand: Excel reads a BOM-less UTF-8 CSV as Windows-1252 and
    # mangles accents, and "utf-8-sig" as the file's encoding costs a Python-level encode
    # call per row.
    with tmp.open("w", encoding="utf-8", newline="", buffering=1 << 20) as handle:
        handle.write("\ufeff")
        csv.writer(handle, lineterminator="\r\n").writerow(names)
        for start in range(0, len(table.index), _CSV_BLOCK):
            block = [_csv_cells(c[start : start + _CSV_BLOCK].tolist()) for c in table.cells]
            # The cells are quoted already (_csv_cells), so a row is its cells joined: the
            # bytes csv.writer writes, more than twice as fast for 1M rows (tests compare
            # the two on awkward cells).
            handle.writelines(map(_csv_line, zip(*block, strict=True)))


def _csv_line(cells: tuple[str, ...]) -> str:
    return ",".join(cells) + "\r\n"


def _csv_cells(cells: list[str]) -> list[str]:
    """A column's cells as csv.writer writes them, formula-like ones neutralized first."""
    bulk = "\x00".join(cells)
    cells = _prefixed(cells, FORMULA_STARTS, add=True, bulk=bulk)
    if not any(char in bulk for char in _QUOTED_CHARS):
        return cells
    # Spelled out, not any(...) over _QUOTED_CHARS: six times quicker per cell.
    return [
        _csv_quoted(v) if ("," in v or '"' in v or "\r" in v or "\n" in v) else v for v in cells
    ]


def _csv_quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


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


@dataclass
class _Mark:
    """What a source cell is marked with: the messages, and whether any is an error."""

    messages: list[str] = field(default_factory=list)
    error: bool = False


def _flagged_cells(
    problems: list[Problem], field_columns: dict[str, tuple[str, ...]], table: _ResultsTable
) -> dict[int, dict[int, _Mark]]:
    """Sheet row -> column -> mark, for the source cells behind each problem: the ones
    that broke a rule (errors) and the ones repaired or suspicious (warnings)."""
    position = {name: j for j, name in enumerate(table.source_columns)}
    rows = table.index.get_indexer([p.row for p in problems])
    flagged: dict[int, dict[int, _Mark]] = {}
    for problem, row in zip(problems, rows, strict=True):
        columns = [position[c] for c in field_columns.get(problem.field, ()) if c in position]
        for j in columns if row >= 0 else ():
            mark = flagged.setdefault(int(row) + 1, {}).setdefault(j, _Mark())
            mark.messages.append(problem.message)
            mark.error |= problem.is_error
    return flagged


def _write_data(
    book: xlsxwriter.Workbook,
    ws: Worksheet,
    table: _ResultsTable,
    flagged: dict[int, dict[int, _Mark]],
) -> None:
    last_row, last_col = len(table.index), len(table.columns) - 1
    header = book.add_format({"bold": True, "bg_color": "#F2F2F2", "bottom": 1})
    fills = {
        True: book.add_format({"bg_color": ERROR_FILL}),
        False: book.add_format({"bg_color": WARNING_FILL}),
    }
    for j, width in enumerate(_widths(table)):
        ws.set_column(j, j, width)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, last_row, last_col)
    # Printed (or saved as PDF): landscape, one page wide, the header on every page.
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    # Every cell is text on purpose (zips, phones, ids): no green "number stored as text" marks.
    ws.ignore_errors({"number_stored_as_text": f"A1:{_cell_name(max(last_row, 1), last_col)}"})
    _status_formats(book, ws, table.columns.index("import_status"), last_row)
    for j, name in enumerate(table.columns):
        ws.write_string(0, j, name, header)
    write = ws.write_string
    comments = MAX_COMMENTS
    for r, row in enumerate(table.rows(), start=1):
        marks = flagged.get(r)
        if marks is not None:
            comments = _write_marked_row(ws, r, row, marks, fills, comments)
            continue
        for j, value in enumerate(row):
            if value:
                write(r, j, value)


def _write_marked_row(
    ws: Worksheet,
    r: int,
    row: tuple[str, ...],
    marks: dict[int, _Mark],
    fills: dict[bool, Format],
    comments: int,
) -> int:
    for j, value in enumerate(row):
        mark = marks.get(j)
        if mark is None:
            if value:
                ws.write_string(r, j, value)
            continue
        fill = fills[mark.error]
        if value:
            ws.write_string(r, j, value, fill)
        else:
            ws.write_blank(r, j, None, fill)
        if comments > 0:
            comment = displayable("\n".join(mark.messages))
            ws.write_comment(r, j, comment, {"x_scale": 2.5, "y_scale": 1.5})
            comments -= 1
    return comments


def _cell_name(row: int, col: int) -> str:
    """Zero-based (row, col) -> "A1"-style name."""
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


def _widths(table: _ResultsTable, sample: int = 2000) -> list[float]:
    """Header or longest early value, whichever is wider, within 8..60 characters."""
    widths = []
    for name, values in zip(table.columns, table.cells, strict=True):
        longest = max((len(v) for v in values[:sample].tolist()), default=0)
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
    title = book.add_format({"bold": True, "font_size": 14})
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    # Facts and counts use A:B (a fact's value runs on over the empty cells beside it); the
    # problems table uses A:E; the chart sits beside the counts.
    for col, width in enumerate((30, 10, 8, 12, 80)):
        ws.set_column(col, col, width)
    summary, source = content.summary, content.source
    facts: list[tuple[str, str]] = [
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
        *((key, value) for key, value in summary.extra.items() if value),
    ]
    ws.write_string(0, 0, "enerflo-import results", title)
    r = 1
    for key, value in facts:
        ws.write_string(r, 0, key)
        ws.write_string(r, 1, displayable(value))
        r += 1
    r = _write_counts(book, ws, r + 1, _status_counts(table), bold)
    right = book.add_format({"bold": True, "align": "right"})
    for col, (name, fmt) in enumerate(
        (
            ("problem", bold),
            ("kind", bold),
            ("rows", right),
            ("example row", right),
            ("example message", bold),
        )
    ):
        ws.write_string(r + 1, col, name, fmt)
    for i, line in enumerate(_top_problems(content, table), start=r + 2):
        kind, severity, rows, example_row, example = line
        ws.write_string(i, 0, displayable(kind))
        ws.write_string(i, 1, severity)
        ws.write_number(i, 2, rows)
        if example_row:
            ws.write_number(i, 3, example_row)
        ws.write_string(i, 4, displayable(example))


def _write_counts(
    book: xlsxwriter.Workbook,
    ws: Worksheet,
    first: int,
    counts: list[tuple[str, int]],
    bold: Format,
) -> int:
    """Rows per status as numbers, and a bar chart of them; returns the next free row."""
    ws.write_string(first, 0, "status", bold)
    ws.write_string(first, 1, "rows", book.add_format({"bold": True, "align": "right"}))
    for i, (status, n) in enumerate(counts, start=first + 1):
        ws.write_string(i, 0, status, bold if status == "total" else None)
        ws.write_number(i, 1, n, bold if status == "total" else None)
    shown = [(status, n) for status, n in counts if status != "total"]
    end = first + len(counts) + 1
    if shown:
        chart = book.add_chart({"type": "bar"})
        last = first + len(shown)
        colours = [_font_colour(status) for status, _ in shown]
        chart.add_series(
            {
                "name": "rows",
                "categories": [SUMMARY_SHEET, first + 1, 0, last, 0],
                "values": [SUMMARY_SHEET, first + 1, 1, last, 1],
                "points": [{"fill": {"color": colour}} for colour in colours],
                "data_labels": {"value": True},
            }
        )
        chart.set_title({"name": "Rows by status", "name_font": {"size": 11}})
        chart.set_legend({"none": True})
        chart.set_y_axis({"reverse": True})
        height = 90 + 30 * len(shown)
        chart.set_size({"width": 560, "height": height})
        ws.insert_chart(first, 2, chart, {"x_offset": 10})
        # The next table starts below the chart (rows are 20 px high).
        end = max(end, first + math.ceil(height / 20) + 1)
    return end


def _font_colour(status: str) -> str:
    """The colour a status is written in (grey for anything unknown)."""
    known = {str(s): colours for s, colours in STATUS_COLOURS.items()}
    return known.get(status, ("", "#7F7F7F"))[1]


def _status_counts(table: _ResultsTable) -> list[tuple[str, int]]:
    counts = Counter(table.column("import_status"))
    order = [str(s) for s in RowStatus] + sorted(set(counts) - {str(s) for s in RowStatus})
    lines = [(status, counts[status]) for status in order if counts[status]]
    return lines + [("total", len(table.index))]


def _top_problems(
    content: ResultsContent, table: _ResultsTable, most: int = 20
) -> list[tuple[str, str, int, int, str]]:
    """(kind, error or warning, rows, example sheet row or 0, example message)."""
    lines = []
    for group in group_problems(content.problems, content.results)[:most]:
        row = int(table.index.get_indexer([group.example_row])[0]) + 2
        severity = "error" if group.is_error else "warning"
        lines.append((group.kind, severity, group.rows, row if row > 1 else 0, group.example))
    return lines


def _facts(content: ResultsContent, table: _ResultsTable) -> list[tuple[str, str]]:
    source, summary = content.source, content.summary
    # Lists as ASCII JSON: \uXXXX escapes read back exactly, whatever the names hold.
    written = json.dumps(table.columns)
    source_columns = json.dumps(table.source_columns)
    return [
        ("format_version", FORMAT_VERSION),
        ("tool_version", __version__),
        ("command", summary.command),
        ("written_at", summary.finished_at),
        ("source_path", displayable(source.path)),
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
        ("source_columns", source_columns),
        ("written_columns", written),
        ("result_columns", json.dumps(list(RESULT_COLUMNS))),
        # What retry compares with to report rows deleted by hand.
        ("record_ids", json.dumps(table.column("import_record_id"))),
        # What read_results checks it got back: Excel cuts cells it cannot hold on save.
        ("mapping_sha256", text_sha256(content.mapping_text)),
        ("columns_sha256", text_sha256(written + source_columns)),
    ]


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _accepted_ids(results: pd.DataFrame) -> dict[str, str]:
    """record id -> lead id of every row the destination has (accepted or unchanged)."""
    accepted = results["import_status"].isin([str(s) for s in DONE])
    chosen = results.loc[accepted, ["import_record_id", "import_lead_id"]].astype(str)
    return dict(zip(chosen["import_record_id"], chosen["import_lead_id"], strict=True))


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
