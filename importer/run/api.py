"""validate, send and retry from start to finish: the library's entry points.

Each owns its whole lifecycle: its start time, the check and the lock on its results file,
its journal, the sender (and the embedded sandbox), and writing the results file whatever
happens once rows may have been sent. Nothing here prints; a caller follows a run through
a progress object (see `Progress`).
"""

from __future__ import annotations

import hashlib
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd

from importer.errors import (
    ApiDownError,
    ApiKeyError,
    BadInputError,
    JournalError,
    OutputError,
    RunError,
    UsageError,
)
from importer.mapping.load import load_mapping, parse_mapping
from importer.mapping.model import ColumnMapping
from importer.masking import displayable
from importer.models import DONE, RESULT_COLUMNS, RowStatus
from importer.reading.sheet import SourceSheet, read_sheet
from importer.results.layout import check_fits, written_column
from importer.results.read import ResultsWorkbook, accepted_ids, read_results, recorded_facts
from importer.results.summary import group_problems
from importer.results.write import ResultsContent, ResultsSummary, SourceFacts, write_results
from importer.run.destination import (
    DEFAULT_BASE_URL,
    DEFAULT_PARTNER,
    SANDBOX,
    Destination,
    api_key_from_environment,
    endpoint_from_environment,
    real_destination,
    sandbox_destination,
)
from importer.run.outfile import (
    OutLock,
    check_out,
    default_out,
    journal_path,
    retry_journal_path,
    utc_now,
)
from importer.run.report import Callbacks, LedgerUse, Report, RunPlan, StopReason
from importer.run.retry_plan import RetryPlan, as_sheet, plan_retry
from importer.run.rows import PreparedRows, prepare_rows
from importer.run.sending import (
    Connection,
    accepted_entries,
    journaled_results,
    open_sender,
    send_rows,
)
from importer.run.unchanged import RunLedger, predict, unchanged_results
from importer.sandbox import SAMPLE_API_KEY
from importer.sending.journal import Journal, JournalEntry, mismatch_error
from importer.sending.sender import SendOutcome

PathLike = str | Path


def validate(
    source: PathLike,
    mapping: PathLike,
    *,
    out: PathLike | None = None,
    sheet: str | None = None,
    files_dir: PathLike | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    partner: str | None = None,
    sandbox: bool = False,
    ledger: PathLike | bool | None = None,
    progress: Any = None,
    encoding: str | None = None,
) -> Report:
    """The dry run: read, map and check every row, write OUT with each row valid or
    invalid; nothing is sent. Refuses (BadInputError) to replace results of a send.

    Given a destination (`base_url`/`partner`, ENERFLO_BASE_URL/ENERFLO_PARTNER, or just an
    api key for the default endpoint), valid rows the ledger shows it already has carry a
    warning saying a send would skip them, or that they update a lead sent before. The
    ledger is only read; the network is never used. `encoding` names a csv's text
    encoding (detected when None; UsageError if unknown).
    """
    started = utc_now()
    source = Path(source)
    target = Path(out) if out is not None else default_out(source, sandbox)
    column_mapping = load_mapping(Path(mapping))
    source_sheet = _read_source(source, sheet, column_mapping, encoding)
    prepared = prepare_rows(source_sheet, column_mapping, _folder(files_dir, source))
    destination, key_known = _looked_up(api_key, base_url, partner, sandbox)
    check_out(target, [source], len(prepared.records))
    check_fits(target, source_sheet, column_mapping.text)
    with OutLock(target, "validate"):
        _refuse_replacing_sent_rows(target, "validate")
        use = None
        if destination is not None and ledger is not False:
            use = predict(prepared, ledger, destination, key_known, source.name)
        results = prepared.initial_results(RowStatus.VALID)
        summary = ResultsSummary("validate", started, "")
        if use is not None:
            summary.extra["ledger"] = use.summary_line(dry_run=True)
        content = _content(prepared, source_sheet.sheet_name, SourceFacts.of(source_sheet))
        report = _finish(target, content, results, summary, Callbacks(progress), None)
        report.warnings = list(source_sheet.warnings)
        report.ledger = use
        return report


