"""The send loop: post each due row, journal its outcome, then fold the journal into results.

Every outcome is journaled as its answer arrives, before another request starts, so a
crash or a kill loses at most the rows in flight (one, or --concurrency), and each is an
upsert when it goes again. An accepted row goes into the ledger only once the journal has
it: the ledger may lag the journal, never lead it.
"""

from __future__ import annotations

import math
import queue
import statistics
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from contextlib import ExitStack, contextmanager
from typing import Protocol

import pandas as pd

from importer.errors import ApiDownError, ApiKeyError
from importer.models import ACCEPTED, RowStatus
from importer.records import RECORD_ID
from importer.run.destination import Connection
from importer.run.outfile import utc_now
from importer.run.report import Callbacks, HeldBack, StopReason
from importer.run.rows import PreparedRows
from importer.sandbox import running_sandbox
from importer.sending.journal import Journal, JournalEntry
from importer.sending.pacing import SAFETY_MARGIN, Pacer
from importer.sending.payload import PayloadBuilder, fingerprint
from importer.sending.sender import FailureStreak, LeadSender, SenderConfig, SendOutcome
from importer.validation.survey import FileCheckError, inline_files

MAX_CONCURRENCY = 32  # requests in flight at most (--concurrency)

_ACCEPTED_TEXT = frozenset(str(status) for status in ACCEPTED)


@contextmanager
def open_senders(
    connection: Connection, rate_limit: int, callbacks: Callbacks, count: int = 1
) -> Iterator[list[LeadSender]]:
    """`count` LeadSenders for the connection, sharing one pacer (together they keep the
    rate limit, and a 429 holds them all) and one failure streak; the embedded sandbox
    runs while they are open."""
    with ExitStack() as stack:
        if connection.base_url is None:
            box = stack.enter_context(running_sandbox(port=0))
            config = SenderConfig(box.base_url, "partner", box.api_key, rate_limit)
        else:
            partner = connection.destination.partner
            config = SenderConfig(connection.base_url, partner, connection.api_key, rate_limit)
        pacer = Pacer(rate_limit, on_wait=callbacks.waiting)
        streak = FailureStreak()
        yield [
            stack.enter_context(
                LeadSender(
                    config,
                    on_wait=callbacks.waiting,
                    should_stop=callbacks.should_stop,
                    pacer=pacer,
                    streak=streak,
                )
            )
            for _ in range(count)
        ]


class AcceptedRows(Protocol):
    """Whatever wants each accepted row once the journal has it (the run's ledger)."""

    def remember(
        self, row: int, record_id: str, fingerprint: str, lead_id: str, at: str
    ) -> None: ...


def record_fingerprints(prepared: PreparedRows, rows: list[int]) -> dict[int, str]:
    """The fingerprint each of `rows` would be journaled with if it were sent now."""
    builder = PayloadBuilder(prepared.records.refs())
    table = prepared.records.table(rows)
    return {
        row: fingerprint(builder.build_values(values))
        for row, *values in table.itertuples(index=True, name=None)
    }


def accepted_entries(entries: dict[int, JournalEntry]) -> dict[int, JournalEntry]:
    return {row: entry for row, entry in entries.items() if entry.status in ACCEPTED}


def send_rows(
    prepared: PreparedRows,
    rows: list[int],
    senders: list[LeadSender],
    journal: Journal,
    callbacks: Callbacks,
    ledger: AcceptedRows | None = None,
) -> StopReason | None:
    """Post `rows`, journaling each outcome as it arrives (then an accepted one in the
    ledger); the reason the loop ended early, if any.

    One sender posts in row order; several keep that many requests in flight. ApiKeyError
    and ApiDownError propagate once the requests in flight have been journaled (the row
    that tipped ApiDownError is journaled too); so does KeyboardInterrupt in a sequential
    run, with the row in flight not journaled (it stays pending and is an upsert when sent
    again).
    """
    loop = _Loop(prepared, journal, callbacks, ledger)
    table = prepared.records.table(rows)
    if len(senders) == 1:
        return loop.one_at_a_time(table, senders[0])
    return loop.concurrently(table, senders)


