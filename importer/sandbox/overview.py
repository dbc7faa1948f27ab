"""The page for people at GET /: leads received and latest requests, newest first.

Plain HTML that refreshes itself (no script). It shows no api key, ever: not the
accepted ones, not one a request carried.
"""

from __future__ import annotations

from typing import Any

from importer.sandbox.config import FAULT_EFFECTS, SandboxConfig
from importer.sandbox.layout import document, html_text, table
from importer.sandbox.store import Snapshot, now_text

LEADS_SHOWN = 200
REQUESTS_SHOWN = 100
REFRESH_SECONDS = 5

# Request outcome -> pill colour; any fault_* outcome is "fault".
_OUTCOME_CLASS = {
    "created": "ok",
    "updated": "info",
    "error": "warn",
    "unauthorized": "bad",
    "rate_limited": "warn",
    "sandbox_error": "bad",
}
# The counts row: label, colour, the outcomes it adds up.
_COUNTS = (
    ("created", "ok", ("created",)),
    ("updated", "info", ("updated",)),
    ("errors", "warn", ("error",)),
    ("unauthorized", "bad", ("unauthorized",)),
    ("rate limited", "warn", ("rate_limited",)),
)


def overview_page(snapshot: Snapshot, endpoint: str, config: SandboxConfig) -> bytes:
    """The whole page; `endpoint` is the lead endpoint's URL as the browser reached it."""
    request_count = sum(snapshot.outcomes.values())
    body = "\n".join(
        (
            _endpoint_panel(endpoint, config),
            _counts(snapshot, request_count),
            '<h2>Leads <span class="note">newest first · '
            '<a href="#latest-requests">latest requests below</a></span></h2>',
            _capped(len(snapshot.leads), snapshot.lead_count, "leads", "/_sandbox/leads"),
            _leads_table(snapshot.leads) if snapshot.leads else _no_leads(endpoint),
            '<h2 id="latest-requests">Latest requests <span class="note">newest first</span></h2>',
            _capped(len(snapshot.requests), request_count, "requests", "/_sandbox/requests"),
            _requests_table(snapshot.requests)
            if snapshot.requests
            else '<p class="empty">No requests yet.</p>',
            _footer(),
        )
    )
    return document("Enerflo sandbox", body, current="/", refresh_seconds=REFRESH_SECONDS)


def settings_line(config: SandboxConfig) -> str:
    """Rate limit, latency, faults and keys in one line of plain text."""
    parts = [
        f"rate limit {config.rate_limit}/min per key" if config.rate_limit else "no rate limit",
        f"latency {config.latency_ms} ms" if config.latency_ms else "no added latency",
    ]
    if config.fault_rate:
        kinds = ", ".join(config.fault_kinds)
        parts.append(f"faults {config.fault_rate:.0%} (seed {config.fault_seed}: {kinds})")
    else:
        parts.append("no faults")
    keys = len(config.api_keys)
    parts.append("1 api key" if keys == 1 else f"{keys} api keys, a company each")
    return " · ".join(parts)


def _endpoint_panel(endpoint: str, config: SandboxConfig) -> str:
    return (
        '<section class="panel endpoint">'
        '<div class="label">Lead endpoint (GET or POST)</div>'
        f'<p><code class="url">{html_text(endpoint)}</code></p>'
        '<p>POST a JSON body <code>{"lead": {...}}</code> with the api key in the '
        "<code>api-key</code> header, or GET with the fields as query parameters. "
        'Any partner name works in the path. <a href="/docs">Examples and the key it accepts</a>.'
        f'</p><p class="muted">{html_text(settings_line(config))}</p></section>'
    )


def _counts(snapshot: Snapshot, request_count: int) -> str:
    cells = [("leads", "", snapshot.lead_count), ("requests", "", request_count)]
    for label, colour, outcomes in _COUNTS:
        cells.append((label, colour, sum(snapshot.outcomes.get(name, 0) for name in outcomes)))
    faults = sum(n for name, n in snapshot.outcomes.items() if name.startswith("fault_"))
    cells.append(("faults injected", "fault", faults))
    return (
        '<section class="counts">'
        + "".join(
            f'<div class="count {colour}"><span class="n">{number:,}</span>'
            f'<span class="what">{label}</span></div>'
            for label, colour, number in cells
        )
        + "</section>"
    )


