"""The command line: parse flags, show progress, print summaries, pick the exit code; no logic."""

from __future__ import annotations

import functools
import io
import json
import math
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from importer import __version__
from importer.errors import ImporterError, RunError, UsageError
from importer.masking import mask_secret
from importer.models import ExitCode

if TYPE_CHECKING:
    from importer.run.pipeline import RunReport
    from importer.sending.sender import LeadSender, SendOutcome

PROG = "enerflo-import"
DEFAULT_BASE_URL = "https://enerflo.io"
CONFIRM_ABOVE_ROWS = 100
NOT_ACCEPTED = ("invalid", "rejected", "failed", "pending")


class WaitNotice:
    """Shows the sender's long waits (rate limit, retry-after, backoff) on the progress bar."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, reason: str, seconds: float) -> None:
        if self.bar is not None and not self.bar.disable:
            self.bar.set_description_str(f"waiting {seconds:.0f} s ({reason})")


@dataclass
class Output:
    """How this invocation talks to the user: --quiet, --json, --traceback."""

    quiet: bool = False
    as_json: bool = False
    traceback: bool = False

    @property
    def progress(self) -> bool:
        return not self.quiet and not self.as_json and sys.stderr.isatty()

    def say(self, text: str) -> None:
        if not self.quiet and not self.as_json:
            click.echo(text)


def _secret_free(text: str) -> str:
    return mask_secret(text, os.environ.get("ENERFLO_API_KEY", "").strip())


def fail(message: str, hint: str | None, code: int) -> NoReturn:
    click.echo(f"{PROG}: error: {_secret_free(message)}", err=True)
    if hint:
        click.echo(f"hint: {_secret_free(hint)}", err=True)
    sys.exit(code)


def common_options(command: Callable[..., int]) -> Callable[..., None]:
    """--quiet/--json/--traceback on every command, and the one error funnel."""

    @click.option(
        "--quiet", "-q", is_flag=True, help="No progress bar and no summary; errors only."
    )
    @click.option(
        "--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout."
    )
    @click.option("--traceback", is_flag=True, help="Show the Python traceback of an error.")
    @functools.wraps(command)
    def wrapper(quiet: bool, as_json: bool, traceback: bool, **kwargs: Any) -> None:
        out = Output(quiet=quiet, as_json=as_json, traceback=traceback)
        try:
            code = command(out, **kwargs)
        except ImporterError as exc:
            if traceback:
                raise
            report = exc.report
            if report is not None:
                _print_report(out, report, exc.message)
            fail(exc.message, exc.hint, exc.exit_code)
        except KeyboardInterrupt:
            click.echo(f"{PROG}: interrupted", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except Exception as exc:  # the funnel: nothing reaches the user as a traceback
            if traceback:
                raise
            fail(
                f"internal error: {type(exc).__name__}: {exc}",
                "this is a bug in enerflo-import; rerun with --traceback and report it",
                ExitCode.RUN_STOPPED,
            )
        sys.exit(code)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name=PROG, message="%(prog)s %(version)s")
def main() -> None:
    """Import marketing lead sheets (CSV, XLSX, XLS, ODS) into Enerflo, safely.

    Start with a dry run (validate), then send. Every row comes back in an annotated
    copy of the sheet (out/<name>.results.xlsx) with its own status.
    """
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 must still print
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")


source_arg = click.argument("source", type=click.Path(path_type=Path, dir_okay=True))
mapping_opt = click.option(
    "-m",
    "--mapping",
    "mapping_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Column-mapping YAML (see mappings/sample.yaml).",
)
out_opt = click.option(
    "-o",
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    help="Results file (.xlsx or .csv). Default: out/<source name>.results.xlsx.",
)
sheet_opt = click.option("--sheet", help="Sheet to read (default: the mapping's, else the first).")


def sending_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where and how fast to send: shared by `send` and `retry`."""
    for option in reversed(
        [
            click.option(
                "--sandbox",
                is_flag=True,
                help="Send to an embedded local sandbox (no credentials).",
            ),
            click.option("--base-url", help=f"Enerflo base URL (default {DEFAULT_BASE_URL})."),
            click.option(
                "--partner",
                default="partner",
                show_default=True,
                help="Partner name in the API path.",
            ),
            click.option(
                "--rate-limit",
                type=click.IntRange(min=0),
                default=300,
                show_default=True,
                help="Requests per minute to stay under (0: no pacing).",
            ),
            click.option("--yes", "-y", is_flag=True, help="Do not ask before a large send."),
        ]
    ):
        command = option(command)
    return command


