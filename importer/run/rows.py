"""A sheet mapped and validated: the rows a run reports on and sends; sends nothing itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from importer.mapping.apply import apply_mapping
from importer.mapping.model import ColumnMapping
from importer.models import RESULT_COLUMNS, Problem, RowStatus
from importer.reading.notes import CellNote, cell_note_problems
from importer.reading.sheet import SourceSheet
from importer.records import LeadRecords
from importer.validation.appointment import normalize_appointments
from importer.validation.leads import validate_leads
from importer.validation.survey import check_survey_files


@dataclass
class PreparedRows:
    """Rows read, mapped and validated: what `validate` reports and `send` starts from."""

    rows: pd.DataFrame  # the source columns as read (what the results file repeats)
    mapping: ColumnMapping
    records: LeadRecords  # normalized, indexed by spreadsheet row
    problems: list[Problem]  # errors make a row invalid; add to it, never replace it
    files_dir: Path

    @property
    def record_ids(self) -> pd.Series:
        return self.records.record_ids

    @property
    def invalid(self) -> set[int]:
        """Rows with at least one error: derived from `problems`, so it cannot drift."""
        return {p.row for p in self.problems if p.is_error}

    @property
    def valid_rows(self) -> list[int]:
        invalid = self.invalid
        return [row for row in self.records.index if row not in invalid]

    def initial_results(self, status_for_valid: RowStatus) -> pd.DataFrame:
        """The import_* columns before anything is sent: valid (or pending) / invalid,
        messages, warnings and the record id."""
        index = self.records.index
        errors = _joined(self.problems, index, is_error=True)
        # One block of object cells, filled in place: a frame of "" columns assigned one by
        # one takes half a second for 1M rows.
        cells = np.full((len(RESULT_COLUMNS), len(index)), "", dtype=object)
        column = {name: cells[j] for j, name in enumerate(RESULT_COLUMNS)}
        column["import_status"][:] = str(status_for_valid)
        column["import_status"][errors.to_numpy() != ""] = str(RowStatus.INVALID)
        column["import_message"][:] = errors.to_numpy()
        column["import_warnings"][:] = _joined(self.problems, index, is_error=False).to_numpy()
        column["import_record_id"][:] = self.record_ids.to_numpy(dtype=object)
        return pd.DataFrame(
            cells.T, index=index, columns=list(RESULT_COLUMNS), dtype=object, copy=False
        )


def map_sheet(sheet: SourceSheet, mapping: ColumnMapping) -> LeadRecords:
    """The sheet's rows as lead records; MappingError when a mapped column is missing."""
    where = f'sheet "{sheet.sheet_name}"' if sheet.sheet_name else f"file {sheet.path.name}"
    return apply_mapping(sheet.frame, mapping, where)


def check_records(
    rows: pd.DataFrame,
    records: LeadRecords,
    mapping: ColumnMapping,
    files_dir: Path,
    cell_notes: Iterable[CellNote] = (),
) -> PreparedRows:
    """Normalize and check every part of every record (lead, appointment, survey files).

    `cell_notes` are the reader's findings about single cells (a formula without a saved
    value, an error value): each becomes a problem of the fields mapped from that column.
    The records' own problems (what mapping the cells found) come first.
    """
    leads = validate_leads(records.lead, on_duplicate=mapping.on_duplicate, checks=records.checks)
    date_time = mapping.appointment.get("date_time")
    appointment, apt_problems = normalize_appointments(
        records.appointment,
        mapping.appointment_timezone,
        mapping.appointment_date_format,
        date_time.format if date_time else None,
        date_time.column if date_time else None,
    )
    file_problems = check_survey_files(records.files, files_dir, mapping.file_entries())
    return PreparedRows(
        rows=rows,
        mapping=mapping,
        records=records.with_parts(lead=leads.leads, appointment=appointment),
        problems=[
            *records.problems,
            *leads.problems,
            *apt_problems,
            *file_problems,
            *cell_note_problems(cell_notes, mapping.field_columns(), leads.leads),
        ],
        files_dir=files_dir,
    )


def prepare_rows(sheet: SourceSheet, mapping: ColumnMapping, files_dir: Path) -> PreparedRows:
    """Map and check a sheet read from its source."""
    records = map_sheet(sheet, mapping)
    return check_records(sheet.frame, records, mapping, files_dir, sheet.cell_notes)


def _joined(problems: list[Problem], index: pd.Index, is_error: bool) -> pd.Series:
    per_row: dict[int, list[str]] = {}
    for problem in problems:
        if problem.is_error == is_error:
            per_row.setdefault(problem.row, []).append(problem.message)
    joined = pd.Series("", index=index, dtype=object)
    if per_row:
        joined.loc[list(per_row)] = ["; ".join(messages) for messages in per_row.values()]
    return joined
