"""Durable per-row record of send outcomes in SQLite, for resuming; never holds the api key."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from importer.errors import BadInputError, JournalError, OutputError, RunError
from importer.models import RowStatus

if TYPE_CHECKING:
    from importer.sending.sender import SendOutcome

# Format 2 records the destination (endpoint and key fingerprint); a format-1 journal does
# not say where its rows went, so its rows cannot be counted as done anywhere.
JOURNAL_FORMAT = "2"
FRESH_HINT = "use --fresh to start over, or -o for another output"
# The WAL is synced to the disk at the first commit after this many seconds (and on close),
# or this long after the last sync by a thread when no commit comes (the run waits on a
# retry, a rate limit or a slow answer): a kill loses no recorded row, a power cut at most
# this last second's (sent again on resume, as updates of the same leads). A sync per row
# (~0.3 ms) would cost a fast send a quarter of its time; at the API's 300 rows a minute it
# is one sync per 5 rows anyway.
SYNC_EVERY_SECONDS = 1.0
# What each identity key means to a user, for the "made for another ..." message.
IDENTITY_WORDS = {
    "source": "source file",
    "source_sha256": "source file",
    "mapping_sha256": "mapping",
    "sheet": "sheet",
    "results_sha256": "results file",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    row INTEGER NOT NULL,
    record_id TEXT NOT NULL,
    status TEXT NOT NULL,
    lead_id TEXT,
    http_status INTEGER,
    message TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    at TEXT NOT NULL,
    fingerprint TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS attempts_row ON attempts (row);
"""

