"""A run's lifecycle under stress (issue 8): one run per results file whatever the command,
OUT written however many Ctrl-C, and a full disk reported as what it is with a safe hint.
Real processes, real signals, a real (tiny) filesystem, a real sandbox over loopback."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from importer.sandbox import running_sandbox
from tests.conftest import MAPPING, lead_row, write_leads_csv
from tests.helpers import ROOT, SAMPLE_KEY, by_id, invoke, posts, start_cli, wait_for


def leads(folder: Path, count: int) -> tuple[Path, Path]:
    source = write_leads_csv(folder / "leads.csv", [lead_row(i) for i in range(count)])
    mapping = folder / "mapping.yaml"
    mapping.write_text(MAPPING)
    return source, mapping


# -- one results file, one run at a time ------------------------------------------------------


def test_send_and_retry_at_once_on_one_results_file_never_double_post(tmp_path: Path) -> None:
    source, mapping = leads(tmp_path, 40)
    out = tmp_path / "out.xlsx"
    with running_sandbox(port=0, rate_limit=0, latency_ms=100) as box:
        first = invoke("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url,
                       "--limit", "3")  # fmt: skip
        assert first.exit_code == 4  # 37 rows pending: both a resumed send and a retry are due
        resumed = start_cli("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url)
        wait_for(lambda: len(box.requests()) >= 6, resumed)
        during = {
            "retry": invoke("retry", out, "--base-url", box.base_url),
            "send": invoke("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url),
            "validate": invoke("validate", source, "-m", mapping, "-o", out),
        }
        _, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err
        sent = posts(box)
    for command, result in during.items():
        assert result.exit_code == 1, (command, result.stderr)
        line = result.stderr.splitlines()[0]
        assert line.startswith(
            f"enerflo-import: error: {out}: another enerflo-import run is using this results file"
        ), line
        assert "(send, process " in line
    assert sent == {f"L{i:04d}": 1 for i in range(40)}, "every row posted exactly once"
    assert {r["import_status"] for r in by_id(out).values()} == {"created"}


def test_the_lock_goes_with_a_killed_run(tmp_path: Path) -> None:
    source, mapping = leads(tmp_path, 30)
    out = tmp_path / "out.xlsx"
    with running_sandbox(port=0, rate_limit=0, latency_ms=100) as box:
        proc = start_cli("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url)
        wait_for(lambda: len(box.requests()) >= 3, proc)
        proc.kill()
        proc.communicate(timeout=30)
        again = invoke("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url)
    assert again.exit_code == 0, again.stderr


# -- Ctrl-C, however many -----------------------------------------------------------------------


@pytest.mark.parametrize("signals", [2, 5], ids=["two-quick-ctrl-c", "five-ctrl-c"])
def test_quick_ctrl_c_still_write_every_row_to_the_results(tmp_path: Path, signals: int) -> None:
    source, mapping = leads(tmp_path, 30)
    out = tmp_path / "out.xlsx"
    with running_sandbox(port=0, rate_limit=0, latency_ms=300) as box:
        proc = start_cli("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url)
        wait_for(lambda: len(box.leads()) >= 2, proc)
        for _ in range(signals):
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        accepted = len(box.leads())
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    rows = by_id(out)
    assert len(rows) == 30
    statuses = [r["import_status"] for r in rows.values()]
    assert statuses.count("created") >= 2 and set(statuses) <= {"created", "pending"}
    assert statuses.count("created") <= accepted  # a row in flight is pending, not claimed


def test_sigterm_stops_between_rows_like_ctrl_c(tmp_path: Path) -> None:
    source, mapping = leads(tmp_path, 30)
    out = tmp_path / "out.xlsx"
    with running_sandbox(port=0, rate_limit=0, latency_ms=200) as box:
        proc = start_cli("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url)
        wait_for(lambda: len(box.leads()) >= 2, proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "stopping after the current row" in err
    assert len(by_id(out)) == 30


# -- a full disk ------------------------------------------------------------------------------

_FULL_DISK = """\
set -u
mount -t tmpfs -o size={size} tmpfs "$DISK"
# Leave only {free} bytes free: the journal fills the rest part-way through the send.
python3 -c "import os,sys; s=os.statvfs(sys.argv[1]); open(sys.argv[1]+'/filler','wb').write(b'x'*(s.f_bavail*s.f_frsize-{free}))" "$DISK"
"$PY" -m importer send "$SRC" -m "$MAP" -o "$DISK/out.xlsx" --base-url "$URL" --quiet 2>"$OUT/first.err"
echo $? > "$OUT/first.rc"
rm "$DISK/filler"
"$PY" -m importer send "$SRC" -m "$MAP" -o "$DISK/out.xlsx" --base-url "$URL" --quiet 2>"$OUT/second.err"
echo $? > "$OUT/second.rc"
cp "$DISK/out.xlsx" "$OUT/" 2>/dev/null || true
"""


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


@pytest.mark.skipif(sys.platform != "linux", reason="a private tmpfs needs Linux namespaces")
def test_a_full_disk_while_journaling_is_named_and_its_hint_resends_nothing(tmp_path: Path) -> None:
    if not _can_mount_tmpfs():
        pytest.skip("this machine cannot mount a private tmpfs (unshare -rm)")
    source, mapping = leads(tmp_path, 150)
    disk, results = tmp_path / "disk", tmp_path / "results"
    disk.mkdir()
    results.mkdir()
    script = tmp_path / "full_disk.sh"
    script.write_text(textwrap.dedent(_FULL_DISK.format(size="4m", free=48 * 1024)))
    with running_sandbox(port=0, rate_limit=0) as box:
        env = {
            **os.environ,
            "ENERFLO_API_KEY": SAMPLE_KEY,
            "DISK": str(disk),
            "OUT": str(results),
            "SRC": str(source),
            "MAP": str(mapping),
            "URL": box.base_url,
            "PY": sys.executable,
        }
        done = subprocess.run(["unshare", "-rm", "sh", str(script)], env=env, cwd=ROOT, timeout=300)
        assert done.returncode == 0
        sent = posts(box)
    first_rc = int((results / "first.rc").read_text())
    first_err = (results / "first.err").read_text()
    assert first_rc == 1, first_err
    assert "Traceback" not in first_err
    error, hint = first_err.splitlines()[:2]
    assert "cannot record the outcome of row" in error and "in the journal" in error
    assert "disk is full" in error or "KiB free" in error
    assert hint.startswith("hint: free some disk space")
    assert "run the same command again" in hint and " -o" not in hint
    # Following the hint: the same command finishes the job and sends nothing twice but the
    # row whose outcome could not be recorded.
    assert int((results / "second.rc").read_text()) == 0, (results / "second.err").read_text()
    assert sorted(sent) == [f"L{i:04d}" for i in range(150)]
    assert sum(sent.values()) <= 151
    assert {r["import_status"] for r in by_id(results / "out.xlsx").values()} <= {
        "created",
        "updated",
    }
