"""JSON answers of the lead endpoint, in the API page's shape; no HTTP writing here."""

from __future__ import annotations

from typing import Any

# The page's example answer, in its order; `office id` and `created at` are spelled as
# the fields are really named. setter_id and integration_record_id are extra.
_PUBLIC_FIELDS = (
    "id", "company_id", "office_id", "creator_id", "agent_id", "setter_id",
    "first_name", "last_name", "email", "mobile", "address", "city", "state", "zip",
    "lat", "lng", "timezone", "details", "external_id", "integration_record_id",
    "lead_source", "lead_status", "meta_data", "created_at", "updated_at",
)  # fmt: skip


def success(lead: dict[str, Any], created: bool) -> dict[str, Any]:
    """{"result": "success", "data": {"msg": "Lead Created" | "Lead Updated", "lead": ...}}."""
    data: dict[str, Any] = {
        "msg": "Lead Created" if created else "Lead Updated",
        "lead": public_lead(lead),
    }
    if lead.get("deal_id") is not None:
        data["deal"] = {"id": lead["deal_id"], "template_id": lead["deal_template_id"]}
    if lead.get("appointment") is not None:
        data["appointment"] = lead["appointment"]
    return {"result": "success", "data": data}


def error(message: str, errors: dict[str, str] | None = None) -> dict[str, Any]:
    """{"result": "error", "data": {"msg": ..., "errors": {field: message}}}."""
    data: dict[str, Any] = {"msg": message}
    if errors:
        data["errors"] = errors
    return {"result": "error", "data": data}


def public_lead(lead: dict[str, Any]) -> dict[str, Any]:
    filled = {"details": "", "external_id": None, "meta_data": None, **lead}
    return {name: filled.get(name) for name in _PUBLIC_FIELDS}
