"""Plan a retry: which rows of a results file are done, which are due, which ids are taken.

A row accepted once is never sent again, and the record id it was accepted under stays
taken whatever the user does to the cells afterwards (renames the id, deletes the row,
moves rows around): another row with that id is invalid, never an update of that lead.
What was accepted comes from every record there is: the status cells, the ids the
results file recorded when it was written, and the journals beside it.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from importer.errors import ResultsError
from importer.mapping.model import ColumnMapping
from importer.models import DONE, RESULT_COLUMNS, Problem, RowStatus
from importer.reading.sheet import SourceSheet
from importer.records import RECORD_ID
from importer.results.read import ResultsWorkbook, accepted_ids
from importer.results.write import META_SHEET
from importer.run.destination import Destination
from importer.run.report import LedgerUse, RunPlan
from importer.run.rows import PreparedRows, check_records, map_sheet
from importer.run.sending import journaled_results, record_fingerprints
from importer.sending.journal import JournalEntry

# Rows the destination has: created, updated, or unchanged (the ledger showed it had them).
ACCEPTED_TEXT = frozenset(str(status) for status in DONE)


@dataclass
class RetryPlan:
    """A results file re-read and re-validated, and the rows it is due to send."""

    workbook: ResultsWorkbook
    prepared: PreparedRows
    kept: pd.Series  # bool per row: accepted before, kept as it is, never sent
    rows: list[int]  # rows to send: due and now valid
    due: int  # rows not yet accepted (valid or not)
    added: list[int]  # rows with no import status: typed in by the user, never sent
    deleted: list[str]  # record ids of rows deleted by hand since the file was written
    restored: dict[int, JournalEntry] = field(default_factory=dict)  # accepted per a journal

    @property
    def earlier(self) -> pd.DataFrame:
        """The results columns as read."""
        return self.workbook.results


def plan_retry(
    workbook: ResultsWorkbook,
    mapping: ColumnMapping,
    files_dir: Path,
    journaled: list[dict[int, JournalEntry]],
) -> RetryPlan:
    """Re-validate every row of `workbook` not yet accepted, with the ids taken elsewhere.

    `journaled` holds the accepted entries of journals beside the file, by results row:
    a row they name with its recorded id is accepted (its outcome restored), and their ids
    are taken for every other row.
    """
    results = workbook.results
    status = results["import_status"].astype(str).str.strip().str.lower()
    recorded = results["import_record_id"].astype(str).str.strip()
    accepted_cells = status.isin(ACCEPTED_TEXT) | _recorded_as_accepted(workbook)
    added = results.index[(status == "") & (recorded == "") & ~accepted_cells].tolist()
    sheet = as_sheet(workbook)
    records = map_sheet(sheet, mapping)
    records.lead[RECORD_ID.name] = _kept_ids(records.record_ids, recorded, status, mapping)
    prepared = check_records(sheet.frame, records, mapping, files_dir)
    restored = _restorable(prepared, journaled, accepted_cells)
    kept = accepted_cells | pd.Series(results.index.isin(list(restored)), index=results.index)
    prepared.problems += [_added(row) for row in added]
    taken = _taken(workbook, journaled, kept, recorded)
    lead_ids = results["import_lead_id"].astype(str).str.strip()
    cleared = recorded.where((status == "") & (lead_ids == ""), "")  # ids of emptied rows
    prepared.problems += _taken_ids(prepared, kept, taken, cleared)
    due_rows = [row for row in prepared.records.index if not kept[row]]
    invalid = prepared.invalid
    rows = [row for row in due_rows if row not in invalid]
    return RetryPlan(
        workbook, prepared, kept, rows, len(due_rows), added, _deleted_ids(workbook), restored
    )


def as_sheet(workbook: ResultsWorkbook) -> SourceSheet:
    """The source columns as the user left them, in the shape the mapping reads."""
    return SourceSheet(
        path=workbook.path,
        kind=workbook.path.suffix.lower().lstrip("."),
        sheet_name=workbook.sheet_name,
        header_row=1,
        columns=list(workbook.frame.columns),
        frame=workbook.frame,
        encoding=None,
        delimiter=None,
        sha256="",
    )


def _kept_ids(
    mapped: pd.Series, recorded: pd.Series, status: pd.Series, mapping: ColumnMapping
) -> pd.Series:
    """The id each row sends: the recorded one, where the API may have seen it.

    A failed or pending row's lead may exist under its recorded id (an answer lost on the
    way, a row in flight at a kill), so it keeps it; so does a rejected row whose id is a
    `hash`, which must not change when the user fixes the email it was made from. An id
    read from a column is otherwise the user's to fix in place, and a row never sent
    (invalid, or valid in a dry run) takes the id its cells give now.
    """
    maybe_sent = [RowStatus.FAILED, RowStatus.PENDING]
    if mapping.lead[RECORD_ID.name].hash:
        maybe_sent.append(RowStatus.REJECTED)
    keep = (recorded != "") & status.isin(maybe_sent)
    return recorded.where(keep, mapped)


def _recorded_as_accepted(workbook: ResultsWorkbook) -> pd.Series:
    """Rows whose recorded id and lead id match an id the file recorded as accepted: the
    row was accepted even if the user cleared or overtyped its status cell."""
    ids = _accepted_ids(workbook)
    results = workbook.results
    recorded = results["import_record_id"].astype(str)
    lead = results["import_lead_id"].astype(str)
    known = recorded.map(ids)
    return (lead != "") & (known == lead)


def _accepted_ids(workbook: ResultsWorkbook) -> dict[str, str]:
    try:
        return accepted_ids(workbook.facts)
    except ResultsError as exc:
        raise ResultsError(f"{workbook.path}: {exc.message}", hint=exc.hint) from exc


def _restorable(
    prepared: PreparedRows, journaled: list[dict[int, JournalEntry]], accepted: pd.Series
) -> dict[int, JournalEntry]:
    """Journal entries that name a row not marked accepted, which sends exactly what that
    entry sent (same id, same values): that row was accepted; restore its outcome.

    A row moved into another's place, or edited since, does not match, so a duplicate can
    never inherit the lead of the row it copies.
    """
    wanted = {
        row: entry
        for entries in journaled
        for row, entry in entries.items()
        if row in accepted.index and not accepted[row]
    }
    if not wanted:
        return {}
    ids = prepared.record_ids
    now = record_fingerprints(prepared, [row for row in wanted if row in ids.index])
    return {
        row: entry
        for row, entry in wanted.items()
        if row in now and ids[row] == entry.record_id and now[row] == entry.fingerprint
    }


def _taken(
    workbook: ResultsWorkbook,
    journaled: list[dict[int, JournalEntry]],
    kept: pd.Series,
    recorded: pd.Series,
) -> dict[str, str]:
    """Every record id accepted so far -> the lead id it went to ("" when unknown)."""
    taken = dict(_accepted_ids(workbook))
    leads = workbook.results["import_lead_id"].astype(str)
    for row in kept[kept].index:
        taken.setdefault(recorded[row], leads[row])
    for entries in journaled:
        for entry in entries.values():
            taken.setdefault(entry.record_id, entry.lead_id or "")
    taken.pop("", None)
    return taken


def _taken_ids(
    prepared: PreparedRows, kept: pd.Series, taken: dict[str, str], cleared: pd.Series
) -> list[Problem]:
    """A due row whose id was already accepted for another row is invalid, wherever it
    stands: sending it would overwrite that lead with this row's person. A row written
    with that id whose status and lead id were cleared may be that row, or a copy over it:
    retry cannot tell, so it sends neither and says how to settle it."""
    problems = []
    for row, rid in prepared.record_ids.items():
        if kept[row] or rid not in taken:
            continue
        lead = f" (lead {taken[rid]})" if taken[rid] else ""
        if cleared.get(row) == rid:
            what = (
                f'"{rid}" was already sent{lead}, but this row\'s import_status and '
                "import_lead_id were cleared, so retry cannot tell it from a copy and does not "
                "send it (put them back to keep it accepted, or give the row its own id to "
                "send it as a new lead)"
            )
        else:
            what = (
                f'"{rid}" was already sent for another row{lead}; only that row is sent '
                "(give this row its own id to send it as a new lead)"
            )
        problems.append(Problem.error(row, RECORD_ID, "duplicate_record_id", what))
    return problems


def _added(row: int) -> Problem:
    return Problem.error(
        row,
        "row",
        "row_added",
        "added to the results file after the import; add it to a source sheet and send it, "
        "retry only re-runs rows this tool wrote",
    )


def _deleted_ids(workbook: ResultsWorkbook) -> list[str]:
    """Ids the file was written with that are no longer in it (rows deleted by hand)."""
    try:
        written = json.loads(workbook.facts.get("record_ids", "null"))
    except ValueError as exc:
        raise ResultsError(
            f"{workbook.path}: the hidden {META_SHEET} sheet is damaged (record_ids)",
            hint="use the results file as enerflo-import wrote it",
        ) from exc
    if not isinstance(written, list):  # a CSV results file does not carry them
        return []
    present = Counter(workbook.results["import_record_id"].astype(str))
    gone = Counter(str(rid) for rid in written) - present
    return [rid if rid else "(no id)" for rid in gone.elements()]


def retry_run_plan(
    plan: RetryPlan, rows: list[int], destination: Destination, note: str, ledger: LedgerUse
) -> RunPlan:
    return RunPlan(
        command="retry",
        destination=destination,
        rows=len(plan.prepared.records),
        invalid=len(plan.prepared.invalid),
        to_send=len(rows),
        accepted_before=int(plan.kept.sum()),
        retry_due=plan.due,
        added=tuple(plan.added),
        deleted=tuple(plan.deleted),
        destination_note=note,
        unchanged=len(plan.rows) - len(rows),
        ledger=ledger,
    )


def retry_results(plan: RetryPlan, entries: dict[int, JournalEntry]) -> pd.DataFrame:
    """Kept rows as they were; rows a send journal restores from it; the rest from this
    retry's journal, whose attempts add to those the file recorded."""
    results = plan.prepared.initial_results(RowStatus.PENDING)
    earlier = plan.earlier.reindex(results.index)
    kept = plan.kept.reindex(results.index, fill_value=False).to_numpy()
    columns = list(RESULT_COLUMNS)
    results.loc[kept, columns] = earlier.loc[kept, columns].fillna("").astype(str).to_numpy()
    from_send = {row: entry for row, entry in plan.restored.items() if row not in entries}
    results.loc[list(plan.restored), "import_status"] = str(RowStatus.PENDING)
    results = journaled_results(results, from_send)
    return journaled_results(
        results, entries, attempts_before=_attempts(earlier["import_attempts"])
    )


def _attempts(cells: pd.Series) -> pd.Series:
    """Attempt cells as the user left them ("3", "3.0", "", text typed over) as numbers."""
    numbers = pd.to_numeric(cells.astype(str), errors="coerce").fillna(0)
    return numbers.clip(lower=0).astype(int)
