"""The sandbox's one command line, through both entry points, as real subprocesses:
`enerflo-import sandbox` (the installed console script) and `python -m importer.sandbox`."""

from __future__ import annotations

import ast
import http.client
import json
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from importer.sandbox import SAMPLE_API_KEY, running_sandbox
from importer.sandbox.command import sandbox_command
from tests.helpers import ROOT

PATH = "/api/v1/partner/action/lead/add"
LEAD = {"lead": {"integration_record_id": "cmd-1", "fullAddress": "1 Main St, Provo, UT 84601"}}


def console_script() -> list[str]:
    script = shutil.which("enerflo-import", path=str(Path(sys.executable).parent))
    assert script is not None, "the console script is not installed in this venv"
    return [script, "sandbox"]


ENTRY_POINTS = {
    "enerflo-import sandbox": console_script,
    "python -m importer.sandbox": lambda: [sys.executable, "-m", "importer.sandbox"],
}


@pytest.fixture(params=list(ENTRY_POINTS))
def entry(request) -> list[str]:
    return ENTRY_POINTS[request.param]()


def start(command: list[str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str], stop: int = signal.SIGTERM) -> tuple[int, str, str]:
    """Send `stop`, then the exit code and what it printed after its first line."""
    process.send_signal(stop)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def run(command: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)


# -- starting ----------------------------------------------------------------------------


def test_json_start_line_is_one_object_a_script_can_post_to_with_port_0(entry):
    process = start(entry, "--port", "0", "--json")
    try:
        facts = json.loads(process.stdout.readline())  # blocks until it listens
        assert set(facts) == {"url", "endpoint", "api_keys", "page", "docs", "db"}
        assert facts["url"].startswith("http://127.0.0.1:") and not facts["url"].endswith(":0")
        assert facts["endpoint"] == facts["url"] + PATH
        assert facts["page"] == facts["url"] + "/" and facts["docs"] == facts["url"] + "/docs"
        assert facts["api_keys"] == [SAMPLE_API_KEY] and facts["db"] is None
        answer = requests.post(
            facts["endpoint"], json=LEAD, headers={"api-key": facts["api_keys"][0]}, timeout=10
        )
        assert answer.json()["data"]["msg"] == "Lead Created"
        assert requests.get(facts["page"], timeout=10).status_code == 200
    finally:
        code, rest, err = finish(process)
    assert code == 0, err
    assert rest == ""  # one object only: nothing more on stdout, not even "sandbox stopped"


def test_start_lines_name_the_page_the_endpoint_and_the_key_it_accepts(entry, tmp_path):
    db = tmp_path / "leads.db"
    process = start(entry, "--port", "0", "--api-key", "their-own-key", "--db", str(db))
    try:
        first = process.stdout.readline()
        assert first.startswith("sandbox listening on http://127.0.0.1:"), first
        url = first.split()[3]
        lines = [process.stdout.readline().rstrip("\n") for _ in range(5)]
    finally:
        code, rest, err = finish(process)
    assert lines == [
        f"  page:      {url}/",
        f"  endpoint:  {url}{PATH}",
        "  api key:   their-own-key",
        f"  docs:      {url}/docs",
        f"  database:  {db}",
    ]
    assert code == 0, err
    assert rest == "sandbox stopped\n"


def test_start_line_says_the_default_key_is_the_api_pages_sample(entry):
    process = start(entry, "--port", "0")
    try:
        lines = [process.stdout.readline() for _ in range(4)]
    finally:
        finish(process)
    assert lines[3] == f"  api key:   {SAMPLE_API_KEY} (the sample key from Enerflo's API page)\n"