def send(
    source: PathLike,
    mapping: PathLike,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    partner: str | None = None,
    sandbox: bool = False,
    out: PathLike | None = None,
    sheet: str | None = None,
    files_dir: PathLike | None = None,
    rate_limit: int = 300,
    limit: int | None = None,
    fresh: bool = False,
    ledger: PathLike | bool | None = None,
    resend: bool = False,
    progress: Any = None,
    encoding: str | None = None,
) -> Report:
    """Validate, then post every valid row not yet accepted at this destination; write OUT.

    Resumable: re-running with the same OUT skips rows its journal records as accepted
    at the same destination (and refuses a journal of another destination or key unless
    `fresh`). A valid row the ledger shows this destination accepted before with the same
    payload, from any file, is not sent: it is `unchanged` (`resend=True` sends it anyway).
    `ledger` is the ledger file, None for the default, False for none. `sandbox=True`
    sends to an embedded local sandbox (a rehearsal, which keeps no ledger); otherwise
    the key is `api_key` or ENERFLO_API_KEY, the endpoint `base_url`/`partner` or
    ENERFLO_BASE_URL/ENERFLO_PARTNER. Raises ApiKeyError, ApiDownError or JournalError
    (each with `.report`, OUT written) when the run stops on a failure.
    """
    started = utc_now()
    source = Path(source)
    connection = _connection(api_key, base_url, partner, sandbox)
    target = (
        Path(out) if out is not None else default_out(source, connection.destination.is_sandbox)
    )
    column_mapping = load_mapping(Path(mapping))
    source_sheet = _read_source(source, sheet, column_mapping, encoding)
    prepared = prepare_rows(source_sheet, column_mapping, _folder(files_dir, source))
    check_out(target, [source], len(prepared.records))
    check_fits(target, source_sheet, column_mapping.text)
    callbacks = Callbacks(progress)
    with (
        OutLock(target, "send"),
        RunLedger.open(ledger, connection.destination, source.name) as known,
    ):
        _check_send_target(target, fresh)
        identity = {**_run_identity(source_sheet, column_mapping), **_identity(connection)}
        _reconcile(known, target, target.name)
        journal = Journal.open(journal_path(target), identity, fresh=fresh)
        if fresh:
            retry_journal_path(target).unlink(missing_ok=True)  # the send starts over
        with journal:
            done = accepted_entries(journal.outcomes())
            due = [row for row in prepared.valid_rows if row not in done]
            earlier = known.compare(prepared, due, resend=resend)
            due = [row for row in due if row not in earlier.unchanged]
            due = due[:limit] if limit is not None else due
            accepted_before = [row for row in prepared.valid_rows if row in done]
            plan = RunPlan(
                command="send",
                destination=connection.destination,
                rows=len(prepared.records),
                invalid=len(prepared.invalid),
                to_send=len(due),
                accepted_before=len(accepted_before),
                accepted_at=max((done[row].at for row in accepted_before), default=""),
                unchanged=len(earlier.unchanged),
                ledger=known.use,
            )
            _start(callbacks, plan)
            for row in accepted_before:
                callbacks.row_done(row, None)
            for row in earlier.unchanged:
                callbacks.row_done(row, RowStatus.UNCHANGED)
            stop, failure = _send(prepared, due, connection, rate_limit, journal, callbacks, known)
            entries = journal.outcomes()
        known.finish()
        results = journaled_results(prepared.initial_results(RowStatus.PENDING), entries)
        results = unchanged_results(results, earlier.unchanged)
        summary = _summary("send", started, connection.destination, stop, journal.path)
        summary.extra["ledger"] = known.use.summary_line(resend=resend)
        content = _content(prepared, source_sheet.sheet_name, SourceFacts.of(source_sheet))
        report = _finish(target, content, results, summary, callbacks, failure, plan, stop)
        report.warnings = list(source_sheet.warnings)
        report.ledger = known.use
    return _raise_or_return(report, failure)


