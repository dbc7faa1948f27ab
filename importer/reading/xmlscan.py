"""Scan spreadsheet XML as byte chunks: cell bounds, cells that read as empty, shared
string counts, ods repeats; never builds a tree, never expands an entity, reads no file."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

from importer.errors import SheetError

# Cells in the rectangle from A1 to the largest cell reference of a sheet: calamine and
# the frame after it hold that many. 26 columns x 999,999 rows fit, and so do 100,000
# rows x 270 columns.
MAX_CELLS = 27_000_000


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


_ATTRIBUTE = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')


def attributes(text: bytes) -> dict[str, str]:
    return {
        key.decode("utf-8", "replace"): html.unescape(value.decode("utf-8", "replace"))
        for key, value in _ATTRIBUTE.findall(text)
    }


class Chunked:
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


class SheetScanner(Chunked):
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


class SharedStringsScanner(Chunked):
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
                for key, value in attributes(match.group(1)).items():
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


class OdsScanner(Chunked):
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
