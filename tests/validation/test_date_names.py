"""appointment.date_time: dates with month names and year-first dates; the accepted shapes."""

from __future__ import annotations

import pandas as pd
import pytest

from importer.validation.appointment import ACCEPTED_SHAPES, normalize_appointments


def _normalize(*texts: str, timezone: str = "America/Denver"):
    frame = pd.DataFrame(
        {"apt_type_id": "12", "date_time": list(texts), "name": "Visit"},
        index=range(2, 2 + len(texts)),
    )
    return normalize_appointments(frame, timezone, None)


@pytest.mark.parametrize(
    "text",
    [
        "March 12, 2026 2:30 PM",
        "12-Mar-2026 14:30",
        "2026/03/12 14:30",
        "Mar 12 2026 2:30pm",
        "12 March 2026 14:30",
        "MARCH 12, 2026 2:30 P.M.",
        "Mar. 12, 2026, 2:30 pm",
        "12th March 2026 at 14:30",
        "12 Mar 2026 14:30:00",
        "2026.03.12 14:30",
    ],
)
def test_month_names_and_year_first_dates_are_read(text: str) -> None:
    out, problems = _normalize(text)
    assert problems == []
    assert out.at[2, "date_time"] == "2026-03-12 20:30:00"  # 14:30 in Denver, as UTC


def test_short_and_long_month_names_of_every_month() -> None:
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    longs = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]  # fmt: skip
    out, problems = _normalize(
        *[f"{m} 1, 2026 12:00" for m in months + longs + ["Sept"]], timezone="UTC"
    )
    assert problems == []
    expected = [f"2026-{n:02d}-01 12:00:00" for n in range(1, 13)] * 2 + ["2026-09-01 12:00:00"]
    assert out["date_time"].tolist() == expected


def test_a_month_name_is_never_an_ambiguous_day_month() -> None:
    # 3 March vs March 3 is settled by the name, whatever else is in the column.
    out, problems = _normalize("3 March 2026 10:00", "March 4, 2026 10:00", "3/4/2026 10:00")
    assert [(p.row, p.code) for p in problems] == [(4, "ambiguous_date")]
    assert out["date_time"].tolist()[:2] == ["2026-03-03 17:00:00", "2026-03-04 17:00:00"]


@pytest.mark.parametrize(
    "text",
    ["Marchh 12, 2026 2:30 PM", "Feb 30, 2026 10:00", "March 12, 2026 13:30 PM", "12 March 2026",
     "soon"],
)  # fmt: skip
def test_an_unreadable_date_time_names_the_accepted_shapes(text: str) -> None:
    _, [problem] = _normalize(text)
    assert problem.code == "invalid_date_time"
    assert problem.message == (
        f'appointment.date_time: "{text}" is not a date and time; accepted: {ACCEPTED_SHAPES}'
    )
    for shape in ("March 12, 2026 2:30 PM", "12-Mar-2026 14:30", "2026/03/12 14:30"):
        assert shape in problem.message