def retry(
    results: PathLike,
    *,
    mapping: PathLike | None = None,
    out: PathLike | None = None,
    api_key: str | None = None,
    base_url: str | None = None,
    partner: str | None = None,
    sandbox: bool = False,
    files_dir: PathLike | None = None,
    rate_limit: int = 300,
    fresh: bool = False,
    ledger: PathLike | bool | None = None,
    resend: bool = False,
    progress: Any = None,
) -> Report:
    """Re-validate and send the rows of a results file not accepted yet; rewrite it.

    Rows accepted (or unchanged) before are never sent again, and their record ids stay
    taken. A due row the ledger shows this destination has with the same payload is
    `unchanged`, not sent, as in `send` (`ledger`, `resend` likewise). The destination is
    the one the file records unless `sandbox`/`base_url`/`partner` say otherwise; a file
    whose rows were accepted elsewhere (or with another key) is refused. Writes in place
    unless `out`. Raises like `send`.
    """
    started = utc_now()
    results_path = Path(results)
    target = Path(out) if out is not None else results_path
    with ExitStack() as locks:
        locks.enter_context(OutLock(results_path, "retry"))
        if target.resolve() != results_path.resolve():
            locks.enter_context(OutLock(target, "retry"))
        workbook = read_results(results_path, Path(mapping) if mapping is not None else None)
        column_mapping = _mapping_of(workbook, mapping)
        sent_identity, sent_entries = Journal.peek(journal_path(results_path))
        connection, note = _retry_connection(
            workbook, sent_identity, api_key, base_url, partner, sandbox
        )
        # OUT may be the results file itself (in place), never the sheet it came from.
        recorded_source = workbook.facts.get("source_path")
        sources = [Path(recorded_source)] if recorded_source else []
        if target.resolve() != results_path.resolve():
            sources.append(results_path)
        check_out(target, sources, len(workbook.frame))
        check_fits(target, as_sheet(workbook), column_mapping.text)
        if target.resolve() != results_path.resolve():
            _refuse_replacing_sent_rows(target, "retry")
        identity = {
            "results_sha256": _sha256(results_path),
            "mapping_sha256": _text_sha256(column_mapping.text),
            **_identity(connection),
        }
        retry_path = retry_journal_path(target)
        known = locks.enter_context(
            RunLedger.open(ledger, connection.destination, results_path.name)
        )
        _reconcile(known, results_path, results_path.name)
        if target.resolve() != results_path.resolve():
            _reconcile(known, target, results_path.name)
        earlier_identity, earlier_entries = ({}, {}) if fresh else Journal.peek(retry_path)
        _refuse_other_destination(retry_path, earlier_identity, earlier_entries, identity)
        journaled = [
            _by_results_row(sent_entries, sent_identity, identity, workbook),
            accepted_entries(earlier_entries),
        ]
        plan = plan_retry(workbook, column_mapping, _retry_folder(files_dir, workbook), journaled)
        same_version = earlier_identity.get("results_sha256") == identity["results_sha256"]
        journal = Journal.open(retry_path, identity, fresh=fresh or not same_version)
        callbacks = Callbacks(progress)
        earlier = known.compare(plan.prepared, plan.rows, resend=resend)
        rows = [row for row in plan.rows if row not in earlier.unchanged]
        with journal:
            if not same_version:
                _carry_over(journal, plan, accepted_entries(earlier_entries))
            run_plan = _retry_run_plan(plan, rows, connection.destination, note, known.use)
            _start(callbacks, run_plan)
            for row in earlier.unchanged:
                callbacks.row_done(row, RowStatus.UNCHANGED)
            stop, failure = _send(
                plan.prepared, rows, connection, rate_limit, journal, callbacks, known
            )
            entries = journal.outcomes()
        known.finish()
        summary = _summary("retry", started, connection.destination, stop, journal.path)
        summary.extra["ledger"] = known.use.summary_line(resend=resend)
        if plan.deleted:
            summary.extra["rows deleted by hand"] = (
                f"{len(plan.deleted)}: {', '.join(plan.deleted[:20])}"
            )
        content = _content(plan.prepared, workbook.sheet_name, _recorded_source(workbook))
        results_frame = unchanged_results(_retry_results(plan, entries), earlier.unchanged)
        report = _finish(
            target, content, results_frame, summary, callbacks, failure, run_plan, stop
        )
        report.ledger = known.use
    return _raise_or_return(report, failure)


