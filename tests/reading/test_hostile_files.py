"""Hostile files against the reader: refused in one line before calamine, or read with notes."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from importer.errors import SheetError
from importer.models import Problem
from importer.reading.archive import MAX_CELLS
from importer.reading.notes import CellNote, cell_note_problems
from importer.reading.sheet import read_sheet
from tests.conftest import HEADER, MAPPING, lead_row, write_leads_csv
from tests.helpers import ROOT

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="'
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override '
    'PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
RELATIONS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Leads" '
    'sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELATIONS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/'
    'sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
HEADER_CELLS = "".join(
    f'<c r="{chr(65 + j)}1" t="inlineStr"><is><t>{name}</t></is></c>'
    for j, name in enumerate(
        ["Lead ID", "First Name", "Last Name", "Email", "Phone", "Street", "City", "State", "Zip"]
    )  # fmt: skip
)
ROW_CELLS = "".join(
    f'<c r="{chr(65 + j)}2" t="inlineStr"><is><t>{value}</t></is></c>'
    for j, value in enumerate(lead_row(1))
)


def worksheet(cells: str, dimension: str = "A1:I2") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><dimension '
        f'ref="{dimension}"/><sheetData><row r="1">{HEADER_CELLS}</row>{cells}</sheetData>'
        "</worksheet>"
    )


def xlsx_by_hand(path: Path, sheet: str, shared: str | bytes | None = None) -> Path:
    shared = shared or f'<?xml version="1.0"?><sst xmlns="{MAIN}" count="0" uniqueCount="0"/>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELATIONS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELATIONS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        archive.writestr("xl/sharedStrings.xml", shared)
    return path


def validate(source: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The dry run in a child process: a Rust abort there cannot take the test run down."""
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    return subprocess.run(
        [sys.executable, "-m", "importer", "validate", str(source), "-m", str(mapping),
         "-o", str(tmp_path / "out.xlsx")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip


def assert_refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 3, (result.returncode, result.stderr[-2000:])
    lines = result.stderr.splitlines()
    assert lines[0] == f"enerflo-import: error: {message}"
    assert len(lines) <= 2 and all(line.startswith("hint: ") for line in lines[1:])


# -- 8. workbooks that would exhaust memory -------------------------------------------------


def test_a_5_kb_xlsx_with_a_cell_at_xfd1048576_is_refused_before_calamine(tmp_path):
    far = '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    source = xlsx_by_hand(tmp_path / "far.xlsx", worksheet(f'<row r="2">{ROW_CELLS}</row>{far}'))
    assert source.stat().st_size < 5000
    assert_refused(
        validate(source, tmp_path),
        f'{source}: sheet "Leads" reaches cell XFD1048576: 17,179,869,184 cells from A1, more '
        f"than the {MAX_CELLS:,} this tool reads",
    )


def test_a_declared_dimension_past_the_limit_is_refused(tmp_path):
    sheet = worksheet(f'<row r="2">{ROW_CELLS}</row>', dimension="A1:XFD1048576")
    source = xlsx_by_hand(tmp_path / "dim.xlsx", sheet)
    assert_refused(
        validate(source, tmp_path),
        f'{source}: sheet "Leads" declares the range A1:XFD1048576: 17,179,869,184 cells, '
        f"more than the {MAX_CELLS:,} this tool reads",
    )


def test_shared_strings_declaring_a_trillion_strings_are_refused(tmp_path):
    shared = f'<?xml version="1.0"?><sst xmlns="{MAIN}" count="999999999999" uniqueCount="999999999999"><si><t>x</t></si></sst>'
    source = xlsx_by_hand(tmp_path / "sst.xlsx", worksheet(f'<row r="2">{ROW_CELLS}</row>'), shared)
    assert_refused(
        validate(source, tmp_path),
        f'{source}: the shared strings part declares count="999999999999" strings, more than '
        f"the {MAX_CELLS:,} this tool reads",
    )


def deflated_as(prefix: bytes, megabytes: int, suffix: bytes) -> tuple[bytes, int, int]:
    """A raw deflate stream of prefix + megabytes MB of "a" + suffix, built without
    compressing all of it: a flushed block of a's repeats byte for byte. (data, size, crc)"""
    block = b"a" * (1 << 20)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = deflater.compress(prefix) + deflater.compress(block) + deflater.flush(zlib.Z_FULL_FLUSH)
    middle = deflater.compress(block) + deflater.flush(zlib.Z_FULL_FLUSH)
    assert deflater.compress(block) + deflater.flush(zlib.Z_FULL_FLUSH) == middle
    tail = deflater.compress(suffix) + deflater.flush()
    crc = zlib.crc32(prefix)
    for _ in range(megabytes):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(suffix, crc)
    stream = head + middle * (megabytes - 2) + tail
    return stream, len(prefix) + megabytes * len(block) + len(suffix), crc


def deflated(text: str) -> tuple[bytes, int, int]:
    data = text.encode()
    deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
    return deflater.compress(data) + deflater.flush(), len(data), zlib.crc32(data)


def zip_by_hand(path: Path, parts: dict[str, tuple[bytes, int, int]]) -> Path:
    """A zip whose headers say exactly the (deflated bytes, size, crc) given, true or not."""
    body, central = bytearray(), bytearray()
    for name, (stream, size, crc) in parts.items():
        encoded = name.encode()
        fields = (20, 0, 8, 0, 0, crc, len(stream), size, len(encoded))
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, len(body))
        central += encoded
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields, 0) + encoded + stream
    count = len(parts)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), len(body), 0)
    path.write_bytes(bytes(body + central + end))
    return path


