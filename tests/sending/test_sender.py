"""Tests for importer.sending.sender against real servers on loopback (pytest-httpserver, raw sockets)."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from importer.errors import ApiDownError, ApiKeyError, UsageError
from importer.models import ACCEPTED, RowStatus
from importer.sandbox import running_sandbox
from importer.sending.sender import (
    USER_AGENT,
    FailureStreak,
    LeadSender,
    SenderConfig,
    SendOutcome,
    check_base_url,
    describe_failure,
    parse_retry_after,
)

KEY = "11595ee3c3ad592e52.31523696"
PATH = "/api/v1/partner/action/lead/add"
PAYLOAD = {"lead": {"integration_record_id": "yj3Shbi2", "zip": "02134"}}
CREATED = {
    "result": "success",
    "data": {"msg": "Lead Created", "lead": {"id": 55555, "first_name": "Ferris"}},
}


class Recorder:
    """Injected sleep / on_wait: records what the sender would have waited, never sleeps."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.waits: list[tuple[str, float]] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def on_wait(self, reason: str, seconds: float) -> None:
        self.waits.append((reason, seconds))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def make_sender(base_url: str, recorder: Recorder, **overrides) -> LeadSender:
    settings = {"base_url": base_url, "partner": "partner", "api_key": KEY, "rate_limit": 0}
    settings.update(overrides)
    return LeadSender(
        SenderConfig(**settings),
        sleep=recorder.sleep,
        rng=lambda: 0.5,
        on_wait=recorder.on_wait,
    )


@pytest.fixture
def sender(httpserver: HTTPServer, recorder: Recorder) -> Iterator[LeadSender]:
    with make_sender(httpserver.url_for("/"), recorder) as lead_sender:
        yield lead_sender


def expect(httpserver: HTTPServer):
    return httpserver.expect_ordered_request(PATH, method="POST")


def assert_no_key(*texts: object) -> None:
    for text in texts:
        assert KEY not in str(text)


# -- success ------------------------------------------------------------------------------


def test_created_lead_returns_its_id_and_sends_key_only_in_the_header(httpserver, sender):
    expect(httpserver).respond_with_json(CREATED)
    outcome = sender.send(PAYLOAD)
    assert outcome == SendOutcome(RowStatus.CREATED, "55555", 200, "Lead Created", 1)
    request, _ = httpserver.log[0]
    assert request.headers["api-key"] == KEY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert json.loads(request.get_data()) == PAYLOAD
    assert KEY not in request.url
    assert KEY not in sender.endpoint
    assert sender.endpoint == httpserver.url_for(PATH)


def test_lead_updated_message_makes_the_row_updated(httpserver, sender):
    expect(httpserver).respond_with_json(
        {"result": "success", "data": {"msg": "Lead Updated", "lead": {"id": 7}}}
    )
    outcome = sender.send(PAYLOAD)
    assert (outcome.status, outcome.lead_id, outcome.message) == (
        RowStatus.UPDATED,
        "7",
        "Lead Updated",
    )


def test_status_success_with_customer_id_is_accepted(httpserver, sender):
    expect(httpserver).respond_with_json({"status": "success", "customer_id": 4242})
    outcome = sender.send(PAYLOAD)
    assert (outcome.status, outcome.lead_id, outcome.message) == (
        RowStatus.CREATED,
        "4242",
        "Lead Created",
    )


def test_success_with_data_id_only(httpserver, sender):
    expect(httpserver).respond_with_json({"result": "success", "data": {"id": "abc"}})
    assert sender.send(PAYLOAD).lead_id == "abc"


# -- rejections -----------------------------------------------------------------------------


def test_error_result_is_rejected_with_the_api_message(httpserver, sender):
    expect(httpserver).respond_with_json(
        {"result": "error", "data": {"msg": "integration_record_id is required"}}
    )
    outcome = sender.send(PAYLOAD)
    assert outcome == SendOutcome(
        RowStatus.REJECTED, None, 200, "integration_record_id is required", 1
    )


def test_error_result_lists_flattened_errors(httpserver, sender):
    expect(httpserver).respond_with_json(
        {
            "result": "error",
            "msg": "invalid lead",
            "errors": {"zip": ["not 5 digits"], "state": "?"},
        }
    )
    assert sender.send(PAYLOAD).message == "invalid lead (zip: not 5 digits; state: ?)"