# -- the shared lifecycle -------------------------------------------------------------------


def _send(
    prepared: PreparedRows,
    rows: list[int],
    connection: Connection,
    rate_limit: int,
    journal: Journal,
    callbacks: Callbacks,
    ledger: RunLedger,
) -> tuple[StopReason | None, RunError | None]:
    """Run the send loop; the reason it stopped early and the failure to raise, if any.

    Whatever happens, control comes back here so that OUT is written: Ctrl-C (the row in
    flight is not journaled and stays pending), a refused key, an API that is down, a
    journal that cannot be written, or a bug.
    """
    if not rows:
        return None, None
    try:
        with open_sender(connection, rate_limit, callbacks) as sender:
            return send_rows(prepared, rows, sender, journal, callbacks, ledger), None
    except KeyboardInterrupt:
        return StopReason.INTERRUPTED, None
    except ApiKeyError as exc:
        return StopReason.KEY_REFUSED, exc
    except ApiDownError as exc:
        return StopReason.API_DOWN, exc
    except JournalError as exc:
        return StopReason.JOURNAL, exc


def _finish(
    target: Path,
    content: ResultsContent,
    results: pd.DataFrame,
    summary: ResultsSummary,
    callbacks: Callbacks,
    failure: RunError | None,
    plan: RunPlan | None = None,
    stop: StopReason | None = None,
) -> Report:
    """Write OUT and return the report: the one place a run's results become a file.

    When OUT cannot be written after the run already failed (a full disk fails both),
    the run's own failure is what is raised, naming the results file too.
    """
    content.results = results
    content.summary = summary
    summary.finished_at = utc_now()
    callbacks.writing(target)
    try:
        write_results(target, content)
    except OutputError as exc:
        if failure is None:
            raise
        failure.message += f"; the results file was not written either ({exc.message})"
        raise failure from exc
    return Report(
        command=summary.command,
        out=target,
        # Source columns named like ours carry " (source)", as in the results file.
        results=pd.concat(
            [content.rows.rename(columns=written_column), results[list(RESULT_COLUMNS)]], axis=1
        ),
        problems=group_problems(content.problems, results),
        destination=plan.destination if plan else None,
        stopped=stop,
        stop_message=failure.message if failure else "",
        plan=plan,
        mapping_warnings=list(content.mapping_warnings),
    )


def _raise_or_return(report: Report, failure: RunError | None) -> Report:
    if failure is not None:
        failure.report = report
        raise failure
    return report


def _start(callbacks: Callbacks, plan: RunPlan) -> None:
    go_ahead = callbacks.starting(plan)
    if plan.to_send and not go_ahead:
        raise UsageError("cancelled; nothing was sent")


def _content(prepared: PreparedRows, title: str | None, source: SourceFacts) -> ResultsContent:
    return ResultsContent(
        rows=prepared.rows,
        sheet_title=title,
        source=source,
        results=pd.DataFrame(),
        problems=prepared.problems,
        field_columns=prepared.mapping.field_columns(),
        summary=ResultsSummary("", "", ""),
        mapping_text=prepared.mapping.text,
        mapping_warnings=list(prepared.mapping.warnings),
    )


