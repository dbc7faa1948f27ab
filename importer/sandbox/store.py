"""SQLite state of the sandbox: leads (upserted per company and record id) and the request
log. One connection behind a lock; knows nothing about HTTP or the API's rules.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FIRST_LEAD_ID = 55555  # the id in the API page's example answer
DEAL_ID_OFFSET = 700000  # a lead's deal id: its lead id plus this

# Columns the rules fill; a later request that leaves one out keeps the stored value.
LEAD_FIELDS = (
    "first_name", "last_name", "email", "mobile", "address", "city", "state", "zip",
    "lat", "lng", "timezone", "office_id", "creator_id", "agent_id", "setter_id",
    "lead_status", "lead_source", "office_match", "add_note", "calendar", "calendar_id",
    "deal_template_id", "ignore_validation",
)  # fmt: skip
_JSON_COLUMNS = ("survey_data", "appointment", "payload")
# What the page for people shows of a lead (never the payload, which may be large).
_SHOWN_LEAD_COLUMNS = (
    "id", "company_id", "integration_record_id", "first_name", "last_name",
    "address", "city", "state", "zip", "lead_status", "created_at", "updated_at",
)  # fmt: skip

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS leads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL,
    integration_record_id TEXT NOT NULL,
    {", ".join(f"{name}" for name in LEAD_FIELDS)},
    deal_id INTEGER,
    survey_data TEXT,
    appointment TEXT,
    payload TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (company_id, integration_record_id)
);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    company_id INTEGER,
    integration_record_id TEXT,
    status_code INTEGER,
    outcome TEXT NOT NULL,
    lead_id INTEGER,
    message TEXT
);
"""


def now_text(millis: bool = False) -> str:
    moment = datetime.now(UTC)
    if millis:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Snapshot:
    """The newest rows of both tables and their totals, read together (for the page)."""

    leads: list[dict[str, Any]]  # newest first
    requests: list[dict[str, Any]]  # newest first
    lead_count: int
    outcomes: dict[str, int]  # request count per outcome, over the whole log


