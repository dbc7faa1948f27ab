"""Read a lead sheet (csv, xlsx, xls, ods) into a frame of text cells; never infers or repairs."""

from __future__ import annotations

import codecs
import hashlib
import io
import re
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from python_calamine import CalamineError, CalamineWorkbook, SheetVisibleEnum

from importer.errors import SheetError, UsageError
from importer.reading.archive import SheetFacts, WorkbookScan, scan_workbook
from importer.reading.cells import cell_text, cells_to_text
from importer.reading.notes import CellNote, error_note, formula_note
from importer.reading.quotes import check_cells_spanning_lines, line_count

KINDS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
    ".ods": "ods",
}
SUPPORTED_HINT = "supported files: .csv, .tsv, .xlsx, .xlsm, .xls, .ods"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # Excel's "Unicode Text" export
DELIMITERS = (",", ";", "\t")
_QUOTED = re.compile(r'"(?:[^"]|"")*"')
# Bytes that do not occur in text files (tab, LF, FF and CR do).
CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"


@dataclass
class SourceSheet:
    """One sheet as text: `frame` has one str column per header, index = spreadsheet row."""

    path: Path
    kind: str
    sheet_name: str | None
    header_row: int
    columns: list[str]
    frame: pd.DataFrame
    encoding: str | None
    delimiter: str | None
    sha256: str
    # Cells whose text does not tell the whole story: formulas with no saved result and
    # error values (they read as empty), a lone CSV cell spanning lines. Turn them into
    # row problems with importer.reading.notes.cell_note_problems.
    cell_notes: list[CellNote] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the reader guessed, for the user


# The warning when a CSV that is not UTF-8 is read with the Windows-1252 fallback.
CP1252_WARNING = "{path}: not UTF-8; read as Windows-1252; if accents look wrong, pass --encoding"


def check_encoding(encoding: str) -> str:
    """The codec's canonical name; UsageError (one line) for a name Python does not know."""
    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:
        raise UsageError(
            f'unknown encoding "{encoding}"',
            hint="use a name such as utf-8, cp1252, iso-8859-2 or shift_jis",
        ) from exc


def read_sheet(
    path: Path,
    sheet: str | None = None,
    header_row: int = 1,
    delimiter: str | None = None,
    check_quotes: bool = True,
    encoding: str | None = None,
) -> SourceSheet:
    """Read every cell of one sheet as the text Excel would show (General format).

    `sheet` is ignored for csv; for workbooks it defaults to the first visible sheet and
    also matches case-insensitively. Rows above `header_row` are skipped; trailing fully
    empty rows are dropped, interior ones kept. `delimiter` fixes a CSV's delimiter
    (default: guessed from the header line); `check_quotes=False` skips the stray-quote
    check (for a CSV this tool wrote itself). `encoding` (csv only) replaces detection;
    without it, a csv that is not UTF-8 is read as Windows-1252 and `warnings` says so.
    Raises SheetError for anything unreadable, and before calamine sees it, for a workbook
    that would exhaust memory; UsageError for an unknown encoding name.
    """
    path = Path(path)
    if encoding is not None:
        encoding = check_encoding(encoding)
    if header_row < 1:
        raise SheetError(f"{path}: header row must be 1 or more, not {header_row}")
    data = _read_bytes(path)
    kind = _kind_of(path)
    digest = hashlib.sha256(data).hexdigest()
    scan = _check_content(path, kind, data, digest)
    if kind == "csv":
        return _read_csv(path, data, header_row, digest, delimiter, check_quotes, encoding)
    book = _open_workbook(path, kind, data)
    name = _choose_sheet(path, book, sheet)
    facts = scan.check_sheet(path, name) if scan is not None else SheetFacts()
    rows = _sheet_rows(path, book, name)
    try:
        frame, columns = _frame_from_rows(rows, header_row, f'{path}: sheet "{name}"')
    except SheetError as exc:
        others = [n for n in book.sheet_names if n != name]
        if exc.hint is None and others:  # the wrong sheet, most likely: name the others
            exc.hint = f"the workbook's other sheets: {', '.join(others)}; choose one with --sheet"
        raise
    notes = _cell_notes(facts, rows[header_row - 1], frame)
    return SourceSheet(path, kind, name, header_row, columns, frame, None, None, digest, notes)