def _summary(
    command: str,
    started: str,
    destination: Destination,
    stop: StopReason | None,
    journal: Path,
) -> ResultsSummary:
    return ResultsSummary(
        command=command,
        started_at=started,
        finished_at="",
        destination=destination.facts(),
        sent_to=destination.label,
        rehearsal=destination.is_sandbox,
        extra={"stopped": str(stop) if stop else "", "journal": str(journal)},
    )


# -- sources, mappings and OUT ----------------------------------------------------------------


def _read_source(
    source: Path, sheet: str | None, mapping: ColumnMapping, encoding: str | None
) -> SourceSheet:
    # The reader ignores a sheet name for csv, so the mapping's default is safe to pass.
    return read_sheet(source, sheet or mapping.sheet, mapping.header_row, encoding=encoding)


def _folder(files_dir: PathLike | None, source: Path) -> Path:
    return Path(files_dir) if files_dir is not None else source.parent


def _retry_folder(files_dir: PathLike | None, workbook: ResultsWorkbook) -> Path:
    if files_dir is not None:
        return Path(files_dir)
    source = workbook.facts.get("source_path", "")
    folder = Path(source).parent if source else workbook.path.parent
    return folder if folder.is_dir() else workbook.path.parent


def _mapping_of(workbook: ResultsWorkbook, mapping: PathLike | None) -> ColumnMapping:
    if mapping is not None:
        return load_mapping(Path(mapping))
    return parse_mapping(workbook.mapping_text, f"{workbook.path} (mapping stored in the workbook)")


def _recorded_source(workbook: ResultsWorkbook) -> SourceFacts:
    """The original source's facts, carried over retries (never the results file itself)."""
    facts = workbook.facts
    return SourceFacts(
        path=facts.get("source_path") or str(workbook.path),
        sha256=facts.get("source_sha256", ""),
        kind=facts.get("kind", ""),
        sheet=facts.get("source_sheet", ""),
        header_row=int(facts.get("header_row") or 1),
        encoding=facts.get("encoding", ""),
        delimiter=facts.get("delimiter", ""),
    )


def _run_identity(sheet: SourceSheet, mapping: ColumnMapping) -> dict[str, str]:
    """What a send journal belongs to: the same source bytes under the same mapping."""
    return {
        "source": displayable(sheet.path.name),  # SQLite refuses lone surrogates
        "source_sha256": sheet.sha256,
        "mapping_sha256": _text_sha256(mapping.text),
        "sheet": sheet.sheet_name or "",
    }


def _identity(connection: Connection) -> dict[str, str]:
    destination = connection.destination
    return {"destination": destination.endpoint, "key_fingerprint": destination.key_fingerprint}


def _check_send_target(target: Path, fresh: bool) -> None:
    """A send may resume its own journal; it never replaces results it cannot resume."""
    if fresh:
        return
    if retry_journal_path(target).exists():
        raise BadInputError(
            f"{target}: retry has updated this results file since it was sent",
            hint=f"run `enerflo-import retry {target}` for the rows still due, "
            "or use --fresh to start over, or -o for another output",
        )
    if not journal_path(target).exists():
        _refuse_replacing_sent_rows(target, "send")


def _refuse_replacing_sent_rows(target: Path, command: str) -> None:
    """Refuse to replace a results file (or its journal) that records accepted rows."""
    facts = recorded_facts(target) or {}
    where = facts.get("destination", "")
    accepted = len(accepted_ids(facts)) if facts else 0
    if not accepted:
        identity, entries = Journal.peek(journal_path(target))
        accepted = len(accepted_entries(entries))
        where = identity.get("destination", "")
    if accepted:
        place = "the embedded sandbox" if where == SANDBOX else (where or "the API")
        fresh = " (or --fresh to start it over)" if command == "send" else ""
        raise BadInputError(
            f"{target}: holds the results of a send ({accepted} rows accepted at {place}); "
            f"{command} would replace them",
            hint=f"write to another results file with -o{fresh}",
        )


