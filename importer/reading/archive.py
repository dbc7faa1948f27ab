"""Look inside an xlsx or ods zip before calamine opens it: refuse what would exhaust memory.

Every part is inflated here once, as a stream, against its declared size (a part that
inflates to more than it declares is refused), and worksheets are scanned as bytes for
their largest cell reference and for cells a reader would see as empty although they are
not (formulas with no saved value, error values). Nothing is parsed into a tree; calamine
aborts the whole process (a Rust allocation failure) on a sheet declaring a cell at
XFD1048576, so these checks must come first.
"""

from __future__ import annotations

import html
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from importer.errors import SheetError

MAX_PARTS = 10_000
MAX_PART_BYTES = 2 << 30  # one part, inflated
MAX_TOTAL_BYTES = 4 << 30  # every part, inflated
MAX_RATIO = 100  # inflated / compressed; real sheets stay under 25
RATIO_FROM = 1 << 20  # parts smaller than this inflate as they like
# Cells in the rectangle from A1 to the largest cell reference of a sheet: calamine and
# the frame after it hold that many. 26 columns x 999,999 rows fit, and so do 100,000
# rows x 270 columns.
MAX_CELLS = 27_000_000
_CHUNK = 1 << 20
_DAMAGED_HINT = "save or download it again"


@dataclass
class SheetFacts:
    """What a worksheet's XML says about its size, and the cells worth a note."""

    rows: int = 0  # largest row number used by a cell (or a bound on it, see `exact`)
    columns: int = 0  # largest column number (1 = A) used by a cell (or a bound on it)
    exact: bool = True  # False when rows/columns are upper bounds from the quick scan
    declared: str = ""  # the <dimension ref="..."> of an xlsx sheet, as written
    declared_cells: int = 0
    # (row, column number, code, detail): "formula_without_value" or "error_value"
    notes: list[tuple[int, int, str, str]] = field(default_factory=list)


@dataclass
class WorkbookScan:
    """Facts per sheet name: every worksheet of an xlsx, every table of an ods."""

    sheets: dict[str, SheetFacts] = field(default_factory=dict)

    def check_sheet(self, path: Path, name: str) -> SheetFacts:
        """The sheet's facts; SheetError when it spans more cells than MAX_CELLS."""
        facts = self.sheets.get(name, SheetFacts())
        _check_bounds(path, name, facts)
        return facts


def scan_workbook(path: Path, kind: str, data: bytes) -> WorkbookScan:
    """Check every part of an xlsx/ods zip and scan its sheets; SheetError when unsafe."""
    archive = _open(path, kind, data)
    infos = archive.infolist()
    _check_listing(path, infos)
    scan = WorkbookScan()
    if kind == "xlsx":
        parts = _xlsx_sheet_parts(path, archive, data)
        for info in infos:
            name = parts.get(info.filename)
            if name is not None:
                sheet = _SheetScanner()
                _inflate(path, data, info, sheet)
                scan.sheets[name] = sheet.facts
            elif info.filename.endswith("sharedStrings.xml"):
                _inflate(path, data, info, _SharedStringsScanner(path))
            else:
                _inflate(path, data, info, None)
    else:
        for info in infos:
            tables = _OdsScanner() if info.filename == "content.xml" else None
            _inflate(path, data, info, tables)
            if tables is not None:
                scan.sheets.update(tables.tables)
        for name in scan.sheets:  # calamine reads every table of an ods when it opens it
            scan.check_sheet(path, name)
    return scan


# -- the zip itself ---------------------------------------------------------------------------


