"""Tests for importer.mapping.suggest: realistic header sets map right and the YAML validates as is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from importer.errors import MappingError
from importer.mapping.apply import apply_mapping
from importer.mapping.load import parse_mapping
from importer.mapping.model import ColumnMapping, FieldSource, check_columns
from importer.mapping.suggest import suggest_mapping, write_suggestion


def sheet(columns: list[str], *rows: list[str]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=columns, index=range(2, 2 + len(rows)))


def suggested(columns: list[str], *rows: list[str], **kwargs: Any) -> tuple[str, ColumnMapping]:
    """The suggestion's text, parsed and checked against the sheet exactly as written."""
    frame = sheet(columns, *rows)
    text = suggest_mapping(columns, frame, **kwargs)
    mapping = parse_mapping(text, "mappings/new.yaml")
    check_columns(mapping, columns, 'sheet "Sheet1"')
    apply_mapping(frame, mapping)
    return text, mapping


def columns_of(mapping: ColumnMapping) -> dict[str, str | None]:
    return {name: source.column for name, source in mapping.lead.items()}


HUBSPOT = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Street Address", "City",
    "State/Region", "Postal Code", "Lead Status", "Contact owner", "Create Date",
]  # fmt: skip
HUBSPOT_ROW = [
    "5151", "Ann", "Lee", "ann@x.com", "(801) 555-1111", "1 Main St", "Provo", "UT", "84601",
    "New", "Jane Rep", "2026-01-02",
]  # fmt: skip


def test_hubspot_export_maps_every_standard_column() -> None:
    text, mapping = suggested(
        HUBSPOT, HUBSPOT_ROW, sheet_name="Contacts", header_row=3, source_name="hubspot.xlsx"
    )
    assert columns_of(mapping) == {
        "integration_record_id": "Record ID",
        "first_name": "First Name",
        "last_name": "Last Name",
        "address": "Street Address",
        "city": "City",
        "state": "State/Region",
        "zip": "Postal Code",
        "email": "Email",
        "mobile": "Phone Number",
        "lead_status": "Lead Status",
    }
    assert (mapping.sheet, mapping.header_row, mapping.warnings) == ("Contacts", 3, [])
    assert re.search(r'\n  zip: Postal Code +# matched header "Postal Code"\n', text)
    assert text.startswith("# Suggested by enerflo-import suggest-mapping from hubspot.xlsx.\n")


def test_owner_column_holding_names_is_not_taken_for_an_email_field() -> None:
    text, mapping = suggested(HUBSPOT, HUBSPOT_ROW)
    assert "assign_to_email" not in mapping.lead
    assert (
        "#   Contact owner: the header suggests assign_to_email, but the cells are not email "
        "addresses\n" in text
    )
    assert text.endswith("#   Create Date: not an Enerflo field: dates\n")


FACEBOOK = [
    "id", "created_time", "ad_id", "ad_name", "adset_id", "adset_name", "campaign_id",
    "campaign_name", "form_id", "form_name", "is_organic", "platform", "full_name",
    "phone_number", "email", "street_address", "city", "state", "zip_code",
]  # fmt: skip
FACEBOOK_ROW = [
    "l:2403", "2026-01-01T10:00:00-0700", "ag:1", "Solar Ad", "as:1", "Set A", "c:1", "Spring",
    "f:1", "Quote form", "false", "fb", "Ann Lee", "+18015551111", "ann@x.com", "1 Main St",
    "Provo", "UT", "84601",
]  # fmt: skip


def test_facebook_lead_ads_export_maps_every_standard_column() -> None:
    text, mapping = suggested(FACEBOOK, FACEBOOK_ROW)
    assert columns_of(mapping) == {
        "integration_record_id": "id",
        "full_name": "full_name",
        "address": "street_address",
        "city": "city",
        "state": "state",
        "zip": "zip_code",
        "email": "email",
        "mobile": "phone_number",
    }
    for column in ("created_time", "ad_name", "campaign_name", "form_name", "platform"):
        assert f"#   {column}: not an Enerflo field: " in text


HAND_TYPED = ["Cust Name", "Ph#", "Street", "Town", "ST", "Zip", "Contact", "Notes", "Setter"]
HAND_ROWS = [
    ["Ann Lee", "801-555-1111", "1 Main St", "Provo", "UT", "84601", "ann@x.com", "call", "Bob"],
    ["Bo Day", "801.555.2222", "2 Elm St", "Orem", "ut", "84057", "bo@y.org", "", "Bob"],
]


