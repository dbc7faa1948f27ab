"""Sandbox settings and their checks; knows nothing about HTTP or storage."""

from __future__ import annotations

from dataclasses import dataclass, field

# The sample key printed on the vendor's API page: the sandbox's default, never a real secret.
SAMPLE_API_KEY = "11595ee3c3ad592e52.31523696"

# Every fault the sandbox can inject, in the order `--fault-rate` picks among them, and
# what it does (the page for people shows this beside a faulted request).
FAULT_EFFECTS: dict[str, str] = {
    "500": "HTTP 500 with an HTML body, lead not saved",
    "502": "HTTP 502 (a proxy's page), lead not saved",
    "503": "HTTP 503, lead not saved",
    "504": "HTTP 504, lead not saved",
    "429": "early HTTP 429 with retry-after: 1, lead not saved",
    "reset": "TCP reset before any answer, lead not saved",
    "not_json": "HTTP 200 whose body is an HTML page, lead not saved",
    "lost": "lead saved, then the connection closed without an answer",
}
FAULT_KINDS: tuple[str, ...] = tuple(FAULT_EFFECTS)

FIRST_COMPANY_ID = 1089
# The lead endpoint with the API page's own partner name (any partner name works).
ENDPOINT_PATH = "/api/v1/partner/action/lead/add"


class SandboxError(Exception):
    """The sandbox cannot start: bad settings (this class) or a StartError."""


class StartError(SandboxError):
    """The settings are fine but the sandbox cannot start: the address cannot be bound
    (`errno` is the system's reason), or the database cannot be opened (`errno` None)."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


@dataclass
class SandboxConfig:
    """How one sandbox behaves. Each api key is its own company (ids from 1089 up)."""

    host: str = "127.0.0.1"
    port: int = 8765  # 0 picks a free port
    db: str | None = None  # SQLite file; None keeps everything in memory
    api_keys: tuple[str, ...] = (SAMPLE_API_KEY,)
    rate_limit: int = 300  # requests per key per minute, over a sliding window; 0: off
    # The window. Shorter keeps the per-minute rate but shrinks the burst a key may send:
    # 300/min over 1 s allows 5 per second. Tests use it to meet the limit quickly. The
    # x-ratelimit-* headers still speak per minute (remaining scaled), as the real API's do.
    rate_window_s: float = 60.0
    latency_ms: int = 0  # added before every answer of the lead endpoint
    fault_rate: float = 0.0  # probability that a lead request gets a fault
    fault_seed: int = 0  # seeds the fault generator: same seed, same faults, same order
    fault_kinds: tuple[str, ...] = field(default=FAULT_KINDS)  # the faults to pick from
    # Record ids refused with an error answer, as the real API refuses a row for a reason
    # no dry run can see (its own CRM rules): rehearses rejected rows and their retry.
    reject_ids: tuple[str, ...] = ()

    def check(self) -> None:
        """Raise SandboxError naming the first setting that cannot work."""
        if not self.api_keys or any(not key for key in self.api_keys):
            raise SandboxError("api keys: at least one non-empty key is needed")
        if self.rate_limit < 0:
            raise SandboxError(f"rate limit: {self.rate_limit} is negative (0 turns it off)")
        if self.rate_window_s <= 0:
            raise SandboxError(f"rate window: {self.rate_window_s} s is not positive")
        if self.latency_ms < 0:
            raise SandboxError(f"latency: {self.latency_ms} ms is negative")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise SandboxError(f"fault rate: {self.fault_rate} is not between 0 and 1")
        unknown = [kind for kind in self.fault_kinds if kind not in FAULT_KINDS]
        if unknown or not self.fault_kinds:
            raise SandboxError(
                f"fault kinds: {', '.join(unknown) or 'none given'}; "
                f"known kinds are {', '.join(FAULT_KINDS)}"
            )
        if not 0 <= self.port <= 65535:
            raise SandboxError(f"port: {self.port} is not between 0 and 65535")

    def requests_per_window(self) -> int:
        """How many requests one key may make in any window (0: no limit)."""
        if self.rate_limit <= 0:
            return 0
        return max(1, round(self.rate_limit * self.rate_window_s / 60.0))

    def company_id(self, api_key: str) -> int | None:
        """The company an api key belongs to, None for an unknown key."""
        try:
            return FIRST_COMPANY_ID + self.api_keys.index(api_key)
        except ValueError:
            return None


def url_host(host: str) -> str:
    """The host as a URL names it: a wildcard address as loopback, IPv6 in brackets."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
