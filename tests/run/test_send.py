"""`send` end to end against a real sandbox over loopback: faults, kills, Ctrl-C, keys, limits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from importer.cli import main
from importer.sandbox import running_sandbox
from tests.conftest import SAMPLE_KEY, lead_row, write_leads_csv
from tests.helpers import ROOT, by_id, posts


def send(source: Path, mapping: Path, out: Path, base_url: str, *extra: str, key: str = SAMPLE_KEY):
    env = {"ENERFLO_API_KEY": key}
    args = ["send", str(source), "-m", str(mapping), "-o", str(out), "--base-url", base_url, *extra]
    return CliRunner(env=env).invoke(main, args)


def test_clean_run_creates_every_valid_row_once(
    leads_csv: Path, mapping_path: Path, tmp_path: Path, sandbox
) -> None:
    out = tmp_path / "out.xlsx"
    result = send(leads_csv, mapping_path, out, sandbox.base_url)
    assert result.exit_code == 4, result.stderr
    rows = by_id(out)
    assert [rows[f"L{i:04d}"]["import_status"] for i in range(1, 9)] == ["created"] * 6 + [
        "invalid"
    ] * 2
    assert all(rows[f"L{i:04d}"]["import_lead_id"] for i in range(1, 7))
    assert rows["L0001"]["import_attempts"] == "1" and rows["L0001"]["import_http_status"] == "200"
    assert sorted(lead["integration_record_id"] for lead in sandbox.leads()) == [
        f"L{i:04d}" for i in range(1, 7)
    ]
    assert "6 created" in result.stdout and "2 invalid" in result.stdout


def test_rerun_resumes_and_sends_nothing_twice(
    leads_csv: Path, mapping_path: Path, tmp_path: Path, sandbox
) -> None:
    out = tmp_path / "out.xlsx"
    assert send(leads_csv, mapping_path, out, sandbox.base_url, "--limit", "2").exit_code == 4
    assert [r["import_status"] for r in by_id(out).values()][:3] == [
        "created",
        "created",
        "pending",
    ]
    assert send(leads_csv, mapping_path, out, sandbox.base_url).exit_code == 4
    assert set(posts(sandbox).values()) == {1}
    assert len(posts(sandbox)) == 6


def test_fresh_starts_over_and_updates_the_same_leads(
    leads_csv: Path, mapping_path: Path, tmp_path: Path, sandbox
) -> None:
    out = tmp_path / "out.xlsx"
    send(leads_csv, mapping_path, out, sandbox.base_url)
    # --fresh starts the results over; --resend sends rows the ledger knows unchanged anyway.
    send(leads_csv, mapping_path, out, sandbox.base_url, "--fresh", "--resend")
    rows = by_id(out)
    assert rows["L0001"]["import_status"] == "updated"
    assert len(sandbox.leads()) == 6


def test_journal_of_another_source_is_refused(
    leads_csv: Path, mapping_path: Path, tmp_path: Path, sandbox
) -> None:
    out = tmp_path / "out.xlsx"
    send(leads_csv, mapping_path, out, sandbox.base_url, "--limit", "1")
    other = write_leads_csv(tmp_path / "other.csv", [lead_row(i) for i in range(50, 53)])
    result = send(other, mapping_path, out, sandbox.base_url)
    assert result.exit_code == 3
    assert "--fresh" in result.stderr
    assert len(sandbox.requests()) == 1


def test_every_fault_kind_still_ends_with_each_lead_accepted_once(
    tmp_path: Path, mapping_path: Path
) -> None:
    source = write_leads_csv(tmp_path / "many.csv", [lead_row(i) for i in range(60)])
    out = tmp_path / "out.xlsx"
    with running_sandbox(port=0, rate_limit=0, fault_rate=0.25, fault_seed=7) as box:
        result = send(source, mapping_path, out, box.base_url)
        outcomes = Counter(r["outcome"] for r in box.requests())
        leads = box.leads()
    assert result.exit_code == 0, result.stderr + result.stdout
    assert {r["import_status"] for r in by_id(out).values()} <= {"created", "updated"}
    assert sorted(lead["integration_record_id"] for lead in leads) == [
        f"L{i:04d}" for i in range(60)
    ]
    faults = {kind for kind in outcomes if kind not in ("created", "updated")}
    assert len(faults) >= 5, outcomes  # the seed exercises most kinds in one run


def test_wrong_key_stops_at_the_first_row(
    leads_csv: Path, mapping_path: Path, tmp_path: Path, sandbox
) -> None:
    out = tmp_path / "out.xlsx"
    result = send(leads_csv, mapping_path, out, sandbox.base_url, key="wrong-key-xyz")
    assert result.exit_code == 1
    assert "api key" in result.stderr and "wrong-key-xyz" not in result.stderr
    assert len(sandbox.requests()) == 1
    rows = by_id(out)
    assert rows["L0002"]["import_status"] == "pending"


def test_api_key_never_reaches_any_file(
    leads_csv: Path, mapping_path: Path, tmp_path: Path
) -> None:
    key = "k3y-that-must-not-leak-77"
    out_dir = tmp_path / "out"
    with running_sandbox(port=0, rate_limit=0, api_keys=(key,)) as box:
        result = send(leads_csv, mapping_path, out_dir / "r.xlsx", box.base_url, key=key)
        send(leads_csv, mapping_path, out_dir / "r.csv", box.base_url, "--fresh", key=key)
    assert result.exit_code == 4, result.stderr
    written = [p for p in out_dir.rglob("*") if p.is_file()]
    assert len(written) >= 4  # two results files and their journals
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".xlsx":
            import zipfile

            with zipfile.ZipFile(path) as archive:
                data = b"".join(archive.read(name) for name in archive.namelist())
        assert key.encode() not in data, path
    assert key not in result.stdout + result.stderr


def test_matched_rate_limit_never_trips_429(tmp_path: Path, mapping_path: Path) -> None:
    source = write_leads_csv(tmp_path / "many.csv", [lead_row(i) for i in range(25)])
    with running_sandbox(port=0, rate_limit=600) as box:
        result = send(
            source, mapping_path, tmp_path / "o.xlsx", box.base_url, "--rate-limit", "600"
        )
        codes = Counter(r["status_code"] for r in box.requests())
    assert result.exit_code == 0, result.stderr
    assert codes == {200: 25}


def test_server_with_half_the_limit_still_gets_every_row(
    tmp_path: Path, mapping_path: Path
) -> None:
    source = write_leads_csv(tmp_path / "many.csv", [lead_row(i) for i in range(12)])
    with running_sandbox(port=0, rate_limit=300, rate_window_s=1) as box:
        # The server allows 5 per second; the client paces at 10 per second.
        result = send(
            source, mapping_path, tmp_path / "o.xlsx", box.base_url, "--rate-limit", "600"
        )
        codes = Counter(r["status_code"] for r in box.requests())
        leads = box.leads()
    assert result.exit_code == 0, result.stderr
    assert len(leads) == 12
    # Throttled either way: by the server's 429s (retried) or by slowing down on
    # x-ratelimit-remaining before it said no; every refused request was retried.
    assert codes[200] == 12 and set(codes) <= {200, 429}


def _start_send(source: Path, mapping: Path, out: Path, base_url: str) -> subprocess.Popen:
    env = {**os.environ, "ENERFLO_API_KEY": SAMPLE_KEY}
    cmd = [
        sys.executable,
        "-m",
        "importer",
        "send",
        str(source),
        "-m",
        str(mapping),
        "-o",
        str(out),
        "--base-url",
        base_url,
        "--rate-limit",
        "1200",
        "--quiet",
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_leads(box, rows: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(box.leads()) < rows:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the sandbox never got the leads"
        time.sleep(0.05)  # polling a real condition, not waiting for time to pass


@pytest.mark.parametrize("how", ["sigkill", "ctrl-c"])
def test_killed_run_resumes_without_losing_or_doubling(
    tmp_path: Path, mapping_path: Path, how: str
) -> None:
    source = write_leads_csv(tmp_path / "many.csv", [lead_row(i) for i in range(80)])
    out = tmp_path / "out.xlsx"
    with running_sandbox(port=0, rate_limit=0) as box:
        proc = _start_send(source, mapping_path, out, box.base_url)
        _wait_for_leads(box, 10, proc)
        proc.send_signal(signal.SIGKILL if how == "sigkill" else signal.SIGINT)
        proc.communicate(timeout=60)
        if how == "ctrl-c":
            assert proc.returncode == 130
            first = by_id(out)
            assert {r["import_status"] for r in first.values()} == {"created", "pending"}
        else:
            assert proc.returncode == -signal.SIGKILL
        before = posts(box)
        again = _start_send(source, mapping_path, out, box.base_url)
        _, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        after = posts(box)
        leads = box.leads()
    rows = by_id(out)
    assert len(rows) == 80 and {r["import_status"] for r in rows.values()} <= {"created", "updated"}
    assert sorted(lead["integration_record_id"] for lead in leads) == [
        f"L{i:04d}" for i in range(80)
    ]
    # Rows answered before the stop are never sent again; at most the one in flight is.
    resent = [rid for rid, n in after.items() if n > 1]
    assert len(resent) <= 1 and all(before[rid] == 1 for rid in resent)


def test_demo_sample_runs_against_the_embedded_sandbox(tmp_path: Path) -> None:
    out = tmp_path / "demo.xlsx"
    result = CliRunner().invoke(
        main,
        [
            "send",
            str(ROOT / "sample_data/leads.xlsx"),
            "-m",
            str(ROOT / "mappings/sample.yaml"),
            "--sandbox",
            "-o",
            str(out),
            "--json",
            "--rate-limit",
            "0",
        ],
    )
    summary = json.loads(result.stdout)
    assert result.exit_code == 4, result.stderr
    assert summary["counts"]["created"] >= 25 and summary["counts"]["invalid"] >= 4


def test_appointments_and_photos_reach_the_sandbox(tmp_path: Path) -> None:
    out = tmp_path / "apt.xlsx"
    with running_sandbox(port=0, rate_limit=0) as box:
        result = CliRunner(env={"ENERFLO_API_KEY": box.api_key}).invoke(
            main,
            [
                "send",
                str(ROOT / "sample_data/appointments.csv"),
                "-m",
                str(ROOT / "mappings/appointments.yaml"),
                "-o",
                str(out),
                "--base-url",
                box.base_url,
            ],
        )
        leads = {lead["integration_record_id"]: lead for lead in box.leads()}
    assert result.exit_code == 4, result.stderr  # two rows are invalid on purpose
    assert sorted(leads) == ["FB-1001", "FB-1002", "FB-1003"]
    booked = leads["FB-1001"]["appointment"]
    assert booked["date_time"] == "2026-03-12 20:30:00"  # 14:30 in Denver (MDT, UTC-6) as UTC
    assert booked["apt_type_id"] == 12 and booked["name"] == "Solar Consultation"
    assert leads["FB-1002"]["appointment"]["date_time"] == "2026-03-13 15:00:00"  # MST before DST
    assert not leads["FB-1003"].get("appointment")
    files = leads["FB-1001"]["survey_data"]  # the sandbox stores the list of files
    assert [(f["name"], f["type"]) for f in files] == [("house-1001.png", "img_exterior_house")]
    rows = by_id(out)
    assert (
        rows["FB-1004"]["import_status"] == "invalid"
        and rows["FB-1022"]["import_status"] == "invalid"
    )


@pytest.mark.parametrize(
    "out_name, code, words",
    [
        ("r.txt", 2, ".xlsx or .csv"),
        ("folder.xlsx", 1, "is a folder"),
        ("leads.csv", 2, "overwrite the source"),
    ],
)
def test_an_unusable_out_is_refused_before_anything_is_sent(
    leads_csv: Path,
    mapping_path: Path,
    tmp_path: Path,
    sandbox,
    out_name: str,
    code: int,
    words: str,
) -> None:
    (tmp_path / "folder.xlsx").mkdir()
    result = send(leads_csv, mapping_path, tmp_path / out_name, sandbox.base_url)
    assert result.exit_code == code
    assert words in result.stderr
    assert sandbox.requests() == []


@pytest.mark.parametrize("answer, code", [("n\n", 2), ("y\n", 0)])
def test_a_large_send_asks_first_at_a_terminal(
    tmp_path: Path, mapping_path: Path, sandbox, monkeypatch, answer: str, code: int
) -> None:
    import importer.cli

    monkeypatch.setattr(importer.cli, "interactive", lambda: True)
    source = write_leads_csv(tmp_path / "big.csv", [lead_row(i) for i in range(120)])
    runner = CliRunner(env={"ENERFLO_API_KEY": SAMPLE_KEY})
    result = runner.invoke(
        main,
        [
            "send",
            str(source),
            "-m",
            str(mapping_path),
            "-o",
            str(tmp_path / "o.xlsx"),
            "--base-url",
            sandbox.base_url,
            "--rate-limit",
            "0",
        ],
        input=answer,
    )
    assert "send up to 120 rows" in result.output
    assert result.exit_code == code, result.stderr
    assert len(sandbox.requests()) == (0 if answer == "n\n" else 120)
    if answer == "n\n":
        assert "cancelled; nothing was sent" in result.stderr