def bomb_parts(shared: tuple[bytes, int, int]) -> dict[str, tuple[bytes, int, int]]:
    cell = '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'
    return {
        "[Content_Types].xml": deflated(CONTENT_TYPES),
        "_rels/.rels": deflated(RELATIONS),
        "xl/workbook.xml": deflated(WORKBOOK),
        "xl/_rels/workbook.xml.rels": deflated(WORKBOOK_RELATIONS),
        "xl/worksheets/sheet1.xml": deflated(worksheet(cell)),
        "xl/sharedStrings.xml": shared,
    }


SHARED_PREFIX = (
    f'<?xml version="1.0"?><sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>'.encode()
)


def test_shared_strings_that_inflate_1000_times_are_refused_as_a_bomb(tmp_path):
    shared = deflated_as(SHARED_PREFIX, 300, b"</t></si></sst>")
    source = zip_by_hand(tmp_path / "bomb.xlsx", bomb_parts(shared))
    assert source.stat().st_size < 1_000_000
    result = validate(source, tmp_path)
    assert result.returncode == 3, result.stderr[-500:]
    first = result.stderr.splitlines()[0]
    assert first.startswith(
        f"enerflo-import: error: {source}: part xl/sharedStrings.xml inflates 1,"
    )
    assert first.endswith(" KB to 300.0 MB): a zip bomb, not a sheet")


def test_a_part_inflating_past_its_declared_size_is_refused(tmp_path):
    stream, _, crc = deflated_as(SHARED_PREFIX, 300, b"</t></si></sst>")
    source = zip_by_hand(
        tmp_path / "liar.xlsx", bomb_parts((stream, 5000, crc))
    )  # says 5,000 bytes
    assert_refused(
        validate(source, tmp_path),
        f"{source}: part xl/sharedStrings.xml inflates to more than the 4.9 KB it declares",
    )


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:'
    'tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry '
    'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.'
    'spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" '
    'manifest:media-type="text/xml"/></manifest:manifest>'
)


def ods_by_hand(path: Path, rows: str) -> Path:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:'
        'oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:'
        'opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:'
        'text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table '
        f'table:name="Leads">{rows}</table:table></office:spreadsheet></office:body>'
        "</office:document-content>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("META-INF/manifest.xml", MANIFEST)
        archive.writestr("content.xml", content)
    return path


def ods_cell(text: str, repeat: int = 1) -> str:
    times = f' table:number-columns-repeated="{repeat}"' if repeat > 1 else ""
    return f'<table:table-cell{times} office:value-type="string"><text:p>{text}</text:p></table:table-cell>'


def test_an_ods_repeating_one_cell_30_million_times_is_refused(tmp_path):
    header = "".join(ods_cell(name) for name in ["Lead ID", "First Name"])
    rows = (
        f"<table:table-row>{header}</table:table-row>"
        f'<table:table-row table:number-rows-repeated="3000">{ods_cell("x", 10_000)}</table:table-row>'
    )
    source = ods_by_hand(tmp_path / "repeat.ods", rows)
    assert source.stat().st_size < 2000
    assert_refused(
        validate(source, tmp_path),
        f'{source}: sheet "Leads" reaches cell NTP3001: 30,010,000 cells from A1, more than '
        f"the {MAX_CELLS:,} this tool reads",
    )


