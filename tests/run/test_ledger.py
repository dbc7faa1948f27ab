"""The ledger file itself: where it lives, how entries are keyed, threads and processes at
once, a kill between the journal and the ledger, a ledger that cannot be used (a warning,
never a crash, never a skipped row), and the `ledger` command that lists and forgets."""

from __future__ import annotations

import json
import signal
import sqlite3
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

import importer
import importer.run.ledger as ledger_module
from importer.run.destination import SANDBOX, real_destination
from importer.run.ledger import Ledger, LedgerEntry, Place, default_ledger_path
from importer.run.unchanged import RunLedger
from importer.sandbox import running_sandbox
from importer.sending.journal import Journal
from tests.conftest import MAPPING, lead_row, write_leads_csv
from tests.helpers import SAMPLE_KEY, by_id, invoke, posts, start_cli, summary_facts, wait_for

HERE = Place("https://enerflo.io/api/v1/acme/action/lead/add", "k000000000001")


def entry(record_id: str, fingerprint: str = "f" * 32, at: str = "2026-11-30T09:00:00Z"):
    return LedgerEntry(record_id, fingerprint, "4242", "leads.xlsx", 12, at)


def leads(folder: Path, name: str, ids: range) -> tuple[Path, Path]:
    source = write_leads_csv(folder / name, [lead_row(i) for i in ids])
    mapping = folder / "mapping.yaml"
    mapping.write_text(MAPPING)
    return source, mapping


def ledger_of(home: Path, box, key: str = SAMPLE_KEY) -> dict[str, LedgerEntry]:
    place = Place.of(real_destination(box.base_url, "partner", key))
    with Ledger.open(home / "ledger.sqlite3", write=False) as ledger:
        return ledger.known(place)


def accepted_in_journal(out: Path) -> dict[str, tuple[str, str, int]]:
    _, entries = Journal.peek(out.with_name(out.name + ".journal"))
    return {
        e.record_id: (e.fingerprint, e.lead_id or "", e.row)
        for e in entries.values()
        if e.status in ("created", "updated")
    }


# -- where it lives -----------------------------------------------------------------------------