def test_422_with_json_is_rejected_with_its_message(httpserver, sender):
    expect(httpserver).respond_with_json({"message": "The zip field is invalid."}, status=422)
    outcome = sender.send(PAYLOAD)
    assert outcome == SendOutcome(
        RowStatus.REJECTED, None, 422, "HTTP 422: The zip field is invalid.", 1
    )


def test_400_with_html_is_rejected_with_a_text_snippet(httpserver, sender):
    html = "<html><head><style>p{}</style></head><body><h1>Bad Request</h1>\n<p>oops</p></body>"
    expect(httpserver).respond_with_data(html, status=400, content_type="text/html")
    outcome = sender.send(PAYLOAD)
    assert outcome == SendOutcome(RowStatus.REJECTED, None, 400, "HTTP 400: Bad Request oops", 1)


def test_redirect_is_not_followed_and_fails_the_row(httpserver, sender):
    expect(httpserver).respond_with_response(
        Response(status=302, headers={"Location": "https://enerflo.io/login"})
    )
    outcome = sender.send(PAYLOAD)
    assert outcome.status is RowStatus.FAILED
    assert outcome.message == "HTTP 302 redirect to https://enerflo.io/login; check --base-url"
    assert len(httpserver.log) == 1


# -- retries --------------------------------------------------------------------------------


def test_500_then_200_succeeds_on_the_second_attempt(httpserver, sender, recorder):
    expect(httpserver).respond_with_data("boom", status=500)
    expect(httpserver).respond_with_json(CREATED)
    outcome = sender.send(PAYLOAD)
    assert (outcome.status, outcome.attempts, outcome.http_status) == (RowStatus.CREATED, 2, 200)
    assert recorder.sleeps == [0.25]  # full jitter: rng 0.5 x base 0.5 s


def test_backoff_doubles_up_to_the_cap(httpserver, recorder):
    for _ in range(6):
        expect(httpserver).respond_with_data("down", status=503)
    with make_sender(httpserver.url_for("/"), recorder) as lead_sender:
        outcome = lead_sender.send(PAYLOAD)
    assert outcome == SendOutcome(RowStatus.FAILED, None, 503, "HTTP 503 after 6 attempts", 6)
    assert recorder.sleeps == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert recorder.waits == [("retry: HTTP 503", 1.0), ("retry: HTTP 503", 2.0),
                              ("retry: HTTP 503", 4.0)]  # fmt: skip


def test_429_retry_after_is_honoured(httpserver, sender, recorder):
    expect(httpserver).respond_with_data(
        "<html>Too Many Requests</html>",
        status=429,
        headers={"retry-after": "12", "x-ratelimit-remaining": "0"},
        content_type="text/html",
    )
    expect(httpserver).respond_with_json(CREATED)
    outcome = sender.send(PAYLOAD)
    assert (outcome.status, outcome.attempts) == (RowStatus.CREATED, 2)
    assert recorder.sleeps == [12.0]
    assert recorder.waits == [("rate limit", 12.0)]


def test_429_retry_after_is_capped(httpserver, recorder):
    expect(httpserver).respond_with_data("slow down", status=429, headers={"retry-after": "3600"})
    expect(httpserver).respond_with_json(CREATED)
    with make_sender(httpserver.url_for("/"), recorder, max_retry_after=20) as lead_sender:
        assert lead_sender.send(PAYLOAD).status is RowStatus.CREATED
    assert recorder.sleeps == [20.0]


def test_2xx_body_that_is_not_json_is_retried(httpserver, sender):
    expect(httpserver).respond_with_data("<html>gateway</html>", status=200)
    expect(httpserver).respond_with_json(CREATED)
    outcome = sender.send(PAYLOAD)
    assert (outcome.status, outcome.attempts) == (RowStatus.CREATED, 2)


def test_2xx_not_json_every_time_fails_with_that_reason(httpserver, recorder):
    for _ in range(2):
        expect(httpserver).respond_with_data("", status=200)
    with make_sender(httpserver.url_for("/"), recorder, max_attempts=2) as lead_sender:
        outcome = lead_sender.send(PAYLOAD)
    assert outcome.message == "HTTP 200 with a body that is not JSON after 2 attempts"
    assert outcome.status is RowStatus.FAILED


