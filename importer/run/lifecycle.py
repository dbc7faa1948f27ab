"""The steps every run shares: reading the source, checking what OUT holds, the send loop
with its failures, writing OUT whatever happened, and the report; api.py strings them."""

from __future__ import annotations

import hashlib
from pathlib import Path

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
from importer.models import RESULT_COLUMNS
from importer.reading.sheet import SourceSheet, read_sheet
from importer.results.layout import written_column
from importer.results.read import ResultsWorkbook, accepted_ids, recorded_facts
from importer.results.summary import group_problems
from importer.results.write import ResultsContent, ResultsSummary, SourceFacts, write_results
from importer.run.destination import (
    SANDBOX,
    Connection,
    Destination,
)
from importer.run.outfile import (
    journal_path,
    retry_journal_path,
    utc_now,
)
from importer.run.report import Callbacks, Report, RunPlan, StopReason
from importer.run.rows import PreparedRows
from importer.run.sending import (
    MAX_CONCURRENCY,
    accepted_entries,
    open_senders,
    send_rows,
)
from importer.run.unchanged import RunLedger
from importer.sending.journal import Journal

PathLike = str | Path


def check_concurrency(concurrency: int) -> None:
    """UsageError unless 1 <= concurrency <= MAX_CONCURRENCY."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise UsageError(
            f"concurrency {concurrency} is not between 1 and {MAX_CONCURRENCY}",
            hint="1 sends one request at a time; 4 to 8 suits an API that answers in about "
            "a second",
        )


def send_loop(
    prepared: PreparedRows,
    rows: list[int],
    connection: Connection,
    rate_limit: int,
    journal: Journal,
    callbacks: Callbacks,
    ledger: RunLedger,
    concurrency: int = 1,
) -> tuple[StopReason | None, RunError | None]:
    """Run the send loop; the reason it stopped early and the failure to raise, if any.

    Whatever happens, control comes back here so that OUT is written: Ctrl-C (the row in
    flight is not journaled and stays pending), a refused key, an API that is down, a
    journal that cannot be written, or a bug.
    """
    if not rows:
        return None, None
    try:
        with open_senders(connection, rate_limit, callbacks, concurrency) as senders:
            return send_rows(prepared, rows, senders, journal, callbacks, ledger), None
    except KeyboardInterrupt:
        return StopReason.INTERRUPTED, None
    except ApiKeyError as exc:
        return StopReason.KEY_REFUSED, exc
    except ApiDownError as exc:
        return StopReason.API_DOWN, exc
    except JournalError as exc:
        return StopReason.JOURNAL, exc


def finish(
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


def raise_or_return(report: Report, failure: RunError | None) -> Report:
    if failure is not None:
        failure.report = report
        raise failure
    return report


def start(callbacks: Callbacks, plan: RunPlan) -> None:
    go_ahead = callbacks.starting(plan)
    if plan.to_send and not go_ahead:
        raise UsageError("cancelled; nothing was sent")


def results_content(
    prepared: PreparedRows, title: str | None, source: SourceFacts
) -> ResultsContent:
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


def summary_for(
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


def read_source(
    source: Path, sheet: str | None, mapping: ColumnMapping, encoding: str | None
) -> SourceSheet:
    # The reader ignores a sheet name for csv, so the mapping's default is safe to pass.
    return read_sheet(source, sheet or mapping.sheet, mapping.header_row, encoding=encoding)


def files_folder(files_dir: PathLike | None, source: Path) -> Path:
    return Path(files_dir) if files_dir is not None else source.parent


def retry_files_folder(files_dir: PathLike | None, workbook: ResultsWorkbook) -> Path:
    if files_dir is not None:
        return Path(files_dir)
    source = workbook.facts.get("source_path", "")
    folder = Path(source).parent if source else workbook.path.parent
    return folder if folder.is_dir() else workbook.path.parent


def mapping_of(workbook: ResultsWorkbook, mapping: PathLike | None) -> ColumnMapping:
    if mapping is not None:
        return load_mapping(Path(mapping))
    return parse_mapping(workbook.mapping_text, f"{workbook.path} (mapping stored in the workbook)")


def recorded_source(workbook: ResultsWorkbook) -> SourceFacts:
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


def run_identity(sheet: SourceSheet, mapping: ColumnMapping) -> dict[str, str]:
    """What a send journal belongs to: the same source bytes under the same mapping."""
    return {
        "source": displayable(sheet.path.name),  # SQLite refuses lone surrogates
        "source_sha256": sheet.sha256,
        "mapping_sha256": text_sha256(mapping.text),
        "sheet": sheet.sheet_name or "",
    }


def destination_identity(connection: Connection) -> dict[str, str]:
    destination = connection.destination
    return {"destination": destination.endpoint, "key_fingerprint": destination.key_fingerprint}


def rehearsed_before(target: Path) -> bool:
    """True when the journal beside `target` is an earlier rehearsal's."""
    identity, _ = Journal.peek(journal_path(target))
    return identity.get("destination") == SANDBOX


def check_send_target(target: Path, fresh: bool) -> None:
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
        refuse_replacing_sent_rows(target, "send")


def refuse_replacing_sent_rows(target: Path, command: str) -> None:
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


def reconcile(known: RunLedger, results: Path, results_name: str) -> None:
    """Before a run uses the journals beside a results file (and --fresh empties them), the
    ledger takes the rows they record as accepted that it lacks: a run killed between
    the two, or one whose ledger could not be written."""
    known.reconcile(journal_path(results))
    known.reconcile(retry_journal_path(results), results_name)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
