"""The API page's rules for one lead request, written independently of the importer's own
validation; turns a request into columns to store or a dict of field errors. No I/O here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from importer.sandbox.address import parse_full_address, split_full_name
from importer.sandbox.geo import STATES, find_office, locate

# Seeded Enerflo users: creator / assign_to_email / setter_email / assigned_user match these.
USERS: dict[str, int] = {
    "api@enerflo.io": 456,
    "rep@enerflo.io": 314,
    "setter@enerflo.io": 315,
    "manager@enerflo.io": 316,
}
REDIRECTS = ("profile", "scheduling", "deal")
_TRUE = frozenset({"1", "true", "yes", "on", "y"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_ZIP = re.compile(r"^(\d{5})(?:-\d{4})?$")
_PASSED_THROUGH = ("lead_status", "lead_source", "office_match", "add_note", "calendar")


@dataclass
class CheckedLead:
    """A lead request after the rules: `errors` empty means `fields` can be stored."""

    record_id: str | None
    errors: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)  # lead table columns
    survey: list[dict[str, Any]] | None = None
    appointment: dict[str, Any] | None = None
    redirect: str | None = None  # profile | scheduling | deal


def check_lead(lead: dict[str, Any], survey_data: Any, appointment: Any) -> CheckedLead:
    """Apply the page's rules; ignore_validation skips the address and format rules only."""
    values = _texts(lead)
    checked = CheckedLead(record_id=values.get("integration_record_id"))
    if not checked.record_id:
        checked.errors["integration_record_id"] = "integration_record_id is required"
    strict = values.get("ignore_validation", "0").lower() not in _TRUE
    _fill_name(values, checked.fields)
    _fill_address(values, checked, strict)
    if strict:
        _check_contact(values, checked)
    _fill_people_and_place(values, checked.fields)
    _fill_integers(values, checked)
    checked.redirect = _check_redirect(values, checked)
    checked.appointment = _check_appointment(appointment, checked.errors)
    checked.survey = _check_survey(survey_data, checked.errors)
    for name in _PASSED_THROUGH:
        checked.fields[name] = values.get(name)
    checked.fields["ignore_validation"] = 0 if strict else 1
    return checked


def error_message(errors: dict[str, str]) -> str:
    return "Lead could not be saved: " + "; ".join(errors.values())


def _texts(lead: dict[str, Any]) -> dict[str, str]:
    """Every scalar as stripped text (84045.0 -> "84045", true -> "1"); empty ones dropped."""
    values: dict[str, str] = {}
    for key, value in lead.items():
        text = _text(value)
        if text:
            values[str(key)] = text
    return values


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _fill_name(values: dict[str, str], fields: dict[str, Any]) -> None:
    first, last = split_full_name(values.get("full_name", ""))
    fields["first_name"] = values.get("first_name") or first or None
    fields["last_name"] = values.get("last_name") or last or None


def _fill_address(values: dict[str, str], checked: CheckedLead, strict: bool) -> None:
    """fullAddress is broken into parts; address/city/state/zip sent as well win."""
    parts = parse_full_address(values["fullAddress"]) if "fullAddress" in values else None
    for name in ("address", "city", "state", "zip"):
        parsed = getattr(parts, name) if parts else None
        values.setdefault(name, parsed or "")
    if strict and parts is None:
        _require_address(values, checked.errors)
    if strict and parts is not None and not (values["state"] or values["zip"]):
        checked.errors["fullAddress"] = (
            f'fullAddress "{values["fullAddress"]}" could not be geocoded (no state or zip)'
        )
    state, zip_code = values["state"].upper(), values["zip"]
    if strict and state and state not in STATES:
        checked.errors["state"] = f'state "{values["state"]}" is not a 2-character state code'
    if strict and zip_code and not _ZIP.match(zip_code):
        checked.errors["zip"] = f'zip "{zip_code}" is not a 5 digit postal code'
    match = _ZIP.match(zip_code)
    checked.fields.update(
        address=values["address"] or None,
        city=values["city"] or None,
        state=state or None,
        zip=match.group(1) if match else (zip_code or None),
    )


def _require_address(values: dict[str, str], errors: dict[str, str]) -> None:
    needs = "is required when fullAddress is not sent"
    if not values["address"]:
        errors["address"] = f"address {needs}"
    if not values["state"]:
        errors["state"] = f"state {needs}"
    if not (values["city"] or values["zip"]):
        errors["city"] = f"city or zip {needs}"


def _check_contact(values: dict[str, str], checked: CheckedLead) -> None:
    email = values.get("email")
    if email and not _EMAIL.match(email):
        checked.errors["email"] = f'email "{email}" is not a valid email address'
    mobile = values.get("mobile")
    if mobile and not (mobile.isdigit() and len(mobile) == 10):
        checked.errors["mobile"] = (
            f'mobile "{mobile}" must be 10 digits, without country code or dashes'
        )


