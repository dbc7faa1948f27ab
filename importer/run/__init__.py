"""Runs: validate, send and retry from start to finish, each owning its lifecycle."""

from importer.run.api import retry, send, validate
from importer.run.report import Progress, Report, RunPlan, StopReason

__all__ = ["Progress", "Report", "RunPlan", "StopReason", "retry", "send", "validate"]
