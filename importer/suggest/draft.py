"""Suggest a starting mapping YAML from a sheet's headers and cells; it never sends or validates."""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

import pandas as pd

from importer.errors import MappingError, OutputError
from importer.mapping.model import LEAD_FIELDS
from importer.suggest.columns import (
    ColumnProfile,
    describe,
    header_words,
    looks_like_full_address,
    looks_like_image_file,
    looks_like_json,
    looks_like_url,
    percent,
    profile_columns,
    rows_text,
)
from importer.suggest.fields import (
    LOW_FILL,
    NAME_FIELDS,
    SNIFFERS,
    Choice,
    Held,
    Suggestion,
    family_of,
    match_headers,
)
from importer.suggest.record_id import choose_record_id, is_id_header
from importer.suggest.words import (
    APPOINTMENT_WORDS,
    BUSINESS_HEADERS,
    BUSINESS_WORDS,
    PHOTO_WORDS,
)
from importer.syntax import compact, looks_like_email
from importer.validation.appointment import normalize_appointments

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 _./()+-]*")
_YAML_WORDS = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"}


# ---------------------------------------------------------------- cells


def _sniff_cells(s: Suggestion) -> None:
    for column in s.columns:
        profile = s.profiles[column]
        # An id or a country column may hold what looks like a phone or a state ("CA").
        skip = is_id_header(column) or "country" in header_words(column)
        if s.used(column) or profile.empty or skip:
            continue
        for name, kind, test in SNIFFERS:
            if name not in s.placed and profile.share(test) >= 0.8:
                reason = f"cells look like {kind}"
                if profile.fill < LOW_FILL:
                    reason += f"; filled on {percent(profile.fill)} of rows"
                s.placed[name] = Choice(column, reason)
                break


def _settle_address(s: Suggestion) -> None:
    """A lone "Address" column with no city, state or zip beside it is a full address."""
    street = s.placed.get("address")
    if street is None or "fullAddress" in s.placed:
        return
    if s.profiles[street.column].share(looks_like_full_address) >= 0.8:
        s.placed["fullAddress"] = Choice(street.column, "cells look like full addresses")
    elif not any(name in s.placed for name in ("city", "state", "zip")):
        reason = f'matched header "{street.column}"; no city, state or zip column beside it'
        s.placed["fullAddress"] = Choice(street.column, reason)
    else:
        return
    del s.placed["address"]


def _business_columns(s: Suggestion) -> list[str]:
    def rank(column: str) -> int:
        key = compact(column)
        return BUSINESS_HEADERS.index(key) if key in BUSINESS_HEADERS else len(BUSINESS_HEADERS)

    def is_business(column: str) -> bool:
        words = header_words(column)
        named = len(words) > 1 and words[-1] == "name" and words[0] in BUSINESS_WORDS
        return compact(column) in BUSINESS_HEADERS or named

    found = [c for c in s.columns if is_business(c) and not s.used(c)]
    return sorted(found, key=lambda c: (rank(c), -s.fill(c), s.columns.index(c)))


def _name_business(s: Suggestion) -> None:
    """With no person's name, a business's name (Facility Name, title) names the lead."""
    people = [s.placed[n].column for n in NAME_FIELDS if n in s.placed]
    for column in _business_columns(s):
        if s.has_rows and not _looks_like_names(s.profiles[column]):
            continue
        if not people:
            s.placed["full_name"] = Choice(column, "a business name: the lead's name in Enerflo")
            people = [column]
        elif compact(column) != "title":  # in a list of people, a title is a job title
            s.note(column, f"a business name; the lead is named by {', '.join(people)}")


def _looks_like_names(profile: ColumnProfile) -> bool:
    """Words, mostly different from row to row: not codes, numbers, links or data."""
    return (
        len(profile.distinct) > len(profile.filled) / 2
        and profile.share(lambda c: sum(ch.isalpha() for ch in c) >= 2) >= 0.8
        and profile.share(looks_like_url) < 0.5
        and profile.share(looks_like_json) < 0.5
        and profile.share(looks_like_email) < 0.5
    )


def _record_id(s: Suggestion) -> None:
    placed = {name: choice.column for name, choice in s.placed.items()}
    taken = [c for c in s.columns if s.used(c)]
    s.record_id = choose_record_id(s.columns, s.profiles, placed, taken, s.has_rows)
    for column, why in s.record_id.notes.items():
        s.note(column, why)


def _date_time_share(profile: ColumnProfile) -> float:
    """Of the filled cells, the part validation would read as a date and time."""
    if not profile.filled:
        return 0.0
    frame = pd.DataFrame({"date_time": profile.filled})
    _out, problems = normalize_appointments(frame, None, None)
    unread = {p.row for p in problems if p.code == "invalid_date_time"}
    return 1 - len(unread) / len(profile.filled)