files_dir_opt = click.option(
    "--files-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder that survey photo paths are relative to (default: the sheet's folder).",
)


@main.command()
@source_arg
@mapping_opt
@out_opt
@sheet_opt
@files_dir_opt
@common_options
def validate(
    out: Output,
    source: Path,
    mapping_path: Path,
    out_path: Path | None = None,
    sheet: str | None = None,
    files_dir: Path | None = None,
) -> int:
    """Dry run: read, map and check every row; write the results file; send nothing."""
    from importer.run import pipeline

    started = pipeline.utc_now()
    prepared = pipeline.load_and_prepare(source, mapping_path, sheet, files_dir)
    target = out_path or pipeline.default_out(source)
    pipeline.check_out(Path(target), source, len(prepared.leads))
    report = pipeline.validate_sheet(prepared, Path(target), started)
    _print_report(out, report)
    return _exit_code(report)


@main.command()
@source_arg
@mapping_opt
@out_opt
@sheet_opt
@files_dir_opt
@sending_options
@click.option("--limit", type=click.IntRange(min=1), help="Send only the first N valid rows due.")
@click.option("--fresh", is_flag=True, help="Ignore the journal of an earlier run and start over.")
@common_options
def send(out: Output, source: Path, mapping_path: Path, **opts: Any) -> int:
    """Validate, then post every valid row to Enerflo; resumable, paced, retried.

    The api key is read from the ENERFLO_API_KEY environment variable, never from the
    command line. Re-running the same command resumes: rows already created or updated
    are not sent again.
    """
    from importer.run import pipeline

    started = pipeline.utc_now()
    prepared = pipeline.load_and_prepare(source, mapping_path, opts["sheet"], opts["files_dir"])
    target = Path(opts["out_path"] or pipeline.default_out(source))
    pipeline.check_out(target, source, len(prepared.leads))
    with _sending(out, opts, len(prepared.valid_rows), len(prepared.invalid)) as (
        sender,
        on_progress,
        should_stop,
    ):
        journal = pipeline.open_journal(prepared, target, opts["fresh"])
        report = pipeline.send_prepared(
            prepared,
            sender,
            journal,
            target,
            started,
            limit=opts["limit"],
            should_stop=should_stop,
            on_progress=on_progress,
        )
    _print_report(out, report)
    return _exit_code(report)


@main.command()
@click.argument("results_path", metavar="RESULTS", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    help="Write here instead of in place.",
)
@click.option(
    "-m",
    "--mapping",
    "mapping_path",
    type=click.Path(path_type=Path),
    help="Mapping YAML (required for a CSV results file).",
)
@files_dir_opt
@sending_options
@click.option("--fresh", is_flag=True, help="Ignore the journal of an interrupted retry.")
@common_options
def retry(out: Output, results_path: Path, **opts: Any) -> int:
    """Re-validate and re-send the rows of a results file that are not accepted yet.

    Fix cells in the results workbook itself, save it, and run retry on it: rows already
    created or updated are never sent again; the file is updated in place (or -o).
    """
    from importer.run import pipeline, retrying

    started = pipeline.utc_now()
    plan = retrying.plan_retry(results_path, opts["mapping_path"], opts["files_dir"])
    target = Path(opts["out_path"] or results_path)
    pipeline.check_out(target, None, len(plan.prepared.leads))
    out.say(
        f"{plan.due} rows not accepted yet; {len(plan.rows)} pass validation and will be sent"
        + (f"; {len(plan.added)} rows added by hand are not sent" if plan.added else "")
    )
    if plan.deleted:
        shown = ", ".join(plan.deleted[:10]) + (", ..." if len(plan.deleted) > 10 else "")
        click.echo(
            f"warning: {len(plan.deleted)} rows were deleted from {results_path} since it was "
            f"written ({shown}); they are not in the new results",
            err=True,
        )
    with _sending(out, opts, len(plan.rows)) as (sender, on_progress, should_stop):
        report = retrying.run_retry(
            plan,
            sender,
            target,
            started,
            fresh=opts["fresh"],
            should_stop=should_stop,
            on_progress=on_progress,
        )
    _print_report(out, report)
    return _exit_code(report)


