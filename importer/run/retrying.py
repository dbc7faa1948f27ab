"""`retry`: re-run the not-yet-accepted rows of a results workbook; never re-send accepted rows."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from importer.errors import BadInputError, ResultsError
from importer.mapping.load import load_mapping, parse_mapping
from importer.mapping.model import ColumnMapping
from importer.models import ACCEPTED, Problem
from importer.reading.sheet import SourceSheet
from importer.results.read import ResultsWorkbook, read_results
from importer.results.write import META_SHEET
from importer.run import pipeline
from importer.sending.journal import Journal
from importer.sending.sender import LeadSender

ACCEPTED_TEXT = frozenset(str(status) for status in ACCEPTED)


@dataclass
class RetryPlan:
    """A results workbook re-read and re-validated, and the rows it is due to send."""

    path: Path
    prepared: pipeline.PreparedRows
    earlier: pd.DataFrame  # results of accepted rows; attempt counts of the others
    rows: list[int]  # rows to send: due and now valid
    due: int  # rows not yet accepted (valid or not)
    added: list[int]  # rows with no import status: typed in by the user, never sent
    deleted: list[str]  # record ids of rows the user deleted since the file was written


def plan_retry(
    results_path: Path, mapping_path: Path | None = None, files_dir: Path | None = None
) -> RetryPlan:
    """Read RESULTS as the user left it and re-validate every row not yet accepted.

    Raises ResultsError for a workbook this tool did not write or whose columns were
    removed. Rows the user added (no import status) are reported invalid, never sent.
    """
    workbook = read_results(results_path, mapping_path)
    mapping = _mapping_of(workbook, mapping_path, results_path)
    sheet = _as_source(workbook, results_path)
    status = workbook.results["import_status"].astype(str).str.strip().str.lower()
    accepted = status.isin(ACCEPTED_TEXT)
    added = workbook.results.index[
        (status == "") & (workbook.results["import_record_id"].astype(str).str.strip() == "")
    ].tolist()
    prepared = pipeline.prepare(
        results_path,
        mapping,
        sheet=sheet,
        files_dir=files_dir or _source_folder(workbook, results_path),
        record_ids=_kept_ids(workbook, mapping, status),
    )
    _mark_added(prepared, added)
    _mark_taken_ids(prepared, accepted)
    # Accepted rows keep every results column; the others keep only their attempt count,
    # so the total stays honest across runs.
    earlier = workbook.results.astype(object)
    earlier.loc[~accepted, [c for c in earlier.columns if c != "import_attempts"]] = None
    due_rows = [row for row in prepared.leads.index if not accepted[row]]
    invalid = prepared.invalid
    rows = [row for row in due_rows if row not in invalid]
    deleted = _deleted_ids(workbook)
    return RetryPlan(results_path, prepared, earlier, rows, len(due_rows), added, deleted)


def run_retry(
    plan: RetryPlan,
    sender: LeadSender,
    out: Path,
    started_at: str,
    fresh: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: pipeline.ProgressCallback | None = None,
) -> pipeline.RunReport:
    """Send the plan's rows and rewrite OUT with every row, accepted ones untouched.

    The retry journal (beside OUT) belongs to this exact workbook: after a crash the same
    retry resumes; once the workbook has been rewritten, a new retry starts a new journal.
    """
    identity = {
        **pipeline.run_identity(plan.prepared),
        "results_sha256": _sha256(plan.path),
    }
    path = pipeline.retry_journal_path(out)
    try:
        journal = Journal.open(path, identity, fresh=fresh)
    except BadInputError:
        journal = Journal.open(path, identity, fresh=True)
    notes = {}
    if plan.deleted:
        notes["rows deleted by hand"] = f"{len(plan.deleted)}: {', '.join(plan.deleted[:20])}"
    return pipeline.send_prepared(
        plan.prepared,
        sender,
        journal,
        out,
        started_at,
        should_stop=should_stop,
        on_progress=on_progress,
        command="retry",
        earlier=plan.earlier,
        rows=plan.rows,
        notes=notes,
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


def _kept_ids(workbook: ResultsWorkbook, mapping: ColumnMapping, status: pd.Series) -> pd.Series:
    """The recorded record ids that win over the cells as the user left them.

    A `hash` id is kept for every row, so it never changes when the user fixes an email. An
    id read from a column is the user's to fix, except on `failed` rows: their lead may
    exist under the recorded id (an answer lost on the way), so they must keep it.
    """
    recorded = workbook.results["import_record_id"].astype(str)
    if mapping.lead["integration_record_id"].hash:
        return recorded
    return recorded[status == "failed"]


def _mapping_of(
    workbook: ResultsWorkbook, mapping_path: Path | None, origin: Path
) -> ColumnMapping:
    if mapping_path is not None:
        return load_mapping(mapping_path)
    return parse_mapping(workbook.mapping_text, f"{origin} (mapping stored in the workbook)")


def _as_source(workbook: ResultsWorkbook, path: Path) -> SourceSheet:
    """The workbook's source columns, as the user left them, seen as a fresh sheet."""
    facts = workbook.facts
    return SourceSheet(
        path=path,
        kind=path.suffix.lower().lstrip("."),
        sheet_name=workbook.sheet_name,
        header_row=1,
        columns=list(workbook.frame.columns),
        frame=workbook.frame,
        encoding=facts.get("encoding") or None,
        delimiter=facts.get("delimiter") or None,
        sha256=facts.get("source_sha256", ""),
    )


def _source_folder(workbook: ResultsWorkbook, results_path: Path) -> Path:
    source = workbook.facts.get("source_path", "")
    folder = Path(source).parent if source else results_path.parent
    return folder if folder.is_dir() else results_path.parent


def _mark_taken_ids(prepared: pipeline.PreparedRows, accepted: pd.Series) -> None:
    """A row not yet sent whose record id an accepted row already holds is a duplicate,
    wherever the user moved it: the accepted row always keeps the id."""
    ids = prepared.record_ids
    taken = {rid: row for row, rid in ids[accepted.reindex(ids.index, fill_value=False)].items()}
    for row, rid in ids.items():
        holder = taken.get(rid)
        if holder is not None and holder != row and not accepted.get(row, False):
            prepared.problems.append(
                Problem(
                    row,
                    "integration_record_id",
                    "duplicate_record_id",
                    f'integration_record_id: "{rid}" is also on row {holder}, which was already '
                    "sent; only that row is sent",
                )
            )


def _mark_added(prepared: pipeline.PreparedRows, added: list[int]) -> None:
    for row in added:
        prepared.problems.append(
            Problem(
                row,
                "row",
                "row_added",
                "row: added to the results file after the import; add it to a source sheet "
                "and send it, retry only re-runs rows this tool wrote",
            )
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
