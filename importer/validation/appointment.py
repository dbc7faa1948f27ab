"""Appointment columns: parse date-times one format per column, to UTC, check parts; no I/O.

Day/month order is decided from the whole column and never guessed: when nothing in the
column settles it, the rows that read differently both ways are invalid and the message
asks for a `format:` in the mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from importer.errors import MappingError
from importer.models import Problem
from importer.records import FieldRef
from importer.syntax import is_email
from importer.validation.normalize import fits_int64

DATE_TIME = "date_time"
APT_TYPE_ID = "apt_type_id"
NAME = "name"
MINUTES = "minutes"
ASSIGNED_USER = "assigned_user"
DATE_FORMAT = "date_format"
DEFAULT_MINUTES = "60"
UTC_FORMAT = "%Y-%m-%d %H:%M:%S"
# Appointments are booked within these years; further out is a typo (9999 for "someday").
FIRST_YEAR, LAST_YEAR = 1970, 2100

_TIMES = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p", "%I:%M%p", "%I:%M:%S%p")
MONTH_FIRST = tuple(f"%m/%d/{year} {t}" for year in ("%Y", "%y") for t in _TIMES)
DAY_FIRST = tuple(f"%d/%m/{year} {t}" for year in ("%Y", "%y") for t in _TIMES)
ISO_NAIVE = tuple(f"%Y-%m-%d{sep}%H:%M{sec}" for sep in (" ", "T") for sec in (":%S", "", ":%S.%f"))
_SLASH_SHAPE = (
    r"^\s*\d{1,2}/\d{1,2}/(?P<year>\d{4}|\d{2})\s+\d{1,2}:\d{2}(?P<seconds>:\d{2})?"
    r"(?:(?P<gap>\s*)(?P<ampm>[AaPp]\.?[Mm]\.?))?\s*$"
)
_ISO_AWARE = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s?(?:Z|[+-]\d{2}:?\d{2})"
_EXCEL_SERIAL = r"\d{5}(?:\.\d+)?"
_UNIX_SECONDS = r"\d{10}"
# Excel serials are days since 1899-12-30; only 1990-01-01 .. 2099-12-31 is a plausible
# appointment, so a stray five-digit number elsewhere is not read as a date.
_EXCEL_RANGE = (32874.0, 73051.0)
_WHOLE_NUMBER = r"0*[1-9][0-9]*(?:\.0*)?"
# Dates with the month as an English name (unambiguous, so no day/month question), and
# year-first slash dates: "March 12, 2026 2:30 PM", "Mar 12 2026 2:30pm",
# "12-Mar-2026 14:30", "12 March 2026 14:30", "2026/03/12 14:30".
_MONTHS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
         ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
         ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
         ("december", "dec")],
        start=1,
    )
    for name in names
}  # fmt: skip
_TIME = (
    r"(?:,?\s+(?:at\s+)?|\s*,\s*|T)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?\s*$"
)
_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_NAMED_DATES = (
    rf"^\s*{_MONTH}\s+{_DAY},?\s+(?P<year>\d{{4}}){_TIME}",  # March 12, 2026 2:30 PM
    rf"^\s*{_DAY}[\s-]+{_MONTH}[\s,-]+(?P<year>\d{{4}}){_TIME}",  # 12-Mar-2026 14:30
    rf"^\s*(?P<year>\d{{4}})[/.](?P<month>\d{{1,2}})[/.]{_DAY}{_TIME}",  # 2026/03/12 14:30
)
# What a message about an unreadable date_time lists as accepted.
ACCEPTED_SHAPES = (
    "2026-03-12 14:30, 3/12/2026 2:30 PM, March 12, 2026 2:30 PM, 12-Mar-2026 14:30, "
    "2026/03/12 14:30, with an offset (2026-03-12T14:30:00-06:00), unix seconds, or an "
    "Excel date"
)


@dataclass
class _Parsed:
    """Per distinct date_time text: the UTC instant (NaT when rejected) and why."""

    when: pd.Series  # datetime64[UTC], NaT when not usable
    code: pd.Series  # "" ok, else a problem code
    detail: pd.Series  # extra message text for the code
    warning: pd.Series  # "" or a warning message tail (ambiguous fall-back time)


def normalize_appointments(
    appointment: pd.DataFrame,
    timezone: str | None,
    date_format: str | None,
    column_format: str | None = None,
    column_label: str | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Normalize the appointment part of the records and report its problems.

    Rows without a date_time get every appointment cell cleared, so no appointment is sent.
    Rows with one get date_time as UTC `yyyy-mm-dd hh:mm:ss` (or unix seconds, plus a
    `date_format` column of "U", when `date_format` is "U"), minutes "60" when empty, whole
    numbers without ".0", and a lower-cased assigned_user. `column_format` (the mapping's
    `format:`) replaces detection; `column_label` names the source column in messages.
    Raises MappingError for a time zone that is not an IANA name.
    """
    if DATE_TIME not in appointment.columns:
        return appointment, []
    zone = _zone(timezone)
    out = appointment.copy()
    cells = _cells(out, DATE_TIME)
    has = cells != ""
    label = f'column "{column_label}"' if column_label else "the date_time column"
    parsed = _parse_column(cells[has], zone, column_format, label)
    problems = _date_problems(cells[has], parsed, zone)
    rendered = _render(parsed.when, date_format).reindex(out.index, fill_value="")
    out[DATE_TIME] = rendered.where(rendered != "", cells)
    problems += _check_parts(out, has)
    if date_format == "U":
        out[DATE_FORMAT] = np.where(rendered != "", "U", "")
    for column in out.columns:
        out[column] = out[column].where(has, "")
    return out, sorted(problems, key=lambda p: (p.row, p.field))