# -- the key --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [401, 403])
def test_refused_key_stops_the_run_without_showing_the_key(httpserver, sender, code):
    expect(httpserver).respond_with_data(f"key {KEY} is invalid", status=code)
    with pytest.raises(ApiKeyError) as info:
        sender.send(PAYLOAD)
    assert info.value.message == (
        f"the API refused the api key (HTTP {code}) at {httpserver.url_for(PATH)}"
    )
    assert info.value.hint.startswith("check ENERFLO_API_KEY")
    assert_no_key(info.value, info.value.hint, repr(info.value))
    assert len(httpserver.log) == 1


def test_the_key_echoed_in_a_rejection_is_masked(httpserver, sender):
    expect(httpserver).respond_with_json({"result": "error", "msg": f"bad key {KEY}?"}, status=200)
    outcome = sender.send(PAYLOAD)
    assert outcome.message == "bad key ***?"


def test_plain_http_to_a_remote_host_is_refused():
    with pytest.raises(UsageError) as info:
        LeadSender(SenderConfig("http://enerflo.io", "partner", KEY))
    assert info.value.message == (
        "refusing plain http:// to enerflo.io: the api key would travel unencrypted"
    )
    assert_no_key(info.value, info.value.hint)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://127.5.0.1", "http://localhost:1", "http://[::1]:80/"]
)
def test_plain_http_to_loopback_is_allowed(url):
    assert check_base_url(url) == url.rstrip("/")


def test_https_endpoint_is_built_from_base_and_partner():
    with LeadSender(SenderConfig("https://enerflo.io/", "acme", KEY)) as lead_sender:
        assert lead_sender.endpoint == "https://enerflo.io/api/v1/acme/action/lead/add"


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("ftp://enerflo.io", KEY),
        ("https://enerflo.io?api_key=x", KEY),
        (f"https://enerflo.io/{KEY}", KEY),
        ("https://enerflo.io", ""),
        ("https://enerflo.io", "has space"),
    ],
)
def test_bad_base_url_or_key_is_a_usage_error(url, key):
    with pytest.raises(UsageError) as info:
        LeadSender(SenderConfig(url, "partner", key))
    if key:
        assert_no_key(info.value.message, info.value.hint)


# -- no answer at all -----------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_fails_then_stops_the_run_after_n_rows(recorder):
    url = f"http://127.0.0.1:{closed_port()}"
    lead_sender = make_sender(url, recorder, max_attempts=3, stop_after_consecutive_failures=3)
    first = lead_sender.send(PAYLOAD)
    assert first == SendOutcome(
        RowStatus.FAILED, None, None, "connection refused after 3 attempts", 3
    )
    lead_sender.send(PAYLOAD)
    with pytest.raises(ApiDownError) as info:
        lead_sender.send(PAYLOAD)
    assert info.value.message == (
        f"stopped after 3 rows in a row failed (connection refused after 3 attempts) at {url}{PATH}"
    )
    assert info.value.outcome == first
    assert len(recorder.sleeps) == 6


def test_senders_sharing_a_streak_stop_on_failures_in_a_row_across_them(recorder):
    url = f"http://127.0.0.1:{closed_port()}"
    streak = FailureStreak()
    config = SenderConfig(url, "partner", KEY, rate_limit=0, max_attempts=1)
    config.stop_after_consecutive_failures = 3
    senders = [LeadSender(config, sleep=recorder.sleep, streak=streak) for _ in range(2)]
    senders[0].send(PAYLOAD)
    senders[1].send(PAYLOAD)
    assert senders[0].consecutive_failures == senders[1].consecutive_failures == 2
    with pytest.raises(ApiDownError, match="stopped after 3 rows in a row failed"):
        senders[0].send(PAYLOAD)


def test_a_success_resets_the_consecutive_failure_count(httpserver, recorder):
    lead_sender = make_sender(
        httpserver.url_for("/"), recorder, max_attempts=1, stop_after_consecutive_failures=2
    )
    expect(httpserver).respond_with_data("x", status=502)
    expect(httpserver).respond_with_json(CREATED)
    expect(httpserver).respond_with_data("x", status=502)
    statuses = [lead_sender.send(PAYLOAD).status for _ in range(3)]
    assert statuses == [RowStatus.FAILED, RowStatus.CREATED, RowStatus.FAILED]
    assert lead_sender.consecutive_failures == 1


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts TCP connections (the kernel does) but never answers: a read timeout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_read_timeout_is_retried_then_fails(silent_server, recorder):
    url = f"http://127.0.0.1:{silent_server}"
    lead_sender = make_sender(url, recorder, max_attempts=2, read_timeout=0.05)
    outcome = lead_sender.send(PAYLOAD)
    assert outcome == SendOutcome(
        RowStatus.FAILED, None, None, "read timed out after 2 attempts", 2
    )


