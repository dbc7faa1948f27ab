"""The ledger: which rows each destination accepted, across runs and files; never the api key
or a lead's values (the hash of the payload sent stands for them).

One SQLite file (by default in the user's data folder) holds every destination's entries,
keyed by endpoint and key fingerprint. Several runs, and several threads of one run, may use
it at once: WAL, a busy timeout, one short transaction per write, one lock per connection.
The journal stays the record of a run; the ledger may lag it (synchronous=NORMAL),
and a run adds what a journal knows and the ledger lacks (`RunLedger.reconcile`).
"""

from __future__ import annotations

import ipaddress
import os
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from importer.errors import RunError
from importer.run.destination import SANDBOX, Destination, endpoint_parts

LEDGER_NAME = "ledger.sqlite3"
APP_FOLDER = "enerflo-import"
HOME_VARIABLE = "ENERFLO_IMPORT_HOME"
LEDGER_FORMAT = 1  # PRAGMA user_version
BUSY_TIMEOUT = 5.0  # seconds a write waits for another run's transaction
LEDGER_HINT = (
    "move the file away to start a new ledger (rows are then sent again, as updates of "
    "the same leads), or give another --ledger"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS destinations (
    id INTEGER PRIMARY KEY,
    endpoint TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    UNIQUE (endpoint, key_fingerprint)
);
CREATE TABLE IF NOT EXISTS leads (
    destination INTEGER NOT NULL REFERENCES destinations (id),
    record_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    file TEXT NOT NULL,
    row INTEGER NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (destination, record_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS leads_file ON leads (file);
"""

# An entry is replaced only by a newer one: a journal reconciled late never undoes a later
# send of the same lead.
_REMEMBER = """
INSERT INTO leads (destination, record_id, fingerprint, lead_id, file, row, at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (destination, record_id) DO UPDATE SET
    fingerprint = excluded.fingerprint, lead_id = excluded.lead_id,
    file = excluded.file, row = excluded.row, at = excluded.at
WHERE excluded.at >= leads.at
"""

_CONTENTS = """
SELECT d.endpoint, d.key_fingerprint, l.file, COUNT(*), MIN(l.at), MAX(l.at)
FROM leads l JOIN destinations d ON d.id = l.destination
GROUP BY d.id, l.file
ORDER BY d.endpoint, d.key_fingerprint, MIN(l.at), l.file
"""


class LedgerError(RunError):
    """The ledger file cannot be opened, read or written."""


class Place(NamedTuple):
    """A destination as the ledger keys it: endpoint (or the embedded sandbox) and key."""

    endpoint: str
    key_fingerprint: str

    @classmethod
    def of(cls, destination: Destination) -> Place:
        return cls(destination.endpoint, destination.key_fingerprint)

    @property
    def base_url(self) -> str:
        parts = endpoint_parts(self.endpoint)
        return parts[0] if parts else self.endpoint

    @property
    def is_local(self) -> bool:
        """The embedded sandbox or a sandbox on this machine (a loopback address)."""
        if self.endpoint == SANDBOX:
            return True
        host = urlsplit(self.endpoint).hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def matches(self, wanted: str) -> bool:
        """`wanted` names this place: "sandbox" (any local one), its endpoint or base URL."""
        if wanted.strip().lower() == "sandbox":
            return self.is_local
        url = wanted.strip().rstrip("/")
        return url in (self.endpoint, self.base_url)


@dataclass(frozen=True)
class LedgerEntry:
    """One lead a destination accepted: the latest payload it was sent, and from where."""

    record_id: str
    fingerprint: str  # payload.fingerprint of the body sent
    lead_id: str
    file: str  # the name of the file the row was read from (source sheet or results file)
    row: int  # its row in that file, as a spreadsheet shows it
    at: str  # when it was accepted (UTC, ISO 8601)

    @property
    def where(self) -> str:
        """`2026-11-30 (leads-week47.xlsx row 12)`"""
        return f"{self.at[:10]} ({self.file} row {self.row})"


@dataclass(frozen=True)
class FileContents:
    file: str
    leads: int
    first_at: str
    last_at: str


@dataclass(frozen=True)
class PlaceContents:
    place: Place
    files: list[FileContents]

    @property
    def leads(self) -> int:
        return sum(f.leads for f in self.files)


def default_ledger_path() -> Path:
    """ENERFLO_IMPORT_HOME/ledger.sqlite3, else the platform's per-user data folder:
    $XDG_DATA_HOME or ~/.local/share (Linux), ~/Library/Application Support (macOS),
    %LOCALAPPDATA% (Windows); each with an enerflo-import folder."""
    home = os.environ.get(HOME_VARIABLE, "").strip()
    if home:
        return Path(home).expanduser() / LEDGER_NAME
    return _data_folder() / APP_FOLDER / LEDGER_NAME


def _data_folder() -> Path:
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA", "")
        return Path(local) if local else Path.home() / "AppData" / "Local"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says a relative path is invalid and must be ignored.
    return Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share"


def ledger_path(ledger: str | Path | bool | None) -> Path | None:
    """The file a run uses: None for `ledger=False`, the default for None or True."""
    if ledger is False:
        return None
    if ledger is None or ledger is True:
        return default_ledger_path()
    return Path(ledger).expanduser()


class Ledger:
    """The ledger file. Every method is one short transaction under this object's lock,
    so threads may share it; other processes wait up to BUSY_TIMEOUT for theirs.
    Raises LedgerError when the file cannot be used."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db
        self._lock = threading.Lock()
        self._ids: dict[Place, int] = {}

    @classmethod
    def open(cls, path: Path, *, write: bool = True) -> Ledger:
        """Open (with `write`, create) the ledger at `path`. Read-only opening of a file
        that does not exist yet gives an empty ledger in memory."""
        path = Path(path)
        try:
            if write:
                db = _create(path)
            elif path.exists():
                uri = path.resolve().as_uri() + "?mode=ro"
                db = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, check_same_thread=False)
            else:
                db = sqlite3.connect(":memory:", check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise _error(path, "cannot be opened", exc) from exc
        ledger = cls(path, db)
        try:
            ledger._check_format(write or not path.exists())
        except BaseException:
            db.close()
            raise
        return ledger

    def _check_format(self, create: bool) -> None:
        with self._guard("cannot be read"):
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and create:
                # One transaction; IF NOT EXISTS: another run may be creating it too.
                script = f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={LEDGER_FORMAT};COMMIT;"
                self._db.executescript(script)
                return
        if version not in (0, LEDGER_FORMAT):
            raise LedgerError(
                f"{self.path}: ledger format {version} is newer than this version reads",
                hint="use the newer enerflo-import, or give another --ledger",
            )

    def known(self, place: Place) -> dict[str, LedgerEntry]:
        """record id -> entry, for every lead `place` accepted."""
        with self._guard("cannot be read"):
            if _empty(self._db):
                return {}
            rows = self._db.execute(
                "SELECT l.record_id, l.fingerprint, l.lead_id, l.file, l.row, l.at FROM leads l "
                "JOIN destinations d ON d.id = l.destination "
                "WHERE d.endpoint = ? AND d.key_fingerprint = ?",
                place,
            )
            return {row[0]: LedgerEntry(*row) for row in rows}

    def keys_at(self, endpoint: str) -> list[str]:
        """The fingerprints of the api keys rows were accepted with at `endpoint`."""
        with self._guard("cannot be read"):
            if _empty(self._db):
                return []
            rows = self._db.execute(
                "SELECT key_fingerprint FROM destinations d WHERE endpoint = ? "
                "AND EXISTS (SELECT 1 FROM leads WHERE destination = d.id) ORDER BY 1",
                (endpoint,),
            )
            return [row[0] for row in rows]

    def remember(self, place: Place, entries: Iterable[LedgerEntry]) -> None:
        """Add or update entries of `place`, all in one transaction."""
        entries = list(entries)
        if not entries:
            return
        with self._guard("cannot be written"):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                destination = self._destination_id(place)
                self._db.executemany(
                    _REMEMBER,
                    [
                        (destination, e.record_id, e.fingerprint, e.lead_id, e.file, e.row, e.at)
                        for e in entries
                    ],
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _destination_id(self, place: Place) -> int:
        if place not in self._ids:
            self._db.execute(
                "INSERT OR IGNORE INTO destinations (endpoint, key_fingerprint) VALUES (?, ?)",
                place,
            )
            found = self._db.execute(
                "SELECT id FROM destinations WHERE endpoint = ? AND key_fingerprint = ?", place
            ).fetchone()
            self._ids[place] = int(found[0])
        return self._ids[place]

    def contents(self) -> list[PlaceContents]:
        """Per destination, how many leads it accepted from each file, and when."""
        with self._guard("cannot be read"):
            rows = [] if _empty(self._db) else self._db.execute(_CONTENTS).fetchall()
        places: dict[Place, list[FileContents]] = {}
        for endpoint, fingerprint, file, count, first, last in rows:
            places.setdefault(Place(endpoint, fingerprint), []).append(
                FileContents(file, count, first, last)
            )
        return [PlaceContents(place, files) for place, files in places.items()]

    def forget(self, destination: str | None, file: str | None) -> list[tuple[Place, int]]:
        """Remove the entries of the destinations `destination` names (see Place.matches)
        and/or of one file; how many each destination lost."""
        places = [
            c.place for c in self.contents() if destination is None or c.place.matches(destination)
        ]
        forgotten = []
        with self._guard("cannot be written"):
            self._db.execute("BEGIN IMMEDIATE")
            for place in places:
                condition = "destination = ?"
                values: list[object] = [self._destination_id(place)]
                if file is not None:
                    condition, values = condition + " AND file = ?", [*values, file]
                count = self._db.execute(f"DELETE FROM leads WHERE {condition}", values).rowcount
                if count:
                    forgotten.append((place, count))
            # The destinations rows stay: a run under way may hold their ids.
            self._db.execute("COMMIT")
        return forgotten

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        """The connection's lock; an SQLite failure rolled back and raised as LedgerError."""
        with self._lock:
            try:
                yield
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.rollback()
                raise _error(self.path, what, exc) from exc


def _create(path: Path) -> sqlite3.Connection:
    """Connect for reading and writing, creating the folder and the file (private: the
    ledger names the user's files and lead ids)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        path.touch(mode=0o600)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        # The journal is the record of the run; the ledger may lose the last entries to a
        # power cut, and the next run against that journal adds back what it holds.
        db.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.Error:
        db.close()
        raise
    return db


def _empty(db: sqlite3.Connection) -> bool:
    """A file with no tables yet (created by another run a moment ago, or read-only new)."""
    found = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'leads'").fetchone()
    return found is None


def _error(path: Path, what: str, exc: BaseException) -> LedgerError:
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        reason = exc.strerror.lower()
    if "locked" in reason.lower() or "busy" in reason.lower():
        reason = f"another run held it longer than {BUSY_TIMEOUT:g} s"
    return LedgerError(f"{path}: the ledger {what} ({reason})", hint=LEDGER_HINT)
