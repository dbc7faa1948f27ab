"""Read the Leads API's answers: success or rejection, lead id, message; never sends anything."""

from __future__ import annotations

import json
import re

import requests

SNIPPET_CHARS = 200
_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"\s+")


def is_success(body: dict) -> bool:
    return any(str(body.get(k, "")).lower() == "success" for k in ("result", "status"))


def api_message(body: dict) -> str:
    """The API's own message: data.msg, or msg / message / error at the top level."""
    data = body.get("data")
    candidates = [data.get("msg"), data.get("message")] if isinstance(data, dict) else []
    candidates += [body.get("msg"), body.get("message"), body.get("error")]
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def lead_id_of(body: dict) -> str | None:
    """data.lead.id, or customer_id (top level or in data), or data.id, as text."""
    data = _dict_at(body, "data")
    lead = _dict_at(data, "lead")
    for value in (lead.get("id"), body.get("customer_id"), data.get("customer_id"), data.get("id")):
        if value not in (None, ""):
            return str(value)
    return None


def _dict_at(body: dict, key: str) -> dict:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def flatten_errors(errors: object) -> str:
    """{"zip": ["bad"], "state": "bad"} -> "zip: bad; state: bad"; lists joined with "; "."""
    if isinstance(errors, dict):
        parts = []
        for field, value in errors.items():
            text = flatten_errors(value)
            parts.append(f"{field}: {text}" if text else str(field))
        return "; ".join(parts)
    if isinstance(errors, list | tuple):
        return "; ".join(t for t in (flatten_errors(e) for e in errors) if t)
    return "" if errors is None else str(errors).strip()


def rejection_text(body: dict) -> str:
    data = _dict_at(body, "data")
    message = api_message(body)
    details = flatten_errors(body.get("errors") or data.get("errors"))
    if message and details:
        return f"{message} ({details})"
    return message or details or f"the API did not accept the lead: {snippet(json.dumps(body))}"


def error_text(response: requests.Response) -> str:
    """ "HTTP 422: <the API's message>" from a JSON body, or a trimmed text snippet."""
    prefix = f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return f"{prefix}: {rejection_text(body)}"
    text = snippet(response.text)
    return f"{prefix}: {text}" if text else f"{prefix} {response.reason or ''}".strip()


def snippet(text: str) -> str:
    """Readable text from an HTML or plain body, one line, at most SNIPPET_CHARS long."""
    plain = _SPACES.sub(" ", _TAGS.sub(" ", text)).strip()
    return plain if len(plain) <= SNIPPET_CHARS else plain[: SNIPPET_CHARS - 3].rstrip() + "..."