def _fill_people_and_place(values: dict[str, str], fields: dict[str, Any]) -> None:
    email = values.get("email")
    fields["email"] = email.lower() if email else None
    fields["mobile"] = values.get("mobile")
    fields["creator_id"] = _user_id(values.get("creator"))
    fields["agent_id"] = _user_id(values.get("assign_to_email"))
    fields["setter_id"] = _user_id(values.get("setter_email"))
    place = locate(fields["zip"] if _ZIP.match(fields["zip"] or "") else None, fields["state"])
    office = find_office(values.get("office_name"), place)
    fields["office_id"] = office.id if office else None
    fields["lat"] = f"{place.lat:.8f}" if place else None
    fields["lng"] = f"{place.lng:.8f}" if place else None
    fields["timezone"] = place.timezone if place else None


def _user_id(email: str | None) -> int | None:
    return USERS.get(email.strip().lower()) if email else None


_LARGEST = 2**63 - 1  # a SQLite INTEGER, and the integers the API's JSON decoder keeps


def _whole(text: str | None) -> int | None:
    """A whole number in ASCII digits that fits the store; None for anything else."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= _LARGEST else None


def _fill_integers(values: dict[str, str], checked: CheckedLead) -> None:
    for name, column in (("createDeal", "deal_template_id"), ("calendar_id", "calendar_id")):
        text = values.get(name)
        number = _whole(text)
        if text and number is None:
            checked.errors[name] = f'{name} "{text}" is not a whole number up to {_LARGEST}'
        checked.fields[column] = number


def _check_redirect(values: dict[str, str], checked: CheckedLead) -> str | None:
    redirect = values.get("browser_redirect", "").lower() or None
    if redirect is None:
        return None
    if redirect not in REDIRECTS:
        checked.errors["browser_redirect"] = (
            f'browser_redirect "{redirect}" is not one of {", ".join(REDIRECTS)}'
        )
    elif redirect == "scheduling" and not (values.get("calendar") or values.get("calendar_id")):
        checked.errors["browser_redirect"] = (
            "browser_redirect scheduling needs calendar or calendar_id"
        )
    elif redirect == "deal" and not values.get("createDeal"):
        checked.errors["browser_redirect"] = "browser_redirect deal needs createDeal"
    return redirect


def _check_appointment(appointment: Any, errors: dict[str, str]) -> dict[str, Any] | None:
    """apt_type_id, date_time and name together; the time is stored as UTC text."""
    if appointment in (None, {}, [], ""):
        return None
    if not isinstance(appointment, dict):
        errors["appointment"] = "appointment must be an object"
        return None
    values = {str(key).lower(): _text(value) for key, value in appointment.items()}
    values.setdefault("apt_type_id", values.get("appointment_type_id", ""))
    for name in ("apt_type_id", "date_time", "name"):
        if not values.get(name):
            errors[f"appointment.{name}"] = f"appointment.{name} is required"
    for name in ("apt_type_id", "minutes"):
        if values.get(name) and _whole(values[name]) is None:
            errors[f"appointment.{name}"] = (
                f'appointment.{name} "{values[name]}" is not a whole number up to {_LARGEST}'
            )
    when = _appointment_time(values, errors)
    minutes = _whole(values.get("minutes"))
    assigned = values.get("assigned_user") or None
    return {
        "apt_type_id": _whole(values["apt_type_id"]),
        "name": values.get("name") or None,
        "date_time": when,
        "minutes": 60 if minutes is None else minutes,
        "assigned_user": assigned,
        "assigned_user_id": _user_id(assigned),
    }


def _appointment_time(values: dict[str, str], errors: dict[str, str]) -> str | None:
    text = values.get("date_time", "")
    if not text:
        return None
    try:
        if values.get("date_format") == "U":
            moment = datetime.fromtimestamp(int(text), UTC)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=_zone(values.get("timezone", "")))
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError, ZoneInfoNotFoundError):
        errors["appointment.date_time"] = (
            f'appointment.date_time "{text}" is not a date and time (yyyy-mm-dd hh:mm:ss)'
        )
        return None
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _zone(name: str) -> Any:
    if not name or name.lower() == "utc":
        return UTC
    return ZoneInfo(name)


def _check_survey(survey_data: Any, errors: dict[str, str]) -> list[dict[str, Any]] | None:
    """Each file needs name, data (base64, checked by decoding) and type; data is not kept."""
    if survey_data in (None, {}, [], ""):
        return None
    files = survey_data.get("files") if isinstance(survey_data, dict) else None
    if not isinstance(files, list):
        errors["survey_data.files"] = "survey_data.files must be a list of files"
        return None
    stored = []
    for index, item in enumerate(files):
        where = f"survey_data.files[{index}]"
        item = item if isinstance(item, dict) else {}
        for name in ("name", "data", "type"):
            if not _text(item.get(name)):
                errors[f"{where}.{name}"] = f"{where}.{name} is required"
        content = _decode(_text(item.get("data")))
        if content is None and _text(item.get("data")):
            errors[f"{where}.data"] = f"{where}.data is not valid base64"
        stored.append(
            {
                "name": _text(item.get("name")),
                "type": _text(item.get("type")),
                "bytes": len(content or b""),
                "sha256": hashlib.sha256(content).hexdigest() if content else None,
            }
        )
    return stored


def _decode(data: str) -> bytes | None:
    try:
        return base64.b64decode("".join(data.split()), validate=True) or None
    except (binascii.Error, ValueError):
        return None
