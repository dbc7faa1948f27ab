"""The send loop: post each due row, journal its outcome, then fold the journal into results.

Every outcome is journaled before the next row is posted, so a crash or a kill loses at
most the row in flight, and that row is an upsert when it goes again. An accepted row goes
into the ledger only once the journal has it: the ledger may lag the journal, never lead it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import pandas as pd

from importer.errors import ApiDownError
from importer.models import ACCEPTED, RowStatus
from importer.records import RECORD_ID
from importer.run.destination import Connection
from importer.run.outfile import utc_now
from importer.run.report import Callbacks, StopReason
from importer.run.rows import PreparedRows
from importer.sandbox import running_sandbox
from importer.sending.journal import Journal, JournalEntry
from importer.sending.payload import PayloadBuilder, fingerprint
from importer.sending.sender import LeadSender, SenderConfig, SendOutcome
from importer.validation.survey import FileCheckError, inline_files

_ACCEPTED_TEXT = frozenset(str(status) for status in ACCEPTED)


@contextmanager
def open_sender(
    connection: Connection, rate_limit: int, callbacks: Callbacks
) -> Iterator[LeadSender]:
    """A LeadSender for the connection; the embedded sandbox runs while it is open."""
    if connection.base_url is None:
        with running_sandbox(port=0) as box:
            config = SenderConfig(box.base_url, "partner", box.api_key, rate_limit)
            with LeadSender(
                config, on_wait=callbacks.waiting, should_stop=callbacks.should_stop
            ) as sender:
                yield sender
        return
    partner = connection.destination.partner
    config = SenderConfig(connection.base_url, partner, connection.api_key, rate_limit)
    with LeadSender(config, on_wait=callbacks.waiting, should_stop=callbacks.should_stop) as sender:
        yield sender


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
    sender: LeadSender,
    journal: Journal,
    callbacks: Callbacks,
    ledger: AcceptedRows | None = None,
) -> StopReason | None:
    """Post `rows` in order, journaling each outcome (then an accepted one in the ledger);
    the reason the loop ended early, if any.

    ApiKeyError and ApiDownError propagate (the row that tipped ApiDownError is journaled
    first); so does KeyboardInterrupt, with the row in flight not journaled (it stays
    pending and is an upsert when sent again).
    """
    refs = prepared.records.refs()
    builder = PayloadBuilder(refs)
    id_at = refs.index(RECORD_ID)
    from_files = prepared.mapping.file_entries()
    # itertuples over one table, not .loc per row: the per-row path must stay close to a
    # bare POST loop.
    for row, *values in prepared.records.table(rows).itertuples(index=True, name=None):
        if callbacks.should_stop():
            return StopReason.INTERRUPTED
        body = builder.build_values(values)
        try:
            outcome = _send_one(prepared, sender, builder, body, values, from_files)
        except ApiDownError as exc:
            journal.record(row, values[id_at], exc.outcome, utc_now(), fingerprint(body))
            raise
        at, sent = utc_now(), fingerprint(body)
        journal.record(row, values[id_at], outcome, at, sent)
        if ledger is not None and outcome.status in ACCEPTED:
            ledger.remember(row, values[id_at], sent, outcome.lead_id or "", at)
        callbacks.row_done(row, outcome.status)
    return None


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
