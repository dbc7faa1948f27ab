"""validate_leads: every lead rule, its problem code and message, per spreadsheet row."""

from __future__ import annotations

import pandas as pd
import pytest

from importer.models import Problem
from importer.validation.leads import MESSAGES, ValidationResult, validate_leads

GOOD = {
    "integration_record_id": "A1",
    "address": "2214 N Honeydew Dr",
    "city": "Saratoga Springs",
    "state": "UT",
    "zip": "84045",
}


def leads(*rows: dict[str, str], first_row: int = 2) -> pd.DataFrame:
    """A mapped-leads frame: every cell text, "" when empty, index = spreadsheet rows."""
    frame = pd.DataFrame(list(rows), dtype="str").fillna("")
    frame.index = range(first_row, first_row + len(rows))
    return frame


def lead(**fields: str) -> dict[str, str]:
    """A valid lead with some fields replaced (or removed, with None)."""
    row = {**GOOD, **fields}
    return {name: value for name, value in row.items() if value is not None}


def codes(result: ValidationResult, row: int = 2) -> list[str]:
    return [problem.code for problem in result.problems if problem.row == row]


def messages(result: ValidationResult, row: int = 2) -> list[str]:
    return [problem.message for problem in result.problems if problem.row == row]


def only(result: ValidationResult, code: str) -> Problem:
    found = [problem for problem in result.problems if problem.code == code]
    assert len(found) == 1, result.problems
    return found[0]


def test_a_good_lead_has_no_problems_and_comes_back_unchanged() -> None:
    frame = leads(lead(first_name="Ferris", email="custy@enerflo.io", mobile="8015554444"))
    result = validate_leads(frame)
    assert result.problems == []
    assert result.invalid_rows == set()
    pd.testing.assert_frame_equal(result.leads, frame)


def test_result_keeps_shape_index_and_column_order() -> None:
    frame = leads(lead(zip="2134", state="MA"), lead(integration_record_id="A2"), first_row=7)
    result = validate_leads(frame)
    assert list(result.leads.columns) == list(frame.columns)
    assert list(result.leads.index) == [7, 8]
    assert result.leads.loc[7, "zip"] == "02134"
    assert {problem.row for problem in result.problems} == {7}


# integration_record_id


def test_missing_record_id_is_an_error() -> None:
    result = validate_leads(leads(lead(integration_record_id="  ")))
    problem = only(result, "missing_record_id")
    assert problem == Problem(
        2,
        "integration_record_id",
        "missing_record_id",
        "integration_record_id: missing; every row needs one",
        True,
    )


def test_frame_without_a_record_id_column_makes_every_row_invalid() -> None:
    result = validate_leads(
        leads(lead(integration_record_id=None), lead(integration_record_id=None))
    )
    assert result.invalid_rows == {2, 3}
    assert codes(result, 2) == codes(result, 3) == ["missing_record_id"]


def test_record_ids_are_trimmed() -> None:
    result = validate_leads(leads(lead(integration_record_id="  A1\u00a0")))
    assert result.leads.loc[2, "integration_record_id"] == "A1"


def test_duplicate_ids_with_reject_keep_the_first_and_name_its_row() -> None:
    frame = leads(lead(), lead(integration_record_id="B"), lead(integration_record_id=" A1"))
    result = validate_leads(frame)
    assert result.invalid_rows == {4}
    assert messages(result, 4) == [
        'integration_record_id: "A1" is also on row 2; only the first is sent'
    ]


def test_duplicate_ids_with_last_keep_the_last_and_name_its_row() -> None:
    frame = leads(lead(), lead(), lead(integration_record_id="B"), lead())
    result = validate_leads(frame, on_duplicate="last")
    assert result.invalid_rows == {2, 3}
    assert messages(result, 2) == [
        'integration_record_id: "A1" is also on row 5; only the last is sent'
    ]
    assert codes(result, 3) == ["duplicate_record_id"]


def test_every_later_duplicate_names_the_first_row() -> None:
    frame = leads(
        lead(), lead(integration_record_id="B"), lead(), lead(integration_record_id="B"), lead()
    )
    result = validate_leads(frame)
    assert result.invalid_rows == {4, 5, 6}
    assert "row 2;" in messages(result, 6)[0]
    assert "row 3;" in messages(result, 5)[0]


def test_empty_ids_are_missing_not_duplicates() -> None:
    result = validate_leads(leads(lead(integration_record_id=""), lead(integration_record_id="")))
    assert codes(result, 2) == codes(result, 3) == ["missing_record_id"]


def test_unknown_duplicate_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="on_duplicate"):
        validate_leads(leads(lead()), on_duplicate="first")


