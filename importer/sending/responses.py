"""Read the Leads API's answers: success or rejection, lead id, message; never sends anything.

Everything here takes untrusted text: parsing is bounded (a body too deep or with numbers
too big to parse counts as "not JSON"), and no regex can backtrack over a body.
"""

from __future__ import annotations

import json
import math
import re

SNIPPET_CHARS = 200
MESSAGE_CHARS = 1000  # an API message longer than this is cut (with "...")
MAX_DEPTH = 20  # nested errors are flattened this deep, no deeper
# One tag: stops at the next "<" so a body of "<<<<..." is read once, not once per "<".
_TAG = re.compile(r"<[^<>]*>")
_HIDDEN_START = re.compile(r"<(script|style)\b", re.IGNORECASE)
_HIDDEN_END = {name: re.compile(f"</{name}", re.IGNORECASE) for name in ("script", "style")}
_SPACES = re.compile(r"\s+")


def parse_json(text: str) -> object | None:
    """The body as JSON, or None when it is not JSON or cannot be parsed safely.

    Too deep (RecursionError) or with an integer too long to convert (ValueError since
    Python 3.11) counts as not JSON, like any other body that does not parse.
    """
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def is_success(body: dict) -> bool:
    return any(_text_at(body, k).lower() == "success" for k in ("result", "status"))


def api_message(body: dict) -> str:
    """The API's own message: data.msg, or msg / message / error at the top level."""
    data = _dict_at(body, "data")
    for source, key in ((data, "msg"), (data, "message"), (body, "msg"), (body, "message")):
        if text := _text_at(source, key).strip():
            return text
    return _text_at(body, "error").strip()


def lead_id_of(body: dict) -> str | None:
    """data.lead.id, or customer_id (top level or in data), or data.id, as text.

    Only a string or a finite number counts: a list, an object or `true` is no lead id.
    """
    data = _dict_at(body, "data")
    lead = _dict_at(data, "lead")
    for value in (lead.get("id"), body.get("customer_id"), data.get("customer_id"), data.get("id")):
        text = _scalar_text(value)
        if text:
            return text
    return None


def _scalar_text(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else str(value)
    return None


def _text_at(body: dict, key: str) -> str:
    value = body.get(key)
    return value if isinstance(value, str) else ""


def _dict_at(body: dict, key: str) -> dict:
    value = body.get(key)
    return value if isinstance(value, dict) else {}


def flatten_errors(errors: object, depth: int = 0) -> str:
    """{"zip": ["bad"], "state": "bad"} -> "zip: bad; state: bad"; lists joined with "; "."""
    if depth > MAX_DEPTH:
        return "..."
    if isinstance(errors, dict):
        parts = []
        for field, value in errors.items():
            text = flatten_errors(value, depth + 1)
            parts.append(f"{field}: {text}" if text else str(field))
        return "; ".join(parts)
    if isinstance(errors, list | tuple):
        return "; ".join(t for t in (flatten_errors(e, depth + 1) for e in errors) if t)
    return "" if errors is None else str(errors).strip()


def rejection_text(body: dict) -> str:
    """Why a JSON answer did not accept the lead: its message and flattened errors."""
    data = _dict_at(body, "data")
    message = api_message(body)
    details = flatten_errors(body.get("errors") or data.get("errors"))
    if message and details:
        return f"{message} ({details})"
    return message or details or f"the API did not accept the lead: {_json_snippet(body)}"


def _json_snippet(body: dict) -> str:
    try:
        return snippet(json.dumps(body)[: SNIPPET_CHARS * 4])
    except (ValueError, RecursionError):
        return "(an unreadable body)"


def error_text(status: int, reason: str, text: str) -> str:
    """ "HTTP 422: <the API's message>" from a JSON body, or a trimmed text snippet."""
    prefix = f"HTTP {status}"
    body = parse_json(text)
    if isinstance(body, dict):
        return f"{prefix}: {rejection_text(body)}"
    plain = snippet(text)
    return f"{prefix}: {plain}" if plain else f"{prefix} {reason}".strip()


def plain_text(text: str) -> str:
    """Readable text from an HTML or plain body on one line: tags, scripts and styles gone.

    Linear in the length of `text` whatever it holds (a body of 160 KB of "<" included).
    """
    parts = []
    start = 0
    for match in _HIDDEN_START.finditer(text):
        if match.start() < start:
            continue  # inside a script or style already skipped
        parts.append(text[start : match.start()])
        end = _HIDDEN_END[match.group(1).lower()].search(text, match.end())
        if end is None:
            start = len(text)
            break
        start = end.start()
    parts.append(text[start:])
    return _SPACES.sub(" ", _TAG.sub(" ", "".join(parts))).strip()


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in "..." when cut."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def snippet(text: str) -> str:
    """Readable text from an HTML or plain body, one line, at most SNIPPET_CHARS long."""
    return shorten(plain_text(text), SNIPPET_CHARS)
