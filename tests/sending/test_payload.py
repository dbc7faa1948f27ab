"""Tests for importer.sending.payload: the JSON body built from one normalized row."""

from __future__ import annotations

import json

from importer.records import FieldRef
from importer.sending.payload import PayloadBuilder, build_payload, to_flag, to_integer


def test_lead_fields_go_under_lead_and_empty_cells_are_left_out():
    payload = build_payload(
        {"integration_record_id": "yj3Shbi2", "first_name": "Ferris", "last_name": "", "city": ""}
    )
    assert payload == {"lead": {"integration_record_id": "yj3Shbi2", "first_name": "Ferris"}}


def test_zip_and_mobile_stay_strings_with_leading_zeros():
    payload = build_payload({"integration_record_id": "a", "zip": "02134", "mobile": "0801555444"})
    assert payload["lead"]["zip"] == "02134"
    assert payload["lead"]["mobile"] == "0801555444"
    assert '"zip": "02134"' in json.dumps(payload)


def test_create_deal_calendar_id_and_appointment_numbers_are_integers():
    payload = build_payload(
        {"integration_record_id": "a", "createDeal": "5686", "calendar_id": "12"},
        {
            "apt_type_id": "7",
            "minutes": "60.0",
            "date_time": "2026-03-12 21:30:00",
            "name": "Solar Consultation",
        },
    )
    assert payload["lead"]["createDeal"] == 5686
    assert payload["lead"]["calendar_id"] == 12
    assert payload["appointment"] == {
        "apt_type_id": 7,
        "minutes": 60,
        "date_time": "2026-03-12 21:30:00",
        "name": "Solar Consultation",
    }


def test_ignore_validation_is_sent_as_one_or_zero():
    assert (
        build_payload({"integration_record_id": "a", "ignore_validation": "true"})["lead"][
            "ignore_validation"
        ]
        == 1
    )
    assert (
        build_payload({"integration_record_id": "a", "ignore_validation": "0"})["lead"][
            "ignore_validation"
        ]
        == 0
    )


def test_appointment_is_left_out_when_the_row_has_no_date_time():
    payload = build_payload(
        {"integration_record_id": "a"},
        {"apt_type_id": "12", "name": "Solar Consultation", "date_time": ""},
    )
    assert payload == {"lead": {"integration_record_id": "a"}}


def test_survey_files_are_nested_in_order_and_empty_files_dropped():
    payload = build_payload(
        {"integration_record_id": "a"},
        files=[
            {"name": "house.jpg", "data": "REVG", "type": "img_exterior_house"},
            {"name": "", "data": "", "type": ""},
            {"name": "roof.jpg", "data": "QUJD", "type": "img_roof"},
        ],
    )
    assert payload["survey_data"] == {
        "files": [
            {"name": "house.jpg", "data": "REVG", "type": "img_exterior_house"},
            {"name": "roof.jpg", "data": "QUJD", "type": "img_roof"},
        ]
    }


def test_survey_data_is_left_out_when_every_file_is_empty():
    payload = build_payload({"integration_record_id": "a"}, files=[{"name": "", "data": ""}])
    assert "survey_data" not in payload


def test_unknown_fields_pass_through_as_text():
    payload = build_payload({"integration_record_id": "a", "lead_source": "Facebook"})
    assert payload["lead"]["lead_source"] == "Facebook"


def test_builder_from_values_matches_build_payload():
    refs = [FieldRef.lead(name) for name in ("integration_record_id", "zip", "createDeal")]
    refs.append(FieldRef.appointment("date_time"))
    values = ["r1", "84045", "101", ""]
    builder = PayloadBuilder(refs)
    lead = dict(zip(["integration_record_id", "zip", "createDeal"], values, strict=False))
    assert builder.build_values(values) == build_payload(lead, {"date_time": ""})
    assert builder.build_values(values) == {
        "lead": {"integration_record_id": "r1", "zip": "84045", "createDeal": 101}
    }


def test_a_non_integer_stays_text_for_the_api_to_judge():
    assert to_integer("12") == 12
    assert to_integer("12.5") == "12.5"
    assert to_integer("twelve") == "twelve"


def test_flag_words():
    assert [to_flag(v) for v in ("1", "TRUE", "yes", "0", "false", "no")] == [1, 1, 1, 0, 0, 0]