def _zone(timezone: str | None) -> ZoneInfo:
    name = (timezone or "UTC").strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise MappingError(
            f'appointment timezone "{name}" is not an IANA time zone name',
            hint="use a name such as America/Denver, America/New_York or UTC",
        ) from exc


def _parse_column(cells: pd.Series, zone: ZoneInfo, column_format: str | None, label: str):
    """Parse each distinct text once, then spread the results back over the rows."""
    values = pd.Series(cells.unique(), dtype=object)
    parsed = _parse_distinct(values, zone, column_format, label)
    positions = pd.Index(values).get_indexer(cells)
    return _Parsed(
        *(
            part.iloc[positions].set_axis(cells.index)
            for part in (parsed.when, parsed.code, parsed.detail, parsed.warning)
        )
    )


def _parse_distinct(values: pd.Series, zone: ZoneInfo, column_format: str | None, label: str):
    code = pd.Series("", index=values.index, dtype=object)
    detail = pd.Series("", index=values.index, dtype=object)
    wall, aware = _nat_wall(values.index), _nat_aware(values.index)
    if column_format:
        wall, aware = _parse_format(values, column_format)

    def unread() -> pd.Series:
        return values[wall.isna() & aware.isna()]

    # Each shape below is tried only on what the earlier ones left; they never overlap.
    iso = unread()
    wall = wall.fillna(_coalesce(iso[iso.str.match(r"\d{4}-\d")], ISO_NAIVE))
    aware = aware.fillna(_parse_instants(unread()))
    wall = wall.fillna(_parse_serials(unread()))
    wall = wall.fillna(_parse_named_dates(unread()))
    if not column_format:
        slash, slash_code, slash_detail = _parse_slash_dates(unread(), label)
        wall = wall.fillna(slash)
        code.loc[slash_code.index] = slash_code
        detail.loc[slash_detail.index] = slash_detail
    # Out of range before localizing: pandas cannot place a wall time near year 10000.
    outside = _outside_years(wall) | _outside_years(aware)
    wall, aware = wall.mask(outside), aware.mask(outside)
    code = code.mask((code == "") & outside, "invalid_date_time")
    detail = detail.mask(outside, f"is outside the years {FIRST_YEAR} to {LAST_YEAR}")
    local, local_code, warning = _localize(wall, zone)
    when = aware.fillna(local)
    code = code.mask((code == "") & (local_code != ""), local_code)
    code = code.mask((code == "") & when.isna(), "invalid_date_time")
    return _Parsed(when, code, detail, warning)