def list_sheets(path: Path) -> list[str]:
    """Sheet names of a workbook in tab order (`[]` for csv)."""
    path = Path(path)
    data = _read_bytes(path)
    kind = _kind_of(path)
    _check_content(path, kind, data, hashlib.sha256(data).hexdigest())
    if kind == "csv":
        return []
    return list(_open_workbook(path, kind, data).sheet_names)


def _cell_notes(facts: SheetFacts, header: list[Any], frame: pd.DataFrame) -> list[CellNote]:
    names = [cell_text(v).strip() for v in header]
    notes = []
    for row, number, code, detail in facts.notes:
        j = number - 1
        if row not in frame.index or j >= len(names) or names[j] not in frame.columns:
            continue
        ref = f"{column_letter(j)}{row}"
        if code == "error_value":
            notes.append(error_note(row, names[j], ref, detail))
        else:
            notes.append(formula_note(row, names[j], ref))
    return notes


# -- checks on the file itself ------------------------------------------------------------


def _kind_of(path: Path) -> str:
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        what = f'"{path.suffix}"' if path.suffix else "(no extension)"
        raise SheetError(f"{path}: unsupported file type {what}", hint=SUPPORTED_HINT)
    return kind


def _read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise SheetError(f"{path}: is a directory, not a spreadsheet file")
    if not path.exists():
        raise SheetError(f"{path}: file not found", hint="check the path")
    _kind_of(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise SheetError(f"{path}: file not found", hint="check the path") from exc
    except OSError as exc:
        raise SheetError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not data:
        raise SheetError(f"{path}: file is empty (0 bytes)")
    return data


def _sniff(data: bytes) -> str:
    """What the bytes look like: zip, ole, html, text or binary."""
    head = data[:8192]
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if head.startswith(UTF16_BOMS):
        return "text"
    controls = len(head) - len(head.translate(None, CONTROL_BYTES))
    # Random bytes are ~11% control bytes; text has a stray one at most.
    if b"\x00" in head or (controls >= 4 and controls * 20 > len(head)):
        return "binary"
    lowered = head.lstrip(UTF8_BOM).lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table")):
        return "html"
    return "text"


_LOOKS_LIKE = {
    "zip": "a zip archive",
    "ole": "an xls workbook or a password-protected file",
    "html": "an HTML or XML page",
    "text": "CSV text",
}
_FIX_HINT = {
    "ole": "rename it to .xls, or remove the password in Excel and save it as .xlsx",
    "html": "open it in Excel and save it as .xlsx",
    "text": "rename it to .csv",
}


def _check_content(path: Path, kind: str, data: bytes, digest: str) -> WorkbookScan | None:
    """Refuse content that is not what the name says; a workbook's zip is scanned too."""
    found = _sniff(data)
    if found == "binary" and kind != "csv":
        raise SheetError(f"{path}: is not an {kind} workbook (unrecognized binary content)")
    if kind == "csv":
        _check_csv_content(path, found)
    elif kind == "xls" and found != "ole":
        looks = "an xlsx or ods workbook" if found == "zip" else _LOOKS_LIKE[found]
        hint = "rename it to .xlsx (or .ods)" if found == "zip" else _FIX_HINT.get(found)
        raise SheetError(f"{path}: is not an xls workbook (it looks like {looks})", hint=hint)
    elif kind in ("xlsx", "ods"):
        if found != "zip":
            msg = f"{path}: is not an {kind} workbook (it looks like {_LOOKS_LIKE[found]})"
            raise SheetError(msg, hint=_FIX_HINT.get(found))
        _check_zip(path, kind, data)
        return _scanned(path, kind, data, digest)
    return None


_SCANS: OrderedDict[str, WorkbookScan] = OrderedDict()  # by sha256: retry reads a file thrice


def _scanned(path: Path, kind: str, data: bytes, digest: str) -> WorkbookScan:
    scan = _SCANS.get(digest)
    if scan is None:
        scan = _SCANS[digest] = scan_workbook(path, kind, data)
        while len(_SCANS) > 4:
            _SCANS.popitem(last=False)
    return scan


def _check_csv_content(path: Path, found: str) -> None:
    if found == "zip":
        msg = f"{path}: is not CSV text (it looks like an xlsx or ods workbook)"
        raise SheetError(msg, hint="rename it to .xlsx (or .ods)")
    if found == "ole":
        raise SheetError(f"{path}: is not CSV text (it looks like an xls workbook)")
    if found == "binary":
        raise SheetError(f"{path}: is not CSV text (it contains binary data)")


def _check_zip(path: Path, kind: str, data: bytes) -> None:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError) as exc:
        msg = f"{path}: is damaged or truncated (not a readable {kind} workbook)"
        raise SheetError(msg, hint="save or download it again") from exc
    actual = "xlsx" if "xl/workbook.xml" in names else "ods" if "content.xml" in names else None
    if actual != kind:
        looks = f"an {actual} workbook" if actual else "a zip archive"
        hint = f"rename it to .{actual}" if actual else None
        raise SheetError(f"{path}: is not an {kind} workbook (it looks like {looks})", hint=hint)


