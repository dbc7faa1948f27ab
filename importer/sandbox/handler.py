"""HTTP side of the sandbox: routes requests, applies key, rate limit and faults, writes
replies. The rules live in rules.py, the state in store.py.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from importer.sandbox import pages, replies
from importer.sandbox.config import ENDPOINT_PATH, SandboxConfig, url_host
from importer.sandbox.faults import FaultPlan
from importer.sandbox.guide import docs_page
from importer.sandbox.incoming import LeadRequest, from_json_body, from_query
from importer.sandbox.layout import PAGE_HEADERS
from importer.sandbox.limits import Quota, RateLimiter
from importer.sandbox.overview import LEADS_SHOWN, REQUESTS_SHOWN, overview_page
from importer.sandbox.rules import check_lead, error_message
from importer.sandbox.store import Store

LEAD_PATH = re.compile(r"^/api/v1/([^/]+)/action/lead/add/?$")
PAGE_PATH = re.compile(r"^/(leads|scheduling|deals)/(\d+)/?$")
# A Host header worth echoing into a page (name or IPv4, or bracketed IPv6; optional port).
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
_HTML = "text/html; charset=UTF-8"
MAX_BODY_BYTES = 64 * 1024 * 1024  # ten 10 MB images, base64-encoded, fit
_FAULT_STATUS = {"500": 500, "502": 502, "503": 503, "504": 504, "429": 429}


@dataclass
class SandboxState:
    """Everything the request threads share."""

    config: SandboxConfig
    store: Store
    limiter: RateLimiter
    faults: FaultPlan


class SandboxHandler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, every answer with a Content-Length."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else small answers wait ~40 ms for delayed ACKs
    timeout = 120  # an idle keep-alive connection frees its thread after this
    server_version = "EnerfloSandbox/1.0"

    @property
    def state(self) -> SandboxState:
        return self.server.state  # type: ignore[attr-defined, no-any-return]

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent: the requests table is the log."""

    def do_GET(self) -> None:  # noqa: N802
        self._guarded(self._route_get)

    def do_POST(self) -> None:  # noqa: N802
        self._guarded(self._route_post)

    def do_PUT(self) -> None:  # noqa: N802
        self._read_body()
        self._send_json(405, replies.error("method not allowed: use GET or POST"))

    do_DELETE = do_PATCH = do_PUT  # noqa: N815

    def _guarded(self, route: Callable[[], None]) -> None:
        """A sandbox bug answers 500 with a JSON body naming it (never an HTML fault page),
        so nobody mistakes it for an injected fault."""
        try:
            route()
        except OSError:
            self.close_connection = True  # the client went away; nothing to answer
        except Exception as exc:
            message = f"sandbox bug: {type(exc).__name__}: {exc}"
            with contextlib.suppress(Exception):
                self._log({"method": self.command, "path": urlsplit(self.path).path},
                          500, "sandbox_error", message=message)  # fmt: skip
            with contextlib.suppress(OSError):
                self._send_json(500, replies.error(message), close=True)

    def _route_get(self) -> None:
        path = urlsplit(self.path).path
        if LEAD_PATH.match(path):
            self._lead_endpoint("GET")
        elif path == "/":
            snapshot = self.state.store.snapshot(LEADS_SHOWN, REQUESTS_SHOWN)
            endpoint = self._public_base() + ENDPOINT_PATH
            self._send_page(overview_page(snapshot, endpoint, self.state.config))
        elif path in ("/docs", "/docs/"):
            self._send_page(docs_page(self._public_base(), self.state.config))
        elif path in ("/_sandbox/leads", "/_sandbox/requests"):
            store = self.state.store
            rows = store.leads() if path.endswith("leads") else store.requests()
            self._send_json(200, rows)
        elif PAGE_PATH.match(path):
            self._landing_page(path)
        else:
            self._send_json(404, replies.error(f"no such page: {path}"))

    def _route_post(self) -> None:
        path = urlsplit(self.path).path
        if LEAD_PATH.match(path):
            self._lead_endpoint("POST")
        elif path == "/_sandbox/reset":
            self._read_body()
            self.state.store.reset()
            self.state.limiter.reset()
            self.state.faults.reset()
            self._send_json(200, {"result": "success", "data": {"msg": "Sandbox reset"}})
        else:
            self._read_body()
            self._send_json(404, replies.error(f"no such page: {path}"))

    # -- the lead endpoint ------------------------------------------------------------

    def _lead_endpoint(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        body = self._read_body() if method == "POST" else b""
        if body is None:
            return
        request = from_json_body(body) if method == "POST" else from_query(query)
        log: dict[str, Any] = {
            "method": method,
            "path": url.path,
            "integration_record_id": request.record_id,
        }
        key = self.headers.get("api-key") or dict(query).get("api_key") or ""
        company_id = self.state.config.company_id(key)
        if company_id is None:
            self._refuse_key(key, log)
            return
        log["company_id"] = company_id
        quota = self.state.limiter.take(key)
        if not quota.allowed:
            self._send_rate_limited(quota, quota.retry_after, log, "rate_limited")
            return
        if self.state.config.latency_ms:
            time.sleep(self.state.config.latency_ms / 1000)
        fault = self.state.faults.next_fault()
        if fault and fault != "lost":
            self._inject(fault, quota, log)
            return
        self._save(method, request, company_id, quota, log, lose_answer=fault == "lost")

    def _save(
        self,
        method: str,
        request: LeadRequest,
        company_id: int,
        quota: Quota,
        log: dict[str, Any],
        lose_answer: bool,
    ) -> None:
        if request.problem:
            self._log(log, 200, "error", message=request.problem)
            self._send_json(200, replies.error(request.problem), quota)
            return
        checked = check_lead(request.lead, request.survey_data, request.appointment)
        if not checked.errors and checked.record_id in self.state.config.reject_ids:
            checked.errors["integration_record_id"] = (
                f'integration_record_id "{checked.record_id}" is refused by this sandbox '
                "(--reject), as the API may refuse a row for a reason of its own"
            )
        if checked.errors:
            message = error_message(checked.errors)
            self._log(log, 200, "error", message=message)
            self._send_json(200, replies.error(message, checked.errors), quota)
            return
        extras = {
            "survey_data": checked.survey,
            "appointment": checked.appointment,
            "payload": request.lead,
        }
        assert checked.record_id is not None  # no errors means the id is there
        lead, created = self.state.store.upsert_lead(
            company_id, checked.record_id, checked.fields, extras
        )
        outcome, message = ("created", "Lead Created") if created else ("updated", "Lead Updated")
        if lose_answer:
            self._log(log, None, "fault_lost", lead_id=lead["id"], message=message)
            self._drop_connection(reset=False)
            return
        redirect = checked.redirect if method == "GET" else None
        self._log(log, 302 if redirect else 200, outcome, lead_id=lead["id"], message=message)
        if redirect:
            self._redirect(redirect, lead, quota)
        else:
            self._send_json(200, replies.success(lead, created), quota)

    def _refuse_key(self, key: str, log: dict[str, Any]) -> None:
        message = "api key is invalid" if key else "api key is missing"
        self._log(log, 401, "unauthorized", message=message)
        quota = self.state.limiter.peek(key)
        self._send_json(401, replies.error(f"Unauthorized: {message}"), quota)

    def _send_rate_limited(
        self, quota: Quota, retry_after: int, log: dict[str, Any], outcome: str
    ) -> None:
        self._log(log, 429, outcome)
        headers = {
            "retry-after": str(retry_after),
            "x-ratelimit-limit": str(quota.limit or self.state.config.rate_limit),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(quota.reset_epoch or int(time.time()) + retry_after),
        }
        self._send(429, pages.error_page(429), _HTML, headers)

    def _inject(self, fault: str, quota: Quota, log: dict[str, Any]) -> None:
        if fault == "429":
            early = Quota(False, quota.limit, 0, int(time.time()) + 1, 1)
            self._send_rate_limited(early, 1, log, "fault_429")
        elif fault in _FAULT_STATUS:
            status = _FAULT_STATUS[fault]
            self._log(log, status, f"fault_{fault}")
            headers = _quota_headers(quota)
            self._send(status, pages.error_page(status), _HTML, headers)
        elif fault == "not_json":
            self._log(log, 200, "fault_not_json")
            page = pages.maintenance_page()
            self._send(200, page, _HTML, _quota_headers(quota))
        else:
            self._log(log, None, "fault_reset")
            self._drop_connection(reset=True)

    def _redirect(self, kind: str, lead: dict[str, Any], quota: Quota) -> None:
        if kind == "deal":
            location = f"/deals/{lead['deal_id']}"
        elif kind == "scheduling":
            calendar = lead.get("calendar") or lead.get("calendar_id")
            location = f"/scheduling/{lead['id']}?{urlencode({'calendar': calendar})}"
        else:
            location = f"/leads/{lead['id']}"
        headers = {"Location": location, **_quota_headers(quota)}
        self._send(302, pages.redirect_page(location), _HTML, headers)

    def _landing_page(self, path: str) -> None:
        match = PAGE_PATH.match(path)
        assert match is not None
        kind, number = match.group(1), int(match.group(2))
        store = self.state.store
        lead = store.lead_by_deal(number) if kind == "deals" else store.lead(number)
        if lead is None:
            self._send(404, pages.error_page(404), _HTML)
            return
        calendar = dict(parse_qsl(urlsplit(self.path).query)).get("calendar")
        page_kind = {"leads": "profile", "scheduling": "scheduling", "deals": "deal"}[kind]
        self._send(200, pages.lead_page(page_kind, lead, calendar), _HTML)

    # -- plumbing ---------------------------------------------------------------------

    def _public_base(self) -> str:
        """This sandbox's URL as the client reached it (its Host header), for the pages."""
        host = self.headers.get("Host", "")
        if not _HOST.match(host):
            address, port = self.connection.getsockname()[:2]
            host = f"{url_host(str(address))}:{port}"
        return f"http://{host}"

    def _read_body(self) -> bytes | None:
        """The request body by Content-Length; None (after a 413/411 answer) when refused."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send_json(411, replies.error("send a Content-Length"), close=True)
            return None
        length_text = (self.headers.get("Content-Length") or "0").strip()
        length = int(length_text) if length_text.isascii() and length_text.isdigit() else -1
        if length < 0:
            self._send_json(400, replies.error("Content-Length is not a number"), close=True)
            return None
        if length > MAX_BODY_BYTES:
            self._send_json(413, replies.error("request body is too large"), close=True)
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _log(self, log: dict[str, Any], status: int | None, outcome: str, **more: Any) -> None:
        self.state.store.log_request(**log, status_code=status, outcome=outcome, **more)

    def _send_json(
        self, status: int, document: Any, quota: Quota | None = None, close: bool = False
    ) -> None:
        body = json.dumps(document).encode()
        headers = _quota_headers(quota) if quota else {}
        if close:
            headers["Connection"] = "close"
        self._send(status, body, "application/json", headers)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_page(self, page: bytes) -> None:
        self._send(200, page, _HTML, PAGE_HEADERS)

    def _drop_connection(self, reset: bool) -> None:
        """Close without answering: a TCP reset (SO_LINGER 0), or a plain close (FIN)."""
        self.close_connection = True
        if reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            self.connection.shutdown(socket.SHUT_RDWR)
        self.rfile.close()  # the socket closes for real once its file objects are closed
        self.connection.close()


def _quota_headers(quota: Quota | None) -> dict[str, str]:
    if quota is None or quota.limit <= 0:
        return {}
    return {"x-ratelimit-limit": str(quota.limit), "x-ratelimit-remaining": str(quota.remaining)}
