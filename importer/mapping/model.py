"""The column mapping: its types, field names and the column check; mapping_file.py reads YAML."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from importer.errors import MappingError
from importer.records import FieldRef
from importer.syntax import compact

LEAD_FIELDS = (
    "integration_record_id", "first_name", "last_name", "full_name", "fullAddress", "address",
    "city", "state", "zip", "email", "mobile", "creator", "assign_to_email", "setter_email",
    "lead_status", "browser_redirect", "calendar", "calendar_id", "createDeal", "office_name",
    "add_note", "ignore_validation", "lead_source", "office_match",
)  # fmt: skip
# Fields under `lead:` that are checked and never sent: they hold a rule's input.
CHECK_FIELDS = ("country",)
APPOINTMENT_FIELDS = ("apt_type_id", "date_time", "name", "minutes", "assigned_user")
APPOINTMENT_REQUIRED = ("apt_type_id", "date_time", "name")
SURVEY_FILE_FIELDS = ("name", "data", "type")
TOP_KEYS = ("version", "source", "lead", "appointment", "survey_data", "options")
SOURCE_KEYS = ("sheet", "header_row")
OPTION_KEYS = ("on_duplicate",)
SOURCE_KINDS = ("column", "value", "template", "hash")
# What a spreadsheet shows for a formula that failed; such a cell is read as empty (with a
# warning). "NA", "N/A" and "None" are text and stay.
SPREADSHEET_ERRORS = frozenset(
    {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!"}
)
ON_DUPLICATE = ("reject", "last")
_TEMPLATE_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class FieldSource:
    """Where one output field's value comes from; exactly one of column/value/template/hash/file.

    A column source may name fallbacks (`{column: [Mobile, Phone]}`: the first non-empty
    cell) and a value table (`map:`, pairs of cell -> value as the mapping typed them).
    """

    column: str | None = None
    value: str | None = None
    template: str | None = None
    hash: tuple[str, ...] = ()
    file: str | None = None
    default: str | None = None
    format: str | None = None
    fallbacks: tuple[str, ...] = ()
    value_map: tuple[tuple[str, str], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """Every source column this reads, in the order it names them."""
        if self.column is not None:
            return (self.column, *self.fallbacks)
        if self.file is not None:
            return (self.file,)
        if self.template is not None:
            return tuple(dict.fromkeys(parse_template(self.template)[1]))
        return self.hash


@dataclass
class ColumnMapping:
    path: Path | None
    text: str
    sheet: str | None
    header_row: int
    lead: dict[str, FieldSource]
    appointment: dict[str, FieldSource] = field(default_factory=dict)
    checks: dict[str, FieldSource] = field(default_factory=dict)  # under lead:, never sent
    appointment_timezone: str | None = None
    appointment_date_format: str | None = None
    survey_files: list[dict[str, FieldSource]] = field(default_factory=list)
    on_duplicate: str = "reject"
    warnings: list[str] = field(default_factory=list)
    origin: str = "mapping"  # how messages name the mapping: its path, or where its text came from

    def fields(self) -> list[tuple[FieldRef, FieldSource]]:
        """(field, source) in body order: the lead's, its checks, the appointment's, each
        survey file's."""
        fields = [(FieldRef.lead(name), src) for name, src in self.lead.items()]
        fields += [(FieldRef.check(name), src) for name, src in self.checks.items()]
        fields += [(FieldRef.appointment(name), src) for name, src in self.appointment.items()]
        for i, entry in enumerate(self.survey_files):
            fields += [(FieldRef.file(i, name), src) for name, src in entry.items()]
        return fields

    def field_columns(self) -> dict[str, tuple[str, ...]]:
        """A field's label -> the source columns it reads (for highlighting the cells at fault)."""
        return {ref.label: src.columns for ref, src in self.fields()}

    def file_entries(self) -> list[bool]:
        """Per survey file: True when its data is read from a file path ({file: Column})."""
        return [entry["data"].file is not None for entry in self.survey_files]


# ---------------------------------------------------------------- templates and names


def parse_template(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split "{Street}, {City}" into literals ("", ", ", "") and columns ("Street", "City").

    Raises ValueError (with the words to finish "template ... <why>") on a stray brace.
    """
    return _parse_template_cached(template)


@lru_cache(maxsize=256)
def _parse_template_cached(template: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    literals: list[str] = []
    columns: list[str] = []
    buffer: list[str] = []
    pos = 0
    for match in _TEMPLATE_TOKEN.finditer(template):
        buffer.append(template[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            buffer.append(token[0])
        elif match.group(1) is not None:
            if not match.group(1).strip():
                raise ValueError('has an empty "{}"')
            literals.append("".join(buffer))
            columns.append(match.group(1).strip())
            buffer = []
        else:
            raise ValueError(f'has an unmatched "{token}"')
    literals.append("".join(buffer) + template[pos:])
    if not columns:
        raise ValueError("names no column")
    return tuple(literals), tuple(columns)


# ---------------------------------------------------------------- columns


def check_columns(mapping: ColumnMapping, columns: list[str], where: str) -> None:
    """Raise MappingError for the first mapped column the sheet lacks (`where`: 'sheet "Leads"')."""
    present = set(columns)
    for ref, source in mapping.fields():
        for column in source.columns:
            if column not in present:
                raise MappingError(
                    f'{mapping.origin}: field "{ref.label}" maps from column "{column}", '
                    f"which is not in {where}",
                    hint=_columns_hint(column, columns),
                )


def _columns_hint(column: str, columns: list[str]) -> str:
    shown = ", ".join(columns[:40]) + (
        f", ... ({len(columns) - 40} more)" if len(columns) > 40 else ""
    )
    listing = f"the sheet's columns are: {shown}"
    near = [c for c in columns if compact(c) == compact(column)]
    near = near or difflib.get_close_matches(column, columns, n=1, cutoff=0.8)
    return f'did you mean "{near[0]}"? {listing}' if near else listing
