"""Tests for importer.mapping.model: parsing every form, every refusal, column checks, applying."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from importer.errors import MappingError
from importer.mapping.apply import apply_mapping
from importer.mapping.load import load_mapping, parse_mapping
from importer.mapping.model import ColumnMapping, FieldSource, check_columns

ORIGIN = "mappings/x.yaml"
FULL = """\
version: 1
source:
  sheet: Leads
  header_row: 2
lead:
  integration_record_id: Lead ID
  first_name: {column: First Name}
  zip: {value: 02134}
  fullAddress: {template: "{Street}, {City}, {State} {Zip}"}
  office_name: {column: Office, default: Utah Office}
  lead_status: {value: Needs Contact}
  createDeal: {value: 5686}
  ignore_validation: {value: true}
  email: {hash: [Email, Phone]}
appointment:
  apt_type_id: {value: 12}
  date_time: {column: Appointment, format: "%m/%d/%Y %H:%M"}
  timezone: America/Denver
  date_format: U
  name: {value: Solar Consultation}
  minutes: {value: 60}
  assigned_user: Rep
survey_data:
  files:
    - name: {column: Photo}
      data: {file: Photo}
      type: {value: img_exterior_house}
options:
  on_duplicate: last
"""


def parse(text: str) -> ColumnMapping:
    return parse_mapping(textwrap.dedent(text), ORIGIN)


def lead_only(body: str) -> str:
    return "version: 1\nlead:\n  integration_record_id: ID\n" + body


def refusal(text: str) -> MappingError:
    with pytest.raises(MappingError) as info:
        parse_mapping(text, ORIGIN)
    return info.value


# ---------------------------------------------------------------- parsing


def test_full_mapping_parses_every_form() -> None:
    m = parse(FULL)
    assert m.sheet == "Leads" and m.header_row == 2 and m.on_duplicate == "last"
    assert m.text == FULL and m.origin == ORIGIN and m.path is None and m.warnings == []
    assert m.lead["integration_record_id"] == FieldSource(column="Lead ID")
    assert m.lead["first_name"] == FieldSource(column="First Name")
    assert m.lead["office_name"] == FieldSource(column="Office", default="Utah Office")
    assert m.lead["fullAddress"].template == "{Street}, {City}, {State} {Zip}"
    assert m.lead["email"] == FieldSource(hash=("Email", "Phone"))
    assert m.appointment["date_time"] == FieldSource(column="Appointment", format="%m/%d/%Y %H:%M")
    assert m.appointment["assigned_user"] == FieldSource(column="Rep")
    assert m.appointment_timezone == "America/Denver" and m.appointment_date_format == "U"
    assert m.survey_files == [
        {
            "name": FieldSource(column="Photo"),
            "data": FieldSource(file="Photo"),
            "type": FieldSource(value="img_exterior_house"),
        }
    ]


def test_yaml_numbers_and_booleans_stay_text_as_typed() -> None:
    m = parse(FULL)
    assert m.lead["createDeal"].value == "5686"
    assert m.lead["zip"].value == "02134"  # YAML 1.1 would read 02134 as octal 1116
    assert m.lead["ignore_validation"].value == "true"
    assert m.appointment["apt_type_id"].value == "12"


def test_defaults_when_source_and_options_are_left_out() -> None:
    m = parse(lead_only(""))
    assert (m.sheet, m.header_row, m.on_duplicate) == (None, 1, "reject")
    assert m.appointment == {} and m.survey_files == [] and m.appointment_timezone is None


def test_bare_column_name_is_stripped_and_numeric_header_kept_as_text() -> None:
    m = parse(lead_only('  first_name: "  First "\n  zip: 5\n'))
    assert m.lead["first_name"] == FieldSource(column="First")
    assert m.lead["zip"] == FieldSource(column="5")


def test_survey_data_may_come_from_a_column() -> None:
    survey = "survey_data:\n  files:\n"
    survey += "    - {name: {value: roof.jpg}, data: {column: B64}, type: {value: img_roof}}\n"
    m = parse(lead_only(survey))
    assert m.survey_files[0]["data"] == FieldSource(column="B64")
    assert m.survey_files[0]["name"] == FieldSource(value="roof.jpg")


def test_unknown_lead_field_is_passed_through_with_a_warning() -> None:
    m = parse(lead_only("  foo: Foo\n"))
    assert m.lead["foo"] == FieldSource(column="Foo")
    assert m.warnings == ['lead field "foo" is not in the Leads API; it is sent as text']


@pytest.mark.parametrize(
    ("name", "guess"),
    [
        ("office name", "office_name"),
        ("full_address", "fullAddress"),
        ("create_deal", "createDeal"),
        ("phone", "mobile"),
    ],
)
def test_misspelled_lead_field_warning_suggests_the_api_name(name: str, guess: str) -> None:
    m = parse(lead_only(f"  {name}: X\n"))
    assert m.warnings == [
        f'lead field "{name}" is not in the Leads API; it is sent as text (did you mean "{guess}"?)'
    ]


def test_load_mapping_reads_a_file_and_records_its_path(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(FULL, encoding="utf-8")
    m = load_mapping(path)
    assert m.path == path and m.origin == str(path) and m.text == FULL


def test_field_columns_names_every_output_field_and_its_source_columns() -> None:
    assert parse(FULL).field_columns() == {
        "integration_record_id": ("Lead ID",),
        "first_name": ("First Name",),
        "zip": (),
        "fullAddress": ("Street", "City", "State", "Zip"),
        "office_name": ("Office",),
        "lead_status": (),
        "createDeal": (),
        "ignore_validation": (),
        "email": ("Email", "Phone"),
        "appointment.apt_type_id": (),
        "appointment.date_time": ("Appointment",),
        "appointment.name": (),
        "appointment.minutes": (),
        "appointment.assigned_user": ("Rep",),
        "survey_data.files[0].name": ("Photo",),
        "survey_data.files[0].data": ("Photo",),
        "survey_data.files[0].type": (),
    }


def test_template_columns_skip_escaped_braces() -> None:
    m = parse(lead_only('  add_note: {template: "{{ref}} {Note} {{{Code}}}"}\n'))
    assert m.lead["add_note"].columns == ("Note", "Code")


# ---------------------------------------------------------------- refusals

YAML_HINT = "check the indentation (spaces, not tabs) and quote text containing ': ' or '#'"
SOURCE_HINT = "give exactly one of column, value, template, hash"
TEMPLATE_HINT = 'put column names in braces, "{Street}, {City}"; write "{{" or "}}" for a brace'


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        (
            "version: 1\nlead:\n  integration_record_id: ID\n   email: x\n",
            "not valid YAML at line 4, column 9: mapping values are not allowed here",
            YAML_HINT,
        ),
        (
            "version: 1\nlead:\n\tx: y\n",
            "not valid YAML at line 3, column 1: found character a tab that cannot start any token",
            YAML_HINT,
        ),
        (
            lead_only("  email: A\n  email: B\n"),
            'not valid YAML at line 5, column 3: key "email" appears twice (first at line 4)',
            None,
        ),
        ("", "is empty", "a mapping needs at least `version: 1` and a `lead:` section"),
        ("- a\n", "must be a set of keys (version, lead, ...), not a list", None),
        (
            "version: 1\nleads:\n  integration_record_id: ID\n",
            'unknown key "leads" in the mapping (line 2)',
            'did you mean "lead"? allowed keys: version, source, lead, appointment, '
            "survey_data, options",
        ),
        (
            "lead:\n  integration_record_id: ID\n",
            'has no "version"',
            "start the file with `version: 1`",
        ),
        (
            "version: 2\nlead:\n  integration_record_id: ID\n",
            'version "2" is not supported (line 1)',
            "this importer reads `version: 1`",
        ),
        (
            "version: 1\n",
            'has no "lead" section',
            "map at least the id: `lead: {integration_record_id: Lead ID}`",
        ),
        (
            "version: 1\nlead: [a]\n",
            '"lead" must be a set of lead fields, not a list (line 2)',
            "map at least the id: `lead: {integration_record_id: Lead ID}`",
        ),
        (
            "version: 1\nlead:\n  email: E\n",
            '"lead" does not map integration_record_id (line 2)',
            "map it from an id column, or derive a stable one: "
            "`integration_record_id: {hash: [Email, Phone]}`",
        ),
        (
            "version: 1\nsource: Leads\nlead:\n  integration_record_id: ID\n",
            '"source" must be a set of keys, not text (line 2)',
            None,
        ),
        (
            "version: 1\nsource:\n  header_row: 0\nlead:\n  integration_record_id: ID\n",
            'source.header_row must be a row number (1 or more), not "0" (line 3)',
            None,
        ),
        (
            "version: 1\nsource:\n  tab: Leads\nlead:\n  integration_record_id: ID\n",
            'unknown key "tab" in "source" (line 3)',
            "allowed keys: sheet, header_row",
        ),
    ],
)
def test_document_level_refusals(text: str, message: str, hint: str | None) -> None:
    error = refusal(text)
    assert (error.message, error.hint) == (f"{ORIGIN}: {message}", hint)


@pytest.mark.parametrize(
    ("body", "message", "hint"),
    [
        (
            "  email: {colum: E}\n",
            'unknown key "colum" in field "email" (line 4)',
            'did you mean "column"? allowed keys: column, value, template, hash, default, map',
        ),
        (
            "  email: {column: E, value: x}\n",
            'field "email" has both "column" and "value" (line 4)',
            SOURCE_HINT,
        ),
        ("  email: {default: x}\n", 'field "email" names no source (line 4)', SOURCE_HINT),
        (
            "  lead_status: {value: New, default: Old}\n",
            'field "lead_status" has a default, which a constant value never uses (line 4)',
            None,
        ),
        ("  lead_status: {value: }\n", 'field "lead_status"\'s value is empty (line 4)', None),
        ("  email:\n", 'field "email"\'s column name is empty (line 4)', None),
        (
            "  email: [a, b]\n",
            'field "email" must be a column name or keys such as {column: Name} (line 4)',
            None,
        ),
        (
            '  fullAddress: {template: "{Street, {City}"}\n',
            'field "fullAddress"\'s template "{Street, {City}" has an unmatched "{" (line 4)',
            TEMPLATE_HINT,
        ),
        (
            '  fullAddress: {template: "Street}"}\n',
            'field "fullAddress"\'s template "Street}" has an unmatched "}" (line 4)',
            TEMPLATE_HINT,
        ),
        (
            '  fullAddress: {template: "{} x"}\n',
            'field "fullAddress"\'s template "{} x" has an empty "{}" (line 4)',
            TEMPLATE_HINT,
        ),
        (
            '  fullAddress: {template: "plain"}\n',
            'field "fullAddress"\'s template "plain" names no column (line 4)',
            TEMPLATE_HINT,
        ),
        (
            "  email: {hash: Email}\n",
            'field "email"\'s hash must be a list of columns, e.g. [Email, Phone] (line 4)',
            None,
        ),
        (
            "  email: {hash: []}\n",
            'field "email"\'s hash must be a list of columns, e.g. [Email, Phone] (line 4)',
            None,
        ),
        (
            "  email: {column: E, format: x}\n",
            'unknown key "format" in field "email" (line 4)',
            "allowed keys: column, value, template, hash, default, map",
        ),
        (
            "  email: {file: E}\n",
            'unknown key "file" in field "email" (line 4)',
            "allowed keys: column, value, template, hash, default, map",
        ),
    ],
)
def test_field_refusals(body: str, message: str, hint: str | None) -> None:
    error = refusal(lead_only(body))
    assert (error.message, error.hint) == (f"{ORIGIN}: {message}", hint)


APT = "appointment:\n  apt_type_id: {value: 1}\n  date_time: When\n  name: {value: Visit}\n"


@pytest.mark.parametrize(
    ("body", "message", "hint"),
    [
        (
            "appointment:\n  apt_type_id: {value: 1}\n  date_time: When\n",
            '"appointment" does not map name (line 4)',
            "an appointment needs apt_type_id, date_time, name",
        ),
        (
            "appointment:\n  appointment_type_id: {value: 1}\n",
            'unknown key "appointment_type_id" in "appointment" (line 5)',
            'did you mean "apt_type_id"? allowed keys: apt_type_id, date_time, name, minutes, '
            "assigned_user, timezone, date_format",
        ),
        (
            APT + "  timezone: America/Denvr\n",
            'appointment.timezone "America/Denvr" is not a known zone (line 8)',
            "use an IANA name such as America/Denver, America/New_York or UTC",
        ),
        (
            APT + "  date_format: Y-m-d\n",
            'appointment.date_format must be "U" (unix seconds), not "Y-m-d" (line 8)',
            None,
        ),
        (
            APT.replace("name: {value: Visit}", "name: {value: Visit, format: x}"),
            'unknown key "format" in field "appointment.name" (line 7)',
            "allowed keys: column, value, template, hash, default, map",
        ),
        (
            "survey_data:\n  files: P\n",
            "survey_data.files must be a list of files (name, data, type) (line 5)",
            None,
        ),
        (
            "survey_data:\n  files:\n    - name: P\n      data: {file: P}\n",
            "survey_data.files[0] does not map type (line 6)",
            "each file needs name, data and type",
        ),
        (
            "survey_data:\n  files:\n    - name: P\n      data: {value: x}\n      type: T\n",
            'field "survey_data.files[0].data" must be {file: Column} or {column: Column} (line 7)',
            None,
        ),
        (
            "survey_data:\n  files:\n    - {name: {file: P}, data: {file: P}, type: T}\n",
            'unknown key "file" in field "survey_data.files[0].name" (line 6)',
            "allowed keys: column, value, template, hash, default, map",
        ),
        (
            "options:\n  on_duplicate: first\n",
            'options.on_duplicate must be reject or last, not "first" (line 5)',
            None,
        ),
    ],
)
def test_section_refusals(body: str, message: str, hint: str | None) -> None:
    error = refusal(lead_only(body))
    assert (error.message, error.hint) == (f"{ORIGIN}: {message}", hint)


def test_control_character_in_the_yaml_is_a_one_line_error() -> None:
    error = refusal("version: 1\nlead:\n  integration_record_id: I\x07D\n")
    assert error.message == (
        f"{ORIGIN}: not valid YAML: unacceptable character #x0007: special characters are not "
        "allowed"
    )


def test_missing_mapping_file_is_a_mapping_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    assert info.value.message == f"{path}: mapping file not found"
    assert info.value.exit_code == 3


def test_mapping_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_bytes(b"version: 1\nlead:\n  integration_record_id: \xff\xfe\n")
    with pytest.raises(MappingError, match="not UTF-8 text"):
        load_mapping(path)


# ---------------------------------------------------------------- check_columns


def test_check_columns_accepts_a_sheet_with_every_mapped_column() -> None:
    columns = ["Lead ID", "First Name", "Street", "City", "State", "Zip", "Office", "Email"]
    columns += ["Phone", "Appointment", "Rep", "Photo"]
    check_columns(parse(FULL), columns, 'sheet "Leads"')


def test_missing_column_names_the_field_and_lists_the_sheets_columns() -> None:
    m = parse(lead_only("  email: Contact\n"))
    with pytest.raises(MappingError) as info:
        check_columns(m, ["ID", "Email", "First"], 'sheet "Leads"')
    assert info.value.message == (
        f'{ORIGIN}: field "email" maps from column "Contact", which is not in sheet "Leads"'
    )
    assert info.value.hint == "the sheet's columns are: ID, Email, First"


def test_missing_column_with_a_punctuation_variant_suggests_it() -> None:
    m = parse(lead_only("  email: E-mail\n"))
    with pytest.raises(MappingError) as info:
        check_columns(m, ["ID", "Email", "First"], 'sheet "Leads"')
    assert info.value.hint == 'did you mean "Email"? the sheet\'s columns are: ID, Email, First'


def test_missing_column_with_a_case_or_space_variant_suggests_it() -> None:
    m = parse(lead_only("  first_name: first  name\n"))
    with pytest.raises(MappingError) as info:
        check_columns(m, ["ID", "First Name"], "leads.csv")
    assert info.value.hint == 'did you mean "First Name"? the sheet\'s columns are: ID, First Name'


def test_missing_column_of_an_appointment_or_template_names_the_output_field() -> None:
    m = parse(lead_only(APT))
    with pytest.raises(
        MappingError, match=r'field "appointment.date_time" maps from column "When"'
    ):
        check_columns(m, ["ID"], 'sheet "Leads"')
    m = parse(lead_only('  fullAddress: {template: "{Street}, {Town}"}\n'))
    with pytest.raises(MappingError, match=r'field "fullAddress" maps from column "Town"'):
        check_columns(m, ["ID", "Street"], 'sheet "Leads"')


# ---------------------------------------------------------------- apply_mapping


def frame(**columns: list[str]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=range(2, 2 + n))


def test_apply_column_value_and_default_keep_the_index_and_field_names() -> None:
    m = parse(
        lead_only("  office_name: {column: Office, default: Utah}\n  createDeal: {value: 5686}\n")
    )
    f = frame(ID=["a", "b", "c"], Office=["Provo", "  ", ""])
    out = apply_mapping(f, m).lead
    assert list(out.columns) == ["integration_record_id", "office_name", "createDeal"]
    assert list(out.index) == [2, 3, 4]
    assert out["integration_record_id"].tolist() == ["a", "b", "c"]
    assert out["office_name"].tolist() == ["Provo", "Utah", "Utah"]
    assert out["createDeal"].tolist() == ["5686"] * 3


def test_apply_leaves_cells_as_read_for_the_schema_to_normalize() -> None:
    m = parse(lead_only("  zip: Zip\n"))
    out = apply_mapping(frame(ID=["1"], Zip=[" 84045.0 "]), m).lead
    assert out["zip"].tolist() == [" 84045.0 "]


def test_template_drops_empty_parts_with_their_separators() -> None:
    m = parse(lead_only('  fullAddress: {template: "{Street}, {City}, {State} {Zip}"}\n'))
    f = frame(
        ID=["1", "2", "3", "4", "5", "6"],
        Street=["1 Main St", "1 Main St", "", "1 Main St", " ", "1 Main St "],
        City=["Provo", "", "Provo", "Provo", "", "Provo"],
        State=["UT", "UT", "UT", "", "", "UT"],
        Zip=["84601", "84601", "84601", "84601", "", ""],
    )
    assert apply_mapping(f, m).lead["fullAddress"].tolist() == [
        "1 Main St, Provo, UT 84601",
        "1 Main St, UT 84601",
        "Provo, UT 84601",
        "1 Main St, Provo, 84601",
        "",
        "1 Main St, Provo, UT",
    ]


def test_template_keeps_text_around_the_columns_and_escaped_braces() -> None:
    m = parse(lead_only('  add_note: {template: "Ref {{{Code}}}: {Note}.", default: none}\n'))
    f = frame(ID=["1", "2", "3"], Code=["A7", "", ""], Note=["call", "call", ""])
    assert apply_mapping(f, m).lead["add_note"].tolist() == [
        "Ref {A7}: call.",
        "Ref call.",  # the braces framed Code, and go with it
        "none",
    ]


def test_hash_id_is_stable_normalized_and_blank_when_every_input_is_empty() -> None:
    expected = "h" + hashlib.sha256(b"bob@x.com\x1f8015554444").hexdigest()[:16]
    m = parse("version: 1\nlead:\n  integration_record_id: {hash: [Email, Phone]}\n")
    f = frame(
        Email=["Bob@X.com ", "bob@x.com", "bob@x.com", "", "José@x.com"],
        Phone=["(801) 555-4444", "8015554444", "8015554445", "", ""],
    )
    ids = apply_mapping(f, m).lead["integration_record_id"].tolist()
    assert ids[0] == ids[1] == expected
    assert ids[2] != ids[0] and ids[2].startswith("h") and len(ids[2]) == 17
    assert ids[3] == ""
    assert ids[4] == "h" + hashlib.sha256("josé@x.com\x1f".encode()).hexdigest()[:16]


def test_hash_matches_the_contract_rule_on_non_ascii_and_ascii_paths() -> None:
    expected = "h" + hashlib.sha256("josé@x.com\x1f8015554444".encode()).hexdigest()[:16]
    m = parse("version: 1\nlead:\n  integration_record_id: {hash: [Email, Phone]}\n")
    f = frame(Email=["José@X.com", "ok@x.com"], Phone=["801-555-4444", "1"])
    assert apply_mapping(f, m).lead["integration_record_id"].iloc[0] == expected
    ascii_only = frame(Email=["Bob@X.com "], Phone=["(801) 555-4444"])
    plain = "h" + hashlib.sha256(b"bob@x.com\x1f8015554444").hexdigest()[:16]
    assert apply_mapping(ascii_only, m).lead["integration_record_id"].iloc[0] == plain


def test_appointment_and_survey_files_are_parts_of_the_record() -> None:
    columns = ["Lead ID", "First Name", "Street", "City", "State", "Zip", "Office", "Email"]
    columns += ["Phone", "Appointment", "Rep", "Photo"]
    f = pd.DataFrame([["x"] * len(columns)], columns=columns, index=[3])
    out = apply_mapping(f, parse(FULL))
    assert out.appointment.loc[3, "name"] == "Solar Consultation"
    assert out.appointment.loc[3, "date_time"] == "x"
    assert len(out.files) == 1
    assert out.files[0].loc[3, "data"] == "x"
    assert out.files[0].loc[3, "type"] == "img_exterior_house"
    assert [ref.label for ref in out.refs()][-3:] == [
        "survey_data.files[0].name",
        "survey_data.files[0].data",
        "survey_data.files[0].type",
    ]


def test_apply_on_a_frame_missing_a_column_is_a_mapping_error() -> None:
    m = parse(lead_only("  email: Email\n"))
    with pytest.raises(MappingError, match='field "email" maps from column "Email"'):
        apply_mapping(frame(ID=["1"]), m)


def test_apply_on_an_empty_frame_gives_empty_columns() -> None:
    m = parse(
        "version: 1\nlead:\n  integration_record_id: {hash: [E]}\n  note: {template: '{E}'}\n"
    )
    out = apply_mapping(pd.DataFrame({"E": pd.Series([], dtype=object)}), m).lead
    assert list(out.columns) == ["integration_record_id", "note"] and len(out) == 0