def _capped(shown: int, total: int, what: str, json_path: str) -> str:
    if shown >= total:
        return ""
    return (
        f'<p class="capped">Showing the newest {shown:,} of {total:,} {what}; '
        f'all of them are at <a href="{json_path}">{json_path}</a> (JSON).</p>'
    )


_LEAD_COLUMNS = (
    ("Lead id", "num"), ("Record id", "mono"), ("Name", ""), ("Address", ""),
    ("Status", "nowrap"), ("Created (UTC)", "time"), ("Updated (UTC)", "time"),
)  # fmt: skip
_REQUEST_COLUMNS = (
    ("Time (UTC)", "time"), ("Method", ""), ("Status", "code"), ("Outcome", ""),
    ("Record id", "mono"), ("Lead id", "num"), ("Message", ""),
)  # fmt: skip


def _leads_table(leads: list[dict[str, Any]]) -> str:
    rows = (
        (
            html_text(lead["id"]),
            html_text(lead["integration_record_id"]),
            _or_dash(_joined(" ", lead["first_name"], lead["last_name"])),
            _or_dash(_address(lead)),
            _or_dash(lead["lead_status"]),
            html_text(lead["created_at"]),
            html_text(lead["updated_at"]),
        )
        for lead in leads
    )
    return table("leads", _LEAD_COLUMNS, rows)


def _requests_table(requests: list[dict[str, Any]]) -> str:
    rows = (
        (
            html_text(request["at"]),
            html_text(request["method"]),
            _status(request["status_code"]),
            _outcome(request["outcome"]),
            _or_dash(request["integration_record_id"]),
            _or_dash(request["lead_id"]),
            _or_dash(_message(request)),
        )
        for request in requests
    )
    return table("requests", _REQUEST_COLUMNS, rows)


def _no_leads(endpoint: str) -> str:
    example = (
        f"curl -X POST '{endpoint}' \\\n"
        '  -H "api-key: $ENERFLO_API_KEY" -H "Content-Type: application/json" \\\n'
        '  -d \'{"lead": {"integration_record_id": "demo-1", '
        '"full_name": "Ferris Bueller",\n'
        '      "fullAddress": "2214 N Honeydew Dr, Saratoga Springs, UT 84045"}}\''
    )
    return (
        '<div class="empty" id="no-leads"><p><strong>No leads yet.</strong> '
        "Send a first one, with <code>ENERFLO_API_KEY</code> set to the key the sandbox "
        'printed when it started (also on <a href="/docs">/docs</a>):</p>'
        f"<pre>{html_text(example)}</pre>"
        "<p>Or send a whole sheet: <code>enerflo-import send leads.xlsx -m mapping.yaml "
        f"--base-url {html_text(endpoint.split('/api/')[0])}</code></p></div>"
    )


def _footer() -> str:
    return (
        f"<footer>Refreshes every {REFRESH_SECONDS} seconds; drawn at {now_text()} UTC. "
        'Every row as JSON: <a href="/_sandbox/leads">/_sandbox/leads</a>, '
        '<a href="/_sandbox/requests">/_sandbox/requests</a>.</footer>'
    )


def _address(lead: dict[str, Any]) -> str:
    region = _joined(" ", lead["state"], lead["zip"])
    return _joined(", ", lead["address"], lead["city"], region)


def _joined(separator: str, *parts: Any) -> str:
    return separator.join(str(part) for part in parts if part not in (None, ""))


def _or_dash(value: Any) -> str:
    if value in (None, ""):
        return '<span class="muted">–</span>'
    return html_text(value)


def _message(request: dict[str, Any]) -> str | None:
    """The logged message; for a 429 or an injected fault, which log none, what happened."""
    outcome = str(request["outcome"])
    if request["message"]:
        return str(request["message"])
    if outcome == "rate_limited":
        return "over the rate limit: HTML body and retry-after"
    if outcome.startswith("fault_"):
        return f"injected: {FAULT_EFFECTS.get(outcome.removeprefix('fault_'), 'a fault')}"
    return None


def _status(code: int | None) -> str:
    return '<span class="muted">no answer</span>' if code is None else str(int(code))


def _outcome(outcome: str) -> str:
    colour = "fault" if outcome.startswith("fault_") else _OUTCOME_CLASS.get(outcome, "")
    return f'<span class="pill {colour}">{html_text(outcome)}</span>'