def test_rows_must_be_indexed_once_each() -> None:
    frame = leads(lead(), lead(integration_record_id="B"))
    frame.index = [2, 2]
    with pytest.raises(ValueError, match="row numbers"):
        validate_leads(frame)


# the address rule


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"fullAddress": "2214 N Honeydew Dr, Saratoga Springs, UT 84045"}, None),
        ({"address": "1 Main", "state": "UT", "city": "Lehi"}, None),
        ({"address": "1 Main", "state": "UT", "zip": "84045"}, None),
        ({"address": "1 Main", "state": "XX", "zip": "ABCDE"}, None),
        ({"address": "1 Main", "state": "UT"}, "city or zip"),
        ({"address": "1 Main", "city": "Lehi", "zip": "84043"}, "state"),
        ({"state": "UT", "city": "Lehi"}, "address"),
        ({"address": "1 Main"}, "state, city or zip"),
        ({"state": "UT"}, "address, city or zip"),
        ({"city": "Lehi"}, "address or state"),
        ({"first_name": "Ferris"}, "address, state, city or zip"),
        ({"fullAddress": " ", "address": " ", "state": "", "city": "", "zip": ""},
         "address, state, city or zip"),
    ],
)  # fmt: skip
def test_address_rule_branches(fields: dict[str, str], missing: str | None) -> None:
    result = validate_leads(leads({"integration_record_id": "A1", **fields}))
    found = [p for p in result.problems if p.code == "missing_address"]
    if missing is None:
        assert found == []
    else:
        assert [(p.field, p.message) for p in found] == [
            ("address", f"address: no fullAddress, and no {missing}")
        ]
        assert result.invalid_rows == {2}


# ignore_validation


def test_ignore_validation_skips_the_data_rules_not_the_requests_own_fields() -> None:
    messy = {"state": "XX", "zip": "ABCDE", "mobile": "555-1234", "email": "bad@",
             "address": ""}  # fmt: skip
    frame = leads(
        lead(ignore_validation="1", **messy),
        lead(ignore_validation="TRUE", integration_record_id="", **messy),
        lead(ignore_validation="yes", **messy),
        lead(ignore_validation="0", integration_record_id="C", **messy),
        lead(ignore_validation="1", integration_record_id="D", createDeal="x"),
        lead(ignore_validation="1", integration_record_id="E", browser_redirect="home"),
        lead(ignore_validation="1", integration_record_id="F", browser_redirect="deal"),
        lead(ignore_validation="1", integration_record_id="G", browser_redirect="scheduling"),
    )
    result = validate_leads(frame)
    assert codes(result, 2) == []
    assert codes(result, 3) == ["missing_record_id"]
    assert codes(result, 4) == ["duplicate_record_id"]
    assert len(codes(result, 5)) == 5
    # What shapes the request is read by the API whatever ignore_validation says.
    assert codes(result, 6) == ["invalid_integer"]
    assert codes(result, 7) == ["invalid_browser_redirect"]
    assert codes(result, 8) == ["missing_deal"]
    assert codes(result, 9) == ["missing_calendar"]
    assert result.invalid_rows == {3, 4, 5, 6, 7, 8, 9}
    assert result.leads["ignore_validation"].tolist()[:4] == ["1", "1", "1", "0"]


def test_ignore_validation_rows_still_get_repairs_and_say_so() -> None:
    result = validate_leads(leads(lead(ignore_validation="1", zip="2134", state="utah")))
    assert codes(result) == ["state_normalized", "zip_zero_padded"]
    assert result.leads.loc[2, "zip"] == "02134"


def test_invalid_ignore_validation_is_an_error_and_skips_nothing() -> None:
    result = validate_leads(leads(lead(ignore_validation="maybe", zip="ABCDE")))
    assert messages(result) == [
        'zip: "ABCDE" is not a 5-digit zip code',
        'ignore_validation: "maybe" is not 1/0, true/false or yes/no',
    ]


# state


@pytest.mark.parametrize(
    ("typed", "sent", "problem"),
    [
        ("utah", "UT", 'state: "utah" read as UT'),
        ("Utah", "UT", 'state: "Utah" read as UT'),
        ("ut", "UT", None),
        ("XX", "XX", 'state: "XX" is not a US state or territory code'),
    ],
)
def test_state_values(typed: str, sent: str, problem: str | None) -> None:
    result = validate_leads(leads(lead(state=typed)))
    assert result.leads.loc[2, "state"] == sent
    assert messages(result) == ([problem] if problem else [])


