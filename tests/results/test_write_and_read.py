"""output: the results workbook keeps cells as text, marks failures, and reads back for retry."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from importer.errors import OutputError, ResultsError
from importer.models import RESULT_COLUMNS, Problem
from importer.reading.sheet import SourceSheet, read_sheet
from importer.results.read import read_results
from importer.results.write import (
    MAX_COMMENTS,
    ResultsContent,
    ResultsSummary,
    SourceFacts,
    neutralize,
    unneutralize,
    write_results,
)
from tests.factories import write_csv, write_xlsx

SOURCE_ROWS = [
    ["Lead ID", "Zip", "Phone", "Note"],
    ["L1", "02134", "+1 801 555 4444", "=1+2"],
    ["L2", "ABCDE", "8015554444", " spaced "],
    [None, None, None, None],
    ["L3", "84045", "-5", "'quoted"],
]
MAPPING = "version: 1\nlead:\n  integration_record_id: Lead ID\n  zip: Zip\n"
ZIP_ERROR = 'zip: "ABCDE" is not a 5-digit zip code'
PROBLEMS = [
    Problem(3, "zip", "invalid_zip", ZIP_ERROR),
    Problem(4, "integration_record_id", "missing_record_id", "integration_record_id: missing"),
    Problem(2, "zip", "zip_zero_padded", "zip: zero-padded", is_error=False),
]
FIELD_COLUMNS = {"zip": ("Zip",), "integration_record_id": ("Lead ID",), "mobile": ("Phone",)}
ENDPOINT = "http://127.0.0.1:8765/api/v1/partner/action/lead/add"
SUMMARY = ResultsSummary(
    command="send",
    started_at="2026-03-12T10:00:00Z",
    finished_at="2026-03-12T10:00:05Z",
    destination={"destination": ENDPOINT, "key_fingerprint": "k0123456789ab"},
    sent_to=ENDPOINT,
    extra={"rows": "4", "duration": "5.0 s"},
)


def content(
    sheet: SourceSheet,
    results: pd.DataFrame,
    problems: list[Problem],
    field_columns: dict[str, tuple[str, ...]],
    mapping_text: str,
) -> ResultsContent:
    return ResultsContent(
        rows=sheet.frame,
        sheet_title=sheet.sheet_name,
        source=SourceFacts.of(sheet),
        results=results,
        problems=problems,
        field_columns=field_columns,
        summary=SUMMARY,
        mapping_text=mapping_text,
    )


def source(tmp_path: Path) -> SourceSheet:
    return read_sheet(write_xlsx(tmp_path / "leads.xlsx", SOURCE_ROWS))


def results_for(sheet: SourceSheet) -> pd.DataFrame:
    results = pd.DataFrame({c: "" for c in RESULT_COLUMNS}, index=sheet.frame.index)
    results["import_status"] = ["created", "invalid", "invalid", "failed"]
    results["import_message"] = ["Lead Created", ZIP_ERROR, "integration_record_id: missing", "504"]
    results["import_record_id"] = ["L1", "L2", "", "L3"]
    results["import_attempts"] = ["1", "", "", "6"]
    return results


def write(tmp_path: Path, name: str = "out/leads.results.xlsx") -> tuple[Path, SourceSheet]:
    sheet = source(tmp_path)
    out = tmp_path / name
    write_results(out, content(sheet, results_for(sheet), PROBLEMS, FIELD_COLUMNS, MAPPING))
    return out, sheet


def values_of(ws: openpyxl.worksheet.worksheet.Worksheet) -> list[list[object]]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


# -- xlsx -----------------------------------------------------------------------------------


def test_xlsx_holds_every_source_row_then_the_result_columns(tmp_path: Path) -> None:
    out, _ = write(tmp_path)

    rows = values_of(openpyxl.load_workbook(out)["Leads"])

    assert rows[0] == ["Lead ID", "Zip", "Phone", "Note", *RESULT_COLUMNS]
    assert rows[1][:8] == [
        "L1",
        "02134",
        "+1 801 555 4444",
        "=1+2",
        "created",
        "Lead Created",
        None,
        "L1",
    ]
    assert rows[2][:5] == ["L2", "ABCDE", "8015554444", " spaced ", "invalid"]
    assert rows[3][:5] == [None, None, None, None, "invalid"]
    assert rows[4][:4] == ["L3", "84045", "-5", "'quoted"]
    assert len(rows) == 5


def test_no_cell_becomes_a_formula_or_a_number(tmp_path: Path) -> None:
    out, _ = write(tmp_path)

    ws = openpyxl.load_workbook(out)["Leads"]

    assert ws["D2"].value == "=1+2" and ws["D2"].data_type == "s"
    assert ws["B2"].data_type == "s" and ws["C3"].data_type == "s" and ws["C5"].data_type == "s"


def test_failing_source_cells_are_filled_and_commented(tmp_path: Path) -> None:
    out, _ = write(tmp_path)

    ws = openpyxl.load_workbook(out)["Leads"]

    assert ws["B3"].fill.fgColor.rgb == "FFFFC7CE"
    assert ws["B3"].comment.text == ZIP_ERROR
    assert ws["A4"].fill.fgColor.rgb == "FFFFC7CE"  # empty cell still highlighted
    assert ws["A4"].comment.text == "integration_record_id: missing"
    assert ws["B2"].fill.fgColor.rgb == "FFFFF2CC"  # a warning: the milder colour
    assert ws["B2"].comment.text == "zip: zero-padded"
    assert ws["C2"].comment is None and ws["C2"].fill.fgColor.rgb != "FFFFF2CC"


def test_text_cells_that_look_like_numbers_draw_no_excel_marks(tmp_path: Path) -> None:
    out, _ = write(tmp_path)
    with zipfile.ZipFile(out) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(r'<ignoredError sqref="A1:L5" numberStoredAsText="1"/>', sheet), sheet[-400:]


def test_header_is_frozen_bold_and_filtered_and_status_is_coloured(tmp_path: Path) -> None:
    out, _ = write(tmp_path)

    ws = openpyxl.load_workbook(out)["Leads"]

    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:L5"
    assert ws["A1"].font.b
    rules = {
        rule.formula[0]: rule.dxf.fill.bgColor.rgb
        for cf in ws.conditional_formatting
        if str(cf.sqref) == "E2:E5"
        for rule in cf.rules
    }
    assert rules['"created"'] == rules['"valid"'] == "FFC6EFCE"
    assert rules['"invalid"'] == rules['"rejected"'] == "FFFFC7CE"
    assert rules['"failed"'] == "FFFCD5B4"
    assert rules['"pending"'] == "FFE7E6E6"


def test_summary_sheet_counts_statuses_and_top_problems(tmp_path: Path) -> None:
    out, sheet = write(tmp_path)

    rows = values_of(openpyxl.load_workbook(out)["Summary"])
    facts = {row[0]: row[1] for row in rows if row and row[0]}

    assert facts["source file"] == "leads.xlsx"
    assert facts["source sha256"] == sheet.sha256
    assert facts["sent to"] == ENDPOINT
    assert facts["api key fingerprint"] == "k0123456789ab"
    assert facts["command"] == "send"
    assert facts["duration"] == "5.0 s"
    assert (facts["created"], facts["invalid"], facts["failed"]) == (1, 2, 1)  # numbers
    assert facts["total"] == 4
    problems = [row for row in rows if row and row[1] in ("error", "warning")]
    assert problems[0] == ["invalid_zip", "error", 1, 3, ZIP_ERROR]
    assert problems[1][:4] == ["missing_record_id", "error", 1, 4]
    assert problems[2] == ["failed: N", "error", 1, 5, "504"]  # rejections count too
    assert problems[3][:2] == ["zip_zero_padded", "warning"]
    with zipfile.ZipFile(out) as archive:
        chart = archive.read("xl/charts/chart1.xml").decode()
    assert "Rows by status" in chart and "<c:barChart>" in chart


def test_hidden_sheet_keeps_what_retry_needs(tmp_path: Path) -> None:
    out, sheet = write(tmp_path)

    book = openpyxl.load_workbook(out)
    meta = book["_enerflo_import"]
    facts = {row[0]: row[1] for row in values_of(meta)[1:]}

    assert book.sheetnames == ["Leads", "Summary", "_enerflo_import"]
    assert meta.sheet_state == "hidden"
    assert facts["format_version"] == "1"
    assert facts["source_sha256"] == sheet.sha256
    assert facts["source_sheet"] == "Leads" and facts["header_row"] == "1"
    assert json.loads(facts["source_columns"]) == ["Lead ID", "Zip", "Phone", "Note"]
    assert facts["mapping_text"] == MAPPING


def test_xlsx_round_trip_through_read_results(tmp_path: Path) -> None:
    out, sheet = write(tmp_path)

    back = read_results(out)

    pd.testing.assert_frame_equal(back.frame, sheet.frame, check_dtype=False)
    assert back.results["import_status"].tolist() == ["created", "invalid", "invalid", "failed"]
    assert back.results["import_attempts"].tolist() == ["1", "", "", "6"]
    assert list(back.results.columns) == list(RESULT_COLUMNS)
    assert back.mapping_text == MAPPING
    assert back.sheet_name == "Leads"
    assert back.facts["source_path"] == str(sheet.path)
    assert "mapping_text" not in back.facts


def test_long_mapping_text_is_split_over_rows_and_joined_back(tmp_path: Path) -> None:
    sheet = source(tmp_path)
    long_text = "# " + "x" * 80_000 + "\nversion: 1\n"
    out = tmp_path / "r.xlsx"
    write_results(out, content(sheet, results_for(sheet), [], {}, long_text))

    assert read_results(out).mapping_text == long_text


def test_cells_the_user_edited_in_excel_read_back_as_text(tmp_path: Path) -> None:
    out, _ = write(tmp_path)
    book = openpyxl.load_workbook(out)
    book["Leads"]["B3"] = 2134  # the user types a zip; Excel stores a number
    book["Leads"]["C3"] = 8015554444
    book.save(out)

    back = read_results(out)

    assert back.frame.loc[3, "Zip"] == "2134"
    assert back.frame.loc[3, "Phone"] == "8015554444"


def test_source_column_named_like_a_result_column_survives(tmp_path: Path) -> None:
    sheet = read_sheet(write_xlsx(tmp_path / "a.xlsx", [["Id", "import_status"], ["1", "old"]]))
    results = pd.DataFrame({c: "" for c in RESULT_COLUMNS}, index=sheet.frame.index)
    out = tmp_path / "r.xlsx"
    write_results(out, content(sheet, results, [], {}, MAPPING))

    back = read_results(out)

    assert values_of(openpyxl.load_workbook(out)["Leads"])[0][:3] == [
        "Id",
        "import_status (source)",
        "import_status",
    ]
    assert back.frame.to_dict("index") == {2: {"Id": "1", "import_status": "old"}}


def test_comments_stop_at_the_cap_but_fills_go_on(tmp_path: Path) -> None:
    count = MAX_COMMENTS + 5
    rows = [["Zip"]] + [["bad"] for _ in range(count)]
    sheet = read_sheet(write_csv(tmp_path / "a.csv", rows))
    problems = [Problem(r, "zip", "invalid_zip", "zip: bad") for r in sheet.frame.index]
    results = pd.DataFrame({c: "" for c in RESULT_COLUMNS}, index=sheet.frame.index)
    out = tmp_path / "r.xlsx"
    write_results(out, content(sheet, results, problems, {"zip": ("Zip",)}, MAPPING))

    ws = openpyxl.load_workbook(out)["Leads"]

    assert ws.cell(MAX_COMMENTS + 1, 1).comment is not None
    assert ws.cell(MAX_COMMENTS + 2, 1).comment is None
    assert ws.cell(count + 1, 1).fill.fgColor.rgb == "FFFFC7CE"


# -- csv ------------------------------------------------------------------------------------


def test_csv_has_a_bom_the_same_columns_and_neutralized_formulas(tmp_path: Path) -> None:
    out, _ = write(tmp_path, "r.csv")

    raw = out.read_bytes()
    frame = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")

    assert raw.startswith(b"\xef\xbb\xbf")
    assert list(frame.columns) == ["Lead ID", "Zip", "Phone", "Note", *RESULT_COLUMNS]
    assert frame["Note"].tolist() == ["'=1+2", " spaced ", "", "''quoted"]
    assert frame["Phone"].tolist() == ["'+1 801 555 4444", "8015554444", "", "'-5"]
    assert frame["Zip"].tolist() == ["02134", "ABCDE", "", "84045"]


def test_csv_round_trip_through_read_results_restores_every_cell(tmp_path: Path) -> None:
    out, sheet = write(tmp_path, "r.csv")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING)

    back = read_results(out, mapping)

    pd.testing.assert_frame_equal(back.frame, sheet.frame, check_dtype=False)
    assert back.results["import_message"].tolist()[1] == ZIP_ERROR
    assert back.mapping_text == MAPPING
    assert back.sheet_name is None


@pytest.mark.parametrize("text", ["=SUM(A1)", "+1", "-2", "@x", "\tx", "\rx", "'x", "''", "ok", ""])
def test_neutralize_is_undone_exactly(text: str) -> None:
    column = pd.Series([text], dtype=str)

    guarded = neutralize(column)[0]

    assert not guarded.startswith(("=", "+", "-", "@", "\t", "\r")) or guarded == text == ""
    assert unneutralize(neutralize(column))[0] == text


# -- failures -------------------------------------------------------------------------------


def test_unwritable_output_is_an_output_error_naming_the_path(tmp_path: Path) -> None:
    sheet = source(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = blocker / "r.xlsx"

    with pytest.raises(OutputError) as caught:
        write_results(out, content(sheet, results_for(sheet), [], {}, MAPPING))

    assert caught.value.message.startswith(f"{out}: cannot write the results (")
    assert caught.value.hint


def test_output_that_is_a_folder_is_refused_and_leaves_no_temp_file(tmp_path: Path) -> None:
    sheet = source(tmp_path)
    out = tmp_path / "r.xlsx"
    out.mkdir()

    with pytest.raises(OutputError, match="cannot write the results"):
        write_results(out, content(sheet, results_for(sheet), [], {}, MAPPING))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["leads.xlsx", "r.xlsx"]


def test_existing_output_is_replaced_whole(tmp_path: Path) -> None:
    out, _ = write(tmp_path)
    first = read_results(out).results["import_status"].tolist()
    sheet = source(tmp_path)
    results = results_for(sheet)
    results["import_status"] = "valid"
    write_results(out, content(sheet, results, [], {}, MAPPING))

    assert first[0] == "created"
    assert read_results(out).results["import_status"].tolist() == ["valid"] * 4
    assert [p.name for p in out.parent.iterdir()] == ["leads.results.xlsx"]


def results_error(path: Path, mapping: Path | None = None) -> tuple[str, str | None]:
    with pytest.raises(ResultsError) as caught:
        read_results(path, mapping)
    return caught.value.message, caught.value.hint


def test_workbook_without_the_hidden_sheet_was_not_written_by_us(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "plain.xlsx", SOURCE_ROWS)

    assert results_error(path) == (
        f"{path}: was not written by enerflo-import (it has no _enerflo_import sheet)",
        "give retry the results file that validate or send wrote",
    )


def test_removed_result_column_is_refused(tmp_path: Path) -> None:
    out, _ = write(tmp_path)
    book = openpyxl.load_workbook(out)
    book["Leads"].delete_cols(5)  # import_status
    book.save(out)

    message, hint = results_error(out)

    assert (
        message
        == f'{out}: sheet "Leads" is missing result column "import_status" (removed or renamed)'
    )
    assert hint and "restore" in hint


def test_renamed_source_column_is_refused(tmp_path: Path) -> None:
    out, _ = write(tmp_path)
    book = openpyxl.load_workbook(out)
    book["Leads"]["B1"] = "ZIP code"
    book.save(out)

    assert results_error(out)[0] == (
        f'{out}: sheet "Leads" is missing source column "Zip" (removed or renamed)'
    )


def test_renamed_data_sheet_is_refused(tmp_path: Path) -> None:
    out, _ = write(tmp_path)
    book = openpyxl.load_workbook(out)
    book["Leads"].title = "Mine"
    book.save(out)

    assert results_error(out) == (
        f'{out}: sheet "Leads" with the rows was renamed or deleted',
        'rename the sheet back to "Leads"',
    )


def test_csv_without_result_columns_is_refused(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "plain.csv", [["Id", "import_status"], ["1", "valid"]])
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING)

    message, _ = results_error(path, mapping)

    assert message == (
        f'{path}: the file is missing result columns "import_message", "import_warnings", '
        '"import_record_id", "import_lead_id", "import_http_status", "import_attempts", '
        '"import_at" (removed or renamed)'
    )


def test_csv_results_need_the_mapping(tmp_path: Path) -> None:
    out, _ = write(tmp_path, "r.csv")

    assert results_error(out) == (
        f"{out}: a CSV results file does not carry its mapping",
        "pass the mapping the run used with -m MAPPING",
    )


def test_missing_results_file_is_a_results_error(tmp_path: Path) -> None:
    path = tmp_path / "gone.xlsx"

    assert results_error(path)[0] == f"{path}: file not found"


def test_control_characters_newlines_and_spaces_survive_the_xlsx(tmp_path: Path) -> None:
    rows = [["A", "B"], ["a\x01b", "_x0041_"], ["line1\nline2", "  lead "]]
    sheet = read_sheet(write_csv(tmp_path / "a.csv", rows))
    results = pd.DataFrame({c: "" for c in RESULT_COLUMNS}, index=sheet.frame.index)
    out = tmp_path / "r.xlsx"
    write_results(out, content(sheet, results, [], {}, "a: 1\r\nb: 2\n"))

    back = read_results(out)

    assert back.frame.to_dict("index") == {
        2: {"A": "a\x01b", "B": "_x0041_"},
        3: {"A": "line1\nline2", "B": "  lead "},
    }
    assert back.mapping_text == "a: 1\r\nb: 2\n"
