"""Tests for importer.sending.journal: durable outcomes, run identity, resuming."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import importer
from importer.errors import BadInputError, JournalError, RunError
from importer.models import RowStatus
from importer.sending import journal as journal_module
from importer.sending.journal import Journal, JournalEntry
from importer.sending.sender import SendOutcome

IDENTITY = {"source_sha256": "aa" * 32, "mapping_sha256": "bb" * 32, "source_path": "leads.xlsx"}
AT = "2026-03-12T21:59:14Z"


def outcome(status: RowStatus, attempts: int = 1, lead_id: str | None = None) -> SendOutcome:
    messages = {RowStatus.CREATED: "Lead Created", RowStatus.FAILED: "HTTP 503 after 6 attempts"}
    http = 503 if status is RowStatus.FAILED else 200
    return SendOutcome(status, lead_id, http, messages.get(status, "nope"), attempts)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "out" / "leads.results.xlsx.journal"


def test_recorded_outcomes_survive_closing_and_reopening(path):
    with Journal.open(path, IDENTITY, fresh=False) as journal:
        journal.record(2, "r2", outcome(RowStatus.CREATED, lead_id="55555"), AT)
    with Journal.open(path, IDENTITY, fresh=False) as journal:
        assert journal.outcomes() == {
            2: JournalEntry(2, "r2", RowStatus.CREATED, "55555", 200, "Lead Created", 1, AT)
        }


def test_a_record_is_durable_even_when_the_process_is_killed(path, tmp_path):
    # The child records one row and then kills itself without closing anything.
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from importer.sending.journal import Journal
        from importer.models import RowStatus
        from importer.sending.sender import SendOutcome
        journal = Journal.open(Path({str(path)!r}), {IDENTITY!r}, fresh=False)
        journal.record(5, "r5", SendOutcome(RowStatus.UPDATED, "9", 200, "Lead Updated", 2), "t")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    # PYTHONPATH: the editable install's finder does not resolve `importer` outside the repo.
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(importer.__file__))}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, check=False)
    assert result.returncode == -9
    with Journal.open(path, IDENTITY, fresh=False) as journal:
        entry = journal.outcomes()[5]
    assert (entry.status, entry.lead_id, entry.attempts) == (RowStatus.UPDATED, "9", 2)


def test_the_disk_is_synced_by_the_first_commit_a_second_after_the_last(path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(journal_module.time, "monotonic", lambda: clock[0])
    statements: list[str] = []
    with Journal.open(path, IDENTITY, fresh=False) as journal:
        journal._db.set_trace_callback(statements.append)
        synced = []
        for step in [0.0, 0.3, 0.3, 0.5, 0.2, 0.1, 5.0]:  # seconds since the row before
            clock[0] += step
            statements.clear()
            journal.record(2, "r2", outcome(RowStatus.CREATED, lead_id="5"), AT)
            synced.append(statements[:1] == ["PRAGMA synchronous=FULL"])
            assert journal._db.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL again
    # opened at 1000.0; rows at +0, +0.3, +0.6, +1.1 (sync), +1.3, +1.4, +6.4 (sync)
    assert synced == [False, False, False, True, False, False, True]


def test_latest_entry_per_row_wins_and_attempts_are_summed(path):
    with Journal.open(path, IDENTITY, fresh=False) as journal:
        journal.record(3, "r3", outcome(RowStatus.FAILED, attempts=6), "t1")
        journal.record(4, "r4", outcome(RowStatus.FAILED, attempts=6), "t1")
        journal.record(3, "r3", outcome(RowStatus.CREATED, attempts=2, lead_id="1"), "t2")
        entries = journal.outcomes()
    assert entries[3] == JournalEntry(3, "r3", RowStatus.CREATED, "1", 200, "Lead Created", 8, "t2")
    assert entries[4].status is RowStatus.FAILED
    assert entries[4].attempts == 6
    assert list(entries) == [3, 4]


def recorded(path, identity=IDENTITY):
    with Journal.open(path, identity, fresh=False) as journal:
        journal.record(2, "r2", outcome(RowStatus.CREATED), AT)


def test_journal_for_another_source_is_refused(path):
    recorded(path)
    other = {**IDENTITY, "source_sha256": "cc" * 32}
    with pytest.raises(BadInputError) as info:
        Journal.open(path, other, fresh=False)
    assert info.value.message == f"{path}: this journal was made for a different source file"
    assert info.value.hint == "use --fresh to start over, or -o for another output"


def test_journal_for_another_mapping_is_refused(path):
    recorded(path)
    with pytest.raises(BadInputError, match="made for a different mapping$"):
        Journal.open(path, {**IDENTITY, "mapping_sha256": "dd" * 32}, fresh=False)


def test_fresh_starts_a_new_journal_for_the_new_run(path):
    with Journal.open(path, IDENTITY, fresh=False) as journal:
        journal.record(2, "r2", outcome(RowStatus.CREATED), AT)
    other = {**IDENTITY, "mapping_sha256": "dd" * 32}
    with Journal.open(path, other, fresh=True) as journal:
        assert journal.outcomes() == {}
        assert journal.identity["mapping_sha256"] == "dd" * 32


def test_a_second_open_while_one_run_holds_it_is_refused(path):
    with Journal.open(path, IDENTITY, fresh=False), pytest.raises(RunError) as info:
        Journal.open(path, IDENTITY, fresh=False)
    assert info.value.message == f"{path}: another run is using this journal"


def test_a_file_that_is_not_a_journal_is_refused(path):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 this is a zip, not sqlite" * 20)
    with pytest.raises(BadInputError, match="not a journal written by enerflo-import"):
        Journal.open(path, IDENTITY, fresh=False)


def test_the_file_uses_wal_and_holds_only_what_was_recorded(path):
    with Journal.open(path, IDENTITY, fresh=False) as journal:
        journal.record(2, "r2", outcome(RowStatus.CREATED), AT)
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        meta = dict(db.execute("SELECT key, value FROM meta"))
        assert meta == {**IDENTITY, "format": "2"}
        assert db.execute("SELECT row, record_id, status FROM attempts").fetchall() == [
            (2, "r2", "created")
        ]
    finally:
        db.close()


def test_fresh_cannot_wipe_a_journal_another_run_is_writing(tmp_path) -> None:
    path = tmp_path / "out.xlsx.journal"
    running = Journal.open(path, {"source_sha256": "a"})
    running.record(2, "r2", outcome(RowStatus.CREATED), "t")
    with pytest.raises(RunError, match="another run is using this journal"):
        Journal.open(path, {"source_sha256": "a"}, fresh=True)
    running.record(3, "r3", outcome(RowStatus.CREATED), "t")
    assert sorted(running.outcomes()) == [2, 3]
    running.close()


def test_fresh_replaces_a_file_that_is_not_a_journal(tmp_path) -> None:
    path = tmp_path / "out.xlsx.journal"
    path.write_text("not a database")
    with Journal.open(path, {"source_sha256": "a"}, fresh=True) as journal:
        assert journal.outcomes() == {}


def test_a_journal_with_no_entries_belongs_to_whoever_opens_it_next(path):
    Journal.open(path, IDENTITY, fresh=False).close()  # e.g. a run cancelled at its prompt
    other = {**IDENTITY, "destination": "https://enerflo.io/api/v1/acme/action/lead/add"}
    with Journal.open(path, other, fresh=False) as journal:
        assert journal.identity["destination"] == other["destination"]


def test_a_journal_for_another_destination_names_both(path):
    rehearsal = {**IDENTITY, "destination": "embedded sandbox", "key_fingerprint": "k1"}
    with Journal.open(path, rehearsal) as journal:
        journal.record(2, "r2", outcome(RowStatus.CREATED), AT)
    real = {**rehearsal, "destination": "https://enerflo.io/api/v1/acme/action/lead/add"}
    with pytest.raises(BadInputError) as caught:
        Journal.open(path, real)
    assert caught.value.message == (
        f"{path}: its rows were sent to the embedded sandbox (a rehearsal), "
        "not to https://enerflo.io/api/v1/acme/action/lead/add"
    )
    assert "--fresh" in (caught.value.hint or "")


def test_a_journal_for_another_api_key_is_refused_by_fingerprint(path):
    with Journal.open(path, {**IDENTITY, "key_fingerprint": "k111"}) as journal:
        journal.record(2, "r2", outcome(RowStatus.CREATED), AT)
    with pytest.raises(
        BadInputError, match=r"another api key \(fingerprint k111\), not this one \(k222\)"
    ):
        Journal.open(path, {**IDENTITY, "key_fingerprint": "k222"})


def test_a_journal_of_the_older_format_is_refused(path):
    recorded(path)
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'format'")
    db.close()
    with pytest.raises(BadInputError, match="journal format 1 is not one this version reads"):
        Journal.open(path, IDENTITY)


def test_rows_recorded_before_the_run_waits_reach_the_disk_within_a_second(path, monkeypatch):
    # A row committed less than a second after the last sync is not synced by its own
    # commit. If the run then waits (a Retry-After, backoff, a slow answer), no next commit
    # comes to sync it: the journal must sync it anyway, or a power cut minutes later loses
    # it, against "at most the last second's entries" (docs/sending.md).
    wal = path.with_name(path.name + "-wal")
    synced = threading.Event()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if wal.exists() and os.path.samestat(os.fstat(fd), wal.stat()):
            synced.set()

    monkeypatch.setattr(os, "fsync", fsync)
    with Journal.open(path, IDENTITY, fresh=False) as journal:
        journal._synced = time.monotonic()  # a row has just synced the disk
        journal.record(2, "r2", outcome(RowStatus.CREATED, lead_id="5"), AT)
        assert journal._db.execute("PRAGMA synchronous").fetchone() == (1,)  # not by its commit
        # No other record, no close: the run is waiting.
        assert synced.wait(10), "the row stayed unsynced while the run waited"
        assert journal.outcomes()[2].lead_id == "5"
    assert not [t for t in threading.enumerate() if t.name == "enerflo-import journal sync"]


def test_a_commit_that_fails_while_syncing_puts_synchronous_back_to_normal(path):
    with Journal.open(path, IDENTITY, fresh=False) as journal:
        # A real SQLite failure of the INSERT, as a full disk gives it.
        journal._db.execute(
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON attempts WHEN NEW.row = 7 "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
        journal._synced = time.monotonic() - 10  # this row's commit is the one that syncs
        with pytest.raises(JournalError) as info:
            journal.record(7, "r7", outcome(RowStatus.CREATED, lead_id="5"), AT)
        assert "cannot record the outcome of row 7" in info.value.message
        assert f"the disk holding {path.parent} has" in info.value.message
        # Back to NORMAL: not a sync on every later commit of the connection.
        assert journal._db.execute("PRAGMA synchronous").fetchone() == (1,)
        journal.record(8, "r8", outcome(RowStatus.CREATED, lead_id="6"), AT)
        assert sorted(journal.outcomes()) == [8]
