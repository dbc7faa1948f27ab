"""Hostile servers, URLs and environments against the sender: no hang, no crash, no leak."""

from __future__ import annotations

import json
import socket
import threading
import time
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from importer.cli import main
from importer.errors import UsageError
from importer.models import RowStatus
from importer.sandbox import running_sandbox
from importer.sending.sender import LeadSender, SenderConfig, SendOutcome, check_base_url
from tests.conftest import MAPPING, lead_row, write_leads_csv
from tests.hostile import RawServer, answer, closed_port, read_request

KEY = "11595ee3c3ad592e52.31523696"
PAYLOAD = {"lead": {"integration_record_id": "r1", "zip": "02134"}}
CREATED = json.dumps({"result": "success", "data": {"msg": "Lead Created", "lead": {"id": 7}}})
PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def sender_for(url: str, **overrides: object) -> LeadSender:
    settings: dict = {"base_url": url, "partner": "partner", "api_key": KEY, "rate_limit": 0}
    settings.update(overrides)
    return LeadSender(SenderConfig(**settings), sleep=lambda s: None, rng=lambda: 0.0)


def replying(*answers: bytes):
    """A handler that reads one request per answer on each connection and records it."""

    def handle(conn: socket.socket, server: RawServer) -> None:
        for reply in answers:
            request = read_request(conn)
            if not request:
                return
            server.received.append(request)
            conn.sendall(reply)

    return handle


def recording(conn: socket.socket, server: RawServer) -> None:
    """Records whatever arrives, answers nothing useful (a proxy that says 502)."""
    request = read_request(conn)
    server.received.append(request)
    conn.sendall(answer("502 Bad Gateway", b"no", content_type="text/plain"))


def send_in_thread(sender: LeadSender, within: float = 20.0) -> SendOutcome:
    """sender.send(PAYLOAD), failing the test if it is still running after `within` s."""
    result: dict = {}

    def go() -> None:
        try:
            result["outcome"] = sender.send(PAYLOAD)
        except BaseException as exc:  # handed to the test thread
            result["error"] = exc

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(within)
    assert not thread.is_alive(), f"send was still running after {within} s"
    if "error" in result:
        raise result["error"]
    return result["outcome"]


def assert_no_key_part(text: str | None, chars: int = 8) -> None:
    """No run of `chars` consecutive characters of the key appears in `text`."""
    for start in range(len(KEY) - chars + 1):
        assert KEY[start : start + chars] not in (text or ""), text


# -- 1. the plain-http guard ----------------------------------------------------------------


def test_a_backslash_url_cannot_carry_the_key_to_another_host_in_clear():
    # urlsplit reads 127.0.0.1 here, urllib3 (what connects) reads 0.0.0.0: a host that
    # is not loopback (it lands on this machine, so nothing leaves it in the test).
    with RawServer(recording) as other:
        url = f"http://0.0.0.0:{other.port}\\@127.0.0.1"
        with pytest.raises(UsageError) as info, sender_for(url) as sender:
            sender.send(PAYLOAD)
        assert other.received == []
    assert info.value.message == f'base url "{url}" contains a backslash'


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://user@127.0.0.1:8765",
            'the base url must not carry a user name or password (before "@")',
        ),
        (
            "https://evil.example%2f@127.0.0.1",
            'the base url must not carry a user name or password (before "@")',
        ),
        (
            "http://127.0.0.1:99999",
            'base url "http://127.0.0.1:99999" has a port that is not a number from 1 to 65535',
        ),
        (
            "http://127.0.0.1:0",
            'base url "http://127.0.0.1:0" has a port that is not a number from 1 to 65535',
        ),
        (
            "http://127.0.0.1:+80",
            'base url "http://127.0.0.1:+80" has a port that is not a number from 1 to 65535',
        ),
        (
            "http://127.0.0.1\t:80",
            'base url "http://127.0.0.1<U+0009>:80" contains a space or control character (U+0009)',
        ),
        (
            "http://127.0.0.1 .evil.example",
            'base url "http://127.0.0.1 .evil.example" contains a space or control character (U+0020)',
        ),
        (
            "http://127.0.0.1\x00.evil.example",
            'base url "http://127.0.0.1<U+0000>.evil.example" contains a space or control character (U+0000)',
        ),
        (
            "http://127.0.0.1\u2028.evil.example",
            'base url "http://127.0.0.1\u2028.evil.example" contains a space or control character (U+2028)',
        ),
        (
            "https://evil.example#@127.0.0.1",
            'base url "https://evil.example#@127.0.0.1" must not carry a query or fragment',
        ),
        (
            "http://evil.example?@127.0.0.1",
            'base url "http://evil.example?@127.0.0.1" must not carry a query or fragment',
        ),
        (
            "http://0.0.0.0:80",
            "refusing plain http:// to 0.0.0.0: the api key would travel unencrypted",
        ),
    ],
)
def test_urls_the_two_parsers_could_read_differently_are_refused_in_one_line(url, message):
    with pytest.raises(UsageError) as info:
        check_base_url(url)
    assert info.value.message == message
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765", "http://[::1]:80/x", "https://enerflo.io/", "  https://enerflo.io"],
)
def test_ordinary_urls_still_pass(url):
    assert check_base_url(url) == url.strip().rstrip("/")