def test_the_ledger_lives_in_enerflo_import_home_else_the_platforms_data_folder(
    monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ENERFLO_IMPORT_HOME", str(tmp_path / "home"))
    assert default_ledger_path() == tmp_path / "home" / "ledger.sqlite3"
    monkeypatch.delenv("ENERFLO_IMPORT_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_ledger_path() == tmp_path / "xdg" / "enerflo-import" / "ledger.sqlite3"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/is/invalid")
    assert default_ledger_path() == tmp_path / ".local/share/enerflo-import/ledger.sqlite3"
    monkeypatch.setattr(sys, "platform", "darwin")
    expected = tmp_path / "Library/Application Support/enerflo-import/ledger.sqlite3"
    assert default_ledger_path() == expected
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert default_ledger_path() == tmp_path / "Local" / "enerflo-import" / "ledger.sqlite3"


def test_a_new_ledger_and_its_folder_are_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "enerflo-import" / "ledger.sqlite3"
    Ledger.open(path).close()
    assert path.stat().st_mode & 0o077 == 0
    assert path.parent.stat().st_mode & 0o077 == 0


# -- what it holds ------------------------------------------------------------------------------


def test_entries_are_kept_apart_per_endpoint_and_key(tmp_path: Path) -> None:
    other_key = Place(HERE.endpoint, "k000000000002")
    other_partner = Place("https://enerflo.io/api/v1/beta/action/lead/add", HERE.key_fingerprint)
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        ledger.remember(HERE, [entry("L1", "a" * 32)])
        ledger.remember(other_key, [entry("L1", "b" * 32)])
        assert ledger.known(HERE)["L1"].fingerprint == "a" * 32
        assert ledger.known(other_key)["L1"].fingerprint == "b" * 32
        assert ledger.known(other_partner) == {}
        assert ledger.keys_at(HERE.endpoint) == ["k000000000001", "k000000000002"]


def test_an_older_entry_never_replaces_a_newer_one(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        ledger.remember(HERE, [entry("L1", "new" + "0" * 29, at="2026-12-07T10:00:00Z")])
        ledger.remember(HERE, [entry("L1", "old" + "0" * 29, at="2026-11-30T10:00:00Z")])
        assert ledger.known(HERE)["L1"].fingerprint.startswith("new")
        ledger.remember(HERE, [entry("L1", "newer" + "0" * 27, at="2026-12-14T10:00:00Z")])
        assert ledger.known(HERE)["L1"].fingerprint.startswith("newer")


@pytest.mark.parametrize(
    ("wanted", "matches"),
    [
        ("https://enerflo.io/api/v1/acme/action/lead/add", True),
        ("https://enerflo.io", True),
        ("https://enerflo.io/", True),
        ("https://enerflo.io/api/v1/beta/action/lead/add", False),
        ("https://staging.enerflo.io", False),
        ("sandbox", False),
    ],
)
def test_a_destination_is_named_by_its_endpoint_or_base_url(wanted: str, matches: bool) -> None:
    assert HERE.matches(wanted) is matches


def test_sandbox_names_the_embedded_one_and_every_one_on_this_machine() -> None:
    for endpoint in (SANDBOX, "http://127.0.0.1:8765/api/v1/partner/action/lead/add",
                     "http://localhost:9/api/v1/partner/action/lead/add",
                     "http://[::1]:9/api/v1/partner/action/lead/add"):  # fmt: skip
        assert Place(endpoint, "k1").matches("sandbox"), endpoint


# -- several writers at once --------------------------------------------------------------------


def test_threads_of_one_run_share_its_ledger(tmp_path: Path) -> None:
    destination = real_destination("https://enerflo.io", "acme", "key")
    known = RunLedger.open(tmp_path / "ledger.sqlite3", destination, "leads.xlsx")

    def work(start: int) -> None:
        for i in range(start, start + 100):
            known.remember(i, f"L{i}", "f" * 32, str(i), "2026-11-30T09:00:00Z")

    threads = [threading.Thread(target=work, args=(n * 100,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    known.close()
    assert known.use.warnings == []
    with Ledger.open(tmp_path / "ledger.sqlite3") as ledger:
        assert len(ledger.known(Place.of(destination))) == 800


def test_two_sends_at_once_to_one_destination_both_land_in_the_ledger(
    tmp_path: Path, ledger_home: Path
) -> None:
    first, mapping = leads(tmp_path, "leads-a.csv", range(0, 60))
    second, _ = leads(tmp_path, "leads-b.csv", range(40, 100))  # 20 leads in both lists
    with running_sandbox(port=0, rate_limit=0, latency_ms=20) as box:

        def start(source: Path):  # 60 rows at 900/min: 4 s each, so the two overlap
            return start_cli("send", source, "-m", mapping, "-o", source.with_suffix(".xlsx"),
                             "--base-url", box.base_url, "--rate-limit", "900")  # fmt: skip

        runs = [start(first)]
        wait_for(lambda: len(box.requests()) >= 1, runs[0])
        runs.append(start(second))
        outcomes = [run.communicate(timeout=120) for run in runs]
        order = [r["integration_record_id"] for r in box.requests()]
    for run, (_, err) in zip(runs, outcomes, strict=True):
        assert run.returncode == 0, err
        assert "warning" not in err
    in_a = [int(rid[1:]) < 40 for rid in order]
    assert sum(a != b for a, b in zip(in_a, in_a[1:], strict=False)) > 5, "the runs overlapped"
    known = ledger_of(ledger_home, box)
    assert sorted(known) == [f"L{i:04d}" for i in range(100)]
    assert {known[f"L{i:04d}"].file for i in range(40)} == {"leads-a.csv"}
    assert {known[f"L{i:04d}"].file for i in range(60, 100)} == {"leads-b.csv"}


# -- the journal leads, the ledger follows ------------------------------------------------------


def test_a_killed_send_leaves_the_ledger_consistent_with_its_journal(
    tmp_path: Path, ledger_home: Path
) -> None:
    source, mapping = leads(tmp_path, "leads.csv", range(80))
    out = tmp_path / "out.xlsx"
    command = ("send", source, "-m", mapping, "-o", out, "--rate-limit", "0")
    with running_sandbox(port=0, rate_limit=0, latency_ms=50) as box:
        proc = start_cli(*command, "--base-url", box.base_url)
        wait_for(lambda: len(box.requests()) >= 15, proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)

        journal, known = accepted_in_journal(out), ledger_of(ledger_home, box)
        # The sandbox logs a request before it answers: the 15th may not be journaled yet.
        assert 14 <= len(journal) < 80
        for rid, ledger_entry in known.items():
            assert journal[rid] == (
                ledger_entry.fingerprint,
                ledger_entry.lead_id,
                ledger_entry.row,
            )
        assert len(set(journal) - set(known)) <= 1, "the ledger lags by at most the last row"

        again = invoke(*command, "--base-url", box.base_url)
        assert again.exit_code == 0, again.stderr
        sent = posts(box)
    assert set(sent) == {f"L{i:04d}" for i in range(80)}
    assert Counter(sent.values())[2] <= 1, "only a row in flight at the kill goes twice"
    journal, known = accepted_in_journal(out), ledger_of(ledger_home, box)
    assert len(journal) == 80
    assert {rid: (e.fingerprint, e.lead_id, e.row) for rid, e in known.items()} == journal


@pytest.mark.parametrize("then", [["send"], ["send", "--fresh"], ["retry"]])
def test_the_next_run_adds_the_journals_accepted_rows_the_ledger_lacks(
    tmp_path: Path, ledger_home: Path, then: list[str]
) -> None:
    source, mapping = leads(tmp_path, "leads.csv", range(12))
    out = tmp_path / "out.xlsx"
    with running_sandbox(port=0, rate_limit=0) as box:
        sent = invoke("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url)
        assert sent.exit_code == 0
        with sqlite3.connect(ledger_home / "ledger.sqlite3") as db:  # as if killed in between
            db.execute("DELETE FROM leads WHERE record_id IN ('L0003', 'L0007')")
        db.close()
        assert len(ledger_of(ledger_home, box)) == 10
        before = len(box.requests())
        if then[0] == "send":
            rerun = invoke(*then, source, "-m", mapping, "-o", out, "--base-url", box.base_url)
        else:
            rerun = invoke("retry", out)
        assert rerun.exit_code == 0, rerun.stderr
        assert len(box.requests()) == before, "nothing is sent again"
        known = ledger_of(ledger_home, box)
    assert len(known) == 12 and known["L0003"].file == "leads.csv" and known["L0003"].row == 5
    if "--fresh" in then:  # the journal started over; the ledger knew every row already
        assert {r["import_status"] for r in by_id(out).values()} == {"unchanged"}


# -- a ledger that cannot be used ---------------------------------------------------------------


def test_a_corrupt_ledger_is_a_warning_and_every_row_is_sent(
    tmp_path: Path, ledger_home: Path
) -> None:
    source, mapping = leads(tmp_path, "leads.csv", range(6))
    damaged = ledger_home / "ledger.sqlite3"
    damaged.write_bytes(b"this is not a database, it was overwritten by something" * 40)
    before = damaged.read_bytes()
    out = tmp_path / "out.xlsx"
    with running_sandbox(port=0, rate_limit=0) as box:
        result = invoke("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url)
        assert len(posts(box)) == 6
    assert result.exit_code == 0, result.stderr
    assert (
        f"warning: ledger: {damaged}: the ledger cannot be opened (file is not a database); "
        "every valid row is sent"
    ) in result.stderr
    assert "hint: move the file away to start a new ledger" in result.stderr
    assert "ledger: cannot be used (see the warning at the end)" in result.stderr
    assert {r["import_status"] for r in by_id(out).values()} == {"created"}
    assert "file is not a database" in summary_facts(out)["ledger"]
    assert damaged.read_bytes() == before, "the damaged file is left for the user to look at"


def test_a_ledger_folder_that_cannot_be_made_is_a_warning(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("ENERFLO_IMPORT_HOME", str(tmp_path / "a-file" / "enerflo"))
    source, mapping = leads(tmp_path, "leads.csv", range(4))
    with running_sandbox(port=0, rate_limit=0) as box:
        result = invoke("send", source, "-m", mapping, "-o", tmp_path / "out.xlsx",
                        "--base-url", box.base_url, "--json")  # fmt: skip
        assert len(posts(box)) == 4
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["counts"] == {"created": 4}
    [warning] = report["ledger"]["warnings"]
    assert warning.startswith(f"{tmp_path}/a-file/enerflo/ledger.sqlite3: the ledger cannot be")
    assert "not a directory" in warning


def test_a_ledger_locked_too_long_is_a_warning_and_the_next_run_catches_up(
    tmp_path: Path, ledger_home: Path, monkeypatch
) -> None:
    monkeypatch.setattr(ledger_module, "BUSY_TIMEOUT", 0.2)
    source, mapping = leads(tmp_path, "leads.csv", range(5))
    out = tmp_path / "out.xlsx"
    path = ledger_home / "ledger.sqlite3"
    Ledger.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another run that never finishes its transaction
    with running_sandbox(port=0, rate_limit=0) as box:
        run = dict(out=out, api_key=SAMPLE_KEY, base_url=box.base_url, rate_limit=0)
        report = importer.send(source, mapping, **run)
        assert report.counts == {"created": 5} and report.exit_code == 0
        [warning] = report.ledger.warnings
        assert warning == (
            f"{path}: the ledger cannot be written (another run held it longer than 0.2 s); "
            "5 rows accepted by this run are not in it; the next run with this results file "
            "adds them from its journal"
        )
        holder.execute("ROLLBACK")
        holder.close()
        assert ledger_of(ledger_home, box) == {}
        again = importer.send(source, mapping, **run)
        assert again.ledger.warnings == [] and len(posts(box)) == 5
        assert len(ledger_of(ledger_home, box)) == 5


def test_a_ledger_from_a_newer_version_is_not_touched(tmp_path: Path, ledger_home: Path) -> None:
    path = ledger_home / "ledger.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    source, mapping = leads(tmp_path, "leads.csv", range(3))
    with running_sandbox(port=0, rate_limit=0) as box:
        report = importer.send(source, mapping, out=tmp_path / "out.xlsx", api_key=SAMPLE_KEY,
                               base_url=box.base_url, rate_limit=0)  # fmt: skip
    assert report.counts == {"created": 3}
    assert report.ledger.warnings == [
        f"{path}: ledger format 99 is newer than this version reads; every valid row is sent"
    ]


# -- the ledger command -------------------------------------------------------------------------


@pytest.fixture
def filled(tmp_path: Path):
    """Two lists sent to one sandbox, one to another: the ledger knows two destinations."""
    a, mapping = leads(tmp_path, "leads-a.csv", range(0, 6))
    b, _ = leads(tmp_path, "leads-b.csv", range(4, 10))
    with running_sandbox(port=0, rate_limit=0) as one, running_sandbox(port=0, rate_limit=0) as two:
        for source, box in ((a, one), (b, one), (a, two)):
            out = source.with_name(f"{source.stem}-{box.port}.xlsx")
            sent = invoke("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url)
            assert sent.exit_code == 0, sent.stderr
        yield one, two


def test_ledger_lists_each_destinations_leads_per_file(filled, ledger_home: Path) -> None:
    one, two = filled
    result = invoke("ledger")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"ledger: {ledger_home / 'ledger.sqlite3'}"
    endpoint = f"{one.base_url}/api/v1/partner/action/lead/add"
    header = next(i for i, line in enumerate(lines) if line.startswith(endpoint))
    assert lines[header].endswith(": 10 leads") and "(api key k" in lines[header]
    assert lines[header + 1].startswith("  leads-a.csv: 6 leads, sent 20")
    assert lines[header + 2].startswith("  leads-b.csv: 4 leads, sent 20")  # L0004-5: unchanged

    as_json = json.loads(invoke("ledger", "--json").stdout)
    by_place = {d["destination"]: d for d in as_json["destinations"]}
    assert by_place[endpoint]["leads"] == 10
    assert [f["file"] for f in by_place[endpoint]["files"]] == ["leads-a.csv", "leads-b.csv"]
    assert by_place[f"{two.base_url}/api/v1/partner/action/lead/add"]["leads"] == 6
    assert SAMPLE_KEY not in result.stdout + json.dumps(as_json)

    only = invoke("ledger", "--destination", two.base_url)
    assert one.base_url not in only.stdout and two.base_url in only.stdout


def test_ledger_forget_a_file_then_a_destination(filled, tmp_path: Path) -> None:
    one, two = filled
    forgot = invoke("ledger", "forget", "--file", "leads-b.csv", "--json")
    assert forgot.exit_code == 0, forgot.stderr
    [row] = json.loads(forgot.stdout)["forgot"]
    assert (row["destination"], row["leads"]) == (
        f"{one.base_url}/api/v1/partner/action/lead/add",
        4,
    )
    forgot = invoke("ledger", "forget", "--destination", two.base_url + "/")
    assert forgot.stdout.startswith(f"forgot 6 leads of {two.base_url}/api/v1/partner/")
    listed = invoke("ledger").stdout
    assert two.base_url not in listed and "leads-b.csv" not in listed
    # A forgotten lead goes again: list B now sends the rows that list A did not have.
    b = tmp_path / "leads-b.csv"
    before = len(one.requests())
    again = invoke("send", b, "-m", tmp_path / "mapping.yaml", "-o", tmp_path / "b2.xlsx",
                   "--base-url", one.base_url)  # fmt: skip
    assert again.exit_code == 0
    assert len(one.requests()) - before == 4  # L0006-L0009; L0004-L0005 are list A's, unchanged


def test_ledger_forget_sandbox_forgets_every_local_destination(filled) -> None:
    forgot = invoke("ledger", "forget", "--destination", "sandbox")
    assert forgot.exit_code == 0
    assert len(forgot.stdout.splitlines()) == 2
    assert "no leads recorded" in invoke("ledger").stdout


def test_ledger_forget_what_it_does_not_hold_is_a_usage_error(filled) -> None:
    one, _ = filled
    result = invoke("ledger", "forget", "--destination", "https://nowhere.example")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0].endswith(
        "the ledger holds no leads for destination https://nowhere.example"
    )
    assert "hint: it holds: http://127.0.0.1:" in result.stderr
    assert f"{one.base_url}/api/v1/partner/action/lead/add: leads-a.csv, leads-b.csv" in (
        result.stderr
    )
    bare = invoke("ledger", "forget")
    assert bare.exit_code == 2 and "needs --destination or --file" in bare.stderr


def test_ledger_of_a_corrupt_file_is_an_error_naming_it(ledger_home: Path) -> None:
    (ledger_home / "ledger.sqlite3").write_bytes(b"garbage" * 200)
    result = invoke("ledger")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"enerflo-import: error: {ledger_home / 'ledger.sqlite3'}: the ledger cannot be read "
        "(file is not a database)"
    )


def test_ledger_with_nothing_recorded_says_so(ledger_home: Path) -> None:
    result = invoke("ledger")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"ledger: {ledger_home / 'ledger.sqlite3'}",
        "  no leads recorded yet",
    ]
    assert not (ledger_home / "ledger.sqlite3").exists(), "looking creates nothing"