def _outside_years(when: pd.Series) -> pd.Series:
    years = when.dt.year
    return years.notna() & ((years < FIRST_YEAR) | (years > LAST_YEAR))


def _nat_wall(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NaT, index=index, dtype="datetime64[us]")


def _nat_aware(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NaT, index=index, dtype="datetime64[us, UTC]")


def _parse_format(values: pd.Series, fmt: str) -> tuple[pd.Series, pd.Series]:
    """The mapping's own strptime format; with %z the times carry their offset."""
    if "%z" in fmt or "%Z" in fmt:
        parsed = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
        return _nat_wall(values.index), _to_aware(parsed)
    parsed = pd.to_datetime(values, format=fmt, errors="coerce")
    return _to_wall(parsed), _nat_aware(values.index)


def _parse_instants(values: pd.Series) -> pd.Series:
    """ISO 8601 with an offset or Z, and unix seconds: instants, no time zone needed."""
    iso = values[values.str.fullmatch(_ISO_AWARE)]
    unix = values[values.str.fullmatch(_UNIX_SECONDS)]
    parts = [
        pd.to_datetime(iso, format="ISO8601", errors="coerce", utc=True),
        pd.to_datetime(unix.astype("int64"), unit="s", utc=True),
    ]
    return _to_aware(pd.concat(parts))


def _parse_serials(values: pd.Series) -> pd.Series:
    """Excel serial numbers (days since 1899-12-30): wall-clock times, like Excel shows them."""
    serial = values[values.str.fullmatch(_EXCEL_SERIAL)].astype(float)
    serial = serial[serial.between(*_EXCEL_RANGE)]
    return _to_wall(pd.to_datetime(serial, unit="D", origin="1899-12-30").dt.round("s"))


def _parse_named_dates(values: pd.Series) -> pd.Series:
    """Month-name and year-first dates (`_NAMED_DATES`) as wall-clock times; NaT otherwise."""
    result = _nat_wall(values.index)
    for pattern in _NAMED_DATES:
        todo = values[result.isna()]
        if todo.empty:
            break
        parts = todo.str.extract(pattern).dropna(subset=["year"])
        if parts.empty:
            continue
        month = parts["month"].str.lower().map(_MONTHS)
        month = month.fillna(pd.to_numeric(parts["month"], errors="coerce"))
        hour = pd.to_numeric(parts["hour"]).astype(int)
        ampm = parts["ampm"].fillna("").str.lower().str.replace(".", "", regex=False)
        bad_12h = (ampm != "") & ~hour.between(1, 12)
        hour = hour.where(ampm == "", hour % 12 + (ampm == "pm") * 12)
        text = (
            parts["year"] + "-" + month.astype("Int64").astype(str).str.zfill(2) + "-"
            + parts["day"].str.zfill(2) + " " + hour.astype(str).str.zfill(2) + ":"
            + parts["minute"] + ":" + parts["second"].fillna("00")
        )  # fmt: skip
        text = text.where(month.notna() & ~bad_12h, "")
        parsed = pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S", errors="coerce")
        result = result.fillna(_to_wall(parsed))
    return result


