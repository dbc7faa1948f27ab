"""validate, send and retry from start to finish: the library's entry points.

Each owns its whole lifecycle: its start time, the check and the lock on its results file,
its journal, the sender (and the embedded sandbox), and writing the results file whatever
happens once rows may have been sent. Nothing here prints; a caller follows a run through
a progress object (see `Progress`).
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from importer.mapping.load import load_mapping
from importer.models import RowStatus
from importer.results.layout import check_fits
from importer.results.read import read_results
from importer.results.write import ResultsSummary, SourceFacts
from importer.run.destination import (
    connection_for,
    looked_up,
)
from importer.run.lifecycle import (
    check_concurrency,
    check_send_target,
    destination_identity,
    file_sha256,
    files_folder,
    finish,
    mapping_of,
    raise_or_return,
    read_source,
    reconcile,
    recorded_source,
    refuse_replacing_sent_rows,
    rehearsed_before,
    results_content,
    retry_files_folder,
    run_identity,
    send_loop,
    start,
    summary_for,
    text_sha256,
)
from importer.run.outfile import (
    OutLock,
    check_out,
    default_out,
    journal_path,
    retry_journal_path,
    utc_now,
)
from importer.run.report import Callbacks, Report, RunPlan
from importer.run.retry_plan import as_sheet, plan_retry, retry_results, retry_run_plan
from importer.run.retry_target import (
    by_results_row,
    carry_over,
    refuse_other_destination,
    retry_connection,
)
from importer.run.rows import prepare_rows
from importer.run.sending import (
    accepted_entries,
    journaled_results,
)
from importer.run.unchanged import RunLedger, predict, unchanged_results
from importer.sending.journal import Journal

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
    source_sheet = read_source(source, sheet, column_mapping, encoding)
    prepared = prepare_rows(source_sheet, column_mapping, files_folder(files_dir, source))
    destination, key_known = looked_up(api_key, base_url, partner, sandbox)
    check_out(target, [source], len(prepared.records))
    check_fits(target, source_sheet, column_mapping.text)
    with OutLock(target, "validate"):
        refuse_replacing_sent_rows(target, "validate")
        use = None
        if destination is not None and ledger is not False:
            use = predict(prepared, ledger, destination, key_known, source.name)
        results = prepared.initial_results(RowStatus.VALID)
        summary = ResultsSummary("validate", started, "")
        if use is not None:
            summary.extra["ledger"] = use.summary_line(dry_run=True)
        content = results_content(prepared, source_sheet.sheet_name, SourceFacts.of(source_sheet))
        report = finish(target, content, results, summary, Callbacks(progress), None)
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
    concurrency: int = 1,
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
    ENERFLO_BASE_URL/ENERFLO_PARTNER. `concurrency` keeps up to that many requests in
    flight (still paced under `rate_limit`), for APIs whose answers are slow. Raises
    ApiKeyError, ApiDownError or JournalError (each with `.report`, OUT written) when the
    run stops on a failure.
    """
    started = utc_now()
    check_concurrency(concurrency)
    source = Path(source)
    connection = connection_for(api_key, base_url, partner, sandbox)
    rehearsal = connection.destination.is_sandbox
    target = Path(out) if out is not None else default_out(source, rehearsal)
    column_mapping = load_mapping(Path(mapping))
    source_sheet = read_source(source, sheet, column_mapping, encoding)
    prepared = prepare_rows(source_sheet, column_mapping, files_folder(files_dir, source))
    check_out(target, [source], len(prepared.records))
    check_fits(target, source_sheet, column_mapping.text)
    callbacks = Callbacks(progress)
    with (
        OutLock(target, "send"),
        RunLedger.open(ledger, connection.destination, source.name) as known,
    ):
        # The embedded sandbox starts empty on every run: a rehearsal has nothing to resume,
        # and claiming rows a sandbox that no longer runs accepted would not be true. It
        # starts over on an earlier rehearsal's files only: a real send's stay refused.
        fresh = fresh or (rehearsal and rehearsed_before(target))
        check_send_target(target, fresh)
        identity = {
            **run_identity(source_sheet, column_mapping),
            **destination_identity(connection),
        }
        reconcile(known, target, target.name)
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
            start(callbacks, plan)
            for row in accepted_before:
                callbacks.row_done(row, None)
            for row in earlier.unchanged:
                callbacks.row_done(row, RowStatus.UNCHANGED)
            stop, failure = send_loop(
                prepared, due, connection, rate_limit, journal, callbacks, known, concurrency
            )
            entries = journal.outcomes()
        known.finish()
        results = journaled_results(prepared.initial_results(RowStatus.PENDING), entries)
        results = unchanged_results(results, earlier.unchanged)
        summary = summary_for("send", started, connection.destination, stop, journal.path)
        summary.extra["ledger"] = known.use.summary_line(resend=resend)
        content = results_content(prepared, source_sheet.sheet_name, SourceFacts.of(source_sheet))
        report = finish(target, content, results, summary, callbacks, failure, plan, stop)
        report.warnings = list(source_sheet.warnings)
        report.ledger = known.use
    return raise_or_return(report, failure)


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
    concurrency: int = 1,
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
    check_concurrency(concurrency)
    results_path = Path(results)
    target = Path(out) if out is not None else results_path
    with ExitStack() as locks:
        locks.enter_context(OutLock(results_path, "retry"))
        if target.resolve() != results_path.resolve():
            locks.enter_context(OutLock(target, "retry"))
        workbook = read_results(results_path, Path(mapping) if mapping is not None else None)
        column_mapping = mapping_of(workbook, mapping)
        sent_identity, sent_entries = Journal.peek(journal_path(results_path))
        connection, note = retry_connection(
            workbook, sent_identity, api_key, base_url, partner, sandbox
        )
        # OUT may be the results file itself (in place), never the sheet it came from.
        source_path = workbook.facts.get("source_path")
        sources = [Path(source_path)] if source_path else []
        if target.resolve() != results_path.resolve():
            sources.append(results_path)
        check_out(target, sources, len(workbook.frame))
        check_fits(target, as_sheet(workbook), column_mapping.text)
        if target.resolve() != results_path.resolve():
            refuse_replacing_sent_rows(target, "retry")
        identity = {
            "results_sha256": file_sha256(results_path),
            "mapping_sha256": text_sha256(column_mapping.text),
            **destination_identity(connection),
        }
        retry_path = retry_journal_path(target)
        known = locks.enter_context(
            RunLedger.open(ledger, connection.destination, results_path.name)
        )
        reconcile(known, results_path, results_path.name)
        if target.resolve() != results_path.resolve():
            reconcile(known, target, results_path.name)
        earlier_identity, earlier_entries = ({}, {}) if fresh else Journal.peek(retry_path)
        refuse_other_destination(retry_path, earlier_identity, earlier_entries, identity)
        journaled = [
            by_results_row(sent_entries, sent_identity, identity, workbook),
            accepted_entries(earlier_entries),
        ]
        plan = plan_retry(
            workbook, column_mapping, retry_files_folder(files_dir, workbook), journaled
        )
        same_version = earlier_identity.get("results_sha256") == identity["results_sha256"]
        journal = Journal.open(retry_path, identity, fresh=fresh or not same_version)
        callbacks = Callbacks(progress)
        earlier = known.compare(plan.prepared, plan.rows, resend=resend)
        rows = [row for row in plan.rows if row not in earlier.unchanged]
        with journal:
            if not same_version:
                carry_over(journal, plan, accepted_entries(earlier_entries))
            run_plan = retry_run_plan(plan, rows, connection.destination, note, known.use)
            start(callbacks, run_plan)
            for row in earlier.unchanged:
                callbacks.row_done(row, RowStatus.UNCHANGED)
            stop, failure = send_loop(
                plan.prepared, rows, connection, rate_limit, journal, callbacks, known, concurrency
            )
            entries = journal.outcomes()
        known.finish()
        summary = summary_for("retry", started, connection.destination, stop, journal.path)
        summary.extra["ledger"] = known.use.summary_line(resend=resend)
        if plan.deleted:
            summary.extra["rows deleted by hand"] = (
                f"{len(plan.deleted)}: {', '.join(plan.deleted[:20])}"
            )
        content = results_content(plan.prepared, workbook.sheet_name, recorded_source(workbook))
        results_frame = unchanged_results(retry_results(plan, entries), earlier.unchanged)
        report = finish(target, content, results_frame, summary, callbacks, failure, run_plan, stop)
        report.ledger = known.use
    return raise_or_return(report, failure)
