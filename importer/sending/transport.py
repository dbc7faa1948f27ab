"""One HTTP session for the sender: no proxy for loopback, a deadline per attempt, capped
answer bodies; never retries, classifies an answer or sees a lead."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_encoding_from_headers, get_environ_proxies, get_netrc_auth
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection

from importer.errors import UsageError

# At most this much of an answer body is read; the rest is dropped with the connection.
# A real answer is about 1 KB; a 429 page a few KB.
MAX_BODY_BYTES = 64 * 1024
_CHUNK = 16 * 1024
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as far as it was read: `text` holds at most MAX_BODY_BYTES of body."""

    status: int
    reason: str
    headers: Mapping[str, str]  # case-insensitive
    text: str
    truncated: bool  # the body was longer than MAX_BODY_BYTES


class AttemptTimeout(Exception):
    """No complete answer within the attempt's overall deadline (however slowly it came)."""


class Transport:
    """Posts bodies to one endpoint over one keep-alive connection.

    Proxies, CA bundle and ~/.netrc come from the environment as requests reads them,
    except that a loopback endpoint never goes through a proxy (HTTP_PROXY would carry
    the key and the leads off the machine). Each `post` has an overall deadline on top of
    the per-read timeout: a server that answers one byte at a time cannot hold it longer.
    """

    def __init__(
        self,
        endpoint: str,
        headers: Mapping[str, str],
        *,
        loopback: bool,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
    ) -> None:
        self.endpoint = endpoint
        self.deadline = deadline
        self._timeout = (connect_timeout, read_timeout)
        self._watchdog = _Watchdog()
        self._session = _new_session(endpoint, headers, loopback)
        # What Session.post works out anew for every call (the prepared request but its
        # body, the settings merged for sending) does not change from row to row: it is
        # prepared once here. That is a third of a loopback POST (python benchmarks/run.py
        # --only send); tests/test_speed_paths.py checks both give the same request.
        self._request = self._session.prepare_request(requests.Request("POST", endpoint))
        self._settings = self._session.merge_environment_settings(endpoint, {}, True, None, None)

    @property
    def proxies(self) -> dict[str, str]:
        return dict(self._session.proxies)

    def post(self, body: bytes) -> Answer:
        """One request; raises AttemptTimeout, or requests.RequestException for no answer."""
        self._watchdog.arm(self.deadline)
        try:
            answer = self._post(body)
        except requests.RequestException:
            if self._watchdog.fired:
                raise AttemptTimeout from None
            raise
        finally:
            self._watchdog.disarm()
        if self._watchdog.fired:  # cut off while reading a body with no declared length
            raise AttemptTimeout
        return answer

    def _post(self, body: bytes) -> Answer:
        response = self._session.send(
            self.prepared(body), timeout=self._timeout, allow_redirects=False, **self._settings
        )
        # Closing a response whose body was not read to the end drops the connection
        # (the unread rest stays on the wire); one read to the end goes back to the pool.
        with response:
            content, truncated = _read_capped(response)
        encoding = get_encoding_from_headers(response.headers) or "utf-8"
        try:
            text = content.decode(encoding, errors="replace")
        except LookupError:  # a charset Python does not know
            text = content.decode("utf-8", errors="replace")
        return Answer(
            response.status_code, response.reason or "", response.headers, text, truncated
        )

    def prepared(self, body: bytes) -> requests.PreparedRequest:
        """The request `Session.post(endpoint, data=body)` would send."""
        if self._session.cookies:  # the server set one: prepare it all anew, to send it back
            return self._session.prepare_request(requests.Request("POST", self.endpoint, data=body))
        request = self._request.copy()
        request.prepare_body(body, None)
        return request

    def close(self) -> None:
        self._session.close()
        self._watchdog.stop()


def _read_capped(response: requests.Response) -> tuple[bytes, bool]:
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_CHUNK):
        parts.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(parts)[:MAX_BODY_BYTES], True
    return b"".join(parts), False