class _Loop:
    """What both ways of sending share: the payloads, and recording each outcome."""

    def __init__(
        self,
        prepared: PreparedRows,
        journal: Journal,
        callbacks: Callbacks,
        ledger: AcceptedRows | None,
    ) -> None:
        self.prepared = prepared
        self.journal = journal
        self.callbacks = callbacks
        self.ledger = ledger
        refs = prepared.records.refs()
        self.builder = PayloadBuilder(refs)
        self.id_at = refs.index(RECORD_ID)
        self.from_files = prepared.mapping.file_entries()

    def send(self, sender: LeadSender, values: list[str], body: dict) -> SendOutcome:
        return _send_one(self.prepared, sender, self.builder, body, values, self.from_files)

    def record(self, row: int, values: list[str], sent: str, outcome: SendOutcome) -> None:
        """Journal a row's outcome (`sent`: the fingerprint of the body posted), then tell
        the ledger and the caller."""
        at = utc_now()
        record_id = values[self.id_at]
        self.journal.record(row, record_id, outcome, at, sent)
        if self.ledger is not None and outcome.status in ACCEPTED:
            self.ledger.remember(row, record_id, sent, outcome.lead_id or "", at)
        self.callbacks.row_done(row, outcome.status)

    def one_at_a_time(self, table: pd.DataFrame, sender: LeadSender) -> StopReason | None:
        pace = _AnswerTimes(sender.config.rate_limit, self.callbacks)
        # itertuples over one table, not .loc per row: the per-row path must stay close to
        # a bare POST loop.
        for row, *values in table.itertuples(index=True, name=None):
            if self.callbacks.should_stop():
                return StopReason.INTERRUPTED
            body = self.builder.build_values(values)
            # The fingerprint before the request, not after: once the answer is in, the
            # journal's write comes first (a thread serving the API in this process, the
            # sandbox, is still finishing that request then).
            sent = fingerprint(body)
            try:
                outcome = self.send(sender, values, body)
            except ApiDownError as exc:
                self.record(row, values, sent, exc.outcome)
                raise
            self.record(row, values, sent, outcome)
            pace.add(sender.last_answer_seconds)
        return None

    def concurrently(self, table: pd.DataFrame, senders: list[LeadSender]) -> StopReason | None:
        """Up to len(senders) requests in flight; each outcome journaled as it arrives.

        Ctrl-C (should_stop, or a KeyboardInterrupt here) sends nothing new and lets the
        requests in flight finish and be journaled. A refused key or an API that is down
        does the same before its error is raised.
        """
        idle: queue.SimpleQueue[LeadSender] = queue.SimpleQueue()
        for sender in senders:
            idle.put(sender)

        def post(values: list[str], body: dict) -> SendOutcome:
            sender = idle.get()
            try:
                return self.send(sender, values, body)
            finally:
                idle.put(sender)

        rows = table.itertuples(index=True, name=None)
        flying: dict[Future[SendOutcome], tuple[int, list[str], str]] = {}
        failure: BaseException | None = None
        stop: StopReason | None = None
        with ThreadPoolExecutor(len(senders), thread_name_prefix="enerflo-send") as pool:
            try:
                while True:
                    while failure is None and stop is None and len(flying) < len(senders):
                        if self.callbacks.should_stop():
                            stop = StopReason.INTERRUPTED
                            break
                        item = next(rows, None)
                        if item is None:
                            break
                        row, *values = item
                        body = self.builder.build_values(values)
                        sent = fingerprint(body)
                        flying[pool.submit(post, values, body)] = (row, values, sent)
                    if not flying:
                        break
                    done, _ = wait(flying, return_when=FIRST_COMPLETED)
                    for future in done:
                        failure = self._settle(future, flying.pop(future)) or failure
            except KeyboardInterrupt:
                stop = StopReason.INTERRUPTED
                for future in as_completed(list(flying)):
                    failure = self._settle(future, flying.pop(future)) or failure
        if failure is not None:
            raise failure
        return stop

    def _settle(
        self, future: Future[SendOutcome], flown: tuple[int, list[str], str]
    ) -> BaseException | None:
        """Journal a finished request's outcome; the error it ended with, if any."""
        row, values, sent = flown
        try:
            self.record(row, values, sent, future.result())
        except ApiDownError as exc:
            self.record(row, values, sent, exc.outcome)
            return exc
        except ApiKeyError as exc:
            return exc  # the row stays pending: the key was refused, nothing was saved
        return None