def test_quiet_prints_nothing_on_start_or_stop(entry):
    port = free_port()
    process = start(entry, "--port", str(port), "--quiet")
    try:
        wait_until_listening(f"http://127.0.0.1:{port}/", process)
    finally:
        code, out, err = finish(process)
    assert (code, out, err) == (0, "", "")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_listening(url: str, process: subprocess.Popen[str]) -> None:
    """Poll the page until it answers (the condition itself; --quiet prints no start line)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(url, timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.02)
    raise AssertionError(f"the sandbox never answered at {url}")


# -- stopping ----------------------------------------------------------------------------


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_it_cleanly_with_the_database_file_complete_on_its_own(
    entry, stop, tmp_path
):
    db = tmp_path / "sandbox.db"
    process = start(entry, "--port", "0", "--json", "--db", str(db))
    try:
        url = json.loads(process.stdout.readline())["url"]
        idle = http.client.HTTPConnection(urlsplit(url).netloc, timeout=30)
        idle.request("POST", PATH, body=json.dumps(LEAD), headers={"api-key": SAMPLE_API_KEY})
        assert json.loads(idle.getresponse().read())["data"]["msg"] == "Lead Created"
        # Someone looking at the file meanwhile: SQLite then skips its own checkpoint on close.
        reader = sqlite3.connect(db)
        assert reader.execute("SELECT COUNT(*) FROM leads").fetchone() == (1,)
    finally:
        signalled = time.monotonic()
        code, out, err = finish(process, stop)
    assert (code, out, err) == (0, "", "")
    # The idle keep-alive connection is ended, not waited for (the server gives up after 5 s).
    assert time.monotonic() - signalled < 4
    idle.close()
    # Unless the sandbox checkpoints as it stops, the lead is still only in sandbox.db-wal.
    copy = tmp_path / "copy.db"
    shutil.copyfile(db, copy)
    with sqlite3.connect(copy) as conn:
        rows = conn.execute("SELECT integration_record_id FROM leads").fetchall()
    conn.close()
    assert rows == [("cmd-1",)]
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    reader.close()


def test_stop_ends_idle_keep_alive_connections_of_a_running_sandbox():
    with running_sandbox() as sandbox:
        idle = http.client.HTTPConnection(urlsplit(sandbox.base_url).netloc, timeout=10)
        idle.request("POST", PATH, body=json.dumps(LEAD), headers={"api-key": sandbox.api_key})
        idle.getresponse().read()
        sandbox.stop()  # the test process lives on: only the sandbox can have closed it
        assert idle.sock is not None and idle.sock.recv(1) == b""
        idle.close()


# -- errors ------------------------------------------------------------------------------


def test_busy_port_is_one_error_line_and_a_hint_exit_1_the_same_from_both_entry_points():
    with running_sandbox() as busy:
        answers = [run(make(), "--port", str(busy.port)) for make in ENTRY_POINTS.values()]
    for answer in answers:
        assert answer.returncode == 1
        assert answer.stdout == ""
        assert answer.stderr == (
            f"enerflo-import: error: sandbox: cannot listen on 127.0.0.1:{busy.port}: "
            "address already in use\n"
            "hint: another program uses that port: stop it, choose another --port, or --port 0\n"
        )


def test_busy_port_with_json_is_also_one_json_object_on_stdout(entry):
    with running_sandbox() as busy:
        answer = run(entry, "--port", str(busy.port), "--json")
    assert answer.returncode == 1
    assert json.loads(answer.stdout) == {
        "error": f"sandbox: cannot listen on 127.0.0.1:{busy.port}: address already in use",
        "hint": "another program uses that port: stop it, choose another --port, or --port 0",
        "exit_code": 1,
    }


@pytest.mark.parametrize(
    ("args", "error", "hint"),
    [
        (("--port", "99999"), "invalid value for '--port': 99999 is not in the range 0<=x<=65535",
         "--help lists every option"),
        (("--fault-rate", "2"), "invalid value for '--fault-rate': 2.0 is not in the range 0<=x<=1",
         "--help lists every option"),
        (("--fault-kind", "boom"), "invalid value for '--fault-kind': 'boom' is not one of "
         "'500', '502', '503', '504', '429', 'reset', 'not_json', 'lost'",
         "--help lists every option"),
        (("--api-key", ""), "api keys: at least one non-empty key is needed",
         "--help lists every option"),
        (("--prot", "1"), "no such option '--prot'",
         "did you mean --host or --port? --help lists every option"),
    ],
)  # fmt: skip
def test_bad_usage_is_one_error_line_and_a_hint_exit_2_the_same_from_both_entry_points(
    args, error, hint
):
    answers = [run(make(), *args) for make in ENTRY_POINTS.values()]
    for answer in answers:
        assert answer.returncode == 2
        assert answer.stderr == f"enerflo-import: error: sandbox: {error}\nhint: {hint}\n"
        assert answer.stdout == ""


def test_database_that_cannot_be_opened_is_exit_1_with_a_hint(entry, tmp_path):
    answer = run(entry, "--port", "0", "--db", str(tmp_path / "no" / "such" / "dir.db"))
    assert answer.returncode == 1
    first, hint = answer.stderr.splitlines()
    assert first.startswith("enerflo-import: error: sandbox: cannot open database ")
    assert hint.startswith("hint: --db needs a SQLite file")


# -- one definition ----------------------------------------------------------------------


def test_help_shows_every_option_and_an_example(entry):
    answer = run(entry, "--help")
    assert answer.returncode == 0
    for option in ("--host", "--port", "--db", "--api-key", "--rate-limit", "--latency-ms",
                   "--fault-rate", "--fault-seed", "--fault-kind", "--quiet", "--json"):  # fmt: skip
        assert option in answer.stdout
    assert "Examples:\n    enerflo-import sandbox\n" in answer.stdout
    assert "enerflo-import sandbox --port 0 --json" in answer.stdout


def test_both_entry_points_run_the_one_sandbox_command():
    from importer.cli import main

    assert main.commands["sandbox"] is sandbox_command
    module = (ROOT / "importer" / "sandbox" / "__main__.py").read_text()
    assert "sandbox_command(" in module and "argparse" not in module


def test_the_sandbox_imports_nothing_from_the_importer_outside_its_package():
    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        inside = name == "importer.sandbox" or name.startswith("importer.sandbox.")
        return inside or top == "click" or (top != "importer" and top in sys.stdlib_module_names)

    outside = []
    for path in sorted((ROOT / "importer" / "sandbox").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            outside += [f"{path.name}: {name}" for name in names if not allowed(name)]
    assert outside == []
