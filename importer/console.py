"""How the CLI talks to a person: progress, Ctrl-C, the question before a large send, and
the summary. Only cli.py imports it; the library never prints.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from importer.masking import mask_secret
from importer.models import ACCEPTED, RowStatus

PROG = "enerflo-import"
CONFIRM_ABOVE_ROWS = 100
# Off a terminal (cron, CI, a log file): one progress line this often.
LINE_EVERY_SECONDS = float(os.environ.get("ENERFLO_IMPORT_PROGRESS_SECONDS") or 10)


@dataclass
class Console:
    """What this invocation shows: --quiet, --json, --traceback; and the api key to mask."""

    quiet: bool = False
    as_json: bool = False
    traceback: bool = False
    secret: str = ""

    @property
    def chatty(self) -> bool:
        return not self.quiet and not self.as_json

    def say(self, text: str) -> None:
        if self.chatty:
            click.echo(self.mask(text))

    def warn(self, text: str) -> None:
        if not self.quiet:
            click.echo(self.mask(f"warning: {text}"), err=True)

    def note(self, text: str) -> None:
        """A line about the run (stderr, so stdout stays the summary)."""
        if self.chatty:
            click.echo(self.mask(text), err=True)

    def mask(self, text: str) -> str:
        return mask_secret(text, self.secret)

    def fail(self, message: str, hint: str | None, code: int) -> None:
        """The one error line (and hint), or the JSON object with --json."""
        if self.as_json:
            payload = {
                "error": self.mask(message),
                "hint": self.mask(hint or ""),
                "exit_code": code,
            }
            click.echo(json.dumps(payload))
        click.echo(f"{PROG}: error: {self.mask(message)}", err=True)
        if hint:
            click.echo(f"hint: {self.mask(hint)}", err=True)


class CliProgress:
    """The library's progress callbacks for a person: a tqdm bar on a terminal, a plain line
    every 10 s elsewhere; Ctrl-C (and SIGTERM) stop between rows.

    The first Ctrl-C asks the run to stop after the current row. A second one stops the
    row in flight (it stays pending and is an upsert when sent again). Any more, and any
    while the results file is written, are ignored: the results file is always written.
    """

    def __init__(
        self, console: Console, *, confirm_large: bool, interactive: bool, rate_limit: int = 0
    ) -> None:
        self.console = console
        self.confirm_large = confirm_large
        self.interactive = interactive
        self.rate_limit = rate_limit
        self.bar: Any = None
        self.counts = {"ok": 0, RowStatus.INVALID: 0, RowStatus.REJECTED: 0, RowStatus.FAILED: 0}
        self.total = 0
        self.done = 0
        self.skipped = 0  # rows done without a request (resumed, unchanged): not in the rate
        self.started_at = time.monotonic()
        self.last_line = self.started_at
        self._stop_asked = False
        self._interrupted = False
        self._writing = False
        self.advice = ""  # held back by slow answers: what --concurrency would reach

    # -- the library's callbacks ----------------------------------------------------------

    def starting(self, plan: Any) -> bool:
        self.counts[RowStatus.INVALID] = plan.invalid
        self.total = plan.to_send + plan.accepted_before + plan.unchanged
        self._describe(plan)
        if not self._confirmed(plan):
            return False
        if self.console.chatty and sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="row", file=sys.stderr, dynamic_ncols=True)
        return True

    def row_done(self, row: int, status: RowStatus | None) -> None:
        if status is None or status is RowStatus.UNCHANGED:
            self.skipped += 1
        if status is not None and status not in ACCEPTED:
            self.counts[status] = self.counts.get(status, 0) + 1
        else:
            self.counts["ok"] += 1
        self.done += 1
        if self.bar is not None:
            self.bar.set_description_str("")
            self.bar.set_postfix(self.counts, refresh=False)
            self.bar.update(1)
        elif self.console.chatty and time.monotonic() - self.last_line >= LINE_EVERY_SECONDS:
            self._line()

    def waiting(self, reason: str, seconds: float) -> None:
        if self.bar is not None:
            self.bar.set_description_str(f"waiting {seconds:.0f} s ({reason})")

    def should_stop(self) -> bool:
        return self._stop_asked

    def held_back(self, advice: Any) -> None:
        self.advice = advice.describe()
        if self.bar is not None:
            self.bar.write(f"note: {self.advice}", file=sys.stderr)
        else:
            self.console.note(f"note: {self.advice}")

    def writing(self, out: Path) -> None:
        self._writing = True
        self.close()

    # -- the terminal --------------------------------------------------------------------

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _describe(self, plan: Any) -> None:
        console = self.console
        if plan.command == "retry":
            if plan.destination is not None:
                console.note(f"retrying at {plan.destination.label} ({plan.destination_note})")
            added = f"; {len(plan.added)} rows added by hand are not sent" if plan.added else ""
            console.say(
                f"{plan.retry_due} rows not accepted yet; {plan.to_send} pass validation "
                f"and will be sent{added}"
            )
            if plan.deleted:
                shown = ", ".join(plan.deleted[:10]) + (", ..." if len(plan.deleted) > 10 else "")
                console.warn(
                    f"{len(plan.deleted)} rows were deleted from the results file since it "
                    f"was written ({shown}); they are not in the new results"
                )
        elif plan.accepted_before:
            when = f" on {plan.accepted_at}" if plan.accepted_at else ""
            console.note(
                f"resuming: {plan.accepted_before} rows already accepted at "
                f"{plan.destination.label}{when}; {plan.to_send} to send"
            )
        _describe_ledger(console, plan)

    def _confirmed(self, plan: Any) -> bool:
        destination = plan.destination
        large = plan.to_send > CONFIRM_ABOVE_ROWS
        if not (self.confirm_large and large and self.interactive) or destination.is_sandbox:
            return True
        minutes = "as fast as the API answers"
        if self.rate_limit:
            rate = self.rate_limit
            minutes = f"about {math.ceil(plan.to_send / rate)} min at {rate}/min"
        try:
            return click.confirm(
                f"send up to {plan.to_send} rows to {destination.label} ({minutes})?"
            )
        except click.Abort:  # Ctrl-C or Ctrl-D at the prompt
            return False

    def _line(self) -> None:
        self.last_line = now = time.monotonic()
        elapsed = max(now - self.started_at, 1e-9)
        rate = (self.done - self.skipped) / elapsed * 60
        left = max(self.total - self.done, 0)
        eta = f", ETA {left / (rate / 60):.0f} s" if rate > 0 else ""
        failed = self.counts[RowStatus.REJECTED] + self.counts[RowStatus.FAILED]
        advice = f"; {self.advice}" if self.advice else ""
        self.console.note(
            f"progress: {self.done}/{self.total} rows ({self.counts['ok']} ok, {failed} failed), "
            f"{rate:.0f}/min{eta}{advice}"
        )

    # -- signals ---------------------------------------------------------------------------

    @contextmanager
    def signals(self) -> Iterator[None]:
        """Ctrl-C and SIGTERM handled as described above while the run works."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.close()

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._writing or self._interrupted:
            click.echo(
                f"\n{PROG}: writing the results file; it will be complete in a moment", err=True
            )
            return
        if not self._stop_asked:
            self._stop_asked = True
            click.echo(
                f"\n{PROG}: stopping after the current row (Ctrl-C again to stop now)", err=True
            )
            return
        self._interrupted = True
        raise KeyboardInterrupt


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _describe_ledger(console: Console, plan: Any) -> None:
    """Before sending: the rows the destination already has, or a ledger that failed."""
    ledger = plan.ledger
    if ledger is None:
        return
    if ledger.warnings:
        console.note("ledger: cannot be used (see the warning at the end); every valid row is sent")
    elif plan.unchanged:
        from importer.run.ledger import Place  # here: the CLI starts without pandas

        local = Place.of(plan.destination).is_local
        local_hint = " (a local sandbox: if it was restarted, use --resend)" if local else ""
        console.note(
            f"ledger: {plan.unchanged} rows unchanged since an earlier import to "
            f"{plan.destination.label}: not sent (--resend sends them){local_hint}"
        )


