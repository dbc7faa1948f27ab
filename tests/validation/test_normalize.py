"""Normalizers and format tests, column-wide, one messy value at a time."""

from __future__ import annotations

import pandas as pd
import pytest

from importer import usps
from importer.validation import normalize as nz
from importer.validation import phones


def column(*values: str) -> pd.Series:
    return pd.Series(list(values), index=range(2, 2 + len(values)), dtype="str")


def one(normalizer, value: str) -> tuple[str, list[str]]:
    """The normalized value and the warning codes raised for a single cell."""
    result = normalizer(column(value))
    return result.values.iloc[0], sorted(result.warnings)


@pytest.mark.parametrize(
    ("typed", "expected", "warnings"),
    [
        ("84045", "84045", []),
        ("2134", "02134", ["zip_zero_padded"]),
        ("2134.0", "02134", ["zip_zero_padded"]),
        ("123", "00123", ["zip_zero_padded"]),
        ("84045.0", "84045", ["zip_from_number"]),
        ("84045-1234", "84045", []),
        ("84045 1234", "84045", []),
        ("840451234", "84045", ["zip_plus4_assumed"]),
        ("ABCDE", "ABCDE", []),
        ("12", "12", []),
        ("840456", "840456", []),
        ("8404.5", "8404.5", []),
        ("", "", []),
    ],
)
def test_zip_normalization(typed: str, expected: str, warnings: list[str]) -> None:
    assert one(nz.normalize_zip, typed) == (expected, warnings)


@pytest.mark.parametrize(
    ("typed", "expected", "warnings"),
    [
        ("8015554444", "8015554444", []),
        ("(801) 555-4444", "8015554444", []),
        ("801.555.4444", "8015554444", []),
        ("+1 801 555 4444", "8015554444", []),
        ("18015554444", "8015554444", []),
        ("1-801-555-4444", "8015554444", []),
        ("8015554444.0", "8015554444", ["mobile_recovered_from_number"]),
        ("8.015554444E+09", "8015554444", ["mobile_recovered_from_number"]),
        ("8.015554444e9", "8015554444", ["mobile_recovered_from_number"]),
        ("18015554444.0", "8015554444", ["mobile_recovered_from_number"]),
        ("1.8015554444E+10", "8015554444", ["mobile_recovered_from_number"]),
        ("555-1234", "555-1234", []),
        ("28015554444", "28015554444", []),
        ("8.0155544445E+09", "8.0155544445E+09", []),
        ("8.015554444E+05", "8.015554444E+05", []),
        ("801-555-4444 x12", "8015554444", ["mobile_extension_dropped"]),
        ("", "", []),
    ],
)
def test_mobile_normalization(typed: str, expected: str, warnings: list[str]) -> None:
    assert one(phones.normalize_mobile, typed) == (expected, warnings)


@pytest.mark.parametrize(
    ("typed", "expected", "warnings"),
    [
        ("UT", "UT", []),
        ("ut", "UT", []),
        ("utah", "UT", ["state_normalized"]),
        ("Utah", "UT", ["state_normalized"]),
        ("New  York", "NY", ["state_normalized"]),
        ("district of columbia", "DC", ["state_normalized"]),
        ("pr", "PR", []),
        ("AE", "AE", []),
        ("XX", "XX", []),
        ("Utahh", "Utahh", []),
        ("", "", []),
    ],
)
def test_state_normalization(typed: str, expected: str, warnings: list[str]) -> None:
    assert one(nz.normalize_state, typed) == (expected, warnings)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("1", "1"), ("TRUE", "1"), ("Yes", "1"), ("0", "0"), ("false", "0"), ("NO", "0"),
     ("maybe", "maybe"), ("", "")],
)  # fmt: skip
def test_boolean_normalization(typed: str, expected: str) -> None:
    assert one(nz.normalize_boolean, typed) == (expected, [])


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("5686", "5686"), ("5686.0", "5686"), ("5686.5", "5686.5"), ("-5", "-5"), ("", "")],
)
def test_integer_normalization(typed: str, expected: str) -> None:
    assert one(nz.normalize_integer, typed) == (expected, [])


def test_email_is_lower_cased() -> None:
    assert one(nz.normalize_email, "Bob@Example.COM") == ("bob@example.com", [])


def test_strip_removes_spaces_and_non_breaking_spaces() -> None:
    assert nz.strip(column("  a b \u00a0", "\tc\n")).tolist() == ["a b", "c"]