def _find_appointment(s: Suggestion) -> None:
    """A column named for an appointment whose cells are dates with times."""
    named = [
        c for c in s.columns
        if APPOINTMENT_WORDS & set(header_words(c)) and not s.used(c) and s.profiles[c].filled
    ]  # fmt: skip
    for column in sorted(named, key=lambda c: -s.fill(c)):
        if _date_time_share(s.profiles[column]) >= 0.8:
            s.appointment = column
            return
        s.note(column, "the header suggests an appointment, but the cells are not date-times")


def _find_photos(s: Suggestion) -> None:
    """Columns of picture file names become survey files; picture web addresses cannot."""
    for column in s.columns:
        profile = s.profiles[column]
        if s.used(column) or profile.empty:
            continue
        if profile.share(looks_like_image_file) >= 0.8:
            s.photos.append(column)
        elif PHOTO_WORDS & set(header_words(column)) and profile.share(looks_like_url) >= 0.8:
            s.note(column, "web addresses of pictures; a survey file must be a file on disk")


def _find_country(s: Suggestion) -> None:
    """Suggest the coming country check (a comment: this version lacks it)."""
    found = [
        c for c in s.columns
        if header_words(c)[-1:] == ["country"] and not s.used(c) and s.profiles[c].filled
    ]  # fmt: skip
    found.sort(key=lambda c: (family_of(c) != s.family, -s.fill(c)))
    if found or (not s.has_rows and any(compact(c) == "country" for c in s.columns)):
        column = found[0] if found else next(c for c in s.columns if compact(c) == "country")
        why = "a check, not a field: rows outside the US invalid; coming in a later version"
        s.held.append(Held("country", column, why, wrapped=True))
        s.note(column, "see the commented country line")
        for other in found[1:]:
            s.note(other, f'country is suggested from "{column}"')


def _explain_the_rest(s: Suggestion) -> None:
    """Every column not placed gets one short reason."""
    placed_kinds = {name: c.column for name, c in s.placed.items()}
    for column in s.columns:
        if s.used(column) or column in s.notes:
            continue
        profile = s.profiles[column]
        if not s.has_rows:
            s.note(column, "no rows to judge its cells by")
            continue
        kind = next(
            (name for name, _k, test in SNIFFERS
             if name in placed_kinds and profile.filled and profile.share(test) >= 0.8),
            None,
        )  # fmt: skip
        what = describe(profile)
        if kind:
            s.note(column, f'{what}; {kind} is mapped from "{placed_kinds[kind]}"')
        else:
            s.note(column, what if profile.empty else f"not an Enerflo field: {what}")


# ---------------------------------------------------------------- YAML


def _hidden(ch: str) -> bool:
    """A character a YAML reader may take as a line break (\\r, U+0085, U+2028, U+2029),
    or one a reviewer cannot see: controls, format and separator characters but the space."""
    return ch != " " and unicodedata.category(ch)[0] in "CZ"


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _flat(text: str) -> str:
    """Comment-safe text: ASCII controls (tab, line feed...) become spaces and every other
    hidden character shows as \\uXXXX, so none ends the comment (a header
    "Campaign<U+2028>  assign_to_email: ..." must stay one comment line)."""
    return "".join(
        " " if ch < " " or ch == "\x7f" else _escape(ch) if _hidden(ch) else ch for ch in text
    )


def _quote(text: str) -> str:
    """YAML scalar for `text`: plain when safe, else double-quoted with every hidden
    character escaped (YAML reads \\uXXXX and \\UXXXXXXXX back to the same character)."""
    if _PLAIN.fullmatch(text) and text == text.strip() and text.lower() not in _YAML_WORDS:
        return text
    body = "".join(_escape(ch) if _hidden(ch) else "\\" + ch if ch in '"\\' else ch for ch in text)
    return f'"{body}"'


def _render(s: Suggestion, sheet: str | None, header_row: int, source_name: str | None) -> str:
    origin = f" from {source_name}" if source_name else ""
    lines = [
        f"# Suggested by enerflo-import suggest-mapping{_flat(origin)}.",
        "# Review every line before sending: the comments say why each column was chosen.",
        "version: 1",
    ]
    if sheet is not None or header_row != 1:
        lines.append("source:")
        lines += [f"  sheet: {_quote(sheet)}"] if sheet is not None else []
        lines += [f"  header_row: {header_row}"] if header_row != 1 else []
    blocks: list[_Block] = [("lead:", "", _lead_entries(s))]
    if s.appointment is not None:
        blocks.append(_appointment_block(s.appointment, s.profiles[s.appointment]))
    if s.photos:
        blocks.append(_survey_block(s.photos))
    width = max(len(text) for _h, _c, entries in blocks for text, _why in entries) + 2
    for head, comment, entries in blocks:
        lines += [_commented(head, comment, width)]
        lines += [_commented(text, why, width) for text, why in entries]
    unplaced = [c for c in s.columns if not s.mapped(c)]
    if unplaced:
        lines += ["", "# Columns not placed (add them under lead: if they matter):"]
        lines += [
            f"#   {_flat(c)}" + (f": {_flat(s.notes[c])}" if c in s.notes else "") for c in unplaced
        ]
    return "\n".join(lines) + "\n"


