"""Tests for importer.suggest.draft: realistic header sets map right and the YAML validates as is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import importer
from importer.errors import MappingError
from importer.mapping.apply import apply_mapping
from importer.mapping.load import parse_mapping
from importer.mapping.model import ColumnMapping, FieldSource, check_columns
from importer.suggest.draft import suggest_mapping, write_suggestion


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


def line_of(text: str, start: str) -> str:
    """The one line of the suggestion that starts with `start`."""
    found = [line for line in text.splitlines() if line.startswith(start)]
    assert len(found) == 1, f"{start!r} in:\n{text}"
    return found[0]


def unplaced(text: str) -> dict[str, str]:
    """Column -> reason, from the "Columns not placed" list."""
    tail = text.split("# Columns not placed (add them under lead: if they matter):\n", 1)[1]
    return dict(line[4:].split(": ", 1) for line in tail.splitlines())


# ---------------------------------------------------------------- the record id


PEOPLE = ["Guid", "Name", "Email", "Phone", "Street", "City", "State", "Zip"]
PEOPLE_ROWS = [
    ["g-1", "Ann Lee", "#N/A", "#N/A", "1 Main St", "Provo", "UT", "84601"],
    ["g-2", "Bo Day", "#N/A", "#N/A", "2 Elm St", "Orem", "UT", "84057"],
    ["g-3", "Cy Fox", "cy@x.com", "8015553333", "3 Oak St", "Lehi", "UT", "84043"],
]


def test_a_unique_filled_id_header_is_the_record_id_rather_than_a_hash() -> None:
    text, mapping = suggested(PEOPLE, *PEOPLE_ROWS)
    assert mapping.lead["integration_record_id"] == FieldSource(column="Guid")
    assert line_of(text, "  integration_record_id:").endswith(
        '# id header "Guid": unique and filled on all 3 rows'
    )


@pytest.mark.parametrize(
    ("header", "cells", "why"),
    [
        ("Lead ID", ["7", "7", "8"], "an id header, but not unique (1 of 3 rows repeat a value)"),
        ("Lead ID", ["7", "", "8"], "an id header, but empty on 1 of 3 rows"),
        ("Lead ID", ["#N/A", "", ""], "an id header, but empty on every row"),
        ("Row ID", ["1", "2", "3"], "a row number in this file, not the lead's id"),
    ],
)
def test_an_id_header_that_cannot_tell_rows_apart_is_passed_over_with_its_reason(
    header: str, cells: list[str], why: str
) -> None:
    columns = [header, *PEOPLE[1:]]
    rows = [[cell, *row[1:]] for cell, row in zip(cells, PEOPLE_ROWS, strict=True)]
    text, mapping = suggested(columns, *rows)
    assert mapping.lead["integration_record_id"].hash
    assert unplaced(text)[header] == why


def test_an_id_header_with_one_repeat_in_many_rows_stays_the_record_id() -> None:
    # A lead submitted twice under one id is a duplicate for validation to point at, not a
    # reason to give up the source's own id (sample_data/leads.csv has one: FB-1012).
    rows = [[f"FB-{1000 + i}", f"p{i}@x.com"] for i in range(19)] + [["FB-1003", "q@x.com"]]
    text, mapping = suggested(["Lead ID", "Email"], *rows)
    assert mapping.lead["integration_record_id"] == FieldSource(column="Lead ID")
    assert line_of(text, "  integration_record_id:").endswith(
        '# id header "Lead ID": 1 of 20 rows repeat a value (duplicate_record_id)'
    )


def test_place_id_is_preferred_over_other_unique_ids_which_are_explained() -> None:
    columns = ["cid", "data_id", "place_id", "title"]
    rows = [
        ["9089", "0x13:0x7e", "ChIJ8ZJx", "Tuccio"],
        ["9062", "0x13:0x7d", "ChIJk3KD", "Radicale"],
    ]
    text, mapping = suggested(columns, *rows)
    assert mapping.lead["integration_record_id"] == FieldSource(column="place_id")
    assert unplaced(text)["data_id"] == 'another id; the record id is "place_id"'


def test_without_an_id_header_a_unique_id_shaped_column_is_the_record_id() -> None:
    columns = ["Ref", "Visits", "Name", "Email"]
    rows = [[f"AB-{1000 + i}", str(3 * i + i * i), f"Person {i}", f"p{i}@x.com"] for i in range(12)]
    text, mapping = suggested(columns, *rows)
    assert mapping.lead["integration_record_id"] == FieldSource(column="Ref")
    assert line_of(text, "  integration_record_id:").endswith(
        "# cells look like ids: unique, filled and one word on all 12 rows"
    )


def test_counts_and_a_handful_of_rows_do_not_pass_for_ids() -> None:
    rows = [[str(3 * i + i * i), f"p{i}@x.com"] for i in range(12)]
    _, mapping = suggested(["Visits", "Email"], *rows)  # unique numbers of varying length
    assert mapping.lead["integration_record_id"] == FieldSource(hash=("Email",))
    _, mapping = suggested(["Ref", "Email"], ["AB-1", "a@x.com"], ["AB-2", "b@x.com"])
    assert mapping.lead["integration_record_id"] == FieldSource(hash=("Email",))


def test_the_hash_leaves_out_na_filled_columns_so_two_people_never_share_an_id() -> None:
    columns = PEOPLE[1:]
    text, mapping = suggested(columns, *(row[1:] for row in PEOPLE_ROWS))
    # Email and Phone are #N/A on two of three rows: hashing them would give Ann and Bo one id.
    assert mapping.lead["integration_record_id"] == FieldSource(hash=("Name", "Street"))
    assert line_of(text, "  integration_record_id:").endswith(
        "# no id column: a stable id from Name, Street, unique on all 3 rows"
    )
    ids = apply_mapping(sheet(columns, *(r[1:] for r in PEOPLE_ROWS)), mapping).record_ids
    assert ids.nunique() == 3


def test_a_hash_that_repeats_says_how_unique_it_is() -> None:
    columns = ["Customer Name", "City", "State", "Postal Code", "Product"]
    rows = [
        ["Ann Lee", "Provo", "UT", "84601", "Chair"],
        ["Ann Lee", "Provo", "UT", "84601", "Desk"],
        ["Bo Day", "Orem", "UT", "84057", "Lamp"],
    ]
    text, mapping = suggested(columns, *rows)
    assert mapping.lead["integration_record_id"] == FieldSource(
        hash=("Customer Name", "Postal Code")
    )
    assert line_of(text, "  integration_record_id:").endswith(
        "# no id column: a stable id from Customer Name, Postal Code: 2 ids in 3 rows; "
        "rows that share one are duplicate_record_id"
    )


# ---------------------------------------------------------------- how full a column is


def test_an_empty_mobile_column_gives_way_to_a_filled_phone() -> None:
    columns = ["ID", "MobilePhone", "Phone", "Fax"]
    rows = [["1", "", "8015551111", "#N/A"], ["2", "#N/A", "8015552222", ""]]
    text, mapping = suggested(columns, *rows)
    assert mapping.lead["mobile"] == FieldSource(column="Phone")
    assert line_of(text, "  mobile:").endswith(
        '# matched header "Phone"; "MobilePhone" is empty on every row'
    )
    assert unplaced(text) == {"MobilePhone": "empty on every row", "Fax": "empty on every row"}


def test_a_much_fuller_column_beats_a_better_named_one() -> None:
    columns = ["ID", "Mobile", "Phone"]
    rows = [[str(i), "8015550000" if i == 0 else "", f"80155512{i:02}"] for i in range(5)]
    text, mapping = suggested(columns, *rows)
    assert mapping.lead["mobile"] == FieldSource(column="Phone")
    assert unplaced(text)["Mobile"] == (
        'mobile is mapped from "Phone", which is fuller (100 % vs 20 % filled)'
    )


def test_a_nearly_as_full_mobile_column_stays_and_the_phone_is_suggested_as_a_fallback() -> None:
    columns = ["ID", "Mobile", "Phone"]
    rows = [[str(i), f"80155500{i:02}" if i else "", f"80155512{i:02}"] for i in range(10)]
    text, mapping = suggested(columns, *rows)
    assert mapping.lead["mobile"] == FieldSource(column="Mobile")
    assert line_of(text, "  mobile:").endswith(
        '# matched header "Mobile"; also filled: Phone; consider {column: [Mobile, Phone]}'
    )


def test_a_fallback_is_suggested_only_from_a_variant_of_the_field() -> None:
    # An assistant's phone fills a gap in MobilePhone, but it is not the lead's phone.
    columns = ["ID", "MobilePhone", "AssistantPhone"]
    rows = [[str(i), f"80155500{i:02}" if i else "", f"80155512{i:02}"] for i in range(10)]
    text, mapping = suggested(columns, *rows)
    assert mapping.lead["mobile"] == FieldSource(column="MobilePhone")
    assert line_of(text, "  mobile:").endswith('# matched header "MobilePhone"')


def test_the_fullest_address_block_is_taken_whole() -> None:
    columns = ["Id", "MailingStreet", "MailingCity", "MailingState", "MailingPostalCode"]
    columns += ["OtherStreet", "OtherCity", "OtherState", "OtherPostalCode"]
    rows = [
        ["1", "1 Main St", "Provo", "UT", "84601", "", "Paris", "", ""],
        ["2", "2 Elm St", "", "UT", "84057", "", "Lyon", "", ""],
        ["3", "3 Oak St", "", "UT", "84043", "", "Nice", "", "06000"],
    ]
    text, mapping = suggested(columns, *rows)
    # OtherCity alone is fuller than MailingCity; the Mailing* block as a whole is fuller.
    assert {n: mapping.lead[n].column for n in ("address", "city", "state", "zip")} == {
        "address": "MailingStreet",
        "city": "MailingCity",
        "state": "MailingState",
        "zip": "MailingPostalCode",
    }
    assert unplaced(text)["OtherCity"] == (
        "part of the Other* address block; the Mailing* block is fuller (83 % vs 33 % filled)"
    )
    assert unplaced(text)["OtherStreet"] == "empty on every row"


def test_a_sparse_column_says_how_full_it_is() -> None:
    rows = [["1", "Ann"], ["2", ""], ["3", ""]]
    text, _ = suggested(["ID", "First Name"], *rows)
    assert line_of(text, "  first_name:").endswith(
        '# matched header "First Name"; filled on 33 % of rows'
    )


def test_columns_are_judged_on_rows_spread_over_the_whole_sheet() -> None:
    # 1,000 rows: a column filled only near the end is not empty, and uniqueness is said of
    # the sampled rows.
    rows = [[f"L{i:05}", "8015551111" if i > 900 else ""] for i in range(1000)]
    text, mapping = suggested(["Lead ID", "Phone"], *rows)
    assert mapping.lead["mobile"] == FieldSource(column="Phone")
    assert line_of(text, "  integration_record_id:").endswith(
        '# id header "Lead ID": unique and filled on all 300 sampled rows'
    )


# ---------------------------------------------------------------- other systems' vocabularies


def test_another_crms_statuses_are_a_commented_line_saying_why() -> None:
    columns = ["ID", "Status", "LeadSource"]
    rows = [["1", "Working - Contacted", "Purchased List"], ["2", "Closed - Converted", "Web"]]
    text, mapping = suggested(columns, *rows)
    assert "lead_status" not in mapping.lead and "lead_source" not in mapping.lead
    assert line_of(text, "  # lead_status: Status").endswith(
        "# not mapped: its values (Working - Contacted, Closed - Converted) are another CRM's "
        "statuses; map them with map: if you want them"
    )
    assert line_of(text, "  # lead_source: LeadSource").endswith(
        "# not mapped: its values (Purchased List) are another CRM's lead sources; map them "
        "with map: if you want them"
    )
    assert unplaced(text)["Status"] == (
        "another system's vocabulary (see the commented lead_status line)"
    )


def test_status_codes_and_a_source_that_is_not_lead_source_stay_comments() -> None:
    columns = ["EIN", "STATUS", "source"]
    rows = [["010674605", "01", "https://acme.com/contact"], ["010674736", "01", "https://b.org/"]]
    text, mapping = suggested(columns, *rows)
    assert set(mapping.lead) == {"integration_record_id"}
    assert line_of(text, "  # lead_status: STATUS").endswith(
        "# not mapped: its values (01) are codes, not statuses"
    )
    assert line_of(text, "  # lead_source: source").endswith(
        '# not mapped: "source" may hold another system\'s sources (https://acme.com/contact, '
        "https://b.org/); map it with map: if you want them"
    )


def test_owner_emails_from_another_crm_are_a_commented_line() -> None:
    columns = ["Contact ID", "Contact Owner"]
    rows = [["1", "dwight.schrute@example.com"], ["2", "pam.beesly@example.com"]]
    text, mapping = suggested(columns, *rows)
    assert "assign_to_email" not in mapping.lead
    assert line_of(text, "  # assign_to_email: Contact Owner").endswith(
        "# not mapped: its emails (dwight.schrute@example.com, pam.beesly@example.com) are "
        "another system's owners; map it if they are Enerflo users' emails"
    )


def test_enerflo_field_names_with_fitting_values_are_mapped_live() -> None:
    columns = ["Lead ID", "lead_status", "Lead Source", "Office Name", "assign_to_email"]
    rows = [["1", "Needs Contact", "Facebook", "Utah Office", "rep@acme.com"]]
    _, mapping = suggested(columns, *rows)
    assert columns_of(mapping) == {
        "integration_record_id": "Lead ID",
        "lead_status": "lead_status",
        "lead_source": "Lead Source",
        "office_name": "Office Name",
        "assign_to_email": "assign_to_email",
    }


def test_an_enerflo_field_name_over_another_crms_values_is_still_a_comment() -> None:
    rows = [["1", "Attempted to Contact"], ["2", "Bad Timing"], ["3", ""]]
    text, mapping = suggested(["Lead ID", "Lead Status"], *rows)
    assert "lead_status" not in mapping.lead
    assert "  # lead_status: Lead Status" in text


# ---------------------------------------------------------------- what a person would see


def test_a_state_code_column_beats_full_state_names() -> None:
    columns = ["ID", "State", "state_code"]
    text, mapping = suggested(columns, ["1", "Utah", "UT"], ["2", "Nevada", "NV"])
    assert mapping.lead["state"] == FieldSource(column="state_code")
    assert (
        unplaced(text)["State"] == 'state is mapped from "state_code", which holds 2-letter codes'
    )


def test_typos_in_headers_are_matched_and_said() -> None:
    columns = ["ID", "Frist Name", "Lsat Name", "Adress", "Cty", "State", "Zpi", "Emial", "Phnoe"]
    row = ["1", "Ann", "Lee", "1 Main St", "Provo", "UT", "84601", "a@x.com", "8015551111"]
    text, mapping = suggested(columns, row)
    assert columns_of(mapping) == {
        "integration_record_id": "ID",
        "first_name": "Frist Name",
        "last_name": "Lsat Name",
        "address": "Adress",
        "city": "Cty",
        "state": "State",
        "zip": "Zpi",
        "email": "Emial",
        "mobile": "Phnoe",
    }
    assert line_of(text, "  address:").endswith('# matched header "Adress" (close to address)')
    assert line_of(text, "  first_name:").endswith(
        '# matched header "Frist Name" (close to first name)'
    )


def test_words_that_only_look_like_typos_are_not_taken() -> None:
    # "form_name" is not "forename", "List" is not "last", and a "Stage" of "Lead" is no state.
    columns = ["ID", "form_name", "List", "Stage"]
    _, mapping = suggested(
        columns, ["1", "Quote form", "May", "Lead"], ["2", "Quote", "June", "Won"]
    )
    assert columns_of(mapping) == {"integration_record_id": "ID"}


def test_an_appointment_column_of_date_times_gets_a_block_that_must_be_finished(
    tmp_path: Path,
) -> None:
    columns = ["ID", "Name", "Address", "Appt Date"]
    rows = [
        ["1", "Ann Lee", "1 Main St, Provo, UT 84601", "2026-03-12 14:00"],
        ["2", "Bo Day", "2 Elm St, Orem, UT 84057", ""],
    ]
    text, mapping = suggested(columns, *rows)
    assert mapping.appointment["date_time"] == FieldSource(column="Appt Date")
    assert mapping.appointment["apt_type_id"] == FieldSource(value="SET ME")
    assert mapping.appointment["name"] == FieldSource(value="Solar Consultation")
    assert line_of(text, "appointment:").endswith(
        "# set apt_type_id, name and timezone before sending"
    )
    # Until apt_type_id is set, the rows with an appointment are invalid: nothing of a
    # made-up appointment type is sent.
    source = tmp_path / "leads.csv"
    sheet(columns, *rows).to_csv(source, index=False)
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    report = importer.validate(source, tmp_path / "m.yaml", out=tmp_path / "out.csv")
    assert report.counts == {"invalid": 1, "valid": 1}
    assert report.results.loc[2, "import_message"] == (
        'appointment.apt_type_id: "SET ME" is not a whole number above 0'
    )


def test_an_appointment_header_over_names_or_plain_dates_gets_no_block() -> None:
    columns = ["ID", "Appointment", "Appointment Setter"]
    text, mapping = suggested(columns, ["1", "2026-03-12", "Bob"], ["2", "2026-03-13", "Bob"])
    assert mapping.appointment == {}
    assert unplaced(text)["Appointment"] == (
        "the header suggests an appointment, but the cells are not date-times"
    )


def test_a_column_of_picture_files_becomes_a_survey_file() -> None:
    columns = ["ID", "Name", "House Photo", "Roof Pictures"]
    rows = [
        ["1", "Ann Lee", "photos/ann.jpg", "https://x.com/a.png"],
        ["2", "Bo Day", "photos/bo.PNG", "https://x.com/b.png"],
    ]
    text, mapping = suggested(columns, *rows)
    assert mapping.survey_files == [
        {
            "name": FieldSource(column="House Photo"),
            "data": FieldSource(file="House Photo"),
            "type": FieldSource(value="img_exterior_house"),
        }
    ]
    assert unplaced(text)["Roof Pictures"] == (
        "web addresses of pictures; a survey file must be a file on disk"
    )


def test_a_business_name_names_the_lead_when_no_person_is_named() -> None:
    columns = ["Facility ID", "Facility Name", "Address", "City", "State", "ZIP Code"]
    rows = [
        ["010001", "SOUTHEAST HEALTH", "1108 ROSS CLARK CIRCLE", "DOTHAN", "AL", "36301"],
        ["010005", "MARSHALL MEDICAL", "2505 U S HIGHWAY 431", "BOAZ", "AL", "35957"],
    ]
    text, mapping = suggested(columns, *rows)
    assert mapping.lead["full_name"] == FieldSource(column="Facility Name")
    assert line_of(text, "  full_name:").endswith("# a business name: the lead's name in Enerflo")


def test_a_business_name_beside_a_persons_name_is_explained_not_mapped() -> None:
    columns = ["ID", "First Name", "Last Name", "Company"]
    text, mapping = suggested(
        columns, ["1", "Ann", "Lee", "Acme Solar"], ["2", "Bo", "Day", "Sunco"]
    )
    assert "full_name" not in mapping.lead
    assert (
        unplaced(text)["Company"] == "a business name; the lead is named by First Name, Last Name"
    )


def test_a_country_column_is_suggested_as_the_coming_country_check() -> None:
    text, mapping = suggested(["ID", "Country"], ["1", "USA"], ["2", "Ghana"])
    assert "country" not in mapping.lead  # not in this version: it would be sent as a field
    assert line_of(text, "  # country: {column: Country}").endswith(
        "# a check, not a field: rows outside the US invalid; coming in a later version"
    )


def test_a_country_column_of_codes_is_not_taken_for_a_state() -> None:
    text, mapping = suggested(["ID", "Country"], ["1", "CA"], ["2", "CA"])
    assert "state" not in mapping.lead  # CA is Canada here, not California
    assert "  # country: {column: Country}" in text


def test_every_column_not_placed_gets_one_short_specific_reason() -> None:
    columns = ["ID", "Email", "Email 2", "Status", "Created", "Score", "Empty", "Tier"]
    rows = [
        ["1", "a@x.com", "a2@x.com", "Working - Contacted", "2026-01-02", "12", "", "Gold"],
        ["2", "b@x.com", "", "Closed - Converted", "2026-01-03", "7", "", "Gold"],
        ["3", "c@x.com", "", "Working - Contacted", "2026-01-04", "3", "", "Gold"],
    ]
    text, _ = suggested(columns, *rows)
    assert unplaced(text) == {
        "Email 2": 'email is mapped from "Email", which is fuller (100 % vs 33 % filled)',
        "Status": "another system's vocabulary (see the commented lead_status line)",
        "Created": "not an Enerflo field: dates",
        "Score": "not an Enerflo field: numbers",
        "Empty": "empty on every row",
        "Tier": "not an Enerflo field: one value on every filled row (Gold)",
    }


def test_comments_are_aligned_in_one_column() -> None:
    text, _ = suggested(PEOPLE + ["Status"], *(row + ["Closed - Converted"] for row in PEOPLE_ROWS))
    lead = text.split("lead:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len({line.index("  # ", 4) for line in lead}) == 1


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
