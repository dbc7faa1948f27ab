"""Notes the reader makes about single cells, and the row problems they become; reads no file."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from importer.models import Problem

# A cell with one of these notes reads as empty although the sheet shows something there.
FORMULA_WITHOUT_VALUE = "formula_without_value"
ERROR_VALUE = "error_value"
# A CSV cell running over several lines, alone in its file: maybe a stray quote.
SPANS_LINES = "spans_lines"
READS_EMPTY = frozenset({FORMULA_WITHOUT_VALUE, ERROR_VALUE})
# Without these the lead cannot be placed or matched: a note on them is an error when the
# row ends up without the field.
ADDRESS_FIELDS = frozenset({"fullAddress", "address", "city", "state", "zip"})
RECORD_ID = "integration_record_id"


@dataclass(frozen=True)
class CellNote:
    """Something about one cell that its text does not show.

    `row` is the spreadsheet row number as Excel shows it, `column` the column's header,
    `code` one of formula_without_value, error_value, spans_lines; `message` says what
    happened to the cell in the user's coordinates (cell reference included).
    """

    row: int
    column: str
    code: str
    message: str


def formula_note(row: int, column: str, ref: str) -> CellNote:
    return CellNote(
        row,
        column,
        FORMULA_WITHOUT_VALUE,
        f"cell {ref} holds a formula with no saved result (the file was saved by a program "
        "that does not calculate), so it reads as empty; open and save the file in Excel",
    )


def error_note(row: int, column: str, ref: str, error: str) -> CellNote:
    return CellNote(
        row, column, ERROR_VALUE, f"cell {ref} holds the error {error}, so it reads as empty"
    )


def cell_note_problems(
    notes: Iterable[CellNote],
    field_columns: Mapping[str, Iterable[str]],
    leads: pd.DataFrame,
) -> list[Problem]:
    """One Problem per note and lead field mapped from the note's column.

    A warning, except for a cell that reads as empty behind `integration_record_id`, or
    behind an address part (fullAddress, address, city, state, zip) that the row then
    lacks in `leads` (normalized lead fields indexed by spreadsheet row): an error, since
    the lead would be sent without it. Notes on columns no field uses are dropped.
    """
    fields_of: dict[str, list[str]] = {}
    for name, columns in field_columns.items():
        for column in columns:
            fields_of.setdefault(column, []).append(name)
    problems = []
    for note in notes:
        for name in fields_of.get(note.column, ()):
            is_error = note.code in READS_EMPTY and (
                name == RECORD_ID or (name in ADDRESS_FIELDS and _lacks(leads, note.row, name))
            )
            message = f'{name}: column "{note.column}": {note.message}'
            problems.append(Problem(note.row, name, note.code, message, is_error))
    return problems


def _lacks(leads: pd.DataFrame, row: int, name: str) -> bool:
    if name not in leads.columns or row not in leads.index:
        return True
    value = leads.at[row, name]
    return value is None or value != value or not str(value).strip()
