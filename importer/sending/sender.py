"""Post one lead payload to the Enerflo Leads API and classify the answer; never prints."""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies, get_netrc_auth

from importer import __version__
from importer.errors import ApiDownError, ApiKeyError, UsageError
from importer.models import RowStatus
from importer.sending.pacing import Pacer, WaitCallback
from importer.sending.responses import (
    api_message,
    error_text,
    is_success,
    lead_id_of,
    rejection_text,
)

USER_AGENT = f"enerflo-importer/{__version__} python-requests/{requests.__version__}"
BACKOFF_BASE = 0.5  # seconds; attempt n waits up to BACKOFF_BASE * 2**(n-1), full jitter
BACKOFF_CAP = 30.0
_KEY_CHARS = re.compile(r"^[\x21-\x7e]+$")  # what an HTTP header value can carry unquoted


@dataclass
class SenderConfig:
    base_url: str
    partner: str
    api_key: str
    rate_limit: int = 300
    connect_timeout: float = 5
    read_timeout: float = 30
    max_attempts: int = 6
    max_retry_after: float = 60
    stop_after_consecutive_failures: int = 10


@dataclass
class SendOutcome:
    status: RowStatus  # CREATED | UPDATED | REJECTED | FAILED
    lead_id: str | None
    http_status: int | None
    message: str
    attempts: int


@dataclass
class _Retry:
    """An answer worth another attempt: why, and how long the server asked us to wait."""

    reason: str
    http_status: int | None = None
    wait: float | None = None


