"""Shared vocabulary: row statuses, exit codes, result columns and row problems; no I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class RowStatus(StrEnum):
    VALID = "valid"
    INVALID = "invalid"
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # the destination accepted this row before, with the same payload
    REJECTED = "rejected"
    FAILED = "failed"
    PENDING = "pending"


ACCEPTED = frozenset({RowStatus.CREATED, RowStatus.UPDATED})  # the API took the row
# Rows the destination has as they are: nothing left to send (an accepted row, or one the
# ledger shows it accepted before with the same payload).
DONE = ACCEPTED | {RowStatus.UNCHANGED}


class ExitCode(IntEnum):
    OK = 0
    RUN_STOPPED = 1
    USAGE = 2
    BAD_INPUT = 3
    ROWS_NOT_ACCEPTED = 4
    INTERRUPTED = 130


# The columns appended to every source row in the results workbook, in this order.
RESULT_COLUMNS = (
    "import_status",
    "import_message",
    "import_warnings",
    "import_record_id",
    "import_lead_id",
    "import_http_status",
    "import_attempts",
    "import_at",
)


@dataclass(frozen=True)
class Problem:
    """One finding about one row: an error makes the row invalid, a warning only annotates it.

    `row` is the spreadsheet row number as Excel shows it (header row = 1 by default).
    `field` is the lead field (`zip`, `appointment.date_time`, `survey_data.files[0].data`).
    `message` is the full human text, starting with the field: `zip: "ABCDE" is not 5 digits`.
    """

    row: int
    field: str
    code: str
    message: str
    is_error: bool = True

    @classmethod
    def error(cls, row: int, field: object, code: str, what: str) -> Problem:
        """An error on `row`: the message is "<field>: <what>"."""
        return cls(int(row), str(field), code, f"{field}: {what}")

    @classmethod
    def warning(cls, row: int, field: object, code: str, what: str) -> Problem:
        """A warning on `row`: the message is "<field>: <what>"."""
        return cls(int(row), str(field), code, f"{field}: {what}", is_error=False)