# -- csv ------------------------------------------------------------------------------------


def _decodes(data: bytes, encoding: str, block: int = 1 << 16) -> bool:
    """Whether `data` decodes, checked in blocks so a big file is never held twice.

    Small blocks: their text is freed and its memory reused block after block, where 1 MB
    blocks each take fresh memory from the system (a fifth of a second for 100 MB).
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    try:
        for start in range(0, len(data), block):
            decoder.decode(view[start : start + block])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _detect_encoding(path: Path, data: bytes) -> str:
    """UTF-8 BOM -> utf-8-sig, UTF-16 BOM -> utf-16, valid UTF-8 -> utf-8, else cp1252."""
    if data.startswith(UTF8_BOM):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith(UTF16_BOMS):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8", "cp1252")
    for encoding in candidates:
        if _decodes(data, encoding):
            return encoding
    raise SheetError(
        f"{path}: cannot decode the file as UTF-8 or Windows-1252",
        hint="save it from Excel as CSV UTF-8",
    )


def _sniff_delimiter(data: bytes, encoding: str, header_row: int) -> str:
    """The most frequent of comma, semicolon and tab on the header line (comma if none)."""
    # Decode a head of the file first: in UTF-16 a newline is two bytes.
    lines = data[: 1 << 16].decode(encoding, errors="replace").split("\n")
    if len(lines) < header_row:
        return ","
    # Delimiters inside quoted names ("Notes; misc") do not count.
    line = _QUOTED.sub("", lines[header_row - 1])
    counts = [line.count(d) for d in DELIMITERS]
    return DELIMITERS[counts.index(max(counts))] if max(counts) else ","


def _read_csv(
    path: Path,
    data: bytes,
    header_row: int,
    digest: str,
    delimiter: str | None,
    check_quotes: bool = True,
    encoding: str | None = None,
) -> SourceSheet:
    warnings = []
    if encoding is None:
        encoding = _detect_encoding(path, data)
        if encoding == "cp1252":
            warnings.append(CP1252_WARNING.format(path=path.name))
    elif not _decodes(data, encoding):
        raise SheetError(
            f"{path}: cannot decode the file as {encoding}",
            hint="check the --encoding name, or leave it out to detect UTF-8",
        )
    delimiter = delimiter or _sniff_delimiter(data, encoding, header_row)
    where = f"{path}: the file"
    try:
        raw = pd.read_csv(
            io.BytesIO(data),
            sep=delimiter,
            encoding=encoding,
            header=None,
            skiprows=header_row - 1,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.EmptyDataError as exc:
        raise SheetError(f"{where} has no row {header_row} to use as the header") from exc
    except pd.errors.ParserError as exc:
        raise _csv_parse_error(path, exc) from exc
    header = [str(v) for v in raw.iloc[0]]
    frame, columns = _split_header(header, raw.iloc[1:], header_row, where)
    notes: list[CellNote] = []
    if check_quotes and line_count(data, encoding) != header_row - 1 + len(raw):
        # More lines than rows: some cells span lines. Cheap to know, rarer to look into.
        notes = check_cells_spanning_lines(path, frame, header, delimiter)
    return SourceSheet(
        path,
        "csv",
        None,
        header_row,
        columns,
        frame,
        encoding,
        delimiter,
        digest,
        notes,
        warnings,
    )


def _csv_parse_error(path: Path, exc: Exception) -> SheetError:
    text = str(exc)
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if fields:
        want, line, saw = fields.groups()
        return SheetError(
            f"{path}: line {line} has {saw} fields but the header has {want}",
            hint="check the delimiter and the quotes on that line",
        )
    if "EOF inside string" in text:
        return SheetError(f"{path}: a quoted cell is never closed", hint='check for a stray "')
    return SheetError(f"{path}: cannot be parsed as CSV ({text.strip().splitlines()[-1]})")


# -- workbooks ------------------------------------------------------------------------------


def _open_workbook(path: Path, kind: str, data: bytes) -> CalamineWorkbook:
    # From the bytes already checked: the file cannot change in between, and a path whose
    # name is not UTF-8 (which calamine cannot open by name) reads like any other.
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except CalamineError as exc:
        raise SheetError(f"{path}: cannot be read as an {kind} workbook ({exc})") from exc


def _choose_sheet(path: Path, book: CalamineWorkbook, sheet: str | None) -> str:
    names = list(book.sheet_names)
    if not names:
        raise SheetError(f"{path}: the workbook has no sheets")
    if sheet is None:
        visible = [m.name for m in book.sheets_metadata if m.visible == SheetVisibleEnum.Visible]
        return (visible or names)[0]
    if sheet in names:
        return sheet
    folded = [n for n in names if n.casefold() == sheet.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise SheetError(
        f'{path}: sheet "{sheet}" not found', hint=f"the workbook's sheets are: {', '.join(names)}"
    )


def _sheet_rows(path: Path, book: CalamineWorkbook, name: str) -> list[list[Any]]:
    try:
        return book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except CalamineError as exc:
        raise SheetError(f'{path}: sheet "{name}" cannot be read ({exc})') from exc


def _frame_from_rows(
    rows: list[list[Any]], header_row: int, where: str
) -> tuple[pd.DataFrame, list[str]]:
    if not rows:
        raise SheetError(f"{where} is empty")
    if len(rows) < header_row:
        raise SheetError(f"{where} has no row {header_row} to use as the header")
    header = [cell_text(v) for v in rows[header_row - 1]]
    body = cells_to_text(rows[header_row:]) if len(rows) > header_row else pd.DataFrame()
    return _split_header(header, body, header_row, where)


# -- header and rows ------------------------------------------------------------------------


def _split_header(
    header: list[str], body: pd.DataFrame, header_row: int, where: str
) -> tuple[pd.DataFrame, list[str]]:
    """`body` (the rows under the header) minus trailing empty rows, named by the header."""
    header = [name.strip() for name in header]
    body = body.iloc[: _filled_length(body)]
    if not len(body):
        raise SheetError(f"{where} has a header row but no data rows")
    keep = [j for j, name in enumerate(header) if name or _has_data(body.iloc[:, j])]
    _check_header(header, keep, body, header_row, where)
    frame = body.iloc[:, keep].set_axis([header[j] for j in keep], axis=1)
    frame.index = pd.RangeIndex(header_row + 1, header_row + 1 + len(frame))
    return frame, list(frame.columns)


def _has_data(column: pd.Series) -> bool:
    return bool((column != "").any())


def _filled_length(body: pd.DataFrame, chunk: int = 1024) -> int:
    """Number of rows up to the last one with any non-empty cell (blocks from the end)."""
    end = len(body)
    while end > 0:
        start = max(0, end - chunk)
        filled = np.flatnonzero((body.iloc[start:end] != "").any(axis=1).to_numpy())
        if len(filled):
            return start + int(filled[-1]) + 1
        end = start
    return 0


def _check_header(
    header: list[str], keep: list[int], body: pd.DataFrame, header_row: int, where: str
) -> None:
    blank = [j for j in keep if not header[j]]
    if blank:
        j = blank[0]
        first = header_row + 1 + int(np.flatnonzero((body.iloc[:, j] != "").to_numpy())[0])
        raise SheetError(
            f"{where} has data in column {column_letter(j)} under an empty header cell "
            f"(first in row {first})",
            hint=f"type a header in row {header_row} or delete the column",
        )
    seen: dict[str, list[int]] = {}
    for j in keep:
        seen.setdefault(header[j], []).append(j)
    dupes = [f'"{name}" (columns {_letters(js)})' for name, js in seen.items() if len(js) > 1]
    if dupes:
        raise SheetError(
            f"{where} has duplicate column headers: {', '.join(dupes)}",
            hint="rename the columns so every header is different",
        )


def _letters(indexes: list[int]) -> str:
    letters = [column_letter(j) for j in indexes]
    return ", ".join(letters[:-1]) + " and " + letters[-1]


def column_letter(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA": the column as a spreadsheet shows it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
