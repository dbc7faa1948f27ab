"""cells: calamine cell values read as the text Excel's General format shows."""

from __future__ import annotations

import datetime as dt

import pytest

from importer.reading.cells import cell_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (84045.0, "84045"),
        (8015554444.0, "8015554444"),
        (3.5, "3.5"),
        (0.1 + 0.2, "0.3"),
        (-2.0, "-2"),
        (7, "7"),
        (True, "TRUE"),
        (False, "FALSE"),
        (dt.datetime(2026, 3, 12, 14, 30), "2026-03-12 14:30:00"),
        (dt.datetime(2026, 3, 12, 14, 29, 59, 999_600), "2026-03-12 14:30:00"),
        (dt.datetime(2026, 3, 12), "2026-03-12"),
        (dt.date(2026, 3, 12), "2026-03-12"),
        (dt.time(14, 30), "14:30:00"),
        (dt.timedelta(hours=30, minutes=5), "30:05:00"),
        ("=1+2", "=1+2"),
    ],
)
def test_cell_text_follows_excel_general_format(value: object, text: str) -> None:
    assert cell_text(value) == text
