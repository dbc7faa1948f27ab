"""Mapping sources of issue 12: column fallbacks, value maps, spreadsheet error values,
templates that drop a part with its frame, and the check-only country field."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

import importer
from importer.errors import MappingError
from importer.mapping.apply import apply_mapping, template_layout
from importer.mapping.load import parse_mapping
from importer.mapping.model import ColumnMapping, FieldSource
from importer.records import FieldRef
from importer.sending.payload import PayloadBuilder
from tests.factories import write_csv

ORIGIN = "mappings/x.yaml"


def parse(body: str) -> ColumnMapping:
    text = "version: 1\nlead:\n  integration_record_id: ID\n" + body
    return parse_mapping(text, ORIGIN)


def refusal(body: str) -> MappingError:
    with pytest.raises(MappingError) as info:
        parse(body)
    return info.value


def frame(**columns: list[str]) -> pd.DataFrame:
    size = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=range(2, 2 + size), dtype=object)


# ---------------------------------------------------------------- {column: [A, B]}


def test_column_list_takes_the_first_non_empty_cell() -> None:
    m = parse("  mobile: {column: [Mobile, Phone, Home]}\n")
    assert m.lead["mobile"] == FieldSource(column="Mobile", fallbacks=("Phone", "Home"))
    f = frame(
        ID=["1", "2", "3", "4"],
        Mobile=["801", " ", "", ""],
        Phone=["802", "802", "", ""],
        Home=["803", "803", "803", ""],
    )
    assert apply_mapping(f, m).lead["mobile"].tolist() == ["801", "802", "803", ""]


def test_default_applies_when_every_column_of_the_list_is_empty() -> None:
    m = parse("  office_name: {column: [Office, Region], default: Utah Office}\n")
    f = frame(ID=["1", "2", "3"], Office=["A", "", ""], Region=["", "B", ""])
    assert apply_mapping(f, m).lead["office_name"].tolist() == ["A", "B", "Utah Office"]


def test_every_column_of_a_list_must_be_in_the_sheet() -> None:
    m = parse("  mobile: {column: [Mobile, Phone]}\n")
    with pytest.raises(MappingError) as info:
        apply_mapping(frame(ID=["1"], Mobile=["1"]), m)
    assert info.value.message == (
        f'{ORIGIN}: field "mobile" maps from column "Phone", which is not in the sheet'
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  mobile: {column: []}\n", 'field "mobile"\'s column list is empty (line 4)'),
        (
            "  mobile: {column: [A, A]}\n",
            'field "mobile"\'s column list names "A" twice (line 4)',
        ),
        ("  mobile: {column: [A, '']}\n", 'a column in field "mobile"\'s list is empty (line 4)'),
        (
            "  mobile: {column: [A, [B]]}\n",
            'a column in field "mobile"\'s list must be text, not a list (line 4)',
        ),
    ],
)
def test_bad_column_lists_are_refused_with_their_line(body: str, message: str) -> None:
    assert refusal(body).message == f"{ORIGIN}: {message}"


# ---------------------------------------------------------------- map:

REGION = """\
  office_name:
    column: Region
    map: {North: Provo Office, South: St George Office}