def print_report(console: Console, report: Any, error: Any = None) -> None:
    """The summary: counts, the most common problems by kind, where the results are."""
    counts = {status: n for status, n in sorted(report.counts.items()) if n}
    if console.as_json:
        payload = {
            "command": report.command,
            "out": str(report.out),
            "rows": report.rows,
            "counts": counts,
            "top_problems": [{"problem": g.kind, "rows": g.rows} for g in report.top_problems],
            "destination": report.destination.label if report.destination else None,
            "warnings": list(report.warnings),
            "ledger": _ledger_json(report.ledger),
            "stopped": str(report.stopped) if report.stopped else None,
            "error": error.message if error is not None else None,
            "hint": (error.hint or "") if error is not None else None,
            "exit_code": int(error.exit_code if error is not None else report.exit_code),
        }
        click.echo(console.mask(json.dumps(payload)))
        return
    if console.quiet:
        return
    for warning in [*report.mapping_warnings, *report.warnings]:
        console.warn(warning)
    parts = ", ".join(f"{n} {status}" for status, n in counts.items())
    console.say(f"{report.rows} rows: {parts}")
    if report.top_problems:
        console.say(
            "top problems: " + "; ".join(f"{g.kind} ({g.rows})" for g in report.top_problems)
        )
    _print_ledger(console, report)
    if report.stopped is not None and not report.interrupted and error is None:
        console.say(f"stopped: {report.stopped}")
    if report.destination is not None and report.destination.is_sandbox:
        console.say("rehearsal: rows went to the embedded sandbox; nothing reached Enerflo")
    console.say(f"results: {report.out}")


