"""Appointment normalization: date shapes, one format per column, time zones, required parts."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from importer.errors import MappingError
from importer.sending.payload import build_payload
from importer.validation.appointment import ACCEPTED_SHAPES, normalize_appointments

DENVER = "America/Denver"


def appointments(*date_times: str, first_row: int = 2, **columns: list[str] | str) -> pd.DataFrame:
    """A mapped frame: one row per date_time, constants for the other parts unless given."""
    rows = range(first_row, first_row + len(date_times))
    data = {
        "apt_type_id": "12",
        "date_time": list(date_times),
        "name": "Solar Consultation",
        "minutes": "",
    }
    data.update(columns)
    return pd.DataFrame(data, index=rows)


def normalized(*date_times: str, timezone: str | None = DENVER, **kwargs) -> pd.Series:
    out, problems = normalize_appointments(appointments(*date_times), timezone, None, **kwargs)
    assert [p for p in problems if p.is_error] == []
    return out["date_time"]


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        (["2026-03-12 14:30"], "2026-03-12 20:30:00"),
        (["2026-03-12 14:30:00"], "2026-03-12 20:30:00"),
        (["2026-03-12T14:30"], "2026-03-12 20:30:00"),
        (["2026-03-12T14:30:00.250"], "2026-03-12 20:30:00"),
        (["3/12/2026 2:30 PM", "3/13/2026 9:00 AM"], "2026-03-12 20:30:00"),
        (["3/12/2026 2:30PM", "3/13/2026 9:00AM"], "2026-03-12 20:30:00"),
        (["3/12/26 2:30:00 pm", "3/13/26 9:00:00 am"], "2026-03-12 20:30:00"),
        (["03/12/2026 14:30", "03/20/2026 09:00"], "2026-03-12 20:30:00"),
        (["12/03/2026 14:30", "20/03/2026 09:00"], "2026-03-12 20:30:00"),
        (["2026-03-12T14:30:00-06:00"], "2026-03-12 20:30:00"),
        (["2026-03-12T14:30:00+05:30"], "2026-03-12 09:00:00"),
        (["2026-03-12T14:30:00Z"], "2026-03-12 14:30:00"),
        (["2026-03-12 14:30:00+0000"], "2026-03-12 14:30:00"),
        (["46093.6041666667"], "2026-03-12 20:30:00"),
        (["46093.604166666664"], "2026-03-12 20:30:00"),
        (["1773325800"], "2026-03-12 14:30:00"),
    ],
)
def test_every_date_shape_is_sent_as_utc(column, expected):
    assert normalized(*column).iloc[0] == expected


def test_times_without_an_offset_are_utc_when_the_mapping_names_no_timezone():
    assert normalized("2026-03-12 14:30", timezone=None).tolist() == ["2026-03-12 14:30:00"]


def test_a_column_mixing_excel_dates_and_typed_text_is_read_whole():
    # Real date cells come from the reader as ISO text; typed ones stay as typed.
    column = ["2026-03-12 14:30:00", "3/13/2026 9:00 AM", "46094.375", "1773325800"]
    assert normalized(*column).tolist() == [
        "2026-03-12 20:30:00",
        "2026-03-13 15:00:00",
        "2026-03-13 15:00:00",
        "2026-03-12 14:30:00",
    ]


def test_one_date_with_a_day_over_12_settles_the_whole_column_as_day_first():
    column = ["04/03/2026 09:00", "13/03/2026 14:30", "05/03/2026 10:00"]
    assert normalized(*column, timezone="UTC").tolist() == [
        "2026-03-04 09:00:00",
        "2026-03-13 14:30:00",
        "2026-03-05 10:00:00",
    ]


def test_day_month_ambiguity_is_an_error_asking_for_a_format_not_a_guess():
    frame = appointments("3/4/2026 10:00", "2026-03-12 14:30", "5/6/2026 9:00", "7/7/2026 9:00")
    out, problems = normalize_appointments(frame, DENVER, None, column_label="Appointment")
    assert [(p.row, p.field, p.code, p.is_error) for p in problems] == [
        (2, "appointment.date_time", "ambiguous_date", True),
        (4, "appointment.date_time", "ambiguous_date", True),
    ]
    assert problems[0].message == (
        'appointment.date_time: "3/4/2026 10:00" could be March 4 or April 3; column '
        '"Appointment" has no date that settles day/month order; add format: '
        '"%m/%d/%Y %H:%M" (month first) or "%d/%m/%Y %H:%M" (day first) under date_time '
        "in the mapping"
    )
    assert "could be May 6 or June 5" in problems[1].message
    # Unambiguous cells in the same column still go through: ISO, and 7/7 read either way.
    assert out.loc[3, "date_time"] == "2026-03-12 20:30:00"
    assert out.loc[5, "date_time"] == "2026-07-07 15:00:00"


def test_a_column_with_both_day_month_orders_is_an_error_on_every_slash_date():
    frame = appointments("4/13/2026 10:00", "13/4/2026 10:00", "3/4/2026 10:00")
    _, problems = normalize_appointments(frame, "UTC", None, column_label="Appointment")
    assert [(p.row, p.code) for p in problems] == [
        (2, "ambiguous_date"),
        (3, "ambiguous_date"),
        (4, "ambiguous_date"),
    ]
    assert problems[1].message == (
        'appointment.date_time: "13/4/2026 10:00" is in column "Appointment", which has both '
        'month/day ("4/13/2026 10:00") and day/month ("13/4/2026 10:00") dates; add format: '
        '"%m/%d/%Y %H:%M" (month first) or "%d/%m/%Y %H:%M" (day first) under date_time '
        "in the mapping"
    )


@pytest.mark.parametrize(
    ("column_format", "expected"),
    [("%m/%d/%Y %H:%M", "2026-03-04 10:00:00"), ("%d/%m/%Y %H:%M", "2026-04-03 10:00:00")],
)
def test_the_mappings_format_decides_day_month_order(column_format, expected):
    frame = appointments("3/4/2026 10:00", "2026-03-12 14:30")
    out, problems = normalize_appointments(frame, "UTC", None, column_format=column_format)
    assert problems == []
    assert out["date_time"].tolist() == [expected, "2026-03-12 14:30:00"]


def test_a_format_with_an_offset_reads_the_offset():
    out, problems = normalize_appointments(
        appointments("12.03.2026 14:30 -0600"), DENVER, None, column_format="%d.%m.%Y %H:%M %z"
    )
    assert problems == []
    assert out["date_time"].tolist() == ["2026-03-12 20:30:00"]


def test_cells_the_mappings_format_does_not_fit_are_invalid():
    frame = appointments("12.03.2026 14:30", "3/4/2026 10:00")
    out, problems = normalize_appointments(frame, "UTC", None, column_format="%d.%m.%Y %H:%M")
    assert [(p.row, p.code) for p in problems] == [(3, "invalid_date_time")]
    assert out.loc[2, "date_time"] == "2026-03-12 14:30:00"


@pytest.mark.parametrize(
    ("wall", "utc"),
    [
        ("2026-03-08 01:59", "2026-03-08 08:59:00"),  # MST, just before spring forward
        ("2026-03-08 03:00", "2026-03-08 09:00:00"),  # MDT, just after
        ("2026-11-01 00:59", "2026-11-01 06:59:00"),  # MDT, before fall back
        ("2026-11-01 02:00", "2026-11-01 09:00:00"),  # MST, after
        ("2026-07-04 12:00", "2026-07-04 18:00:00"),
        ("2026-01-15 12:00", "2026-01-15 19:00:00"),
    ],
)
def test_denver_times_around_daylight_saving_changes(wall, utc):
    assert normalized(wall).tolist() == [utc]


def test_a_time_the_clocks_skip_is_invalid():
    out, problems = normalize_appointments(appointments("2026-03-08 02:30"), DENVER, None)
    assert problems[0].code == "nonexistent_time"
    assert problems[0].message == (
        'appointment.date_time: "2026-03-08 02:30" does not exist in America/Denver '
        "(clocks skip that hour)"
    )
    assert out.loc[2, "date_time"] == "2026-03-08 02:30"


def test_a_time_that_happens_twice_is_read_as_the_first_with_a_warning():
    out, problems = normalize_appointments(appointments("2026-11-01 01:30"), DENVER, None)
    assert out["date_time"].tolist() == ["2026-11-01 07:30:00"]
    assert problems[0].is_error is False
    assert problems[0].code == "ambiguous_time"
    assert problems[0].message == (
        'appointment.date_time: "2026-11-01 01:30" happens twice in America/Denver '
        "(clocks go back); read as the first, 07:30 UTC"
    )


def test_vectorised_conversion_matches_zoneinfo_for_a_year_of_random_times():
    rng = random.Random(6)
    zone = ZoneInfo(DENVER)
    start = dt.datetime(2026, 1, 1)
    walls = [start + dt.timedelta(minutes=rng.randrange(366 * 24 * 60)) for _ in range(3000)]
    out, problems = normalize_appointments(
        appointments(*[w.strftime("%Y-%m-%d %H:%M") for w in walls]), DENVER, None
    )
    skipped = {p.row for p in problems if p.code == "nonexistent_time"}
    for row, wall in zip(out.index, walls, strict=True):
        local = wall.replace(tzinfo=zone, fold=0)
        round_trip = local.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None)
        assert (row in skipped) == (round_trip != wall)  # skipped only inside the DST gap
        if row not in skipped:
            expected = local.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
            assert out.at[row, "date_time"] == expected


def test_excel_serials_outside_a_plausible_range_are_not_dates():
    _, problems = normalize_appointments(appointments("12345", "46093.5"), "UTC", None)
    assert [(p.row, p.code) for p in problems] == [(2, "invalid_date_time")]


@pytest.mark.parametrize("timezone", [DENVER, "UTC", "Pacific/Kiritimati"])
def test_dates_far_outside_the_booking_years_are_invalid_never_a_crash(timezone):
    cells = [
        "9999-12-31 23:59",
        "12/31/9999 11:00 PM",
        "9999-12-31T23:59:00-06:00",
        "0001-01-01 00:00",
        "1969-12-31 23:00",
        "9999999999",  # unix seconds in 2286
        "2101-01-01 00:00",
        "2100-06-01 09:00",  # inside: kept
    ]
    out, problems = normalize_appointments(appointments(*cells), timezone, None)
    assert [(p.row, p.code) for p in problems] == [
        (row, "invalid_date_time") for row in range(2, 9)
    ]
    assert problems[0].message == (
        'appointment.date_time: "9999-12-31 23:59" is outside the years 1970 to 2100'
    )
    assert out["date_time"].iloc[-1].startswith("2100-0")


def test_an_unparseable_date_names_the_value():
    _, problems = normalize_appointments(appointments("13/45/2026", "soon"), "UTC", None)
    accepted = "is not a date and time; accepted: " + ACCEPTED_SHAPES
    assert [p.message for p in problems] == [
        f'appointment.date_time: "13/45/2026" {accepted}',
        f'appointment.date_time: "soon" {accepted}',
    ]
    assert {p.code for p in problems} == {"invalid_date_time"}


def test_date_format_u_sends_unix_seconds_and_says_so():
    frame = appointments("2026-03-12 14:30", "")
    out, problems = normalize_appointments(frame, DENVER, "U")
    assert problems == []
    assert out["date_time"].tolist() == ["1773347400", ""]
    assert out["date_format"].tolist() == ["U", ""]


def test_unknown_timezone_is_a_mapping_error():
    with pytest.raises(MappingError, match='appointment timezone "Mars/Olympus" is not'):
        normalize_appointments(appointments("2026-03-12 14:30"), "Mars/Olympus", None)


def test_rows_without_a_date_time_get_no_appointment_even_with_bad_parts():
    frame = appointments("", "2026-03-12 14:30", apt_type_id=["abc", "12"], assigned_user=["x", ""])
    out, problems = normalize_appointments(frame, "UTC", None)
    assert problems == []
    assert out.loc[2].tolist() == ["", "", "", "", ""]
    assert "appointment" not in build_payload({"integration_record_id": "a"}, out.loc[2].to_dict())


def test_a_row_with_a_date_time_needs_apt_type_id_and_name():
    frame = appointments(
        "2026-03-12 14:30", "2026-03-12 15:30", apt_type_id=["", "7"], name=["x", " "]
    )
    _, problems = normalize_appointments(frame, "UTC", None)
    assert [(p.row, p.field, p.code) for p in problems] == [
        (2, "appointment.apt_type_id", "missing_appointment_field"),
        (3, "appointment.name", "missing_appointment_field"),
    ]
    assert problems[0].message == (
        "appointment.apt_type_id: is missing; a row with an appointment date_time needs "
        "apt_type_id and name"
    )


def test_unmapped_required_parts_count_as_missing():
    frame = appointments("2026-03-12 14:30").drop(columns=["name"])
    _, problems = normalize_appointments(frame, "UTC", None)
    assert [(p.field, p.code) for p in problems] == [
        ("appointment.name", "missing_appointment_field")
    ]


def test_whole_numbers_are_cleaned_and_minutes_default_to_60():
    frame = appointments(
        "2026-03-12 14:30",
        "2026-03-12 15:00",
        "2026-03-12 16:00",
        apt_type_id=["12.0", "012", "1.5"],
        minutes=["", "45.0", "-30"],
    )
    out, problems = normalize_appointments(frame, "UTC", None)
    assert out["apt_type_id"].tolist() == ["12", "12", "1.5"]
    assert out["minutes"].tolist() == ["60", "45", "-30"]
    assert [p.message for p in problems] == [
        'appointment.apt_type_id: "1.5" is not a whole number above 0',
        'appointment.minutes: "-30" is not a whole number above 0',
    ]
    assert {p.code for p in problems} == {"invalid_integer"}


def test_assigned_user_is_a_lower_cased_email():
    frame = appointments(
        "2026-03-12 14:30",
        "2026-03-12 15:00",
        "2026-03-12 16:00",
        assigned_user=[" Rep@Example.COM ", "not an email", ""],
    )
    out, problems = normalize_appointments(frame, "UTC", None)
    assert out["assigned_user"].tolist() == ["rep@example.com", "not an email", ""]
    assert [(p.row, p.code, p.message) for p in problems] == [
        (3, "invalid_email", 'appointment.assigned_user: "not an email" is not an email address')
    ]


def test_frame_without_appointment_columns_is_returned_unchanged():
    frame = pd.DataFrame(index=[2])
    out, problems = normalize_appointments(frame, DENVER, None)
    assert out is frame
    assert problems == []


def test_the_payload_carries_the_normalized_appointment_with_integers():
    frame = appointments("3/12/2026 2:30 PM", "3/13/2026 9:00 AM", assigned_user=["A@B.io", ""])
    out, _ = normalize_appointments(frame, DENVER, None)
    assert build_payload({"integration_record_id": "a"}, out.loc[2].to_dict())["appointment"] == {
        "apt_type_id": 12,
        "date_time": "2026-03-12 20:30:00",
        "name": "Solar Consultation",
        "minutes": 60,
        "assigned_user": "a@b.io",
    }


def test_unix_payload_carries_date_format_u():
    out, _ = normalize_appointments(appointments("2026-03-12T14:30:00Z"), DENVER, "U")
    appointment = build_payload({"integration_record_id": "a"}, out.loc[2].to_dict())["appointment"]
    assert (appointment["date_time"], appointment["date_format"]) == ("1773325800", "U")