def _open(path: Path, kind: str, data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        msg = f"{path}: is damaged or truncated (not a readable {kind} workbook)"
        raise SheetError(msg, hint=_DAMAGED_HINT) from exc


def _check_listing(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_PARTS:
        raise SheetError(f"{path}: holds {len(infos):,} parts, more than {MAX_PARTS:,}")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise SheetError(
                f"{path}: is encrypted (part {info.filename})",
                hint="remove the password in Excel and save it again",
            )
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise SheetError(
                f"{path}: part {info.filename} uses compression method {info.compress_type}, "
                "which spreadsheet programs do not write",
                hint=_DAMAGED_HINT,
            )
        _check_part_size(path, info)
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise SheetError(
            f"{path}: inflates to {_size(total)}, more than the {_size(MAX_TOTAL_BYTES)} "
            "this tool reads",
            hint="split the sheet, or save it as CSV",
        )


def _check_part_size(path: Path, info: zipfile.ZipInfo) -> None:
    if info.file_size > MAX_PART_BYTES:
        raise SheetError(
            f"{path}: part {info.filename} inflates to {_size(info.file_size)}, more than "
            f"the {_size(MAX_PART_BYTES)} this tool reads",
            hint="split the sheet, or save it as CSV",
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= RATIO_FROM and ratio > MAX_RATIO:
        raise SheetError(
            f"{path}: part {info.filename} inflates {ratio:,.0f} times "
            f"({_size(info.compress_size)} to {_size(info.file_size)}): a zip bomb, not a sheet",
            hint="do not open this file; ask for the export again",
        )


def _inflate(
    path: Path, data: bytes, info: zipfile.ZipInfo, consumer: Callable[[bytes], None] | None
) -> None:
    """Inflate one part in chunks, refusing it the moment it outgrows its declared size."""
    raw = _compressed(path, data, info)
    produced = 0
    for chunk in _chunks(path, info, raw):
        produced += len(chunk)
        if produced > info.file_size:
            raise SheetError(
                f"{path}: part {info.filename} inflates to more than the "
                f"{_size(info.file_size)} it declares",
                hint="do not open this file; ask for the export again",
            )
        if consumer is not None:
            consumer(chunk)
    if produced != info.file_size:
        raise SheetError(
            f"{path}: part {info.filename} is damaged or truncated", hint=_DAMAGED_HINT
        )
    if consumer is not None:
        consumer(b"")  # end of part


def _compressed(path: Path, data: bytes, info: zipfile.ZipInfo) -> memoryview:
    start = info.header_offset
    header = data[start : start + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise SheetError(f"{path}: part {info.filename} is damaged", hint=_DAMAGED_HINT)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    begin = start + 30 + name_length + extra_length
    raw = memoryview(data)[begin : begin + info.compress_size]
    if len(raw) < info.compress_size:
        raise SheetError(f"{path}: part {info.filename} is truncated", hint=_DAMAGED_HINT)
    return raw


def _chunks(path: Path, info: zipfile.ZipInfo, raw: memoryview) -> Iterator[bytes]:
    if info.compress_type == zipfile.ZIP_STORED:
        for start in range(0, len(raw), _CHUNK):
            yield bytes(raw[start : start + _CHUNK])
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    position = 0
    pending = b""
    try:
        while not inflater.eof:
            if not pending:
                if position >= len(raw):
                    break
                pending = bytes(raw[position : position + _CHUNK])
                position += _CHUNK
            chunk = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            if chunk:
                yield chunk
    except zlib.error as exc:
        msg = f"{path}: part {info.filename} is damaged (cannot be inflated)"
        raise SheetError(msg, hint=_DAMAGED_HINT) from exc


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


def _check_bounds(path: Path, name: str, facts: SheetFacts) -> None:
    cells = facts.rows * facts.columns
    if cells > MAX_CELLS:
        corner = f"{column_name(facts.columns)}{facts.rows}"
        reach = "reaches cell" if facts.exact else "reaches up to cell"
        raise SheetError(
            f'{path}: sheet "{name}" {reach} {corner}: {cells:,} cells from A1, more than '
            f"the {MAX_CELLS:,} this tool reads",
            hint="delete the stray far-away cells in Excel, or save the sheet as CSV",
        )
    if facts.declared_cells > MAX_CELLS:
        raise SheetError(
            f'{path}: sheet "{name}" declares the range {facts.declared}: '
            f"{facts.declared_cells:,} cells, more than the {MAX_CELLS:,} this tool reads",
            hint="open it in Excel and save it again, or save the sheet as CSV",
        )


# -- xlsx -------------------------------------------------------------------------------------

_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
_RELATION_TAG = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_ATTRIBUTE = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_SMALL_PART = 16 << 20  # workbook.xml and its relations are read whole, up to this


def _xlsx_sheet_parts(path: Path, archive: zipfile.ZipFile, data: bytes) -> dict[str, str]:
    """Part name -> sheet name, from workbook.xml and its relations (regex, no XML parser:
    an entity bomb in workbook.xml must not expand here)."""
    workbook = _small_part(path, archive, data, "xl/workbook.xml")
    relations = _small_part(path, archive, data, "xl/_rels/workbook.xml.rels")
    targets = {}
    for match in _RELATION_TAG.finditer(relations):
        attributes = _attributes(match.group(1))
        target = attributes.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        targets[attributes.get("Id", "")] = _normalized(target)
    parts = {}
    for match in _SHEET_TAG.finditer(workbook):
        attributes = _attributes(match.group(1))
        rid = next((v for k, v in attributes.items() if k.endswith(":id")), "")
        if rid in targets:
            parts[targets[rid]] = attributes.get("name", "")
    return parts


def _small_part(path: Path, archive: zipfile.ZipFile, data: bytes, name: str) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return b""
    if info.file_size > _SMALL_PART:
        raise SheetError(f"{path}: part {name} is {_size(info.file_size)}, far too big")
    parts: list[bytes] = []
    _inflate(path, data, info, parts.append)
    return b"".join(parts)


def _attributes(text: bytes) -> dict[str, str]:
    return {
        key.decode("utf-8", "replace"): html.unescape(value.decode("utf-8", "replace"))
        for key, value in _ATTRIBUTE.findall(text)
    }


def _normalized(target: str) -> str:
    parts: list[str] = []
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


class _Chunked:
    """Feeds a scanner whole pieces: each call's bytes end where `cut` says it is safe."""

    def __init__(self) -> None:
        self._carry = b""

    def __call__(self, chunk: bytes) -> None:
        if not chunk:
            self.scan(self._carry, final=True)
            self._carry = b""
            return
        data = self._carry + chunk
        end = self.cut(data)
        self._carry = data[end:]
        if end:
            self.scan(data[:end], final=False)

    def cut(self, data: bytes) -> int:
        return data.rfind(b">") + 1

    def scan(self, data: bytes, final: bool) -> None:
        raise NotImplementedError


# Prefilter: a reference with two or more column letters, or a row number of six or
# more digits. Only chunks holding one are read reference by reference (wide or very long
# sheets pay for that); every other chunk stays within column Z and row 99,999.
_WIDE_OR_DEEP = re.compile(rb' r="(?:[A-Z]{2}|[A-Z]?[0-9]{6})')
_QUICK_ROWS, _QUICK_COLUMNS = 99_999, 26
_COLUMN_LETTERS = re.compile(rb' r="([A-Z]{1,4})[0-9]')
_ROW_NUMBERS = re.compile(rb' r="[A-Z]{0,4}([0-9]{1,9})"')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\bref="([^"]*)"')
_PREFIXED_FORMULA = re.compile(rb"<\w+:f[\s>/]")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_VALUE = re.compile(rb"<(?:\w+:)?v(?:\s[^>]*)?(?:/>|>(.*?)</(?:\w+:)?v>)", re.DOTALL)
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_INLINE = re.compile(rb"<(?:\w+:)?is[\s>]")
_TYPE = re.compile(rb'\bt="([a-zA-Z]*)"')
_REF = re.compile(rb'\br="([A-Z]{1,4})([0-9]{1,9})"')


class _SheetScanner(_Chunked):
    def __init__(self) -> None:
        super().__init__()
        self.facts = SheetFacts()
        self._first = True
        self._rows = 0  # exact, from chunks read reference by reference
        self._columns = 0
        self._row_bound = 0  # from the quick chunks
        self._column_bound = 0

    def cut(self, data: bytes) -> int:
        # Whole rows where there are any, so no cell is split between two scans.
        for tag in (b"row>", b"c>", b">"):
            end = data.rfind(tag)
            if end >= 0:
                return end + len(tag)
        return 0

    def scan(self, data: bytes, final: bool) -> None:
        if self._first:
            self._first = False
            self._dimension(data)
        if _WIDE_OR_DEEP.search(data):
            self._exact_bounds(data)
        else:
            self._quick_bounds(data)
        if _noteworthy(data):
            self._notes(data)
        facts = self.facts
        facts.rows = max(self._rows, self._row_bound)
        facts.columns = max(self._columns, self._column_bound)
        facts.exact = self._rows >= self._row_bound and self._columns >= self._column_bound

    def _dimension(self, data: bytes) -> None:
        match = _DIMENSION.search(data, 0, 4096)
        if match is None:
            return
        ref = match.group(1).decode("ascii", "replace")
        corners = [_parse_ref(part) for part in ref.split(":")]
        found = [corner for corner in corners if corner is not None]
        if found and len(found) == len(corners):
            rows = max(corner[0] for corner in found)
            columns = max(corner[1] for corner in found)
            self.facts.declared, self.facts.declared_cells = ref, rows * columns

    def _exact_bounds(self, data: bytes) -> None:
        letters = set(_COLUMN_LETTERS.findall(data))
        if letters:
            self._columns = max(self._columns, *(_column_number(c) for c in letters))
        rows = _ROW_NUMBERS.findall(data)
        if rows:
            self._rows = max(self._rows, *map(int, rows))

    def _quick_bounds(self, data: bytes) -> None:
        if b' r="' in data:
            self._row_bound, self._column_bound = _QUICK_ROWS, _QUICK_COLUMNS

    def _notes(self, data: bytes) -> None:
        for match in _CELL.finditer(data):
            attributes, body = match.group(1), match.group(3) or b""
            ref = _REF.search(attributes)
            if ref is None:
                continue
            kind = _TYPE.search(attributes)
            cell_type = kind.group(1) if kind else b""
            value = _VALUE.search(body)
            position = (int(ref.group(2)), _column_number(ref.group(1)))
            if cell_type == b"e":
                text = value.group(1) if value and value.group(1) else b"an error"
                self.facts.notes.append((*position, "error_value", _unescaped(text)[:50]))
            elif _FORMULA.search(body) and not _has_value(value, body):
                self.facts.notes.append((*position, "formula_without_value", ""))


def _noteworthy(data: bytes) -> bool:
    """Whether a chunk may hold a formula or an error cell (plain finds: fast)."""
    if b"<f" in data or b't="e"' in data:
        return True
    return b":f" in data and _PREFIXED_FORMULA.search(data) is not None


def _has_value(value: re.Match[bytes] | None, body: bytes) -> bool:
    # <v></v> is a saved empty result (Excel, XlsxWriter); <v/> or no <v> at all is none
    # (openpyxl and other writers that do not calculate).
    return _INLINE.search(body) is not None or (value is not None and value.group(1) is not None)


def _unescaped(value: bytes) -> str:
    return html.unescape(value.decode("utf-8", "replace"))


class _SharedStringsScanner(_Chunked):
    """Counts the shared strings; calamine reserves room for as many as the part declares."""

    _SST = re.compile(rb"<(?:\w+:)?sst\b([^>]*)>")
    _SI = re.compile(rb"<(?:\w+:)?si[\s>/]")

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        self._first = True
        self.count = 0

    def scan(self, data: bytes, final: bool) -> None:
        if self._first:
            self._first = False
            match = self._SST.search(data, 0, 4096)
            if match is not None:
                for key, value in _attributes(match.group(1)).items():
                    if key in ("count", "uniqueCount") and value.isdigit():
                        self._check(int(value), f'declares {key}="{value}"')
        self.count += len(self._SI.findall(data))
        self._check(self.count, f"holds {self.count:,}")

    def _check(self, count: int, what: str) -> None:
        if count > MAX_CELLS:
            raise SheetError(
                f"{self._path}: the shared strings part {what} strings, more than the "
                f"{MAX_CELLS:,} this tool reads",
                hint="open it in Excel and save it again, or save the sheet as CSV",
            )


def _parse_ref(ref: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"\$?([A-Za-z]{1,4})\$?([0-9]{1,9})", ref.strip())
    if match is None:
        return None
    return int(match.group(2)), _column_number(match.group(1).upper().encode())


def _column_number(letters: bytes) -> int:
    number = 0
    for byte in letters:
        number = number * 26 + (byte - 64)
    return number


def column_name(number: int) -> str:
    """1 -> "A", 27 -> "AA": a column number as a spreadsheet shows it."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# -- ods --------------------------------------------------------------------------------------

_ODS_TOKEN = re.compile(
    rb"(?P<table><table:table(?:\s[^>]*)?>)"
    rb"|(?P<row><table:table-row(?:\s[^>]*)?>)"
    rb"|(?P<end></table:table-row>)"
    rb"|(?P<cell><table:(?:covered-)?table-cell(?:\s[^>]*)?>)"
)
_REPEAT_COLUMNS = re.compile(rb'number-columns-repeated="([0-9]{1,12})"')
_REPEAT_ROWS = re.compile(rb'number-rows-repeated="([0-9]{1,12})"')
_HAS_VALUE = re.compile(rb"office:value-type=|table:formula=")
_TABLE_NAME = re.compile(rb'table:name="([^"]*)"')


class _OdsScanner(_Chunked):
    """The rectangle of filled cells of each table, repeats counted: a 1 KB content.xml can
    repeat one cell a billion times, and calamine would lay every copy out in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, SheetFacts] = {}
        self._facts = SheetFacts()
        self._row = 0  # rows before the current one
        self._row_repeat = 1
        self._column = 0  # cells before the current one in this row
        self._row_filled = False

    def scan(self, data: bytes, final: bool) -> None:
        for match in _ODS_TOKEN.finditer(data):
            tag, kind = match.group(), match.lastgroup
            closed = tag.endswith(b"/>")
            if kind == "table":
                self._start_table(tag)
            elif kind == "row":
                self._start_row(tag, closed)
            elif kind == "cell":
                self._cell(tag, closed)
            else:
                self._end_row()

    def _start_table(self, attributes: bytes) -> None:
        name = _TABLE_NAME.search(attributes)
        self._facts = SheetFacts()
        key = _unescaped(name.group(1)) if name else f"Sheet{len(self.tables) + 1}"
        self.tables[key] = self._facts
        self._row = 0

    def _start_row(self, attributes: bytes, closed: bool) -> None:
        repeat = _REPEAT_ROWS.search(attributes)
        self._row_repeat = int(repeat.group(1)) if repeat else 1
        self._column = 0
        self._row_filled = False
        if closed:
            self._end_row()

    def _cell(self, attributes: bytes, closed: bool) -> None:
        repeat = _REPEAT_COLUMNS.search(attributes)
        count = int(repeat.group(1)) if repeat else 1
        self._column += count
        if _HAS_VALUE.search(attributes) or not closed:
            self._row_filled = True
            self._facts.columns = max(self._facts.columns, self._column)

    def _end_row(self) -> None:
        self._row += self._row_repeat
        if self._row_filled:
            self._facts.rows = max(self._facts.rows, self._row)
        self._row_repeat = 1