@main.command("suggest-mapping")
@source_arg
@click.option(
    "-o",
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    help="Write the mapping here (default: stdout).",
)
@sheet_opt
@click.option("--header-row", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing mapping file.")
@common_options
def suggest_mapping(
    out: Output,
    source: Path,
    out_path: Path | None = None,
    sheet: str | None = None,
    header_row: int = 1,
    force: bool = False,
) -> int:
    """Write a starting mapping from the sheet's headers and contents, for you to review."""
    from importer.mapping.suggest import suggest_mapping as suggest
    from importer.mapping.suggest import write_suggestion
    from importer.reading.sheet import read_sheet

    target = out_path
    data = read_sheet(source, sheet, header_row)
    text = suggest(
        data.columns,
        data.frame,
        sheet_name=data.sheet_name,
        header_row=header_row,
        source_name=source.name,
    )
    if target is None:
        click.echo(text, nl=False)
        return ExitCode.OK
    write_suggestion(text, Path(target), force=force)
    if out.as_json:
        click.echo(json.dumps({"command": "suggest-mapping", "out": str(target)}))
    out.say(f"wrote {target}: review it, then run: {PROG} validate {source} -m {target}")
    return ExitCode.OK


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SQLite file that keeps leads across restarts (default: in memory).",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    help="Accepted api key; repeat for several companies (default: the API page's sample key).",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=0),
    default=300,
    show_default=True,
    help="Requests per minute per key before HTTP 429 (0: no limit).",
)
@click.option(
    "--latency-ms",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Delay added to every API answer.",
)
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of API requests that fail (5xx, early 429, reset, non-JSON, lost answer).",
)
@click.option(
    "--fault-seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed for the fault generator: the same seed gives the same faults.",
)
@click.option(
    "--fault-kind",
    "fault_kinds",
    multiple=True,
    help="Only inject this fault (repeatable): 500, 502, 503, 504, 429, reset, not_json, lost.",
)
@common_options
def sandbox(out: Output, **opts: Any) -> int:
    """Run a local Enerflo-compatible Leads API to rehearse against (Ctrl-C stops it).

    Inspect what it received at /_sandbox/leads and /_sandbox/requests.
    """
    from importer.sandbox import SandboxConfig, SandboxError, serve

    defaults = SandboxConfig()
    keys = tuple(opts.pop("api_keys")) or defaults.api_keys
    kinds = tuple(opts.pop("fault_kinds")) or defaults.fault_kinds
    db = opts.pop("db")
    config = SandboxConfig(api_keys=keys, fault_kinds=kinds, db=str(db) if db else None, **opts)

    def ready(box: Any) -> None:
        out.say(f"sandbox listening on {box.base_url} (Ctrl-C to stop)")
        out.say(f"  endpoint: {box.base_url}/api/v1/partner/action/lead/add")
        out.say(f"  inspect:  {box.base_url}/_sandbox/leads and /_sandbox/requests")

    try:
        config.check()
        serve(config, on_ready=ready)
    except SandboxError as exc:
        raise RunError(
            f"sandbox: {exc}", hint="choose another --port, or check the options"
        ) from exc
    out.say("sandbox stopped")
    return ExitCode.OK


@contextmanager
def _sending(
    out: Output, opts: dict[str, Any], rows: int, invalid: int = 0
) -> Iterator[tuple[LeadSender, Callable[[int, SendOutcome | None], None], Callable[[], bool]]]:
    """The sender, after asking before a large real send, with its progress bar and Ctrl-C."""
    notice = WaitNotice()
    with _sender(opts, notice) as sender:
        _confirm(out, opts, rows, sender.endpoint)
        with _progress(out, rows, notice, invalid) as (on_progress, should_stop):
            sender.should_stop = should_stop  # a first Ctrl-C also ends retry waits
            yield sender, on_progress, should_stop


