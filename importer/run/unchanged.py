"""Rows a destination already has, as the ledger tells it: which of a run's rows need not be
sent, which update a lead sent before, and how both read in the results; sends nothing.

A row is unchanged when this destination accepted its record id with the same payload (the
journal's fingerprint of the body built from the sheet). Anything else is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from importer.models import Problem, RowStatus
from importer.records import RECORD_ID
from importer.run.ledger import LedgerEntry
from importer.run.rows import PreparedRows
from importer.run.sending import record_fingerprints

UPDATES_CODE = "updates_earlier_import"
UNCHANGED_CODE = "unchanged_since_import"


@dataclass(frozen=True)
class Earlier:
    """A run's rows the ledger knows, by spreadsheet row."""

    unchanged: dict[int, LedgerEntry] = field(default_factory=dict)  # same payload: not sent
    updates: dict[int, LedgerEntry] = field(default_factory=dict)  # another payload: sent


def compare_rows(prepared: PreparedRows, rows: list[int], known: dict[str, LedgerEntry]) -> Earlier:
    """Which of `rows` (valid ones) the destination has as they are, and which it has with
    other values. Only rows whose record id it knows are fingerprinted."""
    if not known or not rows:
        return Earlier()
    ids = prepared.record_ids
    candidates = [row for row in rows if ids[row] in known]
    now = record_fingerprints(prepared, candidates)
    earlier = Earlier()
    for row in candidates:
        entry = known[ids[row]]
        (earlier.unchanged if now[row] == entry.fingerprint else earlier.updates)[row] = entry
    return earlier


def update_warnings(updates: dict[int, LedgerEntry]) -> list[Problem]:
    """The warning on a row sent as an update of a lead an earlier import sent."""
    return [
        Problem.warning(row, RECORD_ID, UPDATES_CODE, f"updates a lead sent on {e.where}")
        for row, e in updates.items()
    ]


def dry_run_warnings(earlier: Earlier) -> list[Problem]:
    """What a send would do with each valid row the ledger knows, as warnings."""
    unchanged = [
        Problem.warning(
            row, RECORD_ID, UNCHANGED_CODE, f"unchanged since {e.where}: will not be sent"
        )
        for row, e in earlier.unchanged.items()
    ]
    return unchanged + update_warnings(earlier.updates)


def unchanged_message(entry: LedgerEntry) -> str:
    """`unchanged since 2026-11-30 (leads-week47.xlsx row 12): not sent`"""
    return f"unchanged since {entry.where}: not sent"


def unchanged_results(results: pd.DataFrame, unchanged: dict[int, LedgerEntry]) -> pd.DataFrame:
    """The results columns with unchanged rows marked: status, message, the lead id the
    destination gave them and when (no request, so no HTTP status; attempts as they were)."""
    rows = [row for row in unchanged if row in results.index]
    if not rows:
        return results
    entries = [unchanged[row] for row in rows]
    results = results.copy()
    results.loc[rows, "import_status"] = str(RowStatus.UNCHANGED)
    results.loc[rows, "import_message"] = [unchanged_message(e) for e in entries]
    results.loc[rows, "import_lead_id"] = [e.lead_id for e in entries]
    results.loc[rows, "import_http_status"] = ""
    results.loc[rows, "import_at"] = [e.at for e in entries]
    return results