_RECORD = (
    "INSERT INTO attempts"
    " (row, record_id, status, lead_id, http_status, message, attempts, at, fingerprint)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_LATEST = """
SELECT a.row, a.record_id, a.status, a.lead_id, a.http_status, a.message, t.total, a.at,
       a.fingerprint
FROM attempts a
JOIN (SELECT row, MAX(id) AS last, SUM(attempts) AS total FROM attempts GROUP BY row) t
  ON a.id = t.last
ORDER BY a.row
"""


@dataclass(frozen=True)
class JournalEntry:
    """The latest outcome of one row; `attempts` sums the requests over all its entries."""

    row: int
    record_id: str
    status: RowStatus
    lead_id: str | None
    http_status: int | None
    message: str
    attempts: int
    at: str
    fingerprint: str = ""  # of the record sent (see payload.fingerprint): which row it was


class Journal:
    """An append-only SQLite log of send outcomes, one entry per `record` call.

    Every `record` commits before it returns, so a crash or a kill of the importer loses
    at most the rows in flight; the disk is synced by the first commit SYNC_EVERY_SECONDS
    after the last sync (by a thread at that time when no commit comes), and on close, so
    a power cut loses only the rows since. The file is locked while open
    (a second run writing the same output is refused) and remembers the run identity it
    was made for.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self._synced = time.monotonic()
        self._later = _LaterSync(Path(f"{path}-wal").absolute())

    @classmethod
    def open(cls, path: Path, run_identity: dict[str, str], fresh: bool = False) -> Journal:
        """Open or create the journal at `path` for this run.

        A journal whose identity (e.g. source_sha256, mapping_sha256) differs from
        `run_identity` is refused with BadInputError unless `fresh`, which discards it.
        Keys present on only one side are not compared. Raises OutputError when the file
        cannot be created and RunError when another run holds it.
        """
        path = Path(path)
        if fresh and _is_foreign(path):
            _remove(path)  # not a journal at all: nothing to keep, no run to disturb
        db = _connect(path)
        journal = cls(path, db)
        try:
            if fresh:
                journal._empty()
            journal._claim(run_identity)
        except BaseException:
            db.close()
            raise
        return journal

    def _empty(self) -> None:
        """Forget every entry (--fresh), under the lock: a running send keeps its file."""
        try:
            self._db.executescript(_SCHEMA + "DELETE FROM attempts; DELETE FROM meta;")
        except sqlite3.OperationalError as exc:
            raise _locked_or_unwritable(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            raise _not_a_journal(self.path) from exc

    def _claim(self, run_identity: dict[str, str]) -> None:
        try:
            self._db.executescript(_SCHEMA)
            stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            empty = self._db.execute("SELECT 1 FROM attempts LIMIT 1").fetchone() is None
        except sqlite3.OperationalError as exc:
            raise _locked_or_unwritable(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            raise _not_a_journal(self.path) from exc
        if not empty:  # a journal with no entries (a run cancelled at its prompt) is anyone's
            _check_identity(self.path, stored, run_identity)
        rows = [("format", JOURNAL_FORMAT)] + [(k, str(v)) for k, v in run_identity.items()]
        with self._db:  # one transaction: the identity is stored whole or not at all
            self._db.execute("BEGIN")
            if empty:
                self._db.execute("DELETE FROM meta")
            self._db.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", rows)

    @classmethod
    def peek(cls, path: Path) -> tuple[dict[str, str], dict[int, JournalEntry]]:
        """The identity and latest entries of an existing journal, whatever run it was made
        for; ({}, {}) when there is no file. Raises like `open` when it cannot be read."""
        path = Path(path)
        if not path.exists():
            return {}, {}
        db = _connect(path)
        journal = cls(path, db)
        try:
            db.executescript(_SCHEMA)
            return journal.identity, journal.outcomes()
        except sqlite3.OperationalError as exc:
            raise _locked_or_unwritable(path, exc) from exc
        except sqlite3.DatabaseError as exc:
            raise _not_a_journal(path) from exc
        finally:
            db.close()

    @property
    def identity(self) -> dict[str, str]:
        """The run identity stored in the file (plus its format version)."""
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def record(
        self, row: int, record_id: str, outcome: SendOutcome, at: str, fingerprint: str = ""
    ) -> None:
        """Append one row's outcome, committed before returning (synced to the disk when
        the last sync is SYNC_EVERY_SECONDS old)."""
        values = (
            int(row),
            record_id,
            str(outcome.status),
            outcome.lead_id,
            outcome.http_status,
            outcome.message,
            int(outcome.attempts),
            at,
            fingerprint,
        )
        now = time.monotonic()
        sync = now - self._synced >= SYNC_EVERY_SECONDS
        try:
            # Autocommit: the INSERT is its own transaction, committed before execute
            # returns; under synchronous=FULL the commit syncs the WAL, the rows before too.
            if sync:
                self._db.execute("PRAGMA synchronous=FULL")
            try:
                self._db.execute(_RECORD, values)
            finally:  # NORMAL again even when the commit failed (a full disk)
                if sync:
                    self._db.execute("PRAGMA synchronous=NORMAL")
            if sync:
                self._synced = now
                self._later.cancel()
            else:  # synced by the next commit, or by the thread if none comes in time
                self._later.due(self._synced + SYNC_EVERY_SECONDS)
        except sqlite3.Error as exc:
            raise JournalError(
                f"{self.path}: cannot record the outcome of row {row} in the journal "
                f"({_why(self.path, exc)})",
                hint="free some disk space (or fix the folder's permissions), then run the same "
                "command again: it resumes from the journal, and nothing it recorded as "
                f"accepted is sent again (row {row} goes again, as an update of the same lead)",
            ) from exc

    def outcomes(self) -> dict[int, JournalEntry]:
        """The latest entry per spreadsheet row, with attempts summed over the row's entries."""
        return {
            row[0]: JournalEntry(row[0], row[1], RowStatus(row[2]), *row[3:])
            for row in self._db.execute(_LATEST)
        }

    def close(self) -> None:
        """Close the file; closing checkpoints the WAL, which syncs the rows recorded."""
        try:
            self._later.stop()
        finally:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _LaterSync:
    """Syncs the journal's WAL file when rows committed without a sync would otherwise
    wait for the next commit: a run waiting minutes on retries, a rate limit or a slow
    answer still has its rows on the disk SYNC_EVERY_SECONDS after the last sync.

    A `threading.Timer`, set by the first row left unsynced (at most one a second), never
    touches the SQLite connection (that stays the recording thread's): it fsyncs the WAL
    file, which is what a synchronous=FULL commit does in WAL mode. A frame half-written
    meanwhile is past the last commit the WAL records, which SQLite's recovery ignores.
    """

    def __init__(self, wal: Path) -> None:
        self._wal = wal
        self._timer: threading.Timer | None = None

    def due(self, when: float) -> None:
        """A row was committed without a sync: sync at `when` unless cancelled first."""
        if self._timer is not None and self._timer.is_alive():
            return  # an earlier unsynced row already set the time
        self._timer = threading.Timer(max(0.0, when - time.monotonic()), _sync_file, [self._wal])
        self._timer.name, self._timer.daemon = "enerflo-import journal sync", True
        self._timer.start()

    def cancel(self) -> None:
        """A commit synced the disk: nothing waits."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None  # the next unsynced row sets a new one

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()


def _sync_file(path: Path) -> None:
    # Windows' fsync (_commit) needs a descriptor open for writing; nothing is written.
    mode = os.O_RDWR if os.name == "nt" else os.O_RDONLY
    try:
        fd = os.open(path, mode)
    except OSError:
        return  # no WAL file: nothing committed is waiting in one
    try:
        os.fsync(fd)
    except OSError:
        pass  # a failing disk: the next commit's sync, or close's checkpoint, reports it
    finally:
        os.close(fd)


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=0.5, isolation_level=None)  # autocommit
    except (OSError, sqlite3.Error) as exc:
        raise OutputError(
            f"{path}: cannot create the journal ({exc})", hint="check the output folder"
        ) from exc
    try:
        # EXCLUSIVE locking keeps a second run off this file while we hold it (WAL then
        # needs no shared-memory file); NORMAL commits to the WAL without a sync, which
        # `record` asks for once a second. Small pages (for a new file) make each commit's
        # WAL write smaller: a row's entry is ~100 bytes.
        db.execute("PRAGMA page_size=1024")
        db.execute("PRAGMA locking_mode=EXCLUSIVE")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.OperationalError as exc:
        db.close()
        raise _locked_or_unwritable(path, exc) from exc
    except sqlite3.DatabaseError as exc:
        db.close()
        raise _not_a_journal(path) from exc
    return db


def _why(path: Path, exc: sqlite3.Error) -> str:
    """SQLite's reason, plus what the disk says when it is full."""
    reason = str(exc)
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return reason
    if free < 1 << 20 or "full" in reason.lower():
        return f"{reason}; the disk holding {path.parent} has {free // 1024} KiB free"
    return reason


def _not_a_journal(path: Path) -> BadInputError:
    return BadInputError(f"{path}: not a journal written by enerflo-import", hint=FRESH_HINT)


def _locked_or_unwritable(path: Path, exc: sqlite3.OperationalError) -> Exception:
    if "locked" in str(exc).lower():
        return RunError(
            f"{path}: another run is using this journal",
            hint="wait for it to finish, or give this run another -o",
        )
    return OutputError(f"{path}: cannot write the journal ({exc})", hint="check the output folder")


def _check_identity(path: Path, stored: dict[str, str], wanted: dict[str, str]) -> None:
    if stored and stored.get("format") != JOURNAL_FORMAT:
        version = stored.get("format", "?")
        raise BadInputError(
            f"{path}: journal format {version} is not one this version reads "
            "(it does not record where its rows were sent)",
            hint=FRESH_HINT,
        )
    for key, value in wanted.items():
        if key in stored and stored[key] != str(value):
            raise mismatch_error(path, key, stored[key], str(value))


class JournalMismatchError(BadInputError):
    """The journal was made for another run: `key` names the identity fact that differs."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message, hint=FRESH_HINT)
        self.key = key


def mismatch_error(path: Path, key: str, stored: str, wanted: str) -> JournalMismatchError:
    """The refusal for a journal whose `key` fact differs, naming both sides."""
    if key == "destination":
        what = f"its rows were sent to {_place(stored)}, not to {_place(wanted)}"
    elif key == "key_fingerprint":
        what = (
            f"its rows were sent with another api key (fingerprint {stored}), "
            f"not this one ({wanted})"
        )
    else:
        what = f"this journal was made for a different {IDENTITY_WORDS.get(key, key)}"
    return JournalMismatchError(key, f"{path}: {what}")


def _place(destination: str) -> str:
    return (
        "the embedded sandbox (a rehearsal)" if destination == "embedded sandbox" else destination
    )


def _is_foreign(path: Path) -> bool:
    """True for an existing file that is not an SQLite database (so not a journal)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    return bool(head) and head != b"SQLite format 3\x00"


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        target = path.with_name(path.name + suffix)
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            raise OutputError(f"{target}: cannot remove the old journal ({exc})") from exc