class _AnswerTimes:
    """Watches a sequential send's answer times; tells the caller once when they hold it
    under 80% of the rate limit, and what --concurrency would reach."""

    SAMPLE = 10  # rows before judging
    SHARE = 0.8

    def __init__(self, rate_limit: int, callbacks: Callbacks) -> None:
        self.limit = rate_limit
        self.callbacks = callbacks
        self.times: list[float] = []
        self.told = rate_limit <= 0

    def add(self, seconds: float) -> None:
        if self.told or seconds <= 0:
            return
        self.times.append(seconds)
        if len(self.times) < self.SAMPLE:
            return
        typical = statistics.median(self.times[-self.SAMPLE :])
        rate = 60.0 / typical
        if rate >= self.SHARE * self.limit:
            return
        self.told = True
        self.callbacks.held_back(held_back(typical, self.limit))


def held_back(answer_seconds: float, limit: int) -> HeldBack:
    """What one request at a time reaches at this answer time, and the concurrency that
    would reach the limit (with a quarter to spare for answers slower than typical)."""
    needed = math.ceil(limit / 60.0 * answer_seconds * 1.25)
    concurrency = min(max(2, needed), MAX_CONCURRENCY)
    ceiling = limit / (1 + SAFETY_MARGIN)
    return HeldBack(
        answer_seconds=answer_seconds,
        rate=60.0 / answer_seconds,
        limit=limit,
        concurrency=concurrency,
        would_reach=min(ceiling, concurrency * 60.0 / answer_seconds),
    )


def _send_one(
    prepared: PreparedRows,
    sender: LeadSender,
    builder: PayloadBuilder,
    body: dict,
    values: list[str],
    from_files: list[bool],
) -> SendOutcome:
    if not any(from_files):
        return sender.send(body)
    try:
        files = inline_files(builder.files_of(values), prepared.files_dir, from_files)
    except FileCheckError as exc:
        # The photo changed or vanished after validation: the row is invalid, not sent.
        return SendOutcome(RowStatus.INVALID, None, None, f"survey_data: {exc.reason}", 0)
    return sender.send(builder.build_values(values, files=files))


def journaled_results(
    results: pd.DataFrame,
    entries: dict[int, JournalEntry],
    attempts_before: pd.Series | None = None,
) -> pd.DataFrame:
    """The results columns with each journaled row's latest outcome laid over them.

    Rows already `invalid` keep their verdict. `attempts_before` (retry) holds the attempts
    an earlier run recorded per row; the journal's add to them. One vectorised assignment,
    not one per row: on a large send this is most of the cost of finishing.
    """
    if not entries:
        return results
    journal = pd.DataFrame.from_records(
        [
            (e.row, str(e.status), e.message, e.lead_id or "", e.http_status, e.attempts, e.at)
            for e in entries.values()
        ],
        columns=["row", "status", "message", "lead_id", "http", "attempts", "at"],
    ).set_index("row")
    keep = results["import_status"].reindex(journal.index) != str(RowStatus.INVALID)
    journal = journal[keep.to_numpy() & journal.index.isin(results.index)]
    if journal.empty:
        return results
    accepted = journal["status"].isin(_ACCEPTED_TEXT)
    default = journal["status"].map({str(RowStatus.UPDATED): "Lead Updated"}).fillna("Lead Created")
    message = journal["message"].where(~accepted | (journal["message"] != ""), default)
    attempts = journal["attempts"]
    if attempts_before is not None:
        attempts = attempts + attempts_before.reindex(journal.index).fillna(0).astype(int)
    http = journal["http"].astype("Int64").astype(str).replace("<NA>", "")
    results = results.copy()
    results.loc[journal.index, "import_status"] = journal["status"].to_numpy()
    results.loc[journal.index, "import_message"] = message.to_numpy()
    results.loc[journal.index, "import_lead_id"] = journal["lead_id"].to_numpy()
    results.loc[journal.index, "import_http_status"] = http.to_numpy()
    results.loc[journal.index, "import_attempts"] = attempts.astype(str).to_numpy()
    results.loc[journal.index, "import_at"] = journal["at"].to_numpy()
    return results
