"""Run-level exceptions with a user-facing message and hint; row problems are data, not these."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importer.run.report import Report


class ImporterError(Exception):
    """A problem that stops the run. `message` is one line in the user's coordinates."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadInputError(ImporterError):
    """The sheet or the mapping cannot be used; nothing was sent (exit 3)."""

    exit_code = 3


class SheetError(BadInputError):
    """The source file is missing, unreadable, empty or malformed."""


class MappingError(BadInputError):
    """The mapping YAML is malformed or does not fit the sheet."""


class ResultsError(BadInputError):
    """A results workbook given to `retry` was not written by this tool or was damaged."""


class RunError(ImporterError):
    """The run stopped part-way for a runtime reason (exit 1).

    `report` describes what the run did before it stopped, once its results file is
    written (None when it stopped before there was anything to write).
    """

    exit_code = 1
    report: Report | None = None


class ApiKeyError(RunError):
    """The API refused the key (401/403): nothing more can succeed."""


class ApiDownError(RunError):
    """Too many consecutive failures: the API is unreachable or broken.

    `outcome` is the failed outcome of the row that tipped it, for the journal.
    """

    outcome: Any = None


class OutputError(RunError):
    """The results file (or the folder for it) could not be written."""


class JournalError(RunError):
    """A row's outcome could not be recorded in the journal (disk full, permissions)."""


class UsageError(ImporterError):
    """Options that do not fit together (exit 2)."""

    exit_code = 2