def test_empty_repeats_as_libreoffice_writes_them_are_fine(tmp_path):
    header = "".join(ods_cell(name) for name in ["Lead ID", "First Name"])
    rows = (
        f'<table:table-row>{header}<table:table-cell table:number-columns-repeated="16382"/></table:table-row>'
        f'<table:table-row>{ods_cell("L1")}{ods_cell("Ann")}<table:table-cell table:number-columns-repeated="16382"/></table:table-row>'
        '<table:table-row table:number-rows-repeated="1048574"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>'
    )
    sheet = read_sheet(ods_by_hand(tmp_path / "lo.ods", rows))
    assert sheet.columns == ["Lead ID", "First Name"]
    assert sheet.frame.to_dict("records") == [{"Lead ID": "L1", "First Name": "Ann"}]


def test_a_wide_legit_sheet_reads_whole(tmp_path):
    path = tmp_path / "wide.xlsx"
    header = [f"c{j}" for j in range(300)]
    rows = [[f"r{r}c{j}" for j in range(300)] for r in range(2, 52)]
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Leads")
    for r, values in enumerate([header, *rows]):
        sheet.write_row(r, 0, values)
    book.close()
    read = read_sheet(path)
    assert read.columns == header
    assert read.frame.iloc[-1, -1] == "r51c299"


def test_100000_rows_by_20_columns_still_read(tmp_path):
    path = tmp_path / "big.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("Leads")
    sheet.write_row(0, 0, [f"col{j}" for j in range(20)])
    for r in range(1, 100_001):
        sheet.write_row(r, 0, [f"{r}-{j}" for j in range(20)])
    book.close()
    read = read_sheet(path)
    assert read.frame.shape == (100_000, 20)
    assert read.frame.at[100_001, "col19"] == "100000-19"
    assert read.cell_notes == []


# -- 9. a stray quote in a CSV --------------------------------------------------------------


def stray_quote_csv(path: Path) -> Path:
    """Five rows; row 4 (line 4) opens a quote that the street of row 6 closes."""
    rows = []
    for i in range(1, 6):
        row = lead_row(i)
        if i == 3:
            row[1] = '"' + row[1]
        if i == 5:
            row[5] = f'"{row[5]}"'
        rows.append(",".join(row))
    path.write_text(",".join(HEADER) + "\n" + "\n".join(rows) + "\n")
    return path


def test_a_stray_quote_that_swallows_rows_is_refused_naming_the_line(tmp_path):
    source = stray_quote_csv(tmp_path / "stray.csv")
    assert_refused(
        validate(source, tmp_path),
        f'{source}: line 4: the cell in column "First Name" (row 4) runs over the next 2 '
        "lines that look like rows, so they are not read as rows",
    )


def test_a_lone_long_quoted_cell_is_refused_even_without_row_like_lines(tmp_path):
    source = tmp_path / "notes.csv"
    lines = "\n".join(f"note line {i}" for i in range(12))
    write_leads_csv(source, [lead_row(1, Street=lines), lead_row(2)])
    with pytest.raises(
        SheetError,
        match=r"line 2: the cell in column \"Street\" \(row 2\) runs over the next 11 lines,",
    ):
        read_sheet(source)


def test_a_lone_cell_spanning_two_lines_is_noted_not_refused(tmp_path):
    source = write_leads_csv(
        tmp_path / "two.csv", [lead_row(1), lead_row(2, Street="1 Main St\nApt 4")]
    )
    sheet = read_sheet(source)
    assert len(sheet.frame) == 2
    assert sheet.cell_notes == [
        CellNote(3, "Street", "spans_lines", "the cell starting on line 3 spans 2 lines, the only "
                 "one in the file that does; if it should not, check for a stray quote")
    ]  # fmt: skip


def test_many_multi_line_cells_are_a_sheet_of_multi_line_cells(tmp_path):
    rows = [lead_row(i, Street=f"{i} Main St\nApt {i}") for i in range(1, 6)]
    sheet = read_sheet(write_leads_csv(tmp_path / "many.csv", rows))
    assert len(sheet.frame) == 5
    assert sheet.cell_notes == []


# -- 10. formulas without values and error cells --------------------------------------------