# -- the ledger ---------------------------------------------------------------------------------


def _reconcile(known: RunLedger, results: Path, results_name: str) -> None:
    """Before a run uses the journals beside a results file (and --fresh empties them), the
    ledger takes the rows they record as accepted that it lacks: a run killed between
    the two, or one whose ledger could not be written."""
    known.reconcile(journal_path(results))
    known.reconcile(retry_journal_path(results), results_name)


def _looked_up(
    api_key: str | None, base_url: str | None, partner: str | None, sandbox: bool
) -> tuple[Destination | None, bool]:
    """The destination a dry run predicts a send to, and whether its key is known: the
    options, else the environment; the default endpoint only when a key is set."""
    if sandbox:
        if base_url:
            raise UsageError("--sandbox and --base-url cannot be used together")
        return sandbox_destination(SAMPLE_API_KEY), True
    key = (api_key or os.environ.get("ENERFLO_API_KEY", "")).strip()
    base, name = endpoint_from_environment(base_url, partner)
    if base is None and name is None and not key:
        return None, False
    destination = real_destination(base or DEFAULT_BASE_URL, name or DEFAULT_PARTNER, key)
    return destination, bool(key)


# -- destinations -------------------------------------------------------------------------------


def _connection(
    api_key: str | None, base_url: str | None, partner: str | None, sandbox: bool
) -> Connection:
    """Where a send goes: options first, then ENERFLO_BASE_URL / ENERFLO_PARTNER."""
    if sandbox:
        if base_url:
            raise UsageError("--sandbox and --base-url cannot be used together")
        return Connection(sandbox_destination(SAMPLE_API_KEY), None, SAMPLE_API_KEY)
    key = api_key.strip() if api_key else api_key_from_environment()
    base, name = endpoint_from_environment(base_url, partner)
    base, name = base or DEFAULT_BASE_URL, name or DEFAULT_PARTNER
    return Connection(real_destination(base, name, key), base, key)


def _retry_connection(
    workbook: ResultsWorkbook,
    sent_identity: dict[str, str],
    api_key: str | None,
    base_url: str | None,
    partner: str | None,
    sandbox: bool,
) -> tuple[Connection, str]:
    """The destination the results file records, unless told otherwise; and where it came
    from. Refuses one that differs from where rows were already accepted."""
    recorded = {k: workbook.facts.get(k) or sent_identity.get(k, "") for k in ("destination",)}
    recorded_at = recorded["destination"]
    recorded_base = workbook.facts.get("base_url", "")
    recorded_partner = workbook.facts.get("partner", "")
    told = sandbox or base_url is not None or partner is not None
    if sandbox or (not told and recorded_at == SANDBOX):
        connection = _connection(None, None, None, sandbox=True)
    elif base_url is None and recorded_base and recorded_at != SANDBOX:
        connection = _connection(api_key, recorded_base, partner or recorded_partner, False)
    else:
        connection = _connection(api_key, base_url, partner, False)
    note = "as given" if told else "as recorded in the results file" if recorded_at else "default"
    if _accepted_anywhere(workbook):
        _refuse_elsewhere(workbook, connection.destination, sent_identity)
    return connection, note


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


def _refuse_other_destination(
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


# -- retry's rows -----------------------------------------------------------------------------


def _by_results_row(
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


def _carry_over(journal: Journal, plan: RetryPlan, earlier: dict[int, JournalEntry]) -> None:
    """Rows an earlier, killed retry had sent go into the new journal, so that another
    kill cannot lose them."""
    for row, entry in plan.restored.items():
        if earlier.get(row) is entry:
            outcome = SendOutcome(
                entry.status, entry.lead_id, entry.http_status, entry.message, entry.attempts
            )
            journal.record(row, entry.record_id, outcome, entry.at, entry.fingerprint)


def _retry_run_plan(
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


def _retry_results(plan: RetryPlan, entries: dict[int, JournalEntry]) -> pd.DataFrame:
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