def _new_session(endpoint: str, headers: Mapping[str, str], loopback: bool) -> requests.Session:
    session = requests.Session()
    session.headers.update(headers)
    # No urllib3 retries: the sender's loop owns retrying.
    adapter = _DeadlineAdapter(max_retries=0, pool_connections=1, pool_maxsize=1)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # Read proxies, CA bundle and ~/.netrc once for the one URL we post to, as trust_env
    # would (it reads them again for every request, about 0.1 ms of a 1 ms loopback POST).
    session.proxies = {} if loopback else get_environ_proxies(endpoint)
    session.verify = ca_bundle() if endpoint.startswith("https:") else True
    session.auth = get_netrc_auth(endpoint)
    session.trust_env = False
    return session


def ca_bundle() -> str | bool:
    """REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE when set, checked now; True (certifi) otherwise.

    Raises UsageError for a path to nothing or to a file with no usable certificate, so
    the run stops before its first row instead of failing every attempt.
    """
    for name in CA_VARIABLES:
        path = os.environ.get(name)
        if path:
            _check_ca_bundle(name, path)
            return path
    return True


def _check_ca_bundle(name: str, path: str) -> None:
    hint = f"point {name} at a PEM file of CA certificates, or unset it"
    if not os.path.exists(path):
        raise UsageError(f"{name} points to {path}, which does not exist", hint=hint)
    try:
        if os.path.isdir(path):
            ssl.create_default_context(capath=path)
        else:
            ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise UsageError(
            f"{name} points to {path}, which holds no usable CA certificate", hint=hint
        ) from exc


# -- the deadline -------------------------------------------------------------------------

_current = threading.local()  # the watchdog of the attempt this thread is making


class _Watchdog:
    """Shuts the sockets of the attempt in flight once its deadline passes.

    One thread per Transport, started on the first attempt and idle between attempts.
    Shutting a socket down wakes a read blocked in another thread, which then fails.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: float | None = None
        self._sockets: list[HTTPConnection] = []
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._waking: float | None = None  # when the thread wakes next (None: when told)
        self.fired = False

    def arm(self, seconds: float) -> None:
        with self._cond:
            self._due = time.monotonic() + seconds
            self._sockets = []
            self.fired = False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="enerflo-import attempt deadline", daemon=True
                )
                self._thread.start()
            # The thread is woken only when it would wake too late for this deadline. With
            # the same deadline for every attempt it wakes once per deadline, not twice per
            # attempt: two thread switches less per row, a tenth of a loopback POST.
            if self._waking is None or self._waking > self._due:
                self._cond.notify()
        _current.watchdog = self

    def attach(self, connection: HTTPConnection) -> None:
        with self._cond:
            self._sockets.append(connection)
            if self.fired:
                _shut(connection)

    def disarm(self) -> None:
        _current.watchdog = None
        with self._cond:
            self._due = None  # the thread sees it when it wakes (it need not wake for it)
            self._sockets = []

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._due is None:
                    self._waking = None
                    self._cond.wait()
                    continue
                left = self._due - time.monotonic()
                if left > 0:
                    self._waking = self._due
                    self._cond.wait(left)
                    continue
                self.fired = True
                self._due = None
                for connection in self._sockets:
                    _shut(connection)


def _shut(connection: HTTPConnection) -> None:
    sock: Any = connection.sock
    sock = getattr(sock, "socket", sock)  # urllib3's TLS-in-TLS wrapper holds the real one
    if isinstance(sock, socket.socket):
        # socket.socket's own shutdown, not SSLSocket's: no TLS close_notify exchange.
        with contextlib.suppress(OSError):  # already closed
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _attach(connection: HTTPConnection) -> None:
    watchdog = getattr(_current, "watchdog", None)
    if watchdog is not None:
        watchdog.attach(connection)


class _Watched:
    """Mixed into urllib3's connections: the attempt's watchdog sees each socket."""

    def connect(self) -> None:
        _attach(self)  # type: ignore[arg-type]
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections (direct or through a proxy) the watchdog can shut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager
