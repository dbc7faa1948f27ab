"""The sandbox's HTML: error pages like a proxy's, and the small pages redirects land on."""

from __future__ import annotations

from html import escape
from typing import Any

_REASONS = {
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}


def error_page(status: int) -> bytes:
    """An nginx-style error page, as a proxy in front of the real API sends."""
    title = f"{status} {_REASONS.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def maintenance_page() -> bytes:
    """What a captive portal or a maintenance switch answers with HTTP 200."""
    return _page("Enerflo is down for maintenance", "<p>We will be back shortly.</p>")


def lead_page(kind: str, lead: dict[str, Any], calendar: str | None = None) -> bytes:
    """The profile, scheduling or deal page a browser_redirect lands on."""
    name = " ".join(part for part in (lead.get("first_name"), lead.get("last_name")) if part)
    place = ", ".join(
        str(part) for part in (lead.get("address"), lead.get("city"), lead.get("state")) if part
    )
    lines = [
        f"<p>Lead {lead['id']}: {escape(name or '(no name)')}</p>",
        f"<p>{escape(place or '(no address)')} {escape(lead.get('zip') or '')}</p>",
    ]
    if kind == "scheduling":
        lines.append(f"<p>Calendar: {escape(calendar or '(none)')}</p>")
    if kind == "deal":
        lines.append(
            f"<p>Deal {lead.get('deal_id')} from template {lead.get('deal_template_id')}</p>"
        )
    titles = {"profile": "Lead profile", "scheduling": "Schedule an appointment", "deal": "Deal"}
    return _page(titles[kind], "\n".join(lines))


def redirect_page(location: str) -> bytes:
    link = escape(location, quote=True)
    return _page("Redirecting", f'<p>Redirecting to <a href="{link}">{link}</a>.</p>')


def _page(title: str, body: str) -> bytes:
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"</head>\n<body>\n<h1>{escape(title)}</h1>\n{body}\n"
        "<p><small>Enerflo sandbox</small></p>\n</body></html>\n"
    ).encode()