def openpyxl_formulas(path: Path) -> Path:
    """What a library writes: formulas with no saved result, and an error value."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Leads"
    sheet.append(["Lead ID", "First Name", "Zip", "City", "Street", "State"])
    sheet.append(["L1", "Ann", "84601", "Provo", "1 Main St", "UT"])
    sheet.append(['=CONCAT("L", 2)', "Bob", '=TEXT(84601, "00000")', "Provo", "2 Main St", "UT"])
    sheet.append(["L3", "=NA()", "84601", "#N/A", "3 Main St", "UT"])
    sheet["D4"].data_type = "e"
    book.save(path)
    return path


def test_formulas_without_values_and_error_cells_are_noted_per_cell(tmp_path):
    sheet = read_sheet(openpyxl_formulas(tmp_path / "formulas.xlsx"))
    assert sheet.frame.loc[3, ["Lead ID", "Zip"]].tolist() == ["", ""]
    assert sheet.frame.at[4, "City"] == ""
    saved = "holds a formula with no saved result (the file was saved by a program that does not calculate), so it reads as empty; open and save the file in Excel"
    assert sheet.cell_notes == [
        CellNote(3, "Lead ID", "formula_without_value", f"cell A3 {saved}"),
        CellNote(3, "Zip", "formula_without_value", f"cell C3 {saved}"),
        CellNote(4, "First Name", "formula_without_value", f"cell B4 {saved}"),
        CellNote(4, "City", "error_value", "cell D4 holds the error #N/A, so it reads as empty"),
    ]


def test_excel_saved_formulas_with_results_draw_no_note(tmp_path):
    path = tmp_path / "excel.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Leads")
    sheet.write_row(0, 0, ["Lead ID", "Zip", "Note"])
    sheet.write_formula(1, 0, '=CONCAT("L",1)', None, "L1")
    sheet.write_formula(1, 1, "=84601", None, 84601)
    sheet.write_formula(1, 2, '=""', None, "")
    book.close()
    read = read_sheet(path)
    assert read.frame.loc[2].tolist() == ["L1", "84601", ""]
    assert read.cell_notes == []


def test_notes_become_row_problems_for_the_fields_they_feed():
    notes = [
        CellNote(3, "Lead ID", "formula_without_value", "cell A3 ..."),
        CellNote(3, "Zip", "formula_without_value", "cell C3 ..."),
        CellNote(4, "City", "error_value", "cell D4 holds the error #N/A, so it reads as empty"),
        CellNote(4, "First Name", "formula_without_value", "cell B4 ..."),
        CellNote(5, "Unmapped", "error_value", "cell Z5 ..."),
        CellNote(6, "Street", "spans_lines", "the cell ... spans 2 lines"),
    ]
    fields = {
        "integration_record_id": ("Lead ID",),
        "zip": ("Zip",),
        "city": ("City",),
        "first_name": ("First Name",),
        "address": ("Street",),
    }
    leads = pd.DataFrame(
        {"zip": ["84601", "", "84601", ""], "city": ["Provo", "Provo", "", ""]}, index=[3, 4, 5, 6]
    )
    assert cell_note_problems(notes, fields, leads) == [
        Problem(3, "integration_record_id", "formula_without_value", 'integration_record_id: column "Lead ID": cell A3 ...', True),
        Problem(3, "zip", "formula_without_value", 'zip: column "Zip": cell C3 ...', False),
        Problem(4, "city", "error_value", 'city: column "City": cell D4 holds the error #N/A, so it reads as empty', False),
        Problem(4, "first_name", "formula_without_value", 'first_name: column "First Name": cell B4 ...', False),
        Problem(6, "address", "spans_lines", 'address: column "Street": the cell ... spans 2 lines', False),
    ]  # fmt: skip


def test_a_city_lost_to_an_error_cell_is_an_error_when_the_row_has_no_other():
    notes = [
        CellNote(4, "City", "error_value", "cell D4 holds the error #N/A, so it reads as empty")
    ]
    leads = pd.DataFrame({"city": [""]}, index=[4])
    [problem] = cell_note_problems(notes, {"city": ("City", "Town")}, leads)
    assert problem.is_error


def test_the_cli_refuses_nothing_for_an_ordinary_file(tmp_path):
    source = write_leads_csv(tmp_path / "ok.csv", [lead_row(i) for i in range(1, 4)])
    result = validate(source, tmp_path)
    assert result.returncode == 0, result.stderr
    assert os.path.exists(tmp_path / "out.xlsx")