def _commented(text: str, why: str, width: int) -> str:
    return f"{text:<{width}}# {_flat(why)}" if why else text


def _lead_entries(s: Suggestion) -> list[tuple[str, str]]:
    """(line, comment) under lead:, in the API's field order; commented suggestions last."""
    entries = [(name, _quote(c.column), _with_fallback(c)) for name, c in s.placed.items()]
    if s.record_id is not None:
        rid = s.record_id
        value = _quote(rid.column) if rid.column else _hash(rid.hash)
        entries.append(("integration_record_id", value, rid.reason))
    entries.sort(key=lambda entry: LEAD_FIELDS.index(entry[0]))
    held = sorted(s.held, key=lambda h: _field_order(h.field))
    return [(f"  {name}: {value}", why) for name, value, why in entries] + [
        (f"  # {h.field}: {_column_value(h.column, h.wrapped)}", h.reason) for h in held
    ]


def _hash(columns: tuple[str, ...]) -> str:
    return f"{{hash: [{', '.join(map(_quote, columns))}]}}"


def _column_value(column: str, wrapped: bool) -> str:
    return f"{{column: {_quote(column)}}}" if wrapped else _quote(column)


def _with_fallback(choice: Choice) -> str:
    """The reason, plus a suggested fallback when other columns fill rows this one leaves empty
    (a comment: `{column: [A, B]}` is not in this version of the mapping format)."""
    if not choice.also:
        return choice.reason
    listed = ", ".join(_quote(c) for c in (choice.column, *choice.also))
    return (
        f"{choice.reason}; also filled: {', '.join(choice.also)}; consider {{column: [{listed}]}}"
    )


def _field_order(name: str) -> int:
    return LEAD_FIELDS.index(name) if name in LEAD_FIELDS else len(LEAD_FIELDS)


_Block = tuple[str, str, list[tuple[str, str]]]  # (head line, its comment, (line, comment)...)


def _appointment_block(column: str, profile: ColumnProfile) -> _Block:
    # The placeholder type id is not a number on purpose: until someone sets it, every row
    # with an appointment is invalid, so no appointment of a made-up type reaches a calendar.
    checked = f"{rows_text(profile)} checked".replace("all ", "")
    entries = [
        ("  apt_type_id: {value: SET ME}",
         "placeholder: your Enerflo appointment type id; rows with a date are invalid until set"),
        (f"  date_time: {_quote(column)}", f'"{column}" holds dates with times ({checked})'),
        ("  name: {value: Solar Consultation}", "placeholder: the name Enerflo shows; set yours"),
        ("  # timezone: America/Denver", "times without an offset are read as UTC unless set"),
    ]  # fmt: skip
    return ("appointment:", "set apt_type_id, name and timezone before sending", entries)


def _survey_block(columns: list[str]) -> _Block:
    entries = [("  files:", "")]
    for column in columns:
        quoted = _quote(column)
        entries += [
            (f"    - name: {{column: {quoted}}}", f'"{column}" holds picture files'),
            (f"      data: {{file: {quoted}}}", "read from that file, beside the sheet"),
            ("      type: {value: img_exterior_house}",
             "placeholder: the survey question the picture answers"),
        ]  # fmt: skip
    return ("survey_data:", "Enerflo keeps survey files only with createDeal", entries)


def suggest_mapping(
    sheet_columns: list[str],
    frame: pd.DataFrame,
    sheet_name: str | None = None,
    header_row: int = 1,
    source_name: str | None = None,
) -> str:
    """Mapping YAML (with comments) that parses and fits the sheet as it stands.

    Judged on up to a few hundred rows spread over the sheet: headers are matched first
    (case, spacing, punctuation, common variants and typos ignored), the fullest of rival
    columns and address blocks wins, and a column empty on every sampled row is never mapped.
    Unplaced columns are then judged by their cells. The record id is an id column when one
    is unique and filled, else a hash of columns that tell the rows apart. Other CRMs'
    statuses, sources, owners and offices stay commented. Every unplaced column gets a reason.
    `sheet_name` and `header_row` go under `source:` (left out for a CSV's None and row 1).
    """
    columns = [c for c in sheet_columns if c.strip()]  # a blank name maps nothing
    s = Suggestion(columns, profile_columns(frame, columns))
    match_headers(s)
    _sniff_cells(s)
    _settle_address(s)
    _name_business(s)
    _find_appointment(s)
    _find_photos(s)
    _record_id(s)
    _find_country(s)
    _explain_the_rest(s)
    return _render(s, sheet_name, header_row, source_name)


def write_suggestion(text: str, path: Path, force: bool = False) -> None:
    """Write the mapping; refuses (MappingError) to replace an existing file unless `force`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if force:
            _replace(path, text)
        else:
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
    except FileExistsError as exc:
        raise MappingError(
            f"{path}: exists; use --force to overwrite it",
            hint="or write the suggestion somewhere else with -o",
        ) from exc
    except OSError as exc:
        raise OutputError(f"{path}: cannot write the mapping ({exc.strerror or exc})") from exc


def _replace(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
