"""Group a run's row problems by kind, for the summary line and the Summary sheet; no I/O.

One grouping for both, so the CLI and the workbook always count the same way. Validation
problems group by their code; rows the API rejected or that failed group by the message
with the row's own details taken out (quoted values, numbers), so 300 rejections for bad
zips make one line, not 300.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from importer.models import Problem, RowStatus

_QUOTED = re.compile(r'"[^"]*"|\'[^\']*\'|“[^”]*”')
_NUMBER = re.compile(r"\b\d[\d.,:-]*\b")
_EMAIL = re.compile(r"\b[^\s@]+@[^\s@]+\b")
_SENT_BADLY = (str(RowStatus.REJECTED), str(RowStatus.FAILED))


@dataclass(frozen=True)
class ProblemGroup:
    """Rows sharing one kind of problem: a code, or an API message with details taken out."""

    kind: str
    is_error: bool
    rows: int
    example_row: int  # spreadsheet row of the first such row
    example: str  # that row's full message


def message_kind(message: str) -> str:
    """An API message without the row's details: `zip "8404" is bad` -> `zip "…" is bad`."""
    text = _QUOTED.sub('"…"', message)
    text = _EMAIL.sub("…@…", text)
    return _NUMBER.sub("N", text).strip() or "no message"


def group_problems(problems: list[Problem], results: pd.DataFrame) -> list[ProblemGroup]:
    """Every kind of problem: errors (validation codes and API answers), then warnings,
    each most rows first.

    A row counts once per kind. `results` holds the import_* columns, indexed by row.
    """
    groups: dict[tuple[str, bool], list] = {}
    for problem in problems:
        entry = groups.setdefault((problem.code, problem.is_error), [set(), problem])
        entry[0].add(problem.row)
    sent_badly = results["import_status"].isin(_SENT_BADLY)
    messages = results.loc[sent_badly, "import_message"].astype(str)
    for row, message in messages.items():
        key = (f"{results.at[row, 'import_status']}: {message_kind(message)}", True)
        entry = groups.setdefault(key, [set(), Problem(int(row), "", key[0], message)])
        entry[0].add(row)
    found = [
        ProblemGroup(kind, is_error, len(rows), first.row, first.message)
        for (kind, is_error), (rows, first) in groups.items()
    ]
    return sorted(found, key=lambda group: (not group.is_error, -group.rows))