@pytest.fixture
def resetting_server() -> Iterator[int]:
    """Reads each request, then resets the connection (RST) without answering."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() so the thread ends
    sock.close()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_connection_reset_is_retried_then_fails(resetting_server, recorder):
    url = f"http://127.0.0.1:{resetting_server}"
    lead_sender = make_sender(url, recorder, max_attempts=6)
    outcome = lead_sender.send(PAYLOAD)
    assert outcome == SendOutcome(
        RowStatus.FAILED, None, None, "connection reset after 6 attempts", 6
    )


# -- helpers --------------------------------------------------------------------------------


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_unknown_transport_error_is_described_generically():
    import requests

    assert describe_failure(requests.ConnectionError("weird")) == "connection error"


# -- against the project's sandbox ----------------------------------------------------------


def sandbox_payload(i: int) -> dict:
    return {
        "lead": {
            "integration_record_id": f"row-{i}",
            "full_name": "Ferris Bueller",
            "fullAddress": "2214 N Honeydew Dr, Saratoga Springs, UT 84045",
            "zip": "84045",
            "createDeal": 5686,
        }
    }


def test_sandbox_creates_then_updates_the_same_lead(recorder):
    with running_sandbox(rate_limit=0) as box, make_sender(box.base_url, recorder) as lead_sender:
        first = lead_sender.send(sandbox_payload(1))
        again = lead_sender.send(sandbox_payload(1))
        leads = box.leads()
    assert (first.status, first.message, first.attempts) == (RowStatus.CREATED, "Lead Created", 1)
    assert (again.status, again.message) == (RowStatus.UPDATED, "Lead Updated")
    assert first.lead_id == again.lead_id == str(leads[0]["id"])
    assert len(leads) == 1


def test_sandbox_rejection_carries_its_message(recorder):
    with running_sandbox(rate_limit=0) as box, make_sender(box.base_url, recorder) as lead_sender:
        outcome = lead_sender.send({"lead": {"integration_record_id": "x"}})
    assert outcome.status is RowStatus.REJECTED
    assert outcome.http_status == 200
    assert outcome.message


def test_sandbox_wrong_key_stops_at_the_first_row(recorder):
    with running_sandbox(rate_limit=0) as box:
        lead_sender = make_sender(box.base_url, recorder, api_key="wrong.key")
        with pytest.raises(ApiKeyError, match=r"\(HTTP 401\)"):
            lead_sender.send(sandbox_payload(1))
        assert len(box.requests()) == 1


def test_sandbox_faults_of_every_kind_end_with_each_lead_saved_once(recorder):
    rows = 40
    with running_sandbox(rate_limit=0, fault_rate=0.4, fault_seed=7) as box:
        with make_sender(box.base_url, recorder, max_attempts=12) as lead_sender:
            outcomes = [lead_sender.send(sandbox_payload(i)) for i in range(rows)]
        leads = box.leads()
        seen_faults = {r["outcome"] for r in box.requests()}
    assert all(o.status in ACCEPTED for o in outcomes), [o.message for o in outcomes]
    assert sum(o.attempts for o in outcomes) > rows
    assert sorted(lead["integration_record_id"] for lead in leads) == sorted(
        f"row-{i}" for i in range(rows)
    )
    assert len(seen_faults) >= 5, seen_faults


def test_sandbox_with_half_our_rate_limit_answers_no_429():
    # Real pacing (real sleeps, about 2 s): the server allows 600/min over a 1 s window, we
    # start at 1200/min and must adopt its x-ratelimit-limit from the first answer.
    with running_sandbox(rate_limit=600, rate_window_s=1.0) as box:
        config = SenderConfig(box.base_url, "partner", box.api_key, rate_limit=1200)
        with LeadSender(config) as lead_sender:
            outcomes = [lead_sender.send(sandbox_payload(i)) for i in range(22)]
        codes = [r["status_code"] for r in box.requests()]
    assert all(o.status is RowStatus.CREATED for o in outcomes)
    assert codes == [200] * 22
