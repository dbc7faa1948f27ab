"""Turn one normalized row (field -> text) into the Leads API JSON body; no validation, no I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Fields the API wants as JSON integers; every other value is sent as text (zip and mobile
# stay strings so leading zeros survive).
INTEGER_FIELDS = frozenset(
    {"createDeal", "calendar_id", "appointment.apt_type_id", "appointment.minutes"}
)
BOOLEAN_FIELDS = frozenset({"ignore_validation"})
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "t", "on"})

_SURVEY_FILE = re.compile(r"^survey_data\.files\[(\d+)\]\.(.+)$")
_APPOINTMENT = "appointment."


def to_integer(text: str) -> int | str:
    """ "5686" -> 5686, "60.0" -> 60; anything else is left as text for the API to judge."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else text


def to_flag(text: str) -> int:
    """The API's boolean (1/0): "1", "true", "yes" -> 1, anything else -> 0."""
    return 1 if text.strip().lower() in TRUE_WORDS else 0


def _keep_text(text: str) -> str:
    return text


@dataclass(frozen=True)
class _Slot:
    """Where one column's value goes: section ("lead", "appointment" or a survey file index)."""

    position: int
    section: str
    file_index: int
    key: str
    convert: Callable[[str], object]


def _slot_for(position: int, field: str) -> _Slot:
    if field in INTEGER_FIELDS:
        convert: Callable[[str], object] = to_integer
    elif field in BOOLEAN_FIELDS:
        convert = to_flag
    else:
        convert = _keep_text
    match = _SURVEY_FILE.match(field)
    if match:
        return _Slot(position, "survey", int(match.group(1)), match.group(2), convert)
    if field.startswith(_APPOINTMENT):
        return _Slot(position, "appointment", -1, field[len(_APPOINTMENT) :], convert)
    return _Slot(position, "lead", -1, field, convert)


class PayloadBuilder:
    """Builds payloads for rows that share one column list; the per-column work is done once.

    The appointment is sent only when the row has an `appointment.date_time` (constants such
    as the appointment name alone do not make an appointment); a survey file only when one of
    its values is non-empty; `survey_data` only when at least one file is left.
    """

    def __init__(self, columns: Iterable[str]) -> None:
        self.columns = tuple(columns)
        slots = [_slot_for(i, field) for i, field in enumerate(self.columns)]
        self._lead = [s for s in slots if s.section == "lead"]
        self._appointment = [s for s in slots if s.section == "appointment"]
        self._survey = [s for s in slots if s.section == "survey"]
        self._date_time = next(
            (s.position for s in self._appointment if s.key == "date_time"), None
        )

    def build(self, lead: dict[str, str]) -> dict:
        """The payload for a row given as field -> text (missing fields count as empty)."""
        return self.build_values([lead.get(field, "") for field in self.columns])

    def build_values(self, values: Sequence[str]) -> dict:
        """The payload for a row given as values in `columns` order (fastest path)."""
        payload: dict = {"lead": _section(self._lead, values)}
        if self._date_time is not None and values[self._date_time]:
            payload["appointment"] = _section(self._appointment, values)
        files = self._files(values)
        if files:
            payload["survey_data"] = {"files": files}
        return payload

    def _files(self, values: Sequence[str]) -> list[dict]:
        by_index: dict[int, dict] = {}
        for slot in self._survey:
            value = values[slot.position]
            if value:
                by_index.setdefault(slot.file_index, {})[slot.key] = slot.convert(value)
        return [by_index[i] for i in sorted(by_index)]


def _section(slots: list[_Slot], values: Sequence[str]) -> dict:
    return {s.key: s.convert(values[s.position]) for s in slots if values[s.position]}


@lru_cache(maxsize=32)
def _builder_for(columns: tuple[str, ...]) -> PayloadBuilder:
    return PayloadBuilder(columns)


def build_payload(lead: dict[str, str]) -> dict:
    """{"lead": {...}} plus "appointment" / "survey_data" when the row has them; "" left out.

    Field names follow apply_mapping: lead fields as named, `appointment.<name>`,
    `survey_data.files[<i>].<name|data|type>`. Integers for createDeal, calendar_id,
    appointment.apt_type_id and appointment.minutes; ignore_validation as 1/0.
    """
    return _builder_for(tuple(lead)).build(lead)
