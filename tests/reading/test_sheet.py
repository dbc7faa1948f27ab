"""reader: every supported format reads to the exact text cells; bad files give one-line errors."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from importer.errors import SheetError
from importer.reading.sheet import column_letter, list_sheets, read_sheet
from tests.factories import write_csv, write_ods, write_xls, write_xlsx

ROWS = [
    ["Zip", " Phone ", "Last Name", "When", "Opt In", "Score", "Day", "At"],
    [84045, 8015554444, "NA", dt.datetime(2026, 3, 12, 14, 30), True, 3.5, None, None],
    [None, None, None, None, None, None, None, None],
    ["02134", "+1 801 555 4444", "None", dt.datetime(2026, 3, 12), False, None, "null", "x"],
    [None, None, None, None, None, None, None, None],
]
EXPECTED = {
    2: {
        "Zip": "84045",
        "Phone": "8015554444",
        "Last Name": "NA",
        "When": "2026-03-12 14:30:00",
        "Opt In": "TRUE",
        "Score": "3.5",
        "Day": "",
        "At": "",
    },
    3: dict.fromkeys(["Zip", "Phone", "Last Name", "When", "Opt In", "Score", "Day", "At"], ""),
    4: {
        "Zip": "02134",
        "Phone": "+1 801 555 4444",
        "Last Name": "None",
        "When": "2026-03-12",
        "Opt In": "FALSE",
        "Score": "",
        "Day": "null",
        "At": "x",
    },
}
WRITERS = {"xlsx": write_xlsx, "xls": write_xls, "ods": write_ods}


def error_of(path: Path, **kwargs: object) -> tuple[str, str | None]:
    with pytest.raises(SheetError) as caught:
        read_sheet(path, **kwargs)  # type: ignore[arg-type]
    return caught.value.message, caught.value.hint


@pytest.mark.parametrize("kind", ["xlsx", "xls", "ods"])
def test_workbook_cells_read_as_the_text_excel_shows(tmp_path: Path, kind: str) -> None:
    path = WRITERS[kind](tmp_path / f"leads.{kind}", ROWS)

    sheet = read_sheet(path)

    assert sheet.kind == kind
    assert sheet.sheet_name == "Leads"
    assert sheet.columns == list(EXPECTED[2])
    assert sheet.frame.to_dict("index") == EXPECTED
    assert list(sheet.frame.index) == [2, 3, 4]
    assert sheet.encoding is None and sheet.delimiter is None


def test_every_cell_is_a_str_and_never_nan(tmp_path: Path) -> None:
    sheet = read_sheet(write_xlsx(tmp_path / "a.xlsx", ROWS))

    cells = [v for col in sheet.frame.columns for v in sheet.frame[col]]
    assert cells and all(type(v) is str for v in cells)


def test_sha256_is_of_the_file_bytes(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", ROWS)

    assert read_sheet(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_encoding_and_delimiter_are_detected(
    tmp_path: Path, encoding: str, delimiter: str
) -> None:
    rows = [["Zip", "Nom Café"], ["02134", "NA"], ["", 'René; "Ré", é'], ["", ""]]
    path = write_csv(tmp_path / "a.csv", rows, encoding=encoding, delimiter=delimiter)

    sheet = read_sheet(path)

    assert (sheet.kind, sheet.encoding, sheet.delimiter) == ("csv", encoding, delimiter)
    assert sheet.sheet_name is None
    assert sheet.frame.to_dict("index") == {
        2: {"Zip": "02134", "Nom Café": "NA"},
        3: {"Zip": "", "Nom Café": 'René; "Ré", é'},
    }


def test_csv_keeps_na_none_null_and_whitespace_in_cells(tmp_path: Path) -> None:
    rows = [[" First ", "Last"], ["NA", "None"], ["null", " x "], ["N/A", "nan"]]
    sheet = read_sheet(write_csv(tmp_path / "a.csv", rows))

    assert sheet.columns == ["First", "Last"]
    assert sheet.frame["First"].tolist() == ["NA", "null", "N/A"]
    assert sheet.frame["Last"].tolist() == ["None", " x ", "nan"]


def test_csv_interior_empty_rows_are_kept_and_trailing_ones_dropped(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("Id,Name\n1,a\n\n,\n2,b\n\n,\n\n", encoding="utf-8")

    sheet = read_sheet(path)

    assert sheet.frame.to_dict("index") == {
        2: {"Id": "1", "Name": "a"},
        3: {"Id": "", "Name": ""},
        4: {"Id": "", "Name": ""},
        5: {"Id": "2", "Name": "b"},
    }


def test_csv_header_row_two_skips_the_title_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["Export of 2026-03-12"], ["Id", "Name"], ["1", "a"]])

    sheet = read_sheet(path, header_row=2)

    assert sheet.header_row == 2
    assert sheet.frame.to_dict("index") == {3: {"Id": "1", "Name": "a"}}


def test_workbook_header_row_two_numbers_rows_as_excel_does(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", [["Title"], ["Id", "Zip"], ["L1", 2134]])

    sheet = read_sheet(path, header_row=2)

    assert sheet.frame.to_dict("index") == {3: {"Id": "L1", "Zip": "2134"}}


def test_chosen_sheet_is_read_and_matches_case_insensitively(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", [["A"], ["first"]], Notes=[["B"], ["second"]])

    assert read_sheet(path, sheet="Notes").frame["B"].tolist() == ["second"]
    assert read_sheet(path, sheet="notes").sheet_name == "Notes"
    assert read_sheet(path).sheet_name == "Leads"
    assert list_sheets(path) == ["Leads", "Notes"]


def test_mixed_text_and_number_column_converts_only_the_numbers(tmp_path: Path) -> None:
    rows = [["Zip"], [84045], ["02134"], [None], [84045.5], [1e20], [123456789012.0]]
    sheet = read_sheet(write_xlsx(tmp_path / "a.xlsx", rows))

    assert sheet.frame["Zip"].tolist() == ["84045", "02134", "", "84045.5", "1E+20", "123456789012"]


def test_blank_header_column_without_data_is_dropped(tmp_path: Path) -> None:
    rows = [["Id", None, "Name"], ["1", None, "a"]]
    sheet = read_sheet(write_xlsx(tmp_path / "a.xlsx", rows))

    assert sheet.columns == ["Id", "Name"]


def test_column_letters_go_past_z() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]


# -- errors ---------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.xlsx"
    assert error_of(path) == (f"{path}: file not found", "check the path")


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "leads.xlsx"
    path.mkdir()
    assert error_of(path)[0] == f"{path}: is a directory, not a spreadsheet file"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"")
    assert error_of(path)[0] == f"{path}: file is empty (0 bytes)"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_header_only(tmp_path: Path, kind: str) -> None:
    rows = [["Id", "Name"], ["", ""]]
    if kind == "csv":
        path = write_csv(tmp_path / "a.csv", rows)
        where = f"{path}: the file"
    else:
        path = write_xlsx(tmp_path / "a.xlsx", rows[:1])
        where = f'{path}: sheet "Leads"'
    assert error_of(path)[0] == f"{where} has a header row but no data rows"


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "leads.pdf"
    path.write_bytes(b"%PDF-1.4")
    assert error_of(path) == (
        f'{path}: unsupported file type ".pdf"',
        "supported files: .csv, .tsv, .xlsx, .xlsm, .xls, .ods",
    )


def test_csv_named_xlsx(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.xlsx", [["Id"], ["1"]])
    assert error_of(path) == (
        f"{path}: is not an xlsx workbook (it looks like CSV text)",
        "rename it to .csv",
    )


def test_xlsx_named_csv(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "leads.csv", [["Id"], ["1"]])
    assert error_of(path) == (
        f"{path}: is not CSV text (it looks like an xlsx or ods workbook)",
        "rename it to .xlsx (or .ods)",
    )


def test_xlsx_named_xls(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "leads.xls", [["Id"], ["1"]])
    assert (
        error_of(path)[0]
        == f"{path}: is not an xls workbook (it looks like an xlsx or ods workbook)"
    )


def test_html_named_xls(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_text("<html><body><table><tr><td>Id</td></tr></table></body></html>")
    assert error_of(path) == (
        f"{path}: is not an xls workbook (it looks like an HTML or XML page)",
        "open it in Excel and save it as .xlsx",
    )


def test_truncated_xlsx(tmp_path: Path) -> None:
    whole = write_xlsx(tmp_path / "whole.xlsx", ROWS).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    assert error_of(path) == (
        f"{path}: is damaged or truncated (not a readable xlsx workbook)",
        "save or download it again",
    )


@pytest.mark.parametrize("name", ["junk.xlsx", "junk.csv"])
def test_binary_garbage(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * 8)
    expected = {
        "junk.xlsx": f"{path}: is not an xlsx workbook (unrecognized binary content)",
        "junk.csv": f"{path}: is not CSV text (it contains binary data)",
    }
    assert error_of(path)[0] == expected[name]


def test_undecodable_csv(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"Id,Name\n1,\x81\x8d\n")
    assert error_of(path) == (
        f"{path}: cannot decode the file as UTF-8 or Windows-1252",
        "save it from Excel as CSV UTF-8",
    )


def test_sheet_not_found_lists_the_sheets(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", [["A"], [1]], Notes=[["B"], [2]])
    assert error_of(path, sheet="Leeds") == (
        f'{path}: sheet "Leeds" not found',
        "the workbook's sheets are: Leads, Notes",
    )


@pytest.mark.parametrize("first", [[["Read me first"]], [["Notes"], []], []])
def test_a_first_sheet_without_rows_names_the_others_and_sheet(tmp_path: Path, first) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", first, Data=[["Email"], ["a@example.com"]])
    message, hint = error_of(path)
    assert message.startswith(f'{path}: sheet "Leads" ')
    assert hint == "the workbook's other sheets: Data; choose one with --sheet"
    assert read_sheet(path, sheet="Data").columns == ["Email"]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_duplicate_headers_are_named_with_their_columns(tmp_path: Path, kind: str) -> None:
    rows = [["Email", "Name", "Email", "Phone", " Name "], ["a", "b", "c", "d", "e"]]
    if kind == "csv":
        path, where = write_csv(tmp_path / "a.csv", rows), f"{tmp_path / 'a.csv'}: the file"
    else:
        path, where = write_xlsx(tmp_path / "a.xlsx", rows), f'{tmp_path / "a.xlsx"}: sheet "Leads"'
    assert error_of(path) == (
        f'{where} has duplicate column headers: "Email" (columns A and C), '
        '"Name" (columns B and E)',
        "rename the columns so every header is different",
    )


def test_blank_header_over_data(tmp_path: Path) -> None:
    rows = [["Id", None, "Name"], ["1", None, "a"], ["2", "x", "b"]]
    path = write_xlsx(tmp_path / "a.xlsx", rows)
    assert error_of(path) == (
        f'{path}: sheet "Leads" has data in column B under an empty header cell (first in row 3)',
        "type a header in row 1 or delete the column",
    )


def test_empty_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", [])
    assert error_of(path)[0] == f'{path}: sheet "Leads" is empty'


def test_header_row_past_the_end(tmp_path: Path) -> None:
    xlsx = write_xlsx(tmp_path / "a.xlsx", [["Id"], ["1"]])
    csv = write_csv(tmp_path / "a.csv", [["Id"], ["1"]])
    assert (
        error_of(xlsx, header_row=5)[0]
        == f'{xlsx}: sheet "Leads" has no row 5 to use as the header'
    )
    assert error_of(csv, header_row=5)[0] == f"{csv}: the file has no row 5 to use as the header"


def test_csv_row_with_too_many_fields_names_its_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["Title"], ["Id", "Name"], ["1", "a"], ["2", "b", "c"]])
    assert error_of(path, header_row=2) == (
        f"{path}: line 4 has 3 fields but the header has 2",
        "check the delimiter and the quotes on that line",
    )


def test_csv_unclosed_quote(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text('Id,Name\n1,"a\n')
    assert error_of(path)[0] == f"{path}: a quoted cell is never closed"


def test_csv_with_a_stray_control_character_is_still_text(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["Id", "Note"], ["1", "a\x01b"]])

    assert read_sheet(path).frame["Note"].tolist() == ["a\x01b"]


def test_header_row_zero_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [["Id"], ["1"]])

    assert error_of(path, header_row=0)[0] == f"{path}: header row must be 1 or more, not 0"
