"""What a run did (the report) and what it tells its caller while it works (progress).

The library returns a `Report`; the CLI prints it and exits with `report.exit_code`. A
caller follows a run by passing any object with some of `Progress`'s methods.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from importer.models import DONE, ExitCode, RowStatus
from importer.results.summary import ProblemGroup
from importer.run.destination import Destination

NOT_ACCEPTED = frozenset(
    {RowStatus.INVALID, RowStatus.REJECTED, RowStatus.FAILED, RowStatus.PENDING}
)


class StopReason(StrEnum):
    """Why a run ended before every row was attempted."""

    INTERRUPTED = "interrupted"  # Ctrl-C, or progress.should_stop()
    KEY_REFUSED = "api key refused"
    API_DOWN = "API unreachable or broken"
    JOURNAL = "journal could not be written"
    PHOTO = "a photo could not be read"


@dataclass
class LedgerUse:
    """What the ledger did for a run: which file, which destination, what it spared."""

    path: Path | None  # None: no ledger (ledger=False)
    destination: str = ""  # the label of the destination looked up
    unchanged: int = 0  # valid rows not sent: the destination has them (dry run: would not)
    updates: int = 0  # rows that update a lead sent before (their payload changed)
    note: str = ""  # why the ledger was not consulted, or how
    consulted: bool = False  # the destination's entries were read
    warnings: list[str] = field(default_factory=list)
    hint: str = ""

    def warn(self, error: Any, consequence: str) -> None:
        """A ledger failure (a LedgerError) and what it means for this run."""
        self.warnings.append(f"{error.message}; {consequence}")
        self.hint = self.hint or (error.hint or "")

    def prediction(self, to: str = "") -> str:
        """What a send (`to` a destination, when named) would do, as a dry run tells it."""
        note = f" ({self.note})" if self.note else ""
        send = f"a send to {to}" if to else "a send"
        return (
            f"{send} would skip {self.unchanged} unchanged rows and update "
            f"{leads_text(self.updates)} sent before{note}"
        )

    def summary_line(self, *, dry_run: bool = False, resend: bool = False) -> str:
        """What the Summary sheet says the ledger did."""
        where = f"{self.path}: " if self.path else ""
        if self.warnings:
            return where + "; ".join(self.warnings)
        if self.note and not self.consulted:
            return self.note
        if resend:
            return f"{where}--resend: every valid row sent, whatever the ledger knew"
        if dry_run:
            return where + self.prediction()
        return (
            f"{where}{self.unchanged} rows unchanged at this destination were not sent; "
            f"{self.updates} rows updated leads sent before"
        )


@dataclass(frozen=True)
class RunPlan:
    """What a run is about to do, given to `progress.starting` before anything is sent."""

    command: str
    destination: Destination | None
    rows: int  # source rows
    invalid: int  # rows that fail validation (never sent)
    to_send: int  # rows this run will post
    accepted_before: int = 0  # rows already accepted here (a resumed run, or retry's done rows)
    accepted_at: str = ""  # when the last of them was accepted (resuming)
    retry_due: int = 0  # retry: rows not accepted yet, valid or not
    added: tuple[int, ...] = ()  # retry: rows typed in by hand (never sent)
    deleted: tuple[str, ...] = ()  # retry: record ids of rows deleted by hand
    destination_note: str = ""  # retry: where the destination came from
    unchanged: int = 0  # valid rows not sent: the destination has them (see the ledger)
    ledger: LedgerUse | None = None


@dataclass
class Report:
    """What a finished or stopped run did.

    `results` holds every source row (source columns, then the import_* columns);
    `counts` the rows per status; `exit_code` what the CLI exits with.
    """

    command: str
    out: Path
    results: pd.DataFrame
    problems: list[ProblemGroup]
    destination: Destination | None = None
    stopped: StopReason | None = None
    stop_message: str = ""
    plan: RunPlan | None = None
    mapping_warnings: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # about the source (how it was read)
    ledger: LedgerUse | None = None

    @property
    def counts(self) -> dict[str, int]:
        # Over a list: iterating a pandas string column boxes each cell (a second per 1M rows).
        return dict(Counter(self.results["import_status"].tolist()))

    @property
    def rows(self) -> int:
        return len(self.results)

    @property
    def interrupted(self) -> bool:
        return self.stopped is StopReason.INTERRUPTED

    @property
    def accepted(self) -> int:
        """Rows the destination has: accepted now or before, or unchanged since."""
        return sum(n for status, n in self.counts.items() if status in DONE)

    @property
    def top_problems(self) -> list[ProblemGroup]:
        """The most common errors and rejections, most frequent first (at most five)."""
        return [group for group in self.problems if group.is_error][:5]

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.stopped is not None:
            return ExitCode.RUN_STOPPED
        if any(self.counts.get(str(status), 0) for status in NOT_ACCEPTED):
            return ExitCode.ROWS_NOT_ACCEPTED
        return ExitCode.OK


@dataclass(frozen=True)
class HeldBack:
    """A sequential send the API's answer time holds below its rate limit."""

    answer_seconds: float  # typical time from a request's start to its answer
    rate: float  # rows a minute one request at a time reaches
    limit: int  # --rate-limit
    concurrency: int  # what would reach the limit
    would_reach: float  # rows a minute with that concurrency (under the limit)

    def describe(self) -> str:
        return (
            f"held back by slow answers ({self.answer_seconds:.1f} s each): "
            f"{self.rate:.0f}/min of {self.limit}/min; --concurrency {self.concurrency} "
            f"would reach about {self.would_reach:.0f}/min"
        )


class Progress:
    """Callbacks a run makes while it works; override any (each is optional).

    Any object will do: a run calls only the methods it has. Calls come from the thread
    that runs `send` / `retry`.
    """

    def starting(self, plan: RunPlan) -> bool:
        """Before anything is sent; return False to cancel (nothing is sent, OUT unchanged)."""
        return True

    def row_done(self, row: int, status: RowStatus | None) -> None:
        """A row's outcome was journaled (None: accepted in an earlier run, when resuming;
        UNCHANGED: not sent, the destination has it, called before anything is sent)."""

    def waiting(self, reason: str, seconds: float) -> None:
        """The run waits a second or more: the rate limit, a retry-after, a backoff."""

    def should_stop(self) -> bool:
        """Asked before each row: True stops the run there (rows not sent stay pending)."""
        return False

    def held_back(self, advice: HeldBack) -> None:
        """One request at a time is held back by slow answers (below 80% of the rate
        limit): how much, and what `concurrency` would reach instead."""

    def writing(self, out: Path) -> None:
        """The results file is being written (nothing is sent any more)."""


class Callbacks:
    """A caller's progress object with every callback present (the missing ones do nothing)."""

    def __init__(self, progress: Any = None) -> None:
        fallback = Progress()
        for name in ("starting", "row_done", "waiting", "should_stop", "held_back", "writing"):
            setattr(self, name, getattr(progress, name, None) or getattr(fallback, name))

    starting: Any
    row_done: Any
    waiting: Any
    should_stop: Any
    held_back: Any
    writing: Any


def leads_text(count: int) -> str:
    """ "1 lead", "2 leads"."""
    return f"{count} lead" if count == 1 else f"{count} leads"
