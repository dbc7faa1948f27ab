"""Where a run's rows go: the endpoint (or the embedded sandbox) and a fingerprint of the key.

Run state (journals, results files, the ledger) records a destination so that rows accepted
at one place are never counted as done at another. The key itself is never stored: only a
salted SHA-256 fingerprint, enough to tell two keys apart, useless to recover one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from importer.errors import UsageError
from importer.sandbox import SAMPLE_API_KEY
from importer.sending.sender import check_base_url

DEFAULT_BASE_URL = "https://enerflo.io"
DEFAULT_PARTNER = "partner"
SANDBOX = "embedded sandbox"
# A fixed salt keeps fingerprints comparable across files and machines (a journal, a results
# file and the ledger must agree) while a table of fingerprints of common strings is useless.
_SALT = b"enerflo-import key fingerprint v1\x00"


def key_fingerprint(api_key: str) -> str:
    """ "k" + 12 hex digits of SHA-256 over salt + key: names a key without revealing it."""
    return "k" + hashlib.sha256(_SALT + api_key.encode("utf-8")).hexdigest()[:12]


def endpoint_url(base_url: str, partner: str) -> str:
    """The lead endpoint for a base URL and partner (the base URL checked: see sender)."""
    return f"{check_base_url(base_url)}/api/v1/{quote(partner, safe='')}/action/lead/add"


_ENDPOINT_TAIL = "/action/lead/add"


def endpoint_parts(endpoint: str) -> tuple[str, str] | None:
    """The base URL and partner an `endpoint_url` was made from; None for anything else
    (the embedded sandbox, a damaged record)."""
    if not endpoint.endswith(_ENDPOINT_TAIL) or "/api/v1/" not in endpoint:
        return None
    base, _, partner = endpoint[: -len(_ENDPOINT_TAIL)].rpartition("/api/v1/")
    if not base or not partner or "/" in partner:
        return None
    return base, unquote(partner)


@dataclass(frozen=True)
class Destination:
    """One place rows are sent: a real endpoint, or the embedded sandbox (a rehearsal)."""

    endpoint: str  # the lead endpoint URL, or SANDBOX
    key_fingerprint: str
    base_url: str | None = None  # None for the embedded sandbox
    partner: str = DEFAULT_PARTNER

    @property
    def is_sandbox(self) -> bool:
        return self.endpoint == SANDBOX

    @property
    def label(self) -> str:
        """How messages name it: the URL, or "the embedded sandbox (a rehearsal)"."""
        return "the embedded sandbox (a rehearsal)" if self.is_sandbox else self.endpoint

    def facts(self) -> dict[str, str]:
        """What run state records about it (never the key)."""
        return {
            "destination": self.endpoint,
            "key_fingerprint": self.key_fingerprint,
            "base_url": self.base_url or "",
            "partner": self.partner,
        }


def sandbox_destination(api_key: str) -> Destination:
    return Destination(SANDBOX, key_fingerprint(api_key))


def real_destination(base_url: str, partner: str, api_key: str) -> Destination:
    """A real endpoint; UsageError for a base URL or partner that cannot be used."""
    if not partner or "/" in partner:
        raise UsageError(f'partner name "{partner}" must be one path segment')
    return Destination(endpoint_url(base_url, partner), key_fingerprint(api_key), base_url, partner)


def api_key_from_environment() -> str:
    """ENERFLO_API_KEY, stripped; UsageError when it is not set."""
    key = os.environ.get("ENERFLO_API_KEY", "").strip()
    if not key:
        raise UsageError(
            "no api key: ENERFLO_API_KEY is not set",
            hint="export ENERFLO_API_KEY=<your key>, or rehearse with --sandbox",
        )
    return key


def endpoint_from_environment(
    base_url: str | None, partner: str | None
) -> tuple[str | None, str | None]:
    """Options first, then ENERFLO_BASE_URL / ENERFLO_PARTNER; None where neither says."""
    base = base_url or os.environ.get("ENERFLO_BASE_URL", "").strip() or None
    name = partner or os.environ.get("ENERFLO_PARTNER", "").strip() or None
    return base, name


@dataclass(frozen=True)
class Connection:
    """How to reach a destination: `base_url` None for the embedded sandbox (started on demand)."""

    destination: Destination
    base_url: str | None
    api_key: str = field(repr=False)


def connection_for(
    api_key: str | None, base_url: str | None, partner: str | None, sandbox: bool
) -> Connection:
    """Where a send goes: options first, then ENERFLO_BASE_URL / ENERFLO_PARTNER."""
    if sandbox:
        if base_url:
            raise UsageError("--sandbox and --base-url cannot be used together")
        return Connection(sandbox_destination(SAMPLE_API_KEY), None, SAMPLE_API_KEY)
    key = api_key.strip() if api_key else api_key_from_environment()
    base, name = endpoint_from_environment(base_url, partner)
    base, name = base or DEFAULT_BASE_URL, name or DEFAULT_PARTNER
    return Connection(real_destination(base, name, key), base, key)


def looked_up(
    api_key: str | None, base_url: str | None, partner: str | None, sandbox: bool
) -> tuple[Destination | None, bool]:
    """The destination a dry run predicts a send to, and whether its key is known: the
    options, else the environment; the default endpoint only when a key is set."""
    if sandbox:
        if base_url:
            raise UsageError("--sandbox and --base-url cannot be used together")
        return sandbox_destination(SAMPLE_API_KEY), True
    key = (api_key or os.environ.get("ENERFLO_API_KEY", "")).strip()
    base, name = endpoint_from_environment(base_url, partner)
    if base is None and name is None and not key:
        return None, False
    destination = real_destination(base or DEFAULT_BASE_URL, name or DEFAULT_PARTNER, key)
    return destination, bool(key)