class Store:
    """Leads and requests in SQLite (`path` None: in memory), safe to share between threads."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.Lock()
        self._path = path
        self._conn = sqlite3.connect(path or ":memory:", check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        try:
            if path:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            with self._conn:
                self._conn.executescript(_SCHEMA)
                self._seed_lead_ids()
            # Counted once here, then as requests are logged: counting a long log on
            # every page view would hold the lock ~20 ms per 100,000 requests.
            counts = self._conn.execute("SELECT outcome, COUNT(*) FROM requests GROUP BY outcome")
            self._outcomes = Counter({str(row[0]): int(row[1]) for row in counts})
        except sqlite3.Error:
            self._conn.close()  # not a database, or not writable: nothing to keep open
            raise

    def upsert_lead(
        self,
        company_id: int,
        record_id: str,
        fields: dict[str, Any],
        extras: dict[str, Any],
    ) -> tuple[dict[str, Any], bool]:
        """Insert or update one lead; returns (the stored row, True when it was created).

        `extras` holds survey_data, appointment and payload (stored as JSON text); a value
        of None, here or in `fields`, keeps what an earlier request stored.
        """
        values = {name: fields.get(name) for name in LEAD_FIELDS}
        values.update({name: _json(extras.get(name)) for name in _JSON_COLUMNS})
        with self._lock, self._conn:
            old = self._conn.execute(
                "SELECT * FROM leads WHERE company_id = ? AND integration_record_id = ?",
                (company_id, record_id),
            ).fetchone()
            if old is None:
                lead_id = self._insert(company_id, record_id, values)
            else:
                lead_id = self._update(old, values)
            row = self._conn.execute("SELECT * FROM leads WHERE id = ?", (lead_id,)).fetchone()
        return _lead_dict(row), old is None

    def log_request(self, **columns: Any) -> None:
        """One row of the request log: method, path, status_code, outcome, ... ("at" is now)."""
        columns.setdefault("at", now_text(millis=True))
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        with self._lock, self._conn:
            self._conn.execute(
                f"INSERT INTO requests ({names}) VALUES ({marks})", tuple(columns.values())
            )
            self._outcomes[str(columns["outcome"])] += 1

    def lead(self, lead_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM leads WHERE id = ?", (lead_id,)).fetchone()
        return _lead_dict(row) if row else None

    def lead_by_deal(self, deal_id: int) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM leads WHERE deal_id = ?", (deal_id,)).fetchone()
        return _lead_dict(row) if row else None

    def leads(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM leads ORDER BY id").fetchall()
        return [_lead_dict(row) for row in rows]

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT * FROM requests ORDER BY id").fetchall()
        return [dict(row) for row in rows]

    def snapshot(self, leads: int, requests: int) -> Snapshot:
        """At most `leads` leads and `requests` requests, newest first, with the totals."""
        columns = ", ".join(_SHOWN_LEAD_COLUMNS)
        with self._lock:
            lead_rows = self._conn.execute(
                f"SELECT {columns} FROM leads ORDER BY id DESC LIMIT ?", (leads,)
            ).fetchall()
            request_rows = self._conn.execute(
                "SELECT * FROM requests ORDER BY id DESC LIMIT ?", (requests,)
            ).fetchall()
            (lead_count,) = self._conn.execute("SELECT COUNT(*) FROM leads").fetchone()
            outcomes = dict(self._outcomes)
        return Snapshot(
            leads=[dict(row) for row in lead_rows],
            requests=[dict(row) for row in request_rows],
            lead_count=int(lead_count),
            outcomes=outcomes,
        )

    def reset(self) -> None:
        """Forget every lead and request; lead ids start again from 55555."""
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM leads")
            self._conn.execute("DELETE FROM requests")
            self._conn.execute("DELETE FROM sqlite_sequence")
            self._seed_lead_ids()
            self._outcomes.clear()

    def close(self) -> None:
        """Close the database; a file is checkpointed first, so it is complete on its own
        (SQLite skips that on close while another program has the file open)."""
        with self._lock:
            if self._path:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()

    def _seed_lead_ids(self) -> None:
        if self._conn.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'leads'").fetchone():
            return
        self._conn.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES ('leads', ?)", (FIRST_LEAD_ID - 1,)
        )

    def _insert(self, company_id: int, record_id: str, values: dict[str, Any]) -> int:
        stamp = now_text()
        row = {"company_id": company_id, "integration_record_id": record_id, **values}
        row.update(created_at=stamp, updated_at=stamp)
        names, marks = ", ".join(row), ", ".join("?" for _ in row)
        cursor = self._conn.execute(
            f"INSERT INTO leads ({names}) VALUES ({marks})", tuple(row.values())
        )
        lead_id = int(cursor.lastrowid or 0)
        if values["deal_template_id"] is not None:
            self._conn.execute(
                "UPDATE leads SET deal_id = ? WHERE id = ?", (lead_id + DEAL_ID_OFFSET, lead_id)
            )
        return lead_id

    def _update(self, old: sqlite3.Row, values: dict[str, Any]) -> int:
        merged = {name: old[name] if value is None else value for name, value in values.items()}
        if merged["deal_template_id"] is not None:
            merged["deal_id"] = old["id"] + DEAL_ID_OFFSET
        merged["updated_at"] = now_text()
        assignments = ", ".join(f"{name} = ?" for name in merged)
        self._conn.execute(
            f"UPDATE leads SET {assignments} WHERE id = ?", (*merged.values(), old["id"])
        )
        return int(old["id"])


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _lead_dict(row: sqlite3.Row) -> dict[str, Any]:
    lead = dict(row)
    for name in _JSON_COLUMNS:
        if lead.get(name) is not None:
            lead[name] = json.loads(lead[name])
    return lead