def test_hand_typed_sheet_maps_by_header_variants_and_cell_contents() -> None:
    text, mapping = suggested(HAND_TYPED, *HAND_ROWS)
    assert columns_of(mapping) == {
        "integration_record_id": None,
        "full_name": "Cust Name",
        "address": "Street",
        "city": "Town",
        "state": "ST",
        "zip": "Zip",
        "email": "Contact",
        "mobile": "Ph#",
        "add_note": "Notes",
    }
    assert "  email: Contact    " in text and "# cells look like email addresses\n" in text
    assert '  mobile: "Ph#"' in text  # a '#' must be quoted or YAML reads a comment


def test_without_an_id_column_the_record_id_hashes_email_and_phone() -> None:
    text, mapping = suggested(HAND_TYPED, *HAND_ROWS)
    assert mapping.lead["integration_record_id"] == FieldSource(hash=("Contact", "Ph#"))
    assert "# no id column: a stable id from Contact, Ph#, unique on all 2 rows\n" in text


def test_synonyms_ignore_case_spacing_and_punctuation() -> None:
    columns = ["LEAD ID", "first_name", "Surname", "E-mail", "Cell", "Address Line 1", "city "]
    columns += ["Province", "ZIP Code", "Lead Source"]
    row = ["7", "Ann", "Lee", "a@x.com", "8015551111", "1 Main", "Provo", "UT", "84601", "Web"]
    _, mapping = suggested([c.strip() for c in columns], row)
    assert columns_of(mapping) == {
        "integration_record_id": "LEAD ID",
        "first_name": "first_name",
        "last_name": "Surname",
        "address": "Address Line 1",
        "city": "city",
        "state": "Province",
        "zip": "ZIP Code",
        "email": "E-mail",
        "mobile": "Cell",
        "lead_source": "Lead Source",
    }


def test_unknown_headers_are_placed_by_what_their_cells_look_like() -> None:
    columns = ["Ref", "A", "B", "C", "D", "E"]
    rows = [
        ["1", "x@y.com", "(801) 555-1111", "84601", "UT", "hello"],
        ["2", "z@y.com", "+1 801 555 2222", "84057-1234", "NV", "world"],
    ]
    text, mapping = suggested(columns, *rows)
    assert columns_of(mapping) == {
        "integration_record_id": None,
        "zip": "C",
        "state": "D",
        "email": "A",
        "mobile": "B",
    }
    assert "# cells look like zip codes\n" in text and "# cells look like state codes\n" in text
    assert text.endswith(
        '#   Ref: not an Enerflo field: numbers\n#   E: not an Enerflo field: text such as "hello"\n'
    )


def test_lone_address_column_becomes_full_address() -> None:
    _, mapping = suggested(["Lead ID", "Address"], ["1", "1 Main St, Provo, UT 84601"])
    assert columns_of(mapping) == {"integration_record_id": "Lead ID", "fullAddress": "Address"}


def test_each_column_is_used_once_and_second_choices_are_explained() -> None:
    columns = ["ID", "Mobile", "Phone", "Email"]
    text, mapping = suggested(columns, ["1", "8015551111", "8015552222", "a@x.com"])
    assert mapping.lead["mobile"].column == "Mobile"
    assert '#   Phone: mobile is mapped from "Mobile"\n' in text


def test_headers_only_sheet_still_gets_a_valid_suggestion() -> None:
    _, mapping = suggested(["Email", "Zip"])
    assert mapping.lead["integration_record_id"] == FieldSource(hash=("Email",))


def test_odd_column_names_are_quoted_so_the_yaml_round_trips() -> None:
    columns = ["ID", "E-mail: work", "Zip #", "null", "'Notes'"]
    _, mapping = suggested(columns, ["1", "a@x.com", "84601", "x", "y"])
    assert mapping.lead["email"].column == "E-mail: work"
    assert mapping.lead["zip"].column == "Zip #"


def test_headers_with_line_breaks_or_blank_names_do_not_break_the_yaml() -> None:
    text, mapping = suggested(["ID", "Zip\ncode", "", "Misc\tinfo"], ["1", "84601", "", "x"])
    assert mapping.lead["zip"].column == "Zip\ncode"
    assert "#   Misc info: not an Enerflo field: " in text


# ---------------------------------------------------------------- write_suggestion


def test_write_suggestion_creates_folders_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "mappings" / "new.yaml"
    write_suggestion("version: 1\n", path)
    assert path.read_text(encoding="utf-8") == "version: 1\n"
    with pytest.raises(MappingError) as info:
        write_suggestion("other\n", path)
    assert info.value.message == f"{path}: exists; use --force to overwrite it"
    assert info.value.hint == "or write the suggestion somewhere else with -o"
    assert path.read_text(encoding="utf-8") == "version: 1\n"


def test_write_suggestion_with_force_replaces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "new.yaml"
    path.write_text("old\n", encoding="utf-8")
    write_suggestion("version: 1\n", path, force=True)
    assert path.read_text(encoding="utf-8") == "version: 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["new.yaml"]
