"""Post one lead payload to the Enerflo Leads API and classify the answer; never prints."""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import requests

from importer import __version__
from importer.errors import ApiDownError, ApiKeyError, UsageError
from importer.masking import mask_secret
from importer.models import RowStatus
from importer.sending.pacing import Pacer, WaitCallback, header_number, seconds_until_reset
from importer.sending.responses import (
    MESSAGE_CHARS,
    api_message,
    error_text,
    is_success,
    lead_id_of,
    parse_json,
    rejection_text,
    shorten,
)
from importer.sending.transport import Answer, AttemptTimeout, Transport
from importer.sending.urls import check_base_url, is_loopback, parse_base_url

__all__ = [
    "FailureStreak",
    "LeadSender",
    "SendOutcome",
    "SenderConfig",
    "check_base_url",
    "describe_failure",
    "is_loopback",
    "parse_retry_after",
]

USER_AGENT = f"enerflo-importer/{__version__} python-requests/{requests.__version__}"
BACKOFF_BASE = 0.5  # seconds; attempt n waits up to BACKOFF_BASE * 2**(n-1), full jitter
BACKOFF_CAP = 30.0
STOP_POLL = 0.1  # seconds between looks at should_stop while waiting
_KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")  # what an HTTP header value can carry unquoted


@dataclass
class SenderConfig:
    base_url: str
    partner: str
    api_key: str = field(repr=False)  # never in a repr, a log line or a traceback's text
    rate_limit: int = 300
    connect_timeout: float = 5
    read_timeout: float = 30  # longest silence between two reads
    attempt_deadline: float = 60  # longest one attempt may take, however the bytes trickle
    max_attempts: int = 6
    max_retry_after: float = 60
    stop_after_consecutive_failures: int = 10


@dataclass
class SendOutcome:
    status: RowStatus  # CREATED | UPDATED | REJECTED | FAILED; PENDING when stopped unsent
    lead_id: str | None
    http_status: int | None
    message: str
    attempts: int


class FailureStreak:
    """Rows that FAILED in a row, counted across the senders that share it (thread-safe)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def count(self, failed: bool) -> int:
        """Record one row's verdict; the length of the streak it leaves."""
        with self._lock:
            self._count = self._count + 1 if failed else 0
            return self._count

    @property
    def current(self) -> int:
        return self._count


@dataclass
class _Retry:
    """An answer worth another attempt: why, and how long the server asked us to wait."""

    reason: str
    http_status: int | None = None
    wait: float | None = None


