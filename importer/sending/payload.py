"""Turn one normalized lead record into the Leads API JSON body; no validation, no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from importer.records import FieldRef, Part

# Fields the API wants as JSON integers; every other value is sent as text (zip and mobile
# stay strings so leading zeros survive).
INTEGER_FIELDS = frozenset(
    {
        FieldRef.lead("createDeal"),
        FieldRef.lead("calendar_id"),
        FieldRef.appointment("apt_type_id"),
        FieldRef.appointment("minutes"),
    }
)
BOOLEAN_FIELDS = frozenset({FieldRef.lead("ignore_validation")})
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "t", "on"})
DATE_TIME = FieldRef.appointment("date_time")


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
    """Where one value goes: the field it fills and how its text is converted."""

    position: int
    ref: FieldRef
    convert: Callable[[str], object]


def _slot_for(position: int, ref: FieldRef) -> _Slot:
    if ref in INTEGER_FIELDS:
        return _Slot(position, ref, to_integer)
    if ref in BOOLEAN_FIELDS:
        return _Slot(position, ref, to_flag)
    return _Slot(position, ref, _keep_text)


class PayloadBuilder:
    """Builds bodies for rows that share one field layout; the per-field work is done once.

    `refs` names the value at each position (`LeadRecords.refs()`, the order of
    `LeadRecords.table()`). The appointment is sent only when the row has a date_time
    (constants such as its name alone do not make one); a survey file only when one of its
    values is non-empty; `survey_data` only when at least one file is left.
    """

    def __init__(self, refs: Sequence[FieldRef]) -> None:
        self.refs = tuple(refs)
        slots = [_slot_for(i, ref) for i, ref in enumerate(self.refs)]
        self._lead = [s for s in slots if s.ref.part is Part.LEAD]
        self._appointment = [s for s in slots if s.ref.part is Part.APPOINTMENT]
        self._files: dict[int, list[_Slot]] = {}
        for slot in slots:
            if slot.ref.part is Part.FILE:
                self._files.setdefault(slot.ref.index, []).append(slot)
        self._date_time = self.refs.index(DATE_TIME) if DATE_TIME in self.refs else None

    def build_values(
        self, values: Sequence[str], files: Sequence[Mapping[str, str]] | None = None
    ) -> dict:
        """The body for a row given as values in `refs` order (the fast path).

        `files`, when given, replaces the row's survey files (e.g. with photos inlined).
        """
        payload: dict = {"lead": _section(self._lead, values)}
        if self._date_time is not None and values[self._date_time]:
            payload["appointment"] = _section(self._appointment, values)
        entries = [
            {name: text for name, text in entry.items() if text}
            for entry in (self.files_of(values) if files is None else files)
        ]
        entries = [entry for entry in entries if entry]
        if entries:
            payload["survey_data"] = {"files": entries}
        return payload

    def files_of(self, values: Sequence[str]) -> list[dict[str, str]]:
        """The row's survey files as text, one dict per file in index order."""
        return [
            {slot.ref.name: values[slot.position] for slot in self._files[i]}
            for i in sorted(self._files)
        ]


def _section(slots: list[_Slot], values: Sequence[str]) -> dict:
    return {s.ref.name: s.convert(values[s.position]) for s in slots if values[s.position]}


def fingerprint(payload: dict) -> str:
    """A short SHA-256 of a body as built from the sheet (photo paths, not their bytes):
    the same row sends the same fingerprint, a row whose values changed another one."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def build_payload(
    lead: Mapping[str, str],
    appointment: Mapping[str, str] | None = None,
    files: Sequence[Mapping[str, str]] = (),
) -> dict:
    """{"lead": {...}} plus "appointment" / "survey_data" when the row has them; "" left out.

    Integers for createDeal, calendar_id, appointment apt_type_id and minutes;
    ignore_validation as 1/0.
    """
    refs = [FieldRef.lead(name) for name in lead]
    refs += [FieldRef.appointment(name) for name in appointment or {}]
    for i, entry in enumerate(files):
        refs += [FieldRef.file(i, name) for name in entry]
    values = [*lead.values(), *(appointment or {}).values()]
    values += [text for entry in files for text in entry.values()]
    return PayloadBuilder(refs).build_values(values)