def _print_ledger(console: Console, report: Any) -> None:
    ledger = report.ledger
    if ledger is None:
        return
    for warning in ledger.warnings:
        console.warn(f"ledger: {warning}")
    if ledger.warnings and ledger.hint:
        console.note(f"hint: {ledger.hint}")
    if report.command != "validate" or ledger.warnings:
        return
    if not ledger.consulted:
        console.say(f"ledger: {ledger.note or 'not consulted'}")
    else:
        console.say(f"ledger: {ledger.prediction(to=ledger.destination)}")


def _ledger_json(ledger: Any) -> dict[str, Any] | None:
    if ledger is None:
        return None
    return {
        "path": str(ledger.path) if ledger.path else None,
        "destination": ledger.destination,
        "unchanged": ledger.unchanged,
        "updates": ledger.updates,
        "note": ledger.note,
        "warnings": list(ledger.warnings),
    }


def print_ledger(
    console: Console, path: Path, contents: list[Any], file_name: str | None = None
) -> None:
    """`enerflo-import ledger`: per destination, its leads per file and when."""
    shown = []
    for entry in contents:
        files = [f for f in entry.files if file_name is None or f.file == file_name]
        if files:
            shown.append((entry.place, files))
    if console.as_json:
        destinations = [
            {
                "destination": place.endpoint,
                "key_fingerprint": place.key_fingerprint,
                "leads": sum(f.leads for f in files),
                "files": [
                    {"file": f.file, "leads": f.leads, "first_at": f.first_at, "last_at": f.last_at}
                    for f in files
                ],
            }
            for place, files in shown
        ]
        payload = {"command": "ledger", "ledger": str(path), "destinations": destinations}
        click.echo(json.dumps({**payload, "exit_code": 0}))
        return
    console.say(f"ledger: {path}")
    if not shown:
        console.say("  no leads recorded" + (" for that" if contents or file_name else " yet"))
    for place, files in shown:
        total = sum(f.leads for f in files)
        console.say(f"{place.endpoint} (api key {place.key_fingerprint}): {total} leads")
        for f in files:
            console.say(f"  {f.file}: {f.leads} leads, {_span(f.first_at, f.last_at)}")


def _span(first: str, last: str) -> str:
    def shown(at: str) -> str:
        return at.replace("T", " ")[:16]

    if shown(first) == shown(last):
        return f"sent {shown(first)} UTC"
    return f"sent {shown(first)} to {shown(last)} UTC"


def print_forgotten(console: Console, path: Path, forgotten: list[Any]) -> None:
    """`enerflo-import ledger forget`: how many leads each destination lost."""
    if console.as_json:
        rows = [
            {"destination": place.endpoint, "key_fingerprint": place.key_fingerprint, "leads": n}
            for place, n in forgotten
        ]
        payload = {"command": "ledger forget", "ledger": str(path), "forgot": rows}
        click.echo(json.dumps({**payload, "exit_code": 0}))
        return
    for place, count in forgotten:
        console.say(
            f"forgot {count} leads of {place.endpoint} (api key {place.key_fingerprint}); "
            "a send or retry that has them sends them again"
        )


def interactive() -> bool:
    """Someone at a terminal who can answer a question (not a script or a pipe)."""
    return sys.stdin.isatty()