class LeadSender:
    """Sends payloads one at a time over one keep-alive session, paced, retried, classified.

    `send` returns a SendOutcome for every row-level result, raises ApiKeyError when the
    API refuses the key (401/403) and ApiDownError once `stop_after_consecutive_failures`
    rows in a row have FAILED (its `outcome` attribute holds that last row's outcome, so
    the caller can still record it). Waits of a second or more are reported through
    `on_wait(reason, seconds)`; `sleep`, `rng` and `clock` are injectable for tests.

    `should_stop` (also settable as an attribute) is asked between attempts and every
    0.1 s while waiting (pacing, backoff, retry-after): once it answers True, the request
    in flight finishes but no further one starts, and `send` returns at once with
    status FAILED and message "stopped before retrying (...)" when an attempt was made,
    or status PENDING and message "stopped before sending" when none was. Neither counts
    towards `stop_after_consecutive_failures`. Nothing is raised for a stop.

    One LeadSender serves one thread at a time (its connection and attempt deadline are
    per sender): give each concurrent worker its own, sharing one `pacer` (so together
    they keep the rate limit and all hold back on a 429) and one `streak` (so rows that
    fail in a row count across workers).
    """

    def __init__(
        self,
        config: SenderConfig,
        *,
        on_wait: WaitCallback | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        pacer: Pacer | None = None,
        streak: FailureStreak | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        _check_config(config)
        base = parse_base_url(config.base_url)
        self.config = config
        self._endpoint = f"{base.text}/api/v1/{quote(config.partner, safe='')}/action/lead/add"
        self._on_wait = on_wait
        self._sleep = sleep
        self._rng = rng
        self._clock = clock
        self.should_stop = should_stop
        self._pacer = pacer or Pacer(config.rate_limit, clock=clock, on_wait=on_wait)
        self._streak = streak or FailureStreak()
        # How long the last answer took to arrive, from the request's start (no waits).
        self.last_answer_seconds = 0.0
        headers = {"api-key": config.api_key, "Content-Type": "application/json"}
        self._transport = Transport(
            self._endpoint,
            {**headers, "User-Agent": USER_AGENT},
            loopback=base.loopback,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            deadline=config.attempt_deadline,
        )

    @property
    def consecutive_failures(self) -> int:
        """Rows that have FAILED in a row (across every sender sharing this one's streak)."""
        return self._streak.current

    @property
    def endpoint(self) -> str:
        """The URL posted to; it never carries the key (that goes in a header)."""
        return self._endpoint

    @property
    def proxies(self) -> dict[str, str]:
        """The proxies requests go through ({} for a loopback endpoint, always)."""
        return self._transport.proxies

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> LeadSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, payload: dict) -> SendOutcome:
        """Post one payload (retrying as needed) and say what became of the row."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        outcome, stopped = self._attempt_all(body)
        outcome.message = self._mask(outcome.message)
        outcome.lead_id = self._mask(outcome.lead_id) if outcome.lead_id else outcome.lead_id
        if stopped:
            return outcome
        failures = self._streak.count(outcome.status is RowStatus.FAILED)
        if outcome.status is not RowStatus.FAILED:
            return outcome
        if failures >= self.config.stop_after_consecutive_failures:
            error = ApiDownError(
                f"stopped after {failures} rows in a row failed "
                f"({outcome.message}) at {self._endpoint}",
                hint="the API looks unreachable or broken; run the same command again later "
                "to resume (rows not yet sent stay pending)",
            )
            error.outcome = outcome
            raise error
        return outcome

    # POST is safe to retry: integration_record_id makes it an upsert on Enerflo's side,
    # so a request whose answer was lost updates the same lead instead of adding one.
    # The loop is ours rather than urllib3's Retry because Retry skips POST unless told,
    # cannot retry a 2XX whose body is not JSON, and hides the attempt count and the reason
    # the row needs in its message.
    def _attempt_all(self, body: bytes) -> tuple[SendOutcome, bool]:
        attempts = self.config.max_attempts
        last = _Retry("no attempt made")
        for attempt in range(1, attempts + 1):
            self._pacer.wait(self._nap)
            if self._stop_requested():
                return _stopped(attempt - 1, last), True
            verdict = self._attempt(body)
            if isinstance(verdict, SendOutcome):
                verdict.attempts = attempt
                return verdict, False
            last = verdict
            if attempt < attempts and not self._pause(verdict, attempt):
                return _stopped(attempt, last), True
        message = f"{last.reason} after {attempts} attempts"
        return SendOutcome(RowStatus.FAILED, None, last.http_status, message, attempts), False

    def _attempt(self, body: bytes) -> SendOutcome | _Retry:
        started = self._clock()
        try:
            answer = self._transport.post(body)
        except AttemptTimeout:
            deadline = self.config.attempt_deadline
            return _Retry(f"no complete answer within {deadline:g} s")
        except requests.RequestException as exc:
            return _Retry(describe_failure(exc))
        self.last_answer_seconds = self._clock() - started
        self._observe_rate_headers(answer.headers)
        return self._classify(answer)

    def _classify(self, answer: Answer) -> SendOutcome | _Retry:
        code = answer.status
        if code in (401, 403):
            raise ApiKeyError(
                f"the API refused the api key (HTTP {code}) at {self._endpoint}",
                hint="check ENERFLO_API_KEY and that the key belongs to this partner and company",
            )
        if code == 429:
            return _Retry("HTTP 429 (rate limited)", code, self._retry_after(answer.headers))
        if 300 <= code < 400:
            where = self._message(answer.headers.get("location", "elsewhere"))
            return _outcome(
                RowStatus.FAILED, code, f"HTTP {code} redirect to {where}; check --base-url"
            )
        if 400 <= code < 500:
            text = error_text(code, answer.reason, self._mask(answer.text))
            return _outcome(RowStatus.REJECTED, code, self._message(text))
        if 200 <= code < 300:
            return self._classify_success(answer)
        return _Retry(f"HTTP {code}", code)

    def _classify_success(self, answer: Answer) -> SendOutcome | _Retry:
        code = answer.status
        body = None if answer.truncated else parse_json(answer.text)
        if not isinstance(body, dict):
            return _Retry(f"HTTP {code} with a body that is not JSON", code)
        if not is_success(body):
            # The key may be anywhere in a rejection: mask the whole body, then read it.
            masked = parse_json(self._mask(answer.text))
            text = rejection_text(masked if isinstance(masked, dict) else {})
            return _outcome(RowStatus.REJECTED, code, self._message(text))
        message = self._message(api_message(body)) or "Lead Created"
        status = RowStatus.UPDATED if "updated" in message.lower() else RowStatus.CREATED
        return SendOutcome(status, lead_id_of(body), code, message, 1)

    def _pause(self, verdict: _Retry, attempt: int) -> bool:
        """Wait before the next attempt; False when should_stop cut the wait short."""
        if verdict.wait is not None:
            seconds, reason = verdict.wait, "rate limit"
            self._pacer.hold_for(seconds)
        else:
            seconds = self._rng() * min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
            reason = f"retry: {verdict.reason}"
        if self._on_wait is not None and seconds >= 1:
            self._on_wait(reason, seconds)
        return self._nap(seconds)

    def _nap(self, seconds: float) -> bool:
        """Sleep `seconds`, looking at should_stop every STOP_POLL s; False when stopped."""
        if self.should_stop is None:
            self._sleep(seconds)
            return True
        end = self._clock() + seconds
        while not self.should_stop():
            left = end - self._clock()
            if left <= 0:
                return True
            self._sleep(min(STOP_POLL, left))
        return False

    def _stop_requested(self) -> bool:
        return self.should_stop is not None and bool(self.should_stop())

    def _retry_after(self, headers: Mapping[str, str]) -> float | None:
        seconds = parse_retry_after(headers.get("retry-after"))
        if seconds is None:
            reset = header_number(headers.get("x-ratelimit-reset"))
            seconds = seconds_until_reset(reset, time.time())
        if seconds is None:
            return None
        return min(seconds, self.config.max_retry_after)

    def _observe_rate_headers(self, headers: Mapping[str, str]) -> None:
        # Junk (nan, inf, 1e400, text) reads as absent: a header never stops a run.
        remaining = header_number(headers.get("x-ratelimit-remaining"))
        if remaining is None:
            return
        limit = header_number(headers.get("x-ratelimit-limit"))
        self._pacer.observe(
            max(int(remaining), 0),
            int(limit) if limit is not None and limit >= 1 else None,
            header_number(headers.get("x-ratelimit-reset")),
        )

    def _mask(self, text: str) -> str:
        return mask_secret(text, self.config.api_key)

    def _message(self, text: str) -> str:
        """Text from an answer as a row message: key masked first, then cut."""
        return shorten(self._mask(text), MESSAGE_CHARS)


def _stopped(made: int, last: _Retry) -> SendOutcome:
    if made == 0:
        return SendOutcome(RowStatus.PENDING, None, None, "stopped before sending", 0)
    message = f"stopped before retrying ({last.reason}; {made} attempts made)"
    return SendOutcome(RowStatus.FAILED, None, last.http_status, message, made)


def _check_config(config: SenderConfig) -> None:
    if not config.api_key:
        raise UsageError("no api key given", hint="set the environment variable ENERFLO_API_KEY")
    if not _KEY_CHARS.match(config.api_key):
        raise UsageError(
            "the api key contains spaces or characters an HTTP header cannot carry",
            hint="check ENERFLO_API_KEY for stray quotes, spaces or line breaks",
        )
    where = config.base_url + config.partner
    if mask_secret(where, config.api_key) != where:  # plain, URL-encoded or escaped
        raise UsageError(
            "the base url or partner name contains the api key",
            hint="the key comes only from ENERFLO_API_KEY and is sent in a header",
        )
    if config.max_attempts < 1:
        raise UsageError("max_attempts must be at least 1")
    if not config.attempt_deadline > 0:
        raise UsageError("attempt_deadline must be more than 0 seconds")
    if not config.partner or "/" in config.partner:
        raise UsageError(f'partner name "{config.partner}" must be one path segment')


def _outcome(status: RowStatus, code: int, message: str) -> SendOutcome:
    return SendOutcome(status, None, code, message, 1)


def describe_failure(exc: requests.RequestException) -> str:
    """A short reason for a request that got no HTTP answer: timed out, refused, reset."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timed out"
    if isinstance(exc, requests.Timeout):
        return "read timed out"
    if isinstance(exc, requests.exceptions.ProxyError):
        return "proxy error"
    chain = list(_causes(exc))
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    if any(isinstance(e, ConnectionResetError | http.client.RemoteDisconnected) for e in chain):
        return "connection reset"
    text = " ".join(str(e) for e in chain).lower()
    for needle, reason in (
        ("refused", "connection refused"),
        ("reset", "connection reset"),
        ("aborted", "connection reset"),
        ("name or service not known", "host not found"),
        ("nodename nor servname", "host not found"),
        ("failed to resolve", "host not found"),
        ("ssl", "TLS error"),
    ):
        if needle in text:
            return reason
    return "connection error"


def _causes(exc: BaseException):
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
        stack.extend(a for a in item.args if isinstance(a, BaseException))


def parse_retry_after(value: str | None) -> float | None:
    """retry-after as seconds: "12" -> 12.0, an HTTP date -> seconds from now, junk -> None."""
    if value is None or not value.strip():
        return None
    number = header_number(value)
    if number is not None:
        return max(0.0, number)
    try:
        when = parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