def test_state_name_is_a_warning_and_a_bad_state_an_error() -> None:
    result = validate_leads(leads(lead(state="Utah"), lead(integration_record_id="B", state="XX")))
    assert only(result, "state_normalized").is_error is False
    assert only(result, "invalid_state").is_error is True
    assert result.invalid_rows == {3}


# zip


@pytest.mark.parametrize(
    ("typed", "state", "sent", "problem", "is_error"),
    [
        ("2134", "MA", "02134", 'zip: "2134" read as 02134 (Excel drops leading zeros)', False),
        ("2134.0", "MA", "02134", 'zip: "2134.0" read as 02134 (Excel drops leading zeros)', False),
        ("84045.0", "UT", "84045", 'zip: "84045.0" was stored as a number; sent as 84045', False),
        ("84045-1234", "UT", "84045", None, False),
        ("840451234", "UT", "84045", 'zip: "840451234" taken as ZIP+4; sent as 84045', False),
        ("ABCDE", "UT", "ABCDE", 'zip: "ABCDE" is not a 5-digit zip code', True),
        ("123", "UT", "00123", 'zip: "123" read as 00123 (Excel drops leading zeros)', False),
        ("12", "UT", "12", 'zip: "12" is not a 5-digit zip code', True),
        ("", "UT", "", None, False),
    ],
)
def test_zip_values(typed: str, state: str, sent: str, problem: str | None, is_error: bool) -> None:
    result = validate_leads(leads(lead(zip=typed, state=state)))
    assert result.leads.loc[2, "zip"] == sent
    found = [p for p in result.problems if p.field == "zip" and p.code != "zip_unknown_prefix"]
    assert [p.message for p in found] == ([problem] if problem else [])
    assert all(p.is_error == is_error for p in found)


def test_zip_in_another_state_is_a_warning() -> None:
    result = validate_leads(leads(lead(state="CA")))
    assert result.problems == [
        Problem(2, "zip", "zip_state_mismatch", "zip: 84045 is in UT, not CA", False)
    ]
    assert result.invalid_rows == set()


def test_zip_mismatch_is_checked_after_repairs() -> None:
    result = validate_leads(leads(lead(state="utah", zip="2134")))
    assert codes(result) == ["state_normalized", "zip_zero_padded", "zip_state_mismatch"]
    assert messages(result)[-1] == "zip: 02134 is in MA, not UT"


def test_zip_shared_by_two_territories_names_both() -> None:
    result = validate_leads(leads(lead(state="HI", zip="96910")))
    assert messages(result) == ["zip: 96910 is in GU or MP, not HI"]


def test_zip_of_no_state_is_a_warning() -> None:
    result = validate_leads(leads(lead(zip="00012")))
    assert result.problems == [
        Problem(2, "zip", "zip_unknown_prefix", "zip: 00012 is in no US state's zip range", False)
    ]


def test_no_mismatch_warning_when_state_or_zip_is_invalid() -> None:
    result = validate_leads(leads(lead(state="XX"), lead(integration_record_id="B", zip="ABCDE")))
    assert [p.code for p in result.problems] == ["invalid_state", "invalid_zip"]


# mobile


@pytest.mark.parametrize(
    ("typed", "sent", "problem"),
    [
        ("(801) 555-4444", "8015554444", None),
        ("+1 801 555 4444", "8015554444", None),
        ("18015554444", "8015554444", None),
        ("8015554444.0", "8015554444",
         'mobile: "8015554444.0" was stored as a number; sent as 8015554444'),
        ("8.015554444E+09", "8015554444",
         'mobile: "8.015554444E+09" was stored as a number; sent as 8015554444'),
        ("555-1234", "555-1234", 'mobile: "555-1234" is not a 10-digit phone number'),
        ("", "", None),
    ],
)  # fmt: skip
def test_mobile_values(typed: str, sent: str, problem: str | None) -> None:
    result = validate_leads(leads(lead(mobile=typed)))
    assert result.leads.loc[2, "mobile"] == sent
    assert messages(result) == ([problem] if problem else [])


def test_recovered_mobile_is_a_warning_and_a_short_one_an_error() -> None:
    frame = leads(
        lead(mobile="8.015554444E+09"), lead(integration_record_id="B", mobile="555-1234")
    )
    result = validate_leads(frame)
    assert only(result, "mobile_recovered_from_number").is_error is False
    assert result.invalid_rows == {3}


# emails, integers, booleans, browser_redirect


