"""A local Enerflo-compatible Leads API for demos, tests and rehearsals.

Stands alone: imports nothing from the importer outside this package, so a bug shared
with the client's validation or sender cannot hide. The server side loads on first use,
so `enerflo-import`, which registers the sandbox command, starts no slower for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from importer.sandbox.config import (
    FAULT_KINDS,
    SAMPLE_API_KEY,
    SandboxConfig,
    SandboxError,
    StartError,
)

if TYPE_CHECKING:
    from importer.sandbox.server import Sandbox, running_sandbox, serve

_FROM_SERVER = ("Sandbox", "running_sandbox", "serve")

__all__ = [
    "FAULT_KINDS",
    "SAMPLE_API_KEY",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "StartError",
    "running_sandbox",
    "serve",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_SERVER:
        from importer.sandbox import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