@contextmanager
def _sender(opts: dict[str, Any], notice: WaitNotice) -> Iterator[LeadSender]:
    """A LeadSender for --sandbox (embedded server) or the real API (key from the environment)."""
    from importer.sending.sender import LeadSender, SenderConfig

    if opts["sandbox"] and opts.get("base_url"):
        raise UsageError("--sandbox and --base-url cannot be used together")
    if opts["sandbox"]:
        from importer.sandbox import running_sandbox

        with running_sandbox(port=0) as box:
            config = SenderConfig(box.base_url, opts["partner"], box.api_key, opts["rate_limit"])
            sender = LeadSender(config, on_wait=notice)
            try:
                yield sender
            finally:
                sender.close()
        return
    key = os.environ.get("ENERFLO_API_KEY", "").strip()
    if not key:
        raise UsageError(
            "no api key: ENERFLO_API_KEY is not set",
            hint="export ENERFLO_API_KEY=<your key>, or rehearse with --sandbox",
        )
    base = opts.get("base_url") or DEFAULT_BASE_URL
    sender = LeadSender(
        SenderConfig(base, opts["partner"], key, opts["rate_limit"]), on_wait=notice
    )
    try:
        yield sender
    finally:
        sender.close()


def _interactive() -> bool:
    """Someone at a terminal who can answer a question (not a script or a pipe)."""
    return sys.stdin.isatty()


def _confirm(out: Output, opts: dict[str, Any], rows: int, endpoint: str) -> None:
    if opts["sandbox"] or opts["yes"] or rows <= CONFIRM_ABOVE_ROWS or not _interactive():
        return
    rate = opts["rate_limit"] or 0
    minutes = f"about {math.ceil(rows / rate)} min" if rate else "as fast as the API answers"
    try:
        go = click.confirm(f"send up to {rows} rows to {endpoint} ({minutes} at {rate}/min)?")
    except click.Abort:  # Ctrl-C or Ctrl-D at the prompt
        go = False
    if not go:
        raise UsageError("cancelled; nothing was sent")


@contextmanager
def _progress(
    out: Output, total: int, notice: WaitNotice, invalid: int = 0
) -> Iterator[tuple[Callable[[int, SendOutcome | None], None], Callable[[], bool]]]:
    """A tqdm bar on stderr fed by the pipeline, and a first Ctrl-C that stops between rows.

    Rows the journal already has as accepted count as done (outcome None) on resume.
    """
    from tqdm import tqdm

    stop = {"asked": False}

    def on_sigint(signum: int, frame: Any) -> None:
        if stop["asked"]:
            raise KeyboardInterrupt
        stop["asked"] = True
        click.echo(f"\n{PROG}: stopping after the current row (Ctrl-C again to abort)", err=True)

    previous = signal.signal(signal.SIGINT, on_sigint)
    counts = {"ok": 0, "invalid": invalid, "rejected": 0, "failed": 0}
    bar = tqdm(
        total=total, unit="row", file=sys.stderr, disable=not out.progress, dynamic_ncols=True
    )
    notice.bar = bar

    def on_progress(row: int, outcome: SendOutcome | None) -> None:
        bar.set_description_str("")
        if outcome is not None:
            status = str(outcome.status)
            key = "ok" if status in ("created", "updated") else status
            counts[key] = counts.get(key, 0) + 1
            bar.set_postfix(counts, refresh=False)
        bar.update(1)

    try:
        yield on_progress, lambda: stop["asked"]
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)


def _exit_code(report: RunReport) -> int:
    if report.interrupted:
        return ExitCode.INTERRUPTED
    if any(report.counts.get(status, 0) for status in NOT_ACCEPTED):
        return ExitCode.ROWS_NOT_ACCEPTED
    return ExitCode.OK


def _print_report(out: Output, report: RunReport, error: str | None = None) -> None:
    counts = {status: n for status, n in sorted(report.counts.items()) if n}
    if out.as_json:
        click.echo(
            _secret_free(
                json.dumps(
                    {
                        "out": str(report.out),
                        "rows": report.rows,
                        "counts": counts,
                        "top_problems": [{"problem": p, "rows": n} for p, n in report.top_problems],
                        "stopped": report.stopped,
                        "error": error,
                        "exit_code": int(_exit_code(report))
                        if error is None
                        else ExitCode.RUN_STOPPED,
                    }
                )
            )
        )
        return
    if out.quiet:
        return
    for warning in report.mapping_warnings:
        click.echo(f"warning: {warning}", err=True)
    parts = ", ".join(f"{n} {status}" for status, n in counts.items())
    click.echo(f"{report.rows} rows: {parts}")
    if report.top_problems:
        click.echo("top problems: " + "; ".join(f"{p} ({n})" for p, n in report.top_problems))
    if report.stopped and report.stopped != "interrupted" and error is None:
        click.echo(f"stopped: {report.stopped}")
    click.echo(f"results: {report.out}")