def _parse_slash_dates(values: pd.Series, label: str):
    """m/d/y or d/m/y, decided from the whole column; what nothing settles is an error.

    Returns wall-clock times, codes and message details, indexed like `values`' slash cells.
    """
    shape = _slash_shapes(values)
    candidates, shape = values[shape >= 0], shape[shape >= 0]
    month_first = _parse_by_shape(candidates, shape, MONTH_FIRST)
    day_first = _parse_by_shape(candidates, shape, DAY_FIRST)
    code = pd.Series("", index=candidates.index, dtype=object)
    detail = pd.Series("", index=candidates.index, dtype=object)
    only_md = month_first.notna() & day_first.isna()
    only_dm = day_first.notna() & month_first.isna()
    if only_md.any() and not only_dm.any():
        return month_first, code, detail
    if only_dm.any() and not only_md.any():
        return day_first, code, detail
    same = month_first.notna() & (month_first == day_first)
    unsettled = (month_first.notna() | day_first.notna()) & ~same
    rows = unsettled[unsettled].index
    if not len(rows):
        return month_first.where(same), code, detail
    code[rows] = "ambiguous_date"
    if only_md.any():  # both orders occur in the column
        example_md, example_dm = candidates[only_md].iloc[0], candidates[only_dm].iloc[0]
        detail[rows] = (
            f'is in {label}, which has both month/day ("{example_md}") '
            f'and day/month ("{example_dm}") dates'
        )
    else:
        example_md = candidates[rows].iloc[0]
        detail[rows] = (
            "could be " + _month_day(month_first[rows]) + " or " + _month_day(day_first[rows])
        ) + f"; {label} has no date that settles day/month order"
    md_format = MONTH_FIRST[shape[candidates == example_md].iloc[0]]
    dm_format = md_format.replace("%m/%d", "%d/%m")
    detail[rows] += (
        f'; add format: "{md_format}" (month first) or "{dm_format}" (day first) '
        "under date_time in the mapping"
    )
    return month_first.where(same), code, detail


def _month_day(when: pd.Series) -> pd.Series:
    return when.dt.month_name() + " " + when.dt.day.astype(str)


def _slash_shapes(values: pd.Series) -> pd.Series:
    """Which of the MONTH_FIRST / DAY_FIRST formats fits each cell's shape (-1: none).

    Both orders share the shapes, so each cell is parsed once per order, not once per format.
    """
    parts = values.str.extract(_SLASH_SHAPE)
    year = parts["year"].str.len().eq(2).astype(int)
    seconds = parts["seconds"].notna().astype(int)
    ampm = parts["ampm"].notna()
    glued = ampm & parts["gap"].eq("")
    time = seconds + np.where(ampm, np.where(glued, 4, 2), 0)
    return (year * len(_TIMES) + time).where(parts["year"].notna(), -1).astype(int)