def test_port_out_of_range_is_one_line_and_exit_2(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ENERFLO_API_KEY", KEY)
    source = write_leads_csv(tmp_path / "leads.csv", [lead_row(1)])
    (tmp_path / "m.yaml").write_text(MAPPING)
    result = CliRunner().invoke(
        main,
        ["send", str(source), "-m", str(tmp_path / "m.yaml"), "-o", str(tmp_path / "o.xlsx"),
         "--base-url", "http://127.0.0.1:99999", "--rate-limit", "0"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        'enerflo-import: error: base url "http://127.0.0.1:99999" has a port that is not a '
        "number from 1 to 65535",
        "hint: e.g. https://enerflo.io or http://127.0.0.1:8765",
    ]


# -- 3. proxies ---------------------------------------------------------------------------


@pytest.fixture
def proxy(monkeypatch) -> RawServer:
    server = RawServer(recording)
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, server.url)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield server
    server.close()


def test_a_loopback_target_never_goes_through_a_proxy(proxy):
    lead = {"lead": {"integration_record_id": "p1", "ignore_validation": 1}}
    with (
        running_sandbox(rate_limit=0) as box,
        sender_for(box.base_url, api_key=box.api_key) as sender,
    ):
        outcome = sender.send(lead)
        assert sender.proxies == {}
    assert outcome.status is RowStatus.CREATED
    assert proxy.received == []


def test_send_sandbox_never_goes_through_a_proxy(proxy, tmp_path: Path):
    source = write_leads_csv(tmp_path / "leads.csv", [lead_row(i) for i in range(1, 4)])
    (tmp_path / "m.yaml").write_text(MAPPING)
    result = CliRunner().invoke(
        main,
        ["send", str(source), "-m", str(tmp_path / "m.yaml"), "-o", str(tmp_path / "o.xlsx"),
         "--sandbox", "--rate-limit", "0"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 created" in result.stdout
    assert proxy.received == []


def test_a_remote_https_target_still_uses_the_proxy(proxy):
    url = f"https://0.0.0.0:{closed_port()}"
    with sender_for(url, max_attempts=1) as sender:
        outcome = sender.send(PAYLOAD)
    assert outcome.status is RowStatus.FAILED
    assert [r.split(b"\r\n")[0] for r in proxy.received] == [
        f"CONNECT {url.removeprefix('https://')} HTTP/1.0".encode()
    ]
    assert KEY.encode() not in b"".join(
        proxy.received
    )  # a tunnel request carries no header of ours


def test_no_proxy_is_honoured_for_a_remote_target(proxy, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "0.0.0.0")
    with sender_for(f"https://0.0.0.0:{closed_port()}", max_attempts=1) as sender:
        outcome = sender.send(PAYLOAD)
    assert outcome.message == "connection refused after 1 attempts"
    assert proxy.received == []


# -- 4. the key in answers ------------------------------------------------------------------


def outcome_of(*replies: bytes, **overrides: object) -> SendOutcome:
    """What the sender makes of a server giving these answers, one per request."""
    with RawServer(replying(*replies)) as server, sender_for(server.url, **overrides) as sender:
        return sender.send(PAYLOAD)


def test_a_key_straddling_the_snippet_cut_is_masked_whole():
    body = ("x" * 190 + KEY + "y" * 60).encode()
    outcome = outcome_of(answer("400 Bad Request", body, content_type="text/plain"))
    assert outcome.status is RowStatus.REJECTED
    assert "***" in outcome.message
    assert_no_key_part(outcome.message)


def test_a_key_echoed_as_the_lead_id_is_masked():
    body = json.dumps(
        {"result": "success", "data": {"msg": f"Lead Created for {KEY}", "lead": {"id": KEY}}}
    )
    outcome = outcome_of(answer(body=body.encode()))
    assert (outcome.status, outcome.lead_id, outcome.message) == (
        RowStatus.CREATED,
        "***",
        "Lead Created for ***",
    )


@pytest.mark.parametrize(
    "echo",
    [
        "".join(f"%{ord(c):02X}" for c in KEY),  # URL-encoded, every character
        "".join(f"\\u{ord(c):04x}" for c in KEY),  # JSON-escaped, in a body that is not JSON
        f"<b>{KEY[:9]}</b>\n<i>{KEY[9:18]}</i> {KEY[18:]}",  # split by tags and whitespace
        "".join(f"&#{ord(c)};" for c in KEY),  # HTML character references
    ],
)
def test_a_key_encoded_or_split_up_in_an_html_body_is_masked(echo):
    body = f"<html><body><p>invalid key: {echo}</p></body></html>".encode()
    outcome = outcome_of(answer("400 Bad Request", body, content_type="text/html"))
    assert outcome.message == "HTTP 400: invalid key: ***"


def test_a_key_in_a_redirect_location_is_masked():
    reply = answer(
        "302 Found", headers={"Location": f"https://enerflo.io/login?api_key={quote(KEY)}"}
    )
    outcome = outcome_of(reply)
    assert (
        outcome.message
        == "HTTP 302 redirect to https://enerflo.io/login?api_key=***; check --base-url"
    )


def test_a_url_encoded_key_in_the_base_url_is_refused():
    encoded = "".join(f"%{ord(c):02X}" for c in KEY)
    with pytest.raises(UsageError) as info:
        sender_for(f"https://enerflo.io/{encoded}")
    assert info.value.message == "the base url or partner name contains the api key"


def test_the_cli_masks_with_the_library_rule():
    from importer.console import Console

    encoded = "".join(f"%{ord(c):02x}" for c in KEY)
    assert Console(secret=KEY).mask(f"at {encoded} and {KEY}") == "at *** and ***"


# -- 5. slow servers and stopping -----------------------------------------------------------


def dripping(head_first: bool):
    """Answers one byte every 0.1 s forever: after the head (or in it, head_first False)."""

    def handle(conn: socket.socket, server: RawServer) -> None:
        server.received.append(read_request(conn))
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        )
        if head_first:
            conn.sendall(head)
        stream = (head if not head_first else b"") + b"{" + b" " * 10_000_000
        for byte in stream:
            conn.sendall(bytes([byte]))
            if server.done.wait(0.1):  # set when the test is over
                return

    return handle


@pytest.mark.parametrize("head_first", [True, False], ids=["dripping body", "dripping head"])
def test_a_server_dripping_its_answer_cannot_hold_an_attempt_past_its_deadline(head_first):
    with RawServer(dripping(head_first)) as server:
        sender = sender_for(server.url, read_timeout=5, attempt_deadline=1, max_attempts=2)
        started = time.monotonic()
        outcome = send_in_thread(sender)
        elapsed = time.monotonic() - started
        server.done.set()
        sender.close()
    assert outcome == SendOutcome(
        RowStatus.FAILED, None, None, "no complete answer within 1 s after 2 attempts", 2
    )
    assert 2 <= elapsed < 6


def always_503_then_signal(conn: socket.socket, server: RawServer) -> None:
    while request := read_request(conn):
        server.received.append(request)
        conn.sendall(answer("503 Service Unavailable", b"down", content_type="text/plain"))
        server.done.set()  # the test's "Ctrl-C" arrives while the sender backs off


def test_should_stop_ends_the_backoff_at_once_and_fails_the_row():
    with RawServer(always_503_then_signal) as server:
        config = SenderConfig(server.url, "partner", KEY, rate_limit=0, max_attempts=6)
        # rng 1.0: the five backoff waits would add up to 15.5 s without the stop.
        sender = LeadSender(config, rng=lambda: 1.0, should_stop=server.done.is_set)
        started = time.monotonic()
        outcome = send_in_thread(sender)
        elapsed = time.monotonic() - started
        sender.close()
    assert outcome == SendOutcome(
        RowStatus.FAILED, None, 503, "stopped before retrying (HTTP 503; 1 attempts made)", 1
    )
    assert len(server.received) == 1
    assert elapsed < 2
    assert sender.consecutive_failures == 0


def test_should_stop_cuts_a_long_retry_after_short():
    def rate_limited(conn: socket.socket, server: RawServer) -> None:
        server.received.append(read_request(conn))
        conn.sendall(
            answer(
                "429 Too Many Requests", b"<html>slow</html>", {"Retry-After": "50"}, "text/html"
            )
        )
        server.done.set()

    with RawServer(rate_limited) as server:
        config = SenderConfig(server.url, "partner", KEY, rate_limit=300, max_attempts=3)
        sender = LeadSender(config, should_stop=server.done.is_set)
        started = time.monotonic()
        outcome = send_in_thread(sender)
        sender.close()
    assert outcome.message == "stopped before retrying (HTTP 429 (rate limited); 1 attempts made)"
    assert time.monotonic() - started < 2


def test_a_stop_before_the_first_attempt_leaves_the_row_pending():
    with RawServer(recording) as server:
        sender = LeadSender(SenderConfig(server.url, "partner", KEY), should_stop=lambda: True)
        outcome = sender.send(PAYLOAD)
        sender.close()
    assert outcome == SendOutcome(RowStatus.PENDING, None, None, "stopped before sending", 0)
    assert server.received == []


# -- 6. big bodies ---------------------------------------------------------------------------


def test_400_with_160_kb_of_angle_brackets_is_classified_in_linear_time():
    reply = answer("400 Bad Request", b"<" * 160_000, content_type="text/html")
    started = time.process_time()
    outcome = outcome_of(reply)
    cpu = time.process_time() - started
    assert outcome.status is RowStatus.REJECTED
    assert outcome.message == "HTTP 400: " + "<" * 197 + "..."
    assert cpu < 1.0


def test_an_endless_body_is_cut_and_its_connection_dropped():
    sent = {"bytes": 0}

    def endless(conn: socket.socket, server: RawServer) -> None:
        server.received.append(read_request(conn))
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\n")
        block = b"x" * 65536
        while sent["bytes"] < 500_000_000:
            conn.sendall(block)
            sent["bytes"] += len(block)

    with RawServer(endless) as server, sender_for(server.url) as sender:
        outcome = send_in_thread(sender)
    assert outcome.status is RowStatus.REJECTED
    assert outcome.message == "HTTP 400: " + "x" * 197 + "..."
    assert sent["bytes"] < 4_000_000  # stopped by the hang-up, not by the server


# -- 7. junk headers and bodies -------------------------------------------------------------


@pytest.mark.parametrize("junk", ["nan", "inf", "-inf", "1e400", "-1", "9" * 400, "soon", ""])
def test_junk_rate_limit_headers_are_ignored(junk):
    headers = {"x-ratelimit-remaining": junk, "x-ratelimit-limit": junk, "x-ratelimit-reset": junk}
    outcome = outcome_of(answer(body=CREATED.encode(), headers=headers), rate_limit=600)
    assert (outcome.status, outcome.lead_id) == (RowStatus.CREATED, "7")


@pytest.mark.parametrize("reset", ["nan", "inf", "1e400", "-1e400"])
def test_a_429_with_a_junk_reset_backs_off_instead_of_crashing(reset):
    limited = answer(
        "429 Too Many Requests", b"<html>no</html>", {"x-ratelimit-reset": reset}, "text/html"
    )
    with RawServer(replying(limited, answer(body=CREATED.encode()))) as server:
        config = SenderConfig(server.url, "partner", KEY, rate_limit=0)
        with LeadSender(config, sleep=time.sleep, rng=lambda: 0.0) as sender:
            outcome = sender.send(PAYLOAD)
    assert (outcome.status, outcome.attempts) == (RowStatus.CREATED, 2)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_a_2xx_json_body_nested_too_deep_is_retried_like_any_body_that_is_not_json():
    reply = answer(body=nested(30_000).encode())
    outcome = outcome_of(reply, max_attempts=1)
    assert outcome.message == "HTTP 200 with a body that is not JSON after 1 attempts"


def test_a_4xx_json_body_nested_too_deep_is_rejected_with_a_snippet():
    reply = answer("422 Unprocessable Entity", nested(30_000).encode())
    outcome = outcome_of(reply)
    assert outcome.status is RowStatus.REJECTED
    assert outcome.message == "HTTP 422: " + "[" * 197 + "..."


@pytest.mark.parametrize(
    "body",
    [
        '{"result": "error", "errors": ' + nested(900)[:900] + '"x"' + nested(900)[900:] + "}",
        '{"result": "success", "data": {"lead": {"id": ' + nested(900) + "}}}",
        '{"result": "success", "customer_id": 1' + "0" * 5000 + "}",
        '{"result": "success", "customer_id": 1e400}',
        '{"result": ' + nested(900) + "}",
    ],
    ids=["deep errors", "deep lead id", "huge integer", "infinite id", "deep result"],
)
def test_json_that_parses_but_is_absurd_never_crashes(body):
    outcome = outcome_of(*[answer(body=body.encode())] * 2, max_attempts=2)
    assert outcome.status in (RowStatus.REJECTED, RowStatus.CREATED, RowStatus.FAILED)
    assert len(outcome.message) <= 1000
    assert outcome.lead_id is None or outcome.lead_id.isdigit()


# -- 13. a CA bundle that is not there ------------------------------------------------------


def test_a_ca_bundle_path_to_nothing_stops_before_any_request(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nothing.pem"))
    with RawServer(recording) as server:
        with pytest.raises(UsageError) as info:
            sender_for(f"https://0.0.0.0:{server.port}").send(PAYLOAD)
        assert server.received == []
    assert (
        info.value.message
        == f"REQUESTS_CA_BUNDLE points to {tmp_path / 'nothing.pem'}, which does not exist"
    )


def test_a_ca_bundle_that_is_not_pem_is_one_line_and_exit_2(monkeypatch, tmp_path: Path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("not a certificate\n")
    monkeypatch.setenv("CURL_CA_BUNDLE", str(bundle))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("ENERFLO_API_KEY", KEY)
    source = write_leads_csv(tmp_path / "leads.csv", [lead_row(1)])
    (tmp_path / "m.yaml").write_text(MAPPING)
    with RawServer(recording) as server:
        result = CliRunner().invoke(
            main,
            ["send", str(source), "-m", str(tmp_path / "m.yaml"), "-o", str(tmp_path / "o.xlsx"),
             "--base-url", f"https://0.0.0.0:{server.port}"],
        )  # fmt: skip
        assert server.received == []
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"enerflo-import: error: CURL_CA_BUNDLE points to {bundle}, which holds no usable CA certificate"
    )


def test_one_ctrl_c_during_retries_stops_the_cli_within_a_second_or_two(tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys

    source = write_leads_csv(tmp_path / "leads.csv", [lead_row(i) for i in range(1, 4)])
    (tmp_path / "m.yaml").write_text(MAPPING)
    out = tmp_path / "o.xlsx"
    with RawServer(always_503_then_signal) as server:
        env = {**os.environ, "ENERFLO_API_KEY": KEY}
        process = subprocess.Popen(
            [sys.executable, "-m", "importer", "send", str(source), "-m", str(tmp_path / "m.yaml"),
             "-o", str(out), "--base-url", server.url, "--rate-limit", "0", "--quiet"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert server.done.wait(30), "the first request never came"
            process.send_signal(signal.SIGINT)
            started = time.monotonic()
            _, stderr = process.communicate(timeout=30)
        finally:
            process.kill()
        elapsed = time.monotonic() - started
    assert process.returncode == 130, stderr
    assert elapsed < 3
    assert len(server.received) <= 2  # the request in flight, at most one more
    assert KEY not in stderr
    assert out.exists()


def test_the_key_is_not_in_the_config_repr():
    config = SenderConfig("https://enerflo.io", "partner", KEY)
    assert KEY not in repr(config)
    with LeadSender(config) as sender:
        assert KEY not in repr(vars(sender))


def test_a_gzip_bomb_answer_is_cut_at_64_kb_not_inflated():
    deflater = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    block = b"<" * (1 << 20)
    first = deflater.compress(block) + deflater.flush(zlib.Z_FULL_FLUSH)
    middle = deflater.compress(block) + deflater.flush(zlib.Z_FULL_FLUSH)
    body = first + middle * 2000 + deflater.flush()  # about 2 GB inflated, 2 MB on the wire
    reply = answer("400 Bad Request", body, {"Content-Encoding": "gzip"}, "text/html")
    started = time.monotonic()
    outcome = outcome_of(reply)
    assert outcome.message == "HTTP 400: " + "<" * 197 + "..."
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Junk: \x00\x01\xff\xfe\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\n" + b"X-Many: 1\r\n" * 1000 + b"\r\n{}",
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 200_000 + b"\r\n\r\n{}",
        b"HTTP/1.1 99999 Huh\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 600 Beyond\r\nContent-Length: 2\r\n\r\n{}",
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(256)),
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=no-such-charset\r\nContent-Length: 27\r\n\r\n"
        + CREATED.encode()[:27],
    ],
    ids=[
        "length text",
        "length negative",
        "length huge",
        "bad chunk",
        "binary header",
        "1000 headers",
        "200 KB header",
        "status 99999",
        "status 600",
        "not http",
        "tls bytes",
        "unknown charset",
    ],  # fmt: skip
)
def test_junk_answers_end_the_row_never_the_run(reply):
    outcome = outcome_of(reply, max_attempts=1)
    assert outcome.status in (RowStatus.FAILED, RowStatus.REJECTED), outcome
    assert len(outcome.message) <= 1000
