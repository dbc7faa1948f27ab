"""Where a retry sends, and what earlier journals say about its rows: the destination the
results file records (refusing another where rows were accepted), journal entries
renumbered to results rows, and the rows a killed retry had sent."""

from __future__ import annotations

from pathlib import Path

from importer.errors import (
    BadInputError,
)
from importer.models import DONE
from importer.results.read import ResultsWorkbook, accepted_ids
from importer.run.destination import (
    SANDBOX,
    Connection,
    Destination,
    connection_for,
    endpoint_parts,
)
from importer.run.outfile import journal_path
from importer.run.retry_plan import RetryPlan
from importer.run.sending import (
    accepted_entries,
)
from importer.sending.journal import Journal, JournalEntry, mismatch_error
from importer.sending.sender import SendOutcome

PathLike = str | Path


def retry_connection(
    workbook: ResultsWorkbook,
    sent_identity: dict[str, str],
    api_key: str | None,
    base_url: str | None,
    partner: str | None,
    sandbox: bool,
) -> tuple[Connection, str]:
    """The destination the results file records, unless told otherwise; and where it came
    from. Refuses one that differs from where rows were already accepted, and a file with
    accepted rows that records no destination (a CSV moved without its journal)."""
    recorded_at = workbook.facts.get("destination") or sent_identity.get("destination", "")
    recorded_base = workbook.facts.get("base_url", "")
    recorded_partner = workbook.facts.get("partner", "")
    if recorded_at and recorded_at != SANDBOX and not recorded_base:
        # A CSV carries no facts: its journal records the endpoint, made of both.
        recorded_base, recorded_partner = endpoint_parts(recorded_at) or ("", "")
    told = sandbox or base_url is not None or partner is not None
    if sandbox or (not told and recorded_at == SANDBOX):
        connection = connection_for(None, None, None, sandbox=True)
    elif base_url is None and recorded_base and recorded_at != SANDBOX:
        connection = connection_for(api_key, recorded_base, partner or recorded_partner, False)
    else:
        connection = connection_for(api_key, base_url, partner, False)
    note = "as given" if told else "as recorded in the results file" if recorded_at else "default"
    if _accepted_anywhere(workbook):
        if not recorded_at:
            raise _unrecorded(workbook)
        _refuse_elsewhere(workbook, connection.destination, sent_identity)
    return connection, note


def _unrecorded(workbook: ResultsWorkbook) -> BadInputError:
    """Accepted rows, but nothing says where: their lead ids may belong to a rehearsal."""
    if workbook.facts.get("results_kind") == "csv":
        journal = journal_path(workbook.path)
        return BadInputError(
            f"{workbook.path}: has accepted rows, but nothing records where they were sent (a "
            f"CSV results file keeps that in its journal, {journal.name}, which is not beside it)",
            hint="put the journal back beside the file, or retry the .xlsx results, which "
            "carry it; to send every row, run send on the source with another -o",
        )
    return BadInputError(
        f"{workbook.path}: has accepted rows, but nothing records where they were sent",
        hint="retry the results file as send or retry wrote it; to send every row, run send "
        "on the source with another -o",
    )


def _accepted_anywhere(workbook: ResultsWorkbook) -> bool:
    status = workbook.results["import_status"].astype(str).str.strip().str.lower()
    return bool(status.isin([str(s) for s in DONE]).any() or accepted_ids(workbook.facts))


def _refuse_elsewhere(
    workbook: ResultsWorkbook, destination: Destination, sent_identity: dict[str, str]
) -> None:
    recorded_at = workbook.facts.get("destination") or sent_identity.get("destination", "")
    recorded_key = workbook.facts.get("key_fingerprint") or sent_identity.get("key_fingerprint", "")
    if recorded_at and recorded_at != destination.endpoint:
        place = "the embedded sandbox (a rehearsal)" if recorded_at == SANDBOX else recorded_at
        raise BadInputError(
            f"{workbook.path}: its rows were sent to {place}, not to {destination.label}",
            hint="retry only sends the rows not accepted yet, so it must go where the others "
            f"went (run it without --sandbox/--base-url); to send every row to "
            f"{destination.label}, run send on the source with another -o",
        )
    if recorded_key and recorded_key != destination.key_fingerprint:
        raise BadInputError(
            f"{workbook.path}: its rows were sent with another api key (fingerprint "
            f"{recorded_key}), not this one ({destination.key_fingerprint})",
            hint="set ENERFLO_API_KEY to the key the rows were sent with",
        )


def refuse_other_destination(
    path: Path,
    stored: dict[str, str],
    entries: dict[int, JournalEntry],
    wanted: dict[str, str],
) -> None:
    """A retry journal with rows accepted elsewhere is refused like a send journal."""
    if not accepted_entries(entries):
        return
    for key in ("destination", "key_fingerprint"):
        if stored.get(key) and stored[key] != wanted[key]:
            raise mismatch_error(path, key, stored[key], wanted[key])


def by_results_row(
    entries: dict[int, JournalEntry],
    identity: dict[str, str],
    wanted: dict[str, str],
    workbook: ResultsWorkbook,
) -> dict[int, JournalEntry]:
    """A send journal's accepted entries, renumbered from source rows to results rows;
    none when that journal's rows went to another destination."""
    if not entries or identity.get("destination") != wanted["destination"]:
        return {}
    if identity.get("key_fingerprint") != wanted["key_fingerprint"]:
        return {}
    shift = int(workbook.facts.get("header_row") or 1) - 1
    return {row - shift: entry for row, entry in accepted_entries(entries).items()}


def carry_over(journal: Journal, plan: RetryPlan, earlier: dict[int, JournalEntry]) -> None:
    """Rows an earlier, killed retry had sent go into the new journal, so that another
    kill cannot lose them."""
    for row, entry in plan.restored.items():
        if earlier.get(row) is entry:
            outcome = SendOutcome(
                entry.status, entry.lead_id, entry.http_status, entry.message, entry.attempts
            )
            journal.record(row, entry.record_id, outcome, entry.at, entry.fingerprint)