def check_base_url(base_url: str) -> str:
    """The base URL without a trailing slash; plain http:// only for loopback hosts."""
    parts = urlsplit(base_url.strip())
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise UsageError(
            f'base url "{base_url}" is not an http(s) address',
            hint="use e.g. --base-url https://enerflo.io",
        )
    if parts.query or parts.fragment:
        raise UsageError(
            f'base url "{base_url}" must not carry a query or fragment',
            hint="give only scheme, host and optional path; the api key comes from ENERFLO_API_KEY",
        )
    if parts.scheme == "http" and not is_loopback(host):
        raise UsageError(
            f"refusing plain http:// to {host}: the api key would travel unencrypted",
            hint="use https://, or http:// only for a local server (127.0.0.1, localhost, ::1)",
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class LeadSender:
    """Sends payloads one at a time over one keep-alive session, paced, retried, classified.

    `send` returns a SendOutcome for every row-level result, raises ApiKeyError when the
    API refuses the key (401/403) and ApiDownError once `stop_after_consecutive_failures`
    rows in a row have FAILED (its `outcome` attribute holds that last row's outcome, so
    the caller can still record it). Waits of a second or more are reported through
    `on_wait(reason, seconds)`; `sleep`, `rng` and `clock` are injectable for tests.
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
    ) -> None:
        _check_config(config)
        self.config = config
        self._endpoint = (
            f"{check_base_url(config.base_url)}/api/v1/{quote(config.partner, safe='')}"
            "/action/lead/add"
        )
        self._on_wait = on_wait
        self._sleep = sleep
        self._rng = rng
        self._pacer = pacer or Pacer(config.rate_limit, clock=clock, sleep=sleep, on_wait=on_wait)
        self._timeout = (config.connect_timeout, config.read_timeout)
        self._session = _new_session(config.api_key, self._endpoint)
        self.consecutive_failures = 0

    @property
    def endpoint(self) -> str:
        """The URL posted to; it never carries the key (that goes in a header)."""
        return self._endpoint

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> LeadSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send(self, payload: dict) -> SendOutcome:
        """Post one payload (retrying as needed) and say what became of the row."""
        outcome = self._attempt_all(json.dumps(payload, ensure_ascii=False).encode("utf-8"))
        if outcome.status is not RowStatus.FAILED:
            self.consecutive_failures = 0
            return outcome
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.config.stop_after_consecutive_failures:
            error = ApiDownError(
                f"stopped after {self.consecutive_failures} rows in a row failed "
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
    def _attempt_all(self, body: bytes) -> SendOutcome:
        attempts = self.config.max_attempts
        last = _Retry("no attempt made")
        for attempt in range(1, attempts + 1):
            self._pacer.wait()
            verdict = self._attempt(body)
            if isinstance(verdict, SendOutcome):
                verdict.attempts = attempt
                return verdict
            last = verdict
            if attempt < attempts:
                self._pause(verdict, attempt)
        return SendOutcome(
            RowStatus.FAILED,
            None,
            last.http_status,
            f"{last.reason} after {attempts} attempts",
            attempts,
        )

    def _attempt(self, body: bytes) -> SendOutcome | _Retry:
        try:
            response = self._session.post(
                self._endpoint, data=body, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            return _Retry(self._scrub(describe_failure(exc)))
        with response:
            self._observe_rate_headers(response)
            return self._classify(response)

    def _classify(self, response: requests.Response) -> SendOutcome | _Retry:
        code = response.status_code
        if code in (401, 403):
            raise ApiKeyError(
                f"the API refused the api key (HTTP {code}) at {self._endpoint}",
                hint="check ENERFLO_API_KEY and that the key belongs to this partner and company",
            )
        if code == 429:
            return _Retry("HTTP 429 (rate limited)", code, self._retry_after(response))
        if 300 <= code < 400:
            where = response.headers.get("location", "elsewhere")
            return _outcome(
                RowStatus.FAILED,
                code,
                self._scrub(f"HTTP {code} redirect to {where}") + "; check --base-url",
            )
        if 400 <= code < 500:
            return _outcome(RowStatus.REJECTED, code, self._scrub(error_text(response)))
        if 200 <= code < 300:
            return self._classify_success(response)
        return _Retry(f"HTTP {code}", code)

    def _classify_success(self, response: requests.Response) -> SendOutcome | _Retry:
        code = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _Retry(f"HTTP {code} with a body that is not JSON", code)
        if not is_success(body):
            return _outcome(RowStatus.REJECTED, code, self._scrub(rejection_text(body)))
        message = api_message(body) or "Lead Created"
        status = RowStatus.UPDATED if "updated" in message.lower() else RowStatus.CREATED
        return SendOutcome(status, lead_id_of(body), code, self._scrub(message), 1)

    def _pause(self, verdict: _Retry, attempt: int) -> None:
        if verdict.wait is not None:
            seconds, reason = verdict.wait, "rate limit"
            self._pacer.hold_for(seconds)
        else:
            seconds = self._rng() * min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
            reason = f"retry: {verdict.reason}"
        if self._on_wait is not None and seconds >= 1:
            self._on_wait(reason, seconds)
        self._sleep(seconds)

    def _retry_after(self, response: requests.Response) -> float | None:
        seconds = parse_retry_after(response.headers.get("retry-after"))
        if seconds is None:
            reset = _number(response.headers.get("x-ratelimit-reset"))
            if reset is not None:
                seconds = max(0.0, reset - time.time()) if reset > 1e9 else reset
        if seconds is None:
            return None
        return min(max(seconds, 0.0), self.config.max_retry_after)

    def _observe_rate_headers(self, response: requests.Response) -> None:
        headers = response.headers
        remaining = _number(headers.get("x-ratelimit-remaining"))
        if remaining is None:
            return
        limit = _number(headers.get("x-ratelimit-limit"))
        self._pacer.observe(
            int(remaining),
            int(limit) if limit is not None else None,
            _number(headers.get("x-ratelimit-reset")),
        )

    def _scrub(self, text: str) -> str:
        return scrub(text, self.config.api_key)


def _check_config(config: SenderConfig) -> None:
    if not config.api_key:
        raise UsageError("no api key given", hint="set the environment variable ENERFLO_API_KEY")
    if not _KEY_CHARS.match(config.api_key):
        raise UsageError(
            "the api key contains spaces or characters an HTTP header cannot carry",
            hint="check ENERFLO_API_KEY for stray quotes, spaces or line breaks",
        )
    if config.api_key in config.base_url + config.partner:
        raise UsageError(
            "the base url or partner name contains the api key",
            hint="the key comes only from ENERFLO_API_KEY and is sent in a header",
        )
    if config.max_attempts < 1:
        raise UsageError("max_attempts must be at least 1")
    if not config.partner or "/" in config.partner:
        raise UsageError(f'partner name "{config.partner}" must be one path segment')


def _new_session(api_key: str, endpoint: str) -> requests.Session:
    session = requests.Session()
    session.headers.update(
        {"api-key": api_key, "Content-Type": "application/json", "User-Agent": USER_AGENT}
    )
    # No urllib3 retries: the loop in LeadSender owns retrying (see _attempt_all).
    adapter = HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=1)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # Honour HTTPS_PROXY / NO_PROXY, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE and ~/.netrc like
    # other tools, as trust_env does, but read them once for the one URL we post to:
    # trust_env reads them again for every request, about 0.1 ms of a 1 ms loopback POST.
    session.proxies = get_environ_proxies(endpoint)
    session.verify = (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    )
    session.auth = get_netrc_auth(endpoint)
    session.trust_env = False
    return session


def _outcome(status: RowStatus, code: int, message: str) -> SendOutcome:
    return SendOutcome(status, None, code, message, 1)


def describe_failure(exc: requests.RequestException) -> str:
    """A short reason for a request that got no HTTP answer: timed out, refused, reset."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timed out"
    if isinstance(exc, requests.Timeout):
        return "read timed out"
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
    number = _number(value)
    if number is not None:
        return max(0.0, number)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def scrub(text: str, secret: str) -> str:
    """The text with every occurrence of the secret (and its URL-encoded form) masked."""
    if not secret:
        return text
    for form in {secret, quote(secret, safe="")}:
        text = text.replace(form, "***")
    return text
