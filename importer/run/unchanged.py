"""A run and the ledger: which rows its destination already has (unchanged: not sent), which
update a lead sent before (sent, with a warning), and each row accepted now (recorded after
the journal has it); sends nothing, and never fails a run.

A row is unchanged when this destination accepted its record id with the same payload (the
journal's fingerprint of the body built from the sheet). Anything else is sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from importer.errors import ImporterError
from importer.models import ACCEPTED, Problem, RowStatus
from importer.records import RECORD_ID
from importer.run.destination import SANDBOX, Destination
from importer.run.ledger import Ledger, LedgerEntry, LedgerError, Place, ledger_path
from importer.run.report import LedgerUse
from importer.run.rows import PreparedRows
from importer.run.sending import record_fingerprints
from importer.sending.journal import Journal

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


# -- the ledger as one run uses it ------------------------------------------------------------


class RunLedger:
    """The ledger as one run uses it: what its destination has, and each row it gets accepted.

    Never raises: a ledger that cannot be opened, read or written becomes a warning in the
    report and knows nothing from then on, so it can make a run send a row again, never
    skip one. The embedded sandbox keeps no ledger: each one starts empty, so a rehearsal
    sends every valid row (what a rehearsal should show).
    """

    def __init__(self, use: LedgerUse, ledger: Ledger | None, place: Place, file: str) -> None:
        self.use = use
        self._ledger = ledger
        self._place = place
        self._file = file
        self._lock = threading.Lock()
        self._unwritten: list[LedgerEntry] = []  # accepted while writing failed

    @classmethod
    def open(
        cls,
        ledger: str | Path | bool | None,
        destination: Destination,
        file: str,
        *,
        write: bool = True,
    ) -> RunLedger:
        path = ledger_path(ledger)
        use = LedgerUse(path, destination.label)
        if path is None:
            use.note = "not used (--no-ledger)"
        elif destination.is_sandbox:
            use.note = "not used by a rehearsal (each embedded sandbox starts empty)"
        store = None
        if path is not None and not use.note:
            try:
                store = Ledger.open(path, write=write)
            except LedgerError as exc:
                use.warn(exc, "every valid row is sent")
        return cls(use, store, Place.of(destination), file)

    def known(self) -> dict[str, LedgerEntry]:
        """What the run's destination accepted before; {} when the ledger fails."""
        if self._ledger is None:
            return {}
        try:
            found = self._ledger.known(self._place)
        except LedgerError as exc:
            self.use.warn(exc, "every valid row is sent")
            self._give_up()
            return {}
        self.use.consulted = True
        return found

    def choose_key(self) -> None:
        """For a dry run without an api key: look up the only key the ledger knows at the
        endpoint; with none or several, know nothing (and say why)."""
        if self._ledger is None:
            return
        try:
            keys = self._ledger.keys_at(self._place.endpoint)
        except LedgerError as exc:
            self.use.warn(exc, "nothing known")
            self._give_up()
            return
        if len(keys) == 1:
            self._place = Place(self._place.endpoint, keys[0])
            self.use.note = f"no api key set: used the only one the ledger knows there, {keys[0]}"
            return
        self.use.note = (
            "no api key set, and rows went there with several: set ENERFLO_API_KEY to look up "
            "what a send with it would skip"
            if keys
            else ""
        )
        self._give_up()

    def compare(self, prepared: PreparedRows, rows: list[int], *, resend: bool) -> Earlier:
        """Which due `rows` the destination has (not to send) or has with other values (to
        send, with the warning updates_earlier_import added to `prepared.problems`)."""
        if resend or self._ledger is None:
            return Earlier()
        earlier = compare_rows(prepared, rows, self.known())
        prepared.problems += update_warnings(earlier.updates)
        self.use.unchanged, self.use.updates = len(earlier.unchanged), len(earlier.updates)
        return earlier

    def remember(self, row: int, record_id: str, fingerprint: str, lead_id: str, at: str) -> None:
        """Add a row the destination just accepted (call it after the journal has it)."""
        entry = LedgerEntry(record_id, fingerprint, lead_id, self._file, int(row), at)
        with self._lock:
            if self._ledger is None:
                return
            if self._unwritten:  # writing failed once: keep the rest for `finish`
                self._unwritten.append(entry)
                return
            try:
                self._ledger.remember(self._place, [entry])
            except LedgerError:
                self._unwritten.append(entry)

    def finish(self) -> None:
        """Write what per-row writes could not (once more, in one transaction); a warning
        when that fails too: the journal still has those rows."""
        with self._lock:
            if self._ledger is None or not self._unwritten:
                return
            count = len(self._unwritten)
            try:
                self._ledger.remember(self._place, self._unwritten)
            except LedgerError as exc:
                self.use.warn(
                    exc,
                    f"{count} rows accepted by this run are not in it; the next run with "
                    "this results file adds them from its journal",
                )
            self._unwritten = []

    def reconcile(self, journal: Path, file: str | None = None) -> None:
        """Add the rows a journal records as accepted that the ledger lacks (a run killed
        between its journal and the ledger, or a ledger that could not be written), under
        the journal's own destination. A journal that cannot be read is left to the run."""
        if self._ledger is None or not journal.exists():
            return
        try:
            identity, entries = Journal.peek(journal)
        except ImporterError:  # the run opening it reports what is wrong with it
            return
        place = Place(identity.get("destination", ""), identity.get("key_fingerprint", ""))
        if not place.endpoint or place.endpoint == SANDBOX:
            return
        name = file or identity.get("source", "") or journal.name
        accepted = [
            LedgerEntry(e.record_id, e.fingerprint, e.lead_id or "", name, e.row, e.at)
            for e in entries.values()
            if e.status in ACCEPTED and e.fingerprint
        ]
        try:
            self._ledger.remember(place, accepted)
        except LedgerError as exc:
            self.use.warn(exc, "it may lack rows an earlier run had accepted")

    def _give_up(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    def close(self) -> None:
        self.finish()
        self._give_up()

    def __enter__(self) -> RunLedger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def predict(
    prepared: PreparedRows,
    ledger: str | Path | bool | None,
    destination: Destination,
    key_known: bool,
    file: str,
) -> LedgerUse:
    """The dry run's look at the ledger (read only): a warning on each valid row a send to
    `destination` would skip, or send as an update. Without the key, the only key the
    ledger knows at that endpoint stands in for it."""
    with RunLedger.open(ledger, destination, file, write=False) as known:
        if not key_known:
            known.choose_key()
        earlier = compare_rows(prepared, prepared.valid_rows, known.known())
    prepared.problems += dry_run_warnings(earlier)
    known.use.unchanged, known.use.updates = len(earlier.unchanged), len(earlier.updates)
    return known.use