def test_warnings_name_the_rows_repaired() -> None:
    result = nz.normalize_zip(column("84045", "2134", "84045.0", "123"))
    assert list(result.warnings["zip_zero_padded"]) == [3, 5]
    assert list(result.warnings["zip_from_number"]) == [4]


def test_normalizing_by_distinct_value_matches_row_by_row() -> None:
    raw = column(" utah", "UT", " utah", "xx ", "", "Utah")
    typed_a, few = nz.normalize_column(raw, nz.normalize_state, few_distinct=True)
    typed_b, many = nz.normalize_column(raw, nz.normalize_state, few_distinct=False)
    assert typed_a.tolist() == typed_b.tolist() == ["utah", "UT", "utah", "xx", "", "Utah"]
    assert few.values.tolist() == many.values.tolist() == ["UT", "UT", "UT", "xx", "", "UT"]
    assert list(few.values.index) == list(raw.index)
    assert list(few.warnings["state_normalized"]) == list(many.warnings["state_normalized"])
    assert list(few.warnings["state_normalized"]) == [2, 4, 7]


@pytest.mark.parametrize(
    ("test", "good", "bad"),
    [
        (nz.is_zip, ["84045", "02134"], ["8404", "840450", "ABCDE", "８４０４５"]),
        (nz.is_state, ["UT", "DC", "PR", "VI", "GU", "AS", "MP"], ["ut", "XX", "Utah", "AP", "MH"]),
        (
            phones.is_mobile,
            ["8015554444", "2025550123"],
            ["801555444", "80155544440", "801555444a", "0936933841", "9100000000", "9115551234"],
        ),
        (nz.is_integer, ["5686", "0"], ["5686.0", "-1", "1e3", "x"]),
        (nz.is_boolean, ["1", "0"], ["true", "yes", "2"]),
        (nz.is_browser_redirect, ["profile", "scheduling", "deal"], ["Profile", "home"]),
        (
            nz.is_email,
            ["a@b.co", "first.last+tag@sub.example.com", "o'neil@x.org"],
            ["bob@", "@x.com", "a b@x.com", "a@@x.com", "a@x", "a@x.c", "a@-x.com", "a..b@x.com"],
        ),
    ],
)
def test_format_tests_accept_and_reject(test, good: list[str], bad: list[str]) -> None:
    assert test(column(*good)).tolist() == [True] * len(good)
    assert test(column(*bad)).tolist() == [False] * len(bad)


def test_per_distinct_gives_one_answer_per_row() -> None:
    assert nz.per_distinct(nz.is_state, column("UT", "XX", "UT", "")).tolist() == [
        True,
        False,
        True,
        False,
    ]


# zipstates: the offline prefix table


@pytest.mark.parametrize(
    ("zip_code", "states"),
    [
        ("84045", ["UT"]),
        ("84799", ["UT"]),
        ("00601", ["PR"]),
        ("00802", ["VI"]),
        ("02134", ["MA"]),
        ("05501", ["MA"]),
        ("20001", ["DC"]),
        ("73301", ["TX"]),
        ("88510", ["TX"]),
        ("96799", ["HI", "AS"]),
        ("96910", ["GU", "MP"]),
        ("09001", ["AE"]),
        ("99501", ["AK"]),
        ("00123", []),
    ],
)
def test_zip_prefixes_belong_to_their_states(zip_code: str, states: list[str]) -> None:
    assert usps.states_of_zip(zip_code) == states


def test_every_state_code_has_a_name_and_zip_prefixes() -> None:
    assert len(usps.STATE_CODES) == 56  # 50 states, DC, PR, VI, GU, AS, MP
    assert set(usps.ZIP_PREFIX_RANGES) == set(usps.STATE_CODES) | usps.MILITARY_CODES
    for ranges in usps.ZIP_PREFIX_RANGES.values():
        assert all(0 <= low <= high <= 999 for low, high in ranges)


def test_zip_in_state_is_column_wide() -> None:
    zips = column("84045", "84045", "02134", "ABCDE", "96910", "00123")
    states = column("UT", "CA", "MA", "UT", "MP", "UT")
    assert usps.zip_in_state(zips, states).tolist() == [True, False, True, False, True, False]
    assert usps.zip_prefix_known(zips).tolist() == [True, True, True, False, True, False]
