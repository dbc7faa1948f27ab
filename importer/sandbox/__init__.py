"""A local Enerflo-compatible Leads API for demos, tests and rehearsals.

Stands alone: imports nothing from the importer outside this package, so a bug shared
with the client's validation or sender cannot hide.
"""

from importer.sandbox.config import FAULT_KINDS, SAMPLE_API_KEY, SandboxConfig, SandboxError
from importer.sandbox.server import Sandbox, running_sandbox, serve

__all__ = [
    "FAULT_KINDS",
    "SAMPLE_API_KEY",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "running_sandbox",
    "serve",
]