"""


def test_map_translates_ignoring_case_and_surrounding_spaces() -> None:
    m = parse(REGION)
    f = frame(ID=["1", "2", "3"], Region=["North", "  south ", "NORTH"])
    records = apply_mapping(f, m)
    assert records.lead["office_name"].tolist() == ["Provo Office", "St George Office"] + [
        "Provo Office"
    ]
    assert records.problems == []


def test_a_cell_the_map_lacks_is_an_unmapped_value_error() -> None:
    f = frame(ID=["1", "2", "3"], Region=["East", "", "North"])
    records = apply_mapping(f, parse(REGION))
    [problem] = records.problems
    assert (problem.row, problem.field, problem.code, problem.is_error) == (
        2,
        "office_name",
        "unmapped_value",
        True,
    )
    assert problem.message == (
        'office_name: "East" in column "Region" is not in the map (North, South); '
        "add it there, or a default"
    )
    assert records.lead["office_name"].tolist() == ["East", "", "Provo Office"]


def test_a_cell_the_map_lacks_takes_the_default_and_so_does_an_empty_one() -> None:
    m = parse(REGION.replace("    map:", "    default: Utah Office\n    map:"))
    f = frame(ID=["1", "2", "3"], Region=["East", "", "North"])
    records = apply_mapping(f, m)
    assert records.lead["office_name"].tolist() == ["Utah Office", "Utah Office", "Provo Office"]
    assert records.problems == []


def test_map_with_a_column_list_names_the_column_the_cell_came_from() -> None:
    m = parse("  office_name: {column: [Office, Region], map: {North: Provo Office}}\n")
    f = frame(ID=["1", "2"], Office=["", "north"], Region=["West", ""])
    records = apply_mapping(f, m)
    assert records.lead["office_name"].tolist() == ["West", "Provo Office"]
    assert [p.message for p in records.problems] == [
        'office_name: "West" in column "Region" is not in the map (North); '
        "add it there, or a default"
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "  office_name: {value: X, map: {a: b}}\n",
            'field "office_name" has a map, which only translates a column\'s cells (line 4)',
        ),
        (
            "  office_name: {template: '{A}', map: {a: b}}\n",
            'field "office_name" has a map, which only translates a column\'s cells (line 4)',
        ),
        (
            "  office_name: {column: R, map: [a, b]}\n",
            'field "office_name"\'s map must be a table of cell: value, not a list (line 4)',
        ),
        (
            "  office_name:\n    column: R\n    map:\n      North: A\n      ' north ': B\n",
            'field "office_name"\'s map has "north" and "North", which match the same cells '
            "(case and surrounding spaces are ignored) (line 8)",
        ),
        (
            "  office_name:\n    column: R\n    map:\n      North:\n",
            'field "office_name"\'s map value for "North" is empty (line 7)',
        ),
    ],
)
def test_bad_maps_are_refused_with_their_line(body: str, message: str) -> None:
    assert refusal(body).message == f"{ORIGIN}: {message}"


# ---------------------------------------------------------------- spreadsheet error values


@pytest.mark.parametrize(
    "cell", ["#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", " #n/a "]
)
def test_spreadsheet_error_values_read_as_empty_with_a_warning(cell: str) -> None:
    m = parse("  mobile: Mobile\n")
    records = apply_mapping(frame(ID=["1"], Mobile=[cell]), m)
    assert records.lead["mobile"].tolist() == [""]
    [problem] = records.problems
    assert (problem.code, problem.is_error, problem.field) == (
        "spreadsheet_error_value",
        False,
        "mobile",
    )
    assert problem.message == (
        f'mobile: "{cell.strip()}" in column "Mobile" is a spreadsheet error value; read as empty'
    )


@pytest.mark.parametrize("cell", ["N/A", "NA", "None", "#12", "Apt #N/A"])
def test_text_that_only_looks_like_an_error_stays(cell: str) -> None:
    records = apply_mapping(frame(ID=["1"], Mobile=[cell]), parse("  mobile: Mobile\n"))
    assert records.lead["mobile"].tolist() == [cell]
    assert records.problems == []


def test_an_error_value_falls_back_to_the_next_column() -> None:
    m = parse("  mobile: {column: [Mobile, Phone]}\n")
    records = apply_mapping(frame(ID=["1"], Mobile=["#N/A"], Phone=["8015554444"]), m)
    assert records.lead["mobile"].tolist() == ["8015554444"]
    assert [p.code for p in records.problems] == ["spreadsheet_error_value"]


def test_an_error_value_in_a_template_drops_that_part() -> None:
    m = parse('  fullAddress: {template: "{Street}, {City}, {State} {Zip}"}\n')
    f = frame(ID=["1"], Street=["1 Main St"], City=["#N/A"], State=["UT"], Zip=["84601"])
    records = apply_mapping(f, m)
    assert records.lead["fullAddress"].tolist() == ["1 Main St, UT 84601"]
    assert [p.field for p in records.problems] == ["fullAddress"]


def test_hash_ids_keep_error_values_so_ids_never_change() -> None:
    m = parse("  email: Email\n").lead
    m["integration_record_id"] = FieldSource(hash=("Email",))
    mapping = ColumnMapping(None, "", None, 1, m)
    records = apply_mapping(frame(ID=["1"], Email=["#N/A"]), mapping)
    assert records.lead["integration_record_id"].iloc[0].startswith("h")


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize(
    ("template", "cells", "expected"),
    [
        ("Business: {name} ({website})", ["Acme", ""], "Business: Acme"),
        ("Business: {name} ({website})", ["Acme", "acme.com"], "Business: Acme (acme.com)"),
        ("Business: {name} ({website})", ["", "acme.com"], "Business: (acme.com)"),
        ("Business: {name} ({website})", ["", ""], ""),
        ('{first} "{nick}" {last}', ["Ann", "", "Lee"], "Ann Lee"),
        ('{first} "{nick}" {last}', ["Ann", "Bee", "Lee"], 'Ann "Bee" Lee'),
        ("({a}) {b}", ["", "x"], "x"),
        ("({a}) {b}", ["y", ""], "(y)"),
        ("[{a}, {b}]", ["y", ""], "[y]"),
        ("[{a}, {b}]", ["", ""], ""),
        ("{a} [{b}] - {c}", ["a", "", "c"], "a c"),  # the separator after the earlier part
        ("{a} ( {b} ) {c}", ["a", "", "c"], "a c"),
        ("{a} ( {b} ) {c}", ["a", "b", "c"], "a ( b ) c"),
        ("(({a}))", ["", ""][:1], ""),
        ("(({a}))", ["x"], "((x))"),
        ("{a} ({b}", ["a", ""], "a"),  # an unclosed bracket is separator text
        ("{a} ({b}", ["a", "b"], "a (b"),
        ("Note: {a}.", ["", ""][:1], ""),
        ("Note: {a}.", ["x"], "Note: x."),
        ("{Street}, {City}, {State} {Zip}", ["1 Main St", "", "UT", "84601"], "1 Main St, UT 84601"),
        ("{Street}, {City}, {State} {Zip}", ["", "Provo", "UT", ""], "Provo, UT"),
        ("«{a}» {b}", ["", "x"], "x"),
    ],
)  # fmt: skip
def test_templates_drop_an_empty_part_with_its_frame(
    template: str, cells: list[str], expected: str
) -> None:
    columns = template_layout(template).columns
    m = parse(f"  add_note: {{template: '{template}'}}\n")
    f = frame(ID=["1"], **{c: [v] for c, v in zip(columns, cells, strict=True)})
    assert apply_mapping(f, m).lead["add_note"].tolist() == [expected]


def test_template_layout_shares_the_text_out_once() -> None:
    layout = template_layout("Business: {name} ({website})")
    assert (layout.prefix, layout.openers, layout.closers) == ("Business: ", ("", "("), ("", ")"))
    assert (layout.separators[0], layout.suffix) == (" ", "")


# ---------------------------------------------------------------- country (check only)

COUNTRY = "  fullAddress: Address\n  country: {column: Country}\n"


def test_country_is_a_check_never_a_lead_field() -> None:
    m = parse(COUNTRY)
    assert "country" not in m.lead and m.checks["country"] == FieldSource(column="Country")
    assert m.warnings == []  # not an unknown lead field
    records = apply_mapping(
        frame(ID=["1"], Address=["1 Main St, Provo, UT 84601"], Country=["US"]), m
    )
    assert FieldRef.check("country") not in records.refs()
    body = PayloadBuilder(records.refs()).build_values(records.table().iloc[0].tolist())
    assert body == {
        "lead": {"integration_record_id": "1", "fullAddress": "1 Main St, Provo, UT 84601"}
    }


def test_country_column_makes_foreign_rows_invalid(tmp_path: Path) -> None:
    rows = [["ID", "Address", "Country"]]
    countries = ["US", "usa", "U.S.A.", "United States of America", "America", "États-Unis",
                 "Estados Unidos", "Vereinigte Staaten", "", "Canada", "Italy", "Deutschland", "Narnia"]  # fmt: skip
    rows += [[str(i), "1 Main St, Provo, UT 84601", c] for i, c in enumerate(countries)]
    source = write_csv(tmp_path / "leads.csv", rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("version: 1\nlead:\n  integration_record_id: ID\n" + COUNTRY)
    report = importer.validate(source, mapping, out=tmp_path / "out.csv")
    status = report.results["import_status"].tolist()
    assert status == ["valid"] * 9 + ["invalid"] * 4
    assert report.results["import_message"].iloc[9] == 'country: "Canada" is not the United States'


def test_sent_rows_carry_no_country(tmp_path: Path, sandbox) -> None:
    rows = [["ID", "Address", "Country"], ["1", "1 Main St, Provo, UT 84601", "USA"]]
    source = write_csv(tmp_path / "leads.csv", rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text("version: 1\nlead:\n  integration_record_id: ID\n" + COUNTRY)
    report = importer.send(
        source, mapping, base_url=sandbox.base_url, api_key=sandbox.api_key, out=tmp_path / "o.csv"
    )
    assert report.counts == {"created": 1}
    with urllib.request.urlopen(f"{sandbox.base_url}/_sandbox/leads") as answer:
        [lead] = json.load(answer)
    assert "country" not in lead and lead["state"] == "UT"


# ---------------------------------------------------------------- through validate


def test_an_error_value_in_mobile_leaves_a_good_row_valid(tmp_path: Path) -> None:
    rows = [["ID", "Street", "City", "State", "Zip", "Mobile", "Phone"],
            ["1", "525 S. Lexington Ave", "Burlington", "NC", "27215", "#N/A", "#N/A"],
            ["2", "1 Main St", "Provo", "UT", "84601", "#N/A", "(801) 555-4444"]]  # fmt: skip
    source = write_csv(tmp_path / "contacts.csv", rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "version: 1\nlead:\n  integration_record_id: ID\n  address: Street\n  city: City\n"
        "  state: State\n  zip: Zip\n  mobile: {column: [Mobile, Phone]}\n"
    )
    report = importer.validate(source, mapping, out=tmp_path / "out.csv")
    assert report.results["import_status"].tolist() == ["valid", "valid"]
    assert report.results["import_warnings"].iloc[0] == (
        'mobile: "#N/A" in column "Mobile" is a spreadsheet error value; read as empty; '
        'mobile: "#N/A" in column "Phone" is a spreadsheet error value; read as empty'
    )


def test_an_unmapped_value_makes_the_row_invalid(tmp_path: Path) -> None:
    rows = [["ID", "Address", "Region"], ["1", "1 Main St, Provo, UT 84601", "East"],
            ["2", "1 Main St, Provo, UT 84601", "north"]]  # fmt: skip
    source = write_csv(tmp_path / "leads.csv", rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "version: 1\nlead:\n  integration_record_id: ID\n  fullAddress: Address\n" + REGION
    )
    report = importer.validate(source, mapping, out=tmp_path / "out.csv")
    assert report.results["import_status"].tolist() == ["invalid", "valid"]
    assert report.results["import_message"].iloc[0].startswith('office_name: "East" in column')
