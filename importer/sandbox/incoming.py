"""Turn a lead request (GET query or POST JSON body) into lead, survey and appointment parts;
no rules and no HTTP writing here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
_NESTED_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])+)$")
_NOT_LEAD = ("api_key", "appointment", "survey_data", "lead")
_KEY_FIELDS = ("api_key", "api-key")


@dataclass
class LeadRequest:
    """The parts of one request; `problem` set means the body could not be understood."""

    lead: dict[str, Any] = field(default_factory=dict)
    survey_data: Any = None
    appointment: Any = None
    problem: str | None = None

    @property
    def record_id(self) -> str | None:
        value = self.lead.get("integration_record_id")
        return None if value in (None, "") else str(value)


def from_query(pairs: list[tuple[str, str]]) -> LeadRequest:
    """GET: every parameter but api_key is a lead field; `appointment[name]=...` and
    `survey_data[files][0][data]=...` nest, and `lead[first_name]=...` works too."""
    params = nest_query(pairs)
    lead = {key: value for key, value in params.items() if key not in _NOT_LEAD}
    if isinstance(params.get("lead"), dict):
        lead.update(params["lead"])
    return LeadRequest(_keyless(lead), params.get("survey_data"), params.get("appointment"))


def from_json_body(body: bytes) -> LeadRequest:
    """POST: a JSON object holding a "lead" object, and optionally survey_data and appointment."""
    try:
        document = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return LeadRequest(problem="request body is not valid JSON")
    if not isinstance(document, dict) or not isinstance(document.get("lead"), dict):
        return LeadRequest(problem='request body must be a JSON object with a "lead" object')
    lead = _keyless(document["lead"])
    return LeadRequest(lead, document.get("survey_data"), document.get("appointment"))


def _keyless(lead: dict[str, Any]) -> dict[str, Any]:
    """The lead without an api key a client put among its fields: the stored payload is
    served at /_sandbox/leads, and no key is ever stored or shown."""
    return {name: value for name, value in lead.items() if name not in _KEY_FIELDS}


def nest_query(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """PHP-style bracket keys to nested values; numbered or empty brackets make lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _NESTED_KEY.match(key)
        if match is None:
            root[key] = value
            continue
        names = [match.group(1), *_BRACKETS.findall(match.group(2))]
        node = root
        for name in names[:-1]:
            child = node.get(name)
            if not isinstance(child, dict):
                child = node[name] = {}
            node = child
        node[names[-1] or str(len(node))] = value
    return _with_lists(root)


def _with_lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _with_lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
