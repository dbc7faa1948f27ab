"""enerflo-importer: push marketing lead sheets into Enerflo safely; library first, no CLI here.

    import importer
    report = importer.validate("leads.xlsx", "mappings/acme.yaml")
    report = importer.send("leads.xlsx", "mappings/acme.yaml", api_key=key, partner="acme")
    report = importer.retry("out/leads.results.xlsx", api_key=key)

Importing the package is cheap and prints nothing: the pipeline (pandas, pandera,
requests) loads on first use of these names. Errors are `ImporterError` subclasses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from importer.errors import (
    ApiDownError,
    ApiKeyError,
    BadInputError,
    ImporterError,
    JournalError,
    MappingError,
    OutputError,
    ResultsError,
    RunError,
    SheetError,
    UsageError,
)

__version__ = "0.2.0"

__all__ = [
    "ApiDownError",
    "ApiKeyError",
    "BadInputError",
    "ImporterError",
    "JournalError",
    "MappingError",
    "OutputError",
    "Progress",
    "Report",
    "ResultsError",
    "RunError",
    "RunPlan",
    "SheetError",
    "UsageError",
    "retry",
    "send",
    "validate",
]

_LAZY = frozenset({"Progress", "Report", "RunPlan", "retry", "send", "validate"})

if TYPE_CHECKING:
    from importer.run import Progress, Report, RunPlan, retry, send, validate
else:

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            from importer import run

            return getattr(run, name)
        raise AttributeError(f"module 'importer' has no attribute {name!r}")
