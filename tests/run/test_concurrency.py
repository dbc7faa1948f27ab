"""--concurrency: several requests in flight under one pacer, each outcome journaled as it
arrives, rows in source order; and the advice a slow sequential send gets. Real servers."""

from __future__ import annotations

import re
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import importer
from importer.sandbox import running_sandbox
from tests.conftest import MAPPING, lead_row, write_leads_csv
from tests.helpers import SAMPLE_KEY, by_id, invoke, posts, results_rows, start_cli, wait_for


def leads(folder: Path, count: int) -> tuple[Path, Path]:
    source = write_leads_csv(folder / "leads.csv", [lead_row(i) for i in range(count)])
    mapping = folder / "mapping.yaml"
    mapping.write_text(MAPPING)
    return source, mapping


class _Gathering(BaseHTTPRequestHandler):
    """Answers a request only once `wanted` requests are waiting at the same time."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        server = self.server
        with server.lock:  # type: ignore[attr-defined]
            server.waiting += 1  # type: ignore[attr-defined]
            server.most = max(server.most, server.waiting)  # type: ignore[attr-defined]
        gathered = server.barrier_event.wait(timeout=10)  # type: ignore[attr-defined]
        if server.most >= server.wanted:  # type: ignore[attr-defined]
            server.barrier_event.set()  # type: ignore[attr-defined]
        with server.lock:  # type: ignore[attr-defined]
            server.waiting -= 1  # type: ignore[attr-defined]
        body = b'{"result": "success", "data": {"msg": "Lead Created", "lead": {"id": 7}}}'
        self.send_response(200 if gathered or server.most >= server.wanted else 503)  # type: ignore[attr-defined]
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gathering_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gathering)
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    server.waiting = server.most = 0  # type: ignore[attr-defined]
    server.wanted = 4  # type: ignore[attr-defined]
    server.barrier_event = threading.Event()  # type: ignore[attr-defined]

    def watch() -> None:  # open the gate as soon as `wanted` requests wait together
        while not server.barrier_event.is_set():
            with server.lock:  # type: ignore[attr-defined]
                if server.waiting >= server.wanted:  # type: ignore[attr-defined]
                    server.barrier_event.set()  # type: ignore[attr-defined]
            server.barrier_event.wait(0.01)  # type: ignore[attr-defined]

    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Thread(target=watch, daemon=True).start()
    yield server
    server.barrier_event.set()  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()


def test_n_requests_are_really_in_flight_at_once(tmp_path: Path, gathering_server) -> None:
    source, mapping = leads(tmp_path, 8)
    url = f"http://127.0.0.1:{gathering_server.server_address[1]}"
    report = importer.send(
        source, mapping, api_key=SAMPLE_KEY, base_url=url, rate_limit=0, concurrency=4,
        out=tmp_path / "r.xlsx", ledger=False,
    )  # fmt: skip
    assert gathering_server.most >= 4  # the server saw four requests waiting together
    assert report.counts == {"created": 8}


def test_a_concurrent_send_accepts_every_row_once_in_source_order(tmp_path: Path) -> None:
    source, mapping = leads(tmp_path, 40)
    out = tmp_path / "r.xlsx"
    with running_sandbox(port=0, rate_limit=0, latency_ms=50) as box:
        sent = invoke("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url,
                      "--concurrency", "6", "--rate-limit", "0")  # fmt: skip
        assert sent.exit_code == 0, sent.stderr
        assert posts(box) == {f"L{i:04d}": 1 for i in range(40)}
    rows = results_rows(out)
    assert [r["Lead ID"] for r in rows] == [f"L{i:04d}" for i in range(40)]
    assert {r["import_status"] for r in rows} == {"created"}
    assert len({r["import_lead_id"] for r in rows}) == 40


def test_one_pacer_keeps_every_worker_under_the_servers_limit(tmp_path: Path) -> None:
    source, mapping = leads(tmp_path, 24)
    # The server allows 120/min counted over 6 s windows: 12 in any 6 s. The client paces
    # at the same limit with 4 requests in flight; not one may be refused.
    with running_sandbox(port=0, rate_limit=120, rate_window_s=6, latency_ms=150) as box:
        sent = invoke("send", source, "-m", mapping, "-o", tmp_path / "r.xlsx",
                      "--base-url", box.base_url, "--concurrency", "4", "--rate-limit", "120")  # fmt: skip
        statuses = [r["status_code"] for r in box.requests()]
    assert sent.exit_code == 0, sent.stderr
    assert 429 not in statuses and statuses.count(200) == 24


def test_faults_and_429s_with_concurrency_still_end_with_each_lead_once(tmp_path: Path) -> None:
    source, mapping = leads(tmp_path, 30)
    out = tmp_path / "r.xlsx"
    with running_sandbox(port=0, rate_limit=0, fault_rate=0.3, fault_seed=3) as box:
        sent = invoke("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url,
                      "--concurrency", "4", "--rate-limit", "0")  # fmt: skip
        leads_stored = sorted(lead["integration_record_id"] for lead in box.leads())
    assert sent.exit_code == 0, sent.stderr
    assert leads_stored == [f"L{i:04d}" for i in range(30)]
    assert {r["import_status"] for r in by_id(out).values()} <= {"created", "updated"}


def test_a_refused_key_stops_a_concurrent_send_at_once(tmp_path: Path) -> None:
    source, mapping = leads(tmp_path, 40)
    out = tmp_path / "r.xlsx"
    with running_sandbox(port=0, rate_limit=0, latency_ms=50) as box:
        sent = invoke("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url,
                      "--concurrency", "4", key="not-the-key")  # fmt: skip
        refused = len(box.requests())
    assert sent.exit_code == 1 and "refused the api key (HTTP 401)" in sent.stderr
    assert refused <= 4  # only the requests already in flight
    assert {r["import_status"] for r in by_id(out).values()} == {"pending"}


def test_an_api_that_is_down_stops_a_concurrent_send_after_failures_in_a_row(
    tmp_path: Path,
) -> None:
    source, mapping = leads(tmp_path, 60)
    out = tmp_path / "r.xlsx"
    with running_sandbox(port=0, rate_limit=0, fault_rate=1.0, fault_kinds=("503",)) as box:
        report = None
        with pytest.raises(importer.ApiDownError) as caught:
            importer.send(source, mapping, api_key=SAMPLE_KEY, base_url=box.base_url,
                          rate_limit=0, concurrency=4, out=out, ledger=False)  # fmt: skip
        report = caught.value.report
        tried = {r["integration_record_id"] for r in box.requests()}
    assert report is not None
    counts = report.counts
    # Ten rows failed in a row stop it; rows in flight then are journaled too: at most 3.
    assert 10 <= counts["failed"] <= 13 and counts["pending"] == 60 - counts["failed"]
    assert len(tried) == counts["failed"]


def test_ctrl_c_lets_requests_in_flight_finish_and_journals_them(tmp_path: Path) -> None:
    source, mapping = leads(tmp_path, 60)
    out = tmp_path / "r.xlsx"
    with running_sandbox(port=0, rate_limit=0, latency_ms=300) as box:
        proc = start_cli("send", source, "-m", out.parent / "mapping.yaml", "-o", out,
                         "--base-url", box.base_url, "--concurrency", "4")  # fmt: skip
        wait_for(lambda: len(box.leads()) >= 6, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        stored = {lead["integration_record_id"] for lead in box.leads()}
    assert proc.returncode == 130, err
    rows = by_id(out)
    created = {rid for rid, row in rows.items() if row["import_status"] == "created"}
    # Every lead the server stored is claimed in the results, and none that it did not.
    assert created == stored
    assert {row["import_status"] for row in rows.values()} == {"created", "pending"}


def test_a_killed_concurrent_send_resumes_without_a_second_lead(tmp_path: Path) -> None:
    source, mapping = leads(tmp_path, 60)
    out = tmp_path / "r.xlsx"
    with running_sandbox(port=0, rate_limit=0, latency_ms=100) as box:
        proc = start_cli("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url,
                         "--concurrency", "4")  # fmt: skip
        wait_for(lambda: len(box.leads()) >= 10, proc)
        proc.kill()
        proc.communicate(timeout=30)
        again = invoke("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url,
                       "--concurrency", "4")  # fmt: skip
        assert again.exit_code == 0, again.stderr
        sent = posts(box)
        ids = sorted(lead["integration_record_id"] for lead in box.leads())
    assert ids == [f"L{i:04d}" for i in range(60)]
    assert sum(1 for n in sent.values() if n > 1) <= 4  # at most the rows in flight at the kill


def test_a_slow_sequential_send_says_it_is_held_back_and_names_the_option(tmp_path: Path) -> None:
    source, mapping = leads(tmp_path, 14)
    with running_sandbox(port=0, rate_limit=0, latency_ms=400) as box:
        proc = start_cli("send", source, "-m", mapping, "-o", tmp_path / "r.xlsx",
                         "--base-url", box.base_url,
                         env={"ENERFLO_IMPORT_PROGRESS_SECONDS": "0.5"})  # fmt: skip
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    notes = [line for line in err.splitlines() if "held back by slow answers" in line]
    assert notes, err
    found = re.search(
        r"\(([\d.]+) s each\): (\d+)/min of 300/min; --concurrency (\d+) would reach about 296/min",
        notes[0],
    )
    assert found, notes[0]
    answer, rate, concurrency = float(found[1]), int(found[2]), int(found[3])
    assert rate < 240 and concurrency * 60 / answer >= 296


def test_concurrency_out_of_range_is_a_usage_error(tmp_path: Path) -> None:
    source, mapping = leads(tmp_path, 2)
    result = invoke("send", source, "-m", mapping, "--sandbox", "--concurrency", "0")
    assert result.exit_code == 2
    with pytest.raises(importer.UsageError, match="concurrency 99 is not between 1 and 32"):
        importer.send(source, mapping, sandbox=True, concurrency=99)


@pytest.mark.parametrize(("answer", "limit"), [(0.3, 6000), (2.0, 3000), (0.6, 300), (1.0, 120)])
def test_the_held_back_advice_names_a_concurrency_the_option_accepts(answer, limit) -> None:
    from importer.run.sending import MAX_CONCURRENCY, held_back

    advice = held_back(answer, limit)
    assert 2 <= advice.concurrency <= MAX_CONCURRENCY
    assert advice.would_reach <= advice.concurrency * 60 / answer
    # The option takes it (the run then stops at the missing sheet, exit 3, not a usage error).
    named = invoke("send", "missing.csv", "-m", "m.yaml", "--concurrency", str(advice.concurrency))
    assert named.exit_code == 3, named.stderr
