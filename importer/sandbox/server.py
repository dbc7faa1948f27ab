"""Run the sandbox: start it on a port (or a free one), hand out its URL, stop it cleanly.
The library entry points; no printing and no argument parsing here.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import ThreadingHTTPServer
from typing import Any

from importer.sandbox.config import SandboxConfig, StartError, url_host
from importer.sandbox.faults import FaultPlan
from importer.sandbox.handler import SandboxHandler, SandboxState
from importer.sandbox.limits import RateLimiter
from importer.sandbox.store import Store

_STOP_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.05  # how soon serve_forever notices stop()


class _Server(ThreadingHTTPServer):
    """A thread per connection; remembers open connections so stop() can end them."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: SandboxState) -> None:
        self.state = state
        self._open: set[socket.socket] = set()
        self._busy = threading.Condition()
        super().__init__(address, SandboxHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up in DNS (getfqdn), which can stall.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]  # type: ignore[assignment]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._busy:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self._busy:
            self._open.discard(request)
            self._busy.notify_all()

    def end_connections(self, timeout: float) -> None:
        """Wake every connection thread (idle keep-alive ones too) and wait for them."""
        with self._busy:
            for conn in list(self._open):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self._busy.wait_for(lambda: not self._open, timeout=timeout)


class Sandbox:
    """One running sandbox: its URL, its first api key, and a window on its tables."""

    def __init__(self, config: SandboxConfig) -> None:
        config.check()
        self.config = config
        try:
            self._store = Store(config.db)
        except sqlite3.Error as exc:
            raise StartError(f"cannot open database {config.db}: {exc}") from exc
        state = SandboxState(
            config=config,
            store=self._store,
            limiter=RateLimiter(
                config.requests_per_window(),
                window=config.rate_window_s,
                per_minute=config.rate_limit,
            ),
            faults=FaultPlan(config.fault_rate, config.fault_seed, config.fault_kinds),
        )
        try:
            self._server = _Server((config.host, config.port), state)
        except OSError as exc:
            self._store.close()
            named = f"[{config.host}]" if ":" in config.host else config.host
            where = f"{named}:{config.port}"
            reason = str(exc.strerror or exc)
            raise StartError(
                f"cannot listen on {where}: {reason[:1].lower()}{reason[1:]}", exc.errno
            ) from exc
        host, port = self._server.server_address[:2]
        self.host, self.port = str(host), int(port)
        self.base_url = f"http://{url_host(self.host)}:{self.port}"
        self.api_key = config.api_keys[0]
        self._thread: threading.Thread | None = None
        self._served = False
        self._stopped = False

    def start(self) -> Sandbox:
        """Serve from a background thread; returns self."""
        self._served = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="enerflo-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve from this thread until stop() is called from another (or Ctrl-C)."""
        self._served = True
        self._server.serve_forever(poll_interval=_POLL_SECONDS)

    def leads(self) -> list[dict[str, Any]]:
        """Every stored lead, oldest first (what GET /_sandbox/leads answers)."""
        return self._store.leads()

    def requests(self) -> list[dict[str, Any]]:
        """Every logged request, oldest first (what GET /_sandbox/requests answers)."""
        return self._store.requests()

    def reset(self) -> None:
        """Forget leads, requests and rate-limit history; restart the fault sequence."""
        state: SandboxState = self._server.state
        state.store.reset()
        state.limiter.reset()
        state.faults.reset()

    def stop(self) -> None:
        """Stop listening, end open connections, close the database. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._served:
            self._server.shutdown()  # returns at once if serve_forever already ended
        if self._thread is not None:
            self._thread.join(_STOP_WAIT_SECONDS)
        self._server.server_close()
        self._server.end_connections(_STOP_WAIT_SECONDS)
        self._store.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve(config: SandboxConfig, on_ready: Callable[[Sandbox], None] | None = None) -> None:
    """Run a sandbox in this thread until Ctrl-C; `on_ready` gets it once it listens.

    Raises SandboxError when the settings are wrong, StartError (a SandboxError) when the
    address cannot be bound or the database cannot be opened.
    """
    sandbox = Sandbox(config)
    try:
        if on_ready is not None:
            on_ready(sandbox)
        sandbox.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


@contextlib.contextmanager
def running_sandbox(**overrides: Any) -> Iterator[Sandbox]:
    """A sandbox on a free loopback port (unless `port` is given), stopped on exit.

    Keyword arguments override SandboxConfig fields: `rate_limit=5`, `fault_rate=1.0`, ...
    """
    config = replace(SandboxConfig(port=0), **overrides)
    sandbox = Sandbox(config).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()
