"""mobile: North American numbering, international prefixes and extensions."""

from __future__ import annotations

import pandas as pd
import pytest

from importer.validation.leads import validate_leads


def _check(mobile: str):
    leads = pd.DataFrame(
        {"integration_record_id": ["r1"], "fullAddress": ["1 Main St, Provo, UT 84601"],
         "mobile": [mobile]},
        index=[2],
    )  # fmt: skip
    return validate_leads(leads)


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("0936933841", "area code 093 cannot start with 0"),
        ("(033) 452-1299", "area code 033 cannot start with 0"),
        ("(014) 427-4427", "area code 014 cannot start with 0"),
        ("1234567890", "area code 123 cannot start with 1"),
        ("9100000000", "exchange 000 cannot start with 0"),
        ("801-155-4444", "exchange 155 cannot start with 1"),
        ("911-555-1234", "911 is a service code, not an area code"),
        ("(411) 555-1234", "411 is a service code, not an area code"),
        ("+39 342 798 8613", "+39 dials another country"),
        ("+44 191 3456234", "+44 dials another country"),
        ("0044 20 7946 0958", "0044 dials another country"),
        ("011 44 20 7946 0958", "011 44 dials another country"),
    ],
)
def test_impossible_or_foreign_numbers_are_invalid(typed: str, why: str) -> None:
    [problem] = _check(typed).problems
    assert (problem.code, problem.is_error) == ("invalid_mobile", True)
    assert problem.message == f'mobile: "{typed}" is not a North American number ({why})'


@pytest.mark.parametrize("typed", ["801555444", "886-2-25474189", "33562156600", "call me"])
def test_wrong_length_keeps_the_ten_digit_message(typed: str) -> None:
    [problem] = _check(typed).problems
    assert problem.message == f'mobile: "{typed}" is not a 10-digit phone number'


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("+1 (801) 555-4444", "8015554444"),
        ("1-801-555-4444", "8015554444"),
        ("001-801-555-4444", "8015554444"),  # the US dialled from abroad
        ("(801) 555-0123", "8015550123"),  # 555-01xx: fictional, but well-formed
        ("2025550123", "2025550123"),
    ],
)
def test_north_american_numbers_are_sent_as_ten_digits(typed: str, sent: str) -> None:
    result = _check(typed)
    assert result.problems == []
    assert result.leads.at[2, "mobile"] == sent


@pytest.mark.parametrize(
    "typed",
    [
        "(376)694-9481x10051",
        "376-694-9481 x12",
        "376.694.9481 X12",
        "376-694-9481 ext. 12",
        "376-694-9481 ext 12",
        "376-694-9481 EXT12",
        "376-694-9481 #12",
        "376-694-9481 extension 12",
        "001-376-694-9481x123",
    ],
)
def test_an_extension_is_dropped_with_a_warning(typed: str) -> None:
    result = _check(typed)
    [problem] = result.problems
    assert (problem.code, problem.is_error) == ("mobile_extension_dropped", False)
    assert problem.message == (
        f'mobile: "{typed}" has an extension, which is dropped; sent as 3766949481'
    )
    assert result.leads.at[2, "mobile"] == "3766949481"


def test_an_extension_on_an_impossible_number_is_still_invalid() -> None:
    [problem] = _check("(033) 452-1299 x5").problems
    assert problem.code == "invalid_mobile"
    assert "area code 033" in problem.message


def test_many_rows_mix_valid_and_invalid_column_wide() -> None:
    typed = ["(801) 555-4444", "0936933841", "+39 342 798 8613", "801-555-4444 x1"] * 500
    leads = pd.DataFrame(
        {"integration_record_id": [f"r{i}" for i in range(len(typed))],
         "fullAddress": "1 Main St, Provo, UT 84601", "mobile": typed},
        index=range(2, 2 + len(typed)),
    )  # fmt: skip
    result = validate_leads(leads)
    assert len(result.invalid_rows) == 1000
    assert result.leads["mobile"].tolist()[:4] == [
        "8015554444", "0936933841", "+39 342 798 8613", "8015554444"
    ]  # fmt: skip


def test_the_byte_fast_path_agrees_with_the_unicode_path_on_random_cells() -> None:
    import random

    import pandas as pd

    from importer.validation.phones import _ten_digits, _ten_digits_unicode

    rng = random.Random(12)
    alphabet = "0123456789" * 4 + "01x-() +"
    cells = [
        "".join(rng.choice(alphabet) for _ in range(rng.choice([9, 10, 10, 10, 11])))
        for _ in range(5000)
    ]
    fast = _ten_digits(pd.Series(cells, dtype=object))
    slow = _ten_digits_unicode(cells)
    assert (fast[0] == slow[0]).all() and (fast[1] == slow[1]).all()
    assert fast[0].sum() > 500 and fast[1].sum() > 100  # the sample exercises both verdicts