@pytest.mark.parametrize("name", ["email", "creator", "assign_to_email", "setter_email"])
def test_email_fields_are_trimmed_lower_cased_and_checked(name: str) -> None:
    frame = leads(
        lead(**{name: " Rep@Acme.COM "}), lead(integration_record_id="B", **{name: "rep@"})
    )
    result = validate_leads(frame)
    assert result.leads[name].tolist() == ["rep@acme.com", "rep@"]
    assert result.problems == [
        Problem(3, name, "invalid_email", f'{name}: "rep@" is not a valid email address', True)
    ]


@pytest.mark.parametrize("name", ["createDeal", "calendar_id"])
def test_integer_fields(name: str) -> None:
    largest = "9223372036854775807"  # a 64-bit integer: what the API can keep
    frame = leads(
        lead(**{name: "5686"}),
        lead(integration_record_id="B", **{name: "5686.0"}),
        lead(integration_record_id="C", **{name: "56x"}),
        lead(integration_record_id="D", **{name: "000" + largest}),
        lead(integration_record_id="E", **{name: "9223372036854775808"}),
        lead(integration_record_id="F", **{name: "99999999999999999999999"}),
        lead(integration_record_id="G", **{name: "\u0665\u0666"}),  # Arabic-Indic digits
    )
    result = validate_leads(frame)
    assert result.leads[name].tolist()[:4] == ["5686", "5686", "56x", "000" + largest]
    whole = "is not a whole number (0 to 9223372036854775807)"
    assert [(p.row, p.message) for p in result.problems] == [
        (4, f'{name}: "56x" {whole}'),
        (6, f'{name}: "9223372036854775808" {whole}'),
        (7, f'{name}: "99999999999999999999999" {whole}'),
        (8, f'{name}: "\u0665\u0666" {whole}'),
    ]


def test_browser_redirect_values() -> None:
    frame = leads(
        lead(browser_redirect="Profile"),
        lead(integration_record_id="B", browser_redirect="scheduling", calendar="solar"),
        lead(integration_record_id="C", browser_redirect="SCHEDULING", calendar_id="12.0"),
        lead(integration_record_id="D", browser_redirect="scheduling"),
        lead(integration_record_id="E", browser_redirect="home"),
    )
    result = validate_leads(frame)
    assert result.leads["browser_redirect"].tolist()[:4] == ["profile"] + ["scheduling"] * 3
    assert result.leads.loc[4, "calendar_id"] == "12"
    ignored = 'browser_redirect: "{}" only matters in a browser; a batch import is not redirected'
    assert messages(result, 2) == [ignored.format("Profile")]
    assert messages(result, 5) == [
        "browser_redirect: scheduling needs calendar or calendar_id",
        ignored.format("scheduling"),
    ]
    assert messages(result, 6) == ['browser_redirect: "home" is not profile, scheduling or deal']
    assert result.invalid_rows == {5, 6}


# other fields


def test_other_fields_are_trimmed() -> None:
    frame = leads(lead(first_name="  Ferris ", lead_status=" Needs Contact", custom_field=" x "))
    result = validate_leads(frame)
    row = result.leads.loc[2]
    assert (row["first_name"], row["lead_status"], row["custom_field"]) == (
        "Ferris",
        "Needs Contact",
        "x",
    )
    assert result.problems == []


def test_a_row_with_several_problems_gets_them_all_in_column_order() -> None:
    frame = leads(
        {"integration_record_id": "", "address": "1 Main", "state": "Utah", "zip": "ABCDE",
         "mobile": "555-1234", "email": "bad@", "createDeal": "x"}
    )  # fmt: skip
    result = validate_leads(frame)
    assert [(p.code, p.is_error) for p in result.problems] == [
        ("missing_record_id", True),
        ("state_normalized", False),
        ("invalid_zip", True),
        ("invalid_mobile", True),
        ("invalid_email", True),
        ("invalid_integer", True),
    ]


def test_long_values_are_quoted_short_and_on_one_line() -> None:
    result = validate_leads(leads(lead(email="x" * 100 + "\n@")))
    (message,) = messages(result)
    assert message == 'email: "' + "x" * 57 + '..." is not a valid email address'


def test_every_message_starts_with_its_field() -> None:
    assert all(template.startswith("{field}: ") for template in MESSAGES.values())


def test_many_rows_are_checked_column_wide() -> None:
    good = [lead(integration_record_id=f"L{i}", mobile="8015554444") for i in range(5000)]
    good[1234] = lead(integration_record_id="L1234", mobile="555-1234")
    good[4321] = lead(integration_record_id="L1", mobile="8015554444")
    result = validate_leads(leads(*good))
    assert result.invalid_rows == {1236, 4323}
    assert messages(result, 4323) == [
        'integration_record_id: "L1" is also on row 3; only the first is sent'
    ]
