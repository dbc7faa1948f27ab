"""The lead record model: lead fields, an appointment and survey files per row; no rules here.

A mapped sheet is a `LeadRecords`: one frame of text cells per part of the request body
(the lead, the appointment, each survey file), all indexed by spreadsheet row. A field is
named by a `FieldRef` (its part, its name, its file number), never by a string to parse.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum

import pandas as pd

from importer.models import Problem


class Part(StrEnum):
    """Where a field goes in the request body."""

    LEAD = "lead"
    APPOINTMENT = "appointment"
    FILE = "file"  # one entry of survey_data.files
    CHECK = "check"  # checked before sending, never sent (country)


@dataclass(frozen=True)
class FieldRef:
    """One field of the request body: `FieldRef.lead("zip")`, `FieldRef.file(0, "data")`."""

    part: Part
    name: str
    index: int = 0  # the survey file's position in survey_data.files

    @classmethod
    def lead(cls, name: str) -> FieldRef:
        return cls(Part.LEAD, name)

    @classmethod
    def appointment(cls, name: str) -> FieldRef:
        return cls(Part.APPOINTMENT, name)

    @classmethod
    def file(cls, index: int, name: str) -> FieldRef:
        return cls(Part.FILE, name, index)

    @classmethod
    def check(cls, name: str) -> FieldRef:
        return cls(Part.CHECK, name)

    @property
    def label(self) -> str:
        """How messages name the field: `zip`, `appointment.date_time`,
        `survey_data.files[0].data`. Only ever shown, never parsed back."""
        if self.part in (Part.LEAD, Part.CHECK):
            return self.name
        if self.part is Part.APPOINTMENT:
            return f"appointment.{self.name}"
        return f"survey_data.files[{self.index}].{self.name}"

    def __str__(self) -> str:
        return self.label


RECORD_ID = FieldRef.lead("integration_record_id")


@dataclass
class LeadRecords:
    """Every row's lead, appointment and survey files as text ("" = empty), by spreadsheet row.

    `appointment` has no columns when the mapping has no appointment; `files` holds one
    frame (columns name, data, type) per survey file the mapping lists. `checks` holds
    the check-only fields (country): validated, never part of the request body, so
    `frames()`, `refs()` and `table()` leave them out. `problems` are what mapping the
    cells found per row (a value its map lacks, a spreadsheet error value).
    """

    lead: pd.DataFrame
    appointment: pd.DataFrame
    files: list[pd.DataFrame] = field(default_factory=list)
    checks: pd.DataFrame = field(default_factory=pd.DataFrame)
    problems: list[Problem] = field(default_factory=list)

    @property
    def index(self) -> pd.Index:
        return self.lead.index

    @property
    def record_ids(self) -> pd.Series:
        """The integration_record_id each row sends (or would send)."""
        return self.lead[RECORD_ID.name]

    def __len__(self) -> int:
        return len(self.lead)

    def frames(self) -> Iterator[tuple[Part, int, pd.DataFrame]]:
        """(part, file index, frame) for the lead, the appointment and each file: the parts
        of the request body (never the checks)."""
        yield Part.LEAD, 0, self.lead
        yield Part.APPOINTMENT, 0, self.appointment
        for i, frame in enumerate(self.files):
            yield Part.FILE, i, frame

    def refs(self) -> list[FieldRef]:
        """Every field present, in body order: lead, appointment, then each file's."""
        return [FieldRef(part, str(name), i) for part, i, frame in self.frames() for name in frame]

    def table(self, rows: list[int] | None = None) -> pd.DataFrame:
        """All parts side by side, columns in `refs()` order (labelled by position).

        The shape the send loop walks with itertuples: one values tuple per row.
        """
        parts = [frame if rows is None else frame.loc[rows] for _, _, frame in self.frames()]
        return pd.concat(parts, axis=1, ignore_index=True)

    def with_parts(self, **parts: object) -> LeadRecords:
        """A copy with some parts replaced: `records.with_parts(lead=normalized)`."""
        return replace(self, **parts)  # type: ignore[arg-type]