def _parse_by_shape(values: pd.Series, shape: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    result = _nat_wall(values.index)
    for position in shape.unique():
        cells = values[shape == position]
        result = result.fillna(
            _to_wall(pd.to_datetime(cells, format=formats[position], errors="coerce"))
        )
    return result


def _coalesce(values: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    """Each cell read by the first format that fits it; NaT where none does."""
    result = _nat_wall(values.index)
    for fmt in formats:
        todo = values[result.isna()]
        if todo.empty:
            break
        result = result.fillna(_to_wall(pd.to_datetime(todo, format=fmt, errors="coerce")))
    return result


def _localize(wall: pd.Series, zone: ZoneInfo) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Wall-clock times in `zone` as UTC instants.

    A time the clocks skip (spring forward) is an error; a time that happens twice (fall
    back) is read as its first occurrence, still on daylight time, with a warning.
    """
    first = wall.dt.tz_localize(zone, ambiguous=np.ones(len(wall), bool), nonexistent="NaT")
    second = wall.dt.tz_localize(zone, ambiguous=np.zeros(len(wall), bool), nonexistent="NaT")
    code = pd.Series(np.where(wall.notna() & first.isna(), "nonexistent_time", ""), wall.index)
    twice = first.notna() & (first != second)
    warning = pd.Series("", index=wall.index, dtype=object)
    if twice.any():
        utc_text = first[twice].dt.tz_convert("UTC").dt.strftime("%H:%M UTC")
        warning[twice] = f"happens twice in {zone.key} (clocks go back); read as the first, " + (
            utc_text
        )
    return _to_aware(first.dt.tz_convert("UTC")), code, warning


def _to_wall(series: pd.Series) -> pd.Series:
    return series.astype("datetime64[us]")


def _to_aware(series: pd.Series) -> pd.Series:
    return series.astype("datetime64[us, UTC]")


def _render(when: pd.Series, date_format: str | None) -> pd.Series:
    when = when.dt.floor("s")
    if date_format == "U":
        seconds = (when - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
        text = seconds.astype("Int64").astype(str)
    else:
        text = when.dt.strftime(UTC_FORMAT)
    return text.where(when.notna(), "").astype(object)


def _date_problems(cells: pd.Series, parsed: _Parsed, zone: ZoneInfo) -> list[Problem]:
    field = _label(DATE_TIME)
    problems = []
    for row in parsed.code[parsed.code != ""].index:
        text, code = cells[row], parsed.code[row]
        if parsed.detail[row]:  # ambiguous_date, or a date outside the years
            what = parsed.detail[row]
        elif code == "nonexistent_time":
            what = f"does not exist in {zone.key} (clocks skip that hour)"
        else:
            what = f"is not a date and time; accepted: {ACCEPTED_SHAPES}"
        problems.append(Problem.error(int(row), field, code, f'"{text}" {what}'))
    for row in parsed.warning[parsed.warning != ""].index:
        what = f'"{cells[row]}" {parsed.warning[row]}'
        problems.append(Problem.warning(int(row), field, "ambiguous_time", what))
    return problems


def _check_parts(out: pd.DataFrame, has: pd.Series) -> list[Problem]:
    """Required parts, whole numbers and the assigned user, on rows with a date_time only."""
    problems: list[Problem] = []
    for field in (APT_TYPE_ID, NAME, MINUTES):
        out[field] = _cells(out, field)
    for field in (APT_TYPE_ID, NAME):
        missing = has & (out[field] == "")
        problems += _problems(out, missing, field, "missing_appointment_field", _MISSING)
    out[MINUTES] = out[MINUTES].mask(has & (out[MINUTES] == ""), DEFAULT_MINUTES)
    for field in (APT_TYPE_ID, MINUTES):
        whole = _per_distinct(out[field], _whole_numbers)
        bad = has & (out[field] != "") & (whole == "")
        problems += _problems(out, bad, field, "invalid_integer", "is not a whole number above 0")
        out[field] = whole.where(whole != "", out[field])
    if ASSIGNED_USER in out.columns:
        email = _per_distinct(_cells(out, ASSIGNED_USER), _emails)
        bad = has & (out[ASSIGNED_USER].str.strip() != "") & (email == "")
        problems += _problems(out, bad, ASSIGNED_USER, "invalid_email", "is not an email address")
        out[ASSIGNED_USER] = email.where(~bad, out[ASSIGNED_USER])
    return problems


_MISSING = "is missing; a row with an appointment date_time needs apt_type_id and name"


def _whole_numbers(values: pd.Series) -> pd.Series:
    """ "12" -> "12", "12.0" -> "12", "012" -> "12"; "" for anything that is not above 0."""
    whole = values.str.replace(r"\.0*$", "", regex=True).str.lstrip("0")
    return whole.where(values.str.fullmatch(_WHOLE_NUMBER) & fits_int64(whole), "")


def _emails(values: pd.Series) -> pd.Series:
    lowered = values.str.lower()
    return lowered.where(is_email(lowered), "")


def _per_distinct(cells: pd.Series, func) -> pd.Series:
    """Apply a vectorised text function once per distinct value (columns repeat a lot)."""
    codes, distinct = pd.factorize(cells)
    result = func(pd.Series(distinct, dtype=object)).to_numpy(dtype=object)
    return pd.Series(result[codes], index=cells.index, dtype=object)


def _cells(out: pd.DataFrame, field: str) -> pd.Series:
    if field not in out.columns:
        return pd.Series("", index=out.index, dtype=object)
    return _per_distinct(out[field].fillna("").astype(str), lambda v: v.str.strip())


def _problems(out: pd.DataFrame, rows: pd.Series, field: str, code: str, what: str):
    label = _label(field)
    if code == "missing_appointment_field":
        return [Problem.error(int(r), label, code, what) for r in rows[rows].index]
    return [
        Problem.error(int(r), label, code, f'"{out.at[r, field]}" {what}') for r in rows[rows].index
    ]


def _label(name: str) -> str:
    return FieldRef.appointment(name).label
