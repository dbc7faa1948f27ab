"""The command line: parse flags, show progress, print summaries, pick the exit code; no logic.

Every command is a call into the library (`importer.run`); this module only turns flags
into arguments and a report into text and an exit code.
"""

from __future__ import annotations

import functools
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from importer import __version__
from importer.console import (
    PROG,
    CliProgress,
    Console,
    interactive,
    print_forgotten,
    print_ledger,
    print_report,
)
from importer.errors import ImporterError, RunError, UsageError
from importer.models import ExitCode
from importer.sandbox.command import sandbox_command

DEFAULT_BASE_URL = "https://enerflo.io"


def common_options(command: Callable[..., int]) -> Callable[..., None]:
    """--quiet/--json/--traceback on every command, and the one error funnel."""

    @click.option("--quiet", "-q", is_flag=True, help="No progress and no summary; errors only.")
    @click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON object on stdout (errors too)."
    )
    @click.option("--traceback", is_flag=True, help="Show the Python traceback of an error.")
    @functools.wraps(command)
    def wrapper(quiet: bool, as_json: bool, traceback: bool, **kwargs: Any) -> None:
        keep_freed_memory()
        secret = os.environ.get("ENERFLO_API_KEY", "").strip()
        console = Console(quiet=quiet, as_json=as_json, traceback=traceback, secret=secret)
        try:
            code = command(console, **kwargs)
        except ImporterError as exc:
            if traceback:
                raise
            report = exc.report if isinstance(exc, RunError) else None
            if report is not None:
                print_report(console, report, exc)
                if console.as_json:  # the report's JSON already carries the error
                    _exit_quietly(console, exc)
            console.fail(exc.message, exc.hint, exc.exit_code)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo(f"{PROG}: interrupted", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except Exception as exc:  # the funnel: nothing reaches the user as a traceback
            if traceback:
                raise
            console.fail(
                f"internal error: {type(exc).__name__}: {exc}",
                "this is a bug in enerflo-import; rerun with --traceback and report it",
                ExitCode.RUN_STOPPED,
            )
            sys.exit(ExitCode.RUN_STOPPED)
        sys.exit(code)

    return wrapper


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> None:
    """Have glibc keep the memory a command frees for its next allocations (Linux only).

    A run over a big sheet makes and drops many buffers of tens of MB (a column's text
    joined, arrays of 1M cells). By default glibc maps each anew and gives it back when
    freed, and every page of it is then a page fault the kernel zeroes: on a small VM,
    12.5 s of a 1M-row dry run instead of 10.4 (2.9 s of system time instead of 1.1).
    Compare `python benchmarks/run.py --only dry_heavy` with and without
    MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824 in the environment
    of a build without this call. The peak stays the same; the memory goes back to the
    system when the command ends. The library never does this to a caller's process: only
    the command line, which owns its process.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 256 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
    except (OSError, AttributeError):  # not glibc (musl, ...): its defaults stay
        return


def _exit_quietly(console: Console, exc: ImporterError) -> None:
    click.echo(f"{PROG}: error: {console.mask(exc.message)}", err=True)
    sys.exit(exc.exit_code)


class WorkflowGroup(click.Group):
    """Lists the commands in the order of a real import, not alphabetically."""

    ORDER = ("suggest-mapping", "validate", "send", "retry", "sandbox", "ledger")

    def list_commands(self, ctx: click.Context) -> list[str]:
        known = [name for name in self.ORDER if name in self.commands]
        return known + sorted(set(self.commands) - set(known))

    def main(self, args: Any = None, *more: Any, **options: Any) -> Any:
        """With --json, a usage error click itself reports (a bad option or value) is one
        JSON object on stdout too, like every other outcome."""
        argv = list(sys.argv[1:] if args is None else args)
        if "--json" not in argv or options.get("standalone_mode") is False:
            return super().main(args, *more, **options)
        try:
            return super().main(args, *more, **{**options, "standalone_mode": False})
        except click.ClickException as exc:
            if not getattr(exc, "as_json", False):  # the sandbox's errors print their own
                payload = {"error": exc.format_message(), "hint": "", "exit_code": exc.exit_code}
                click.echo(json.dumps(payload))
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo(json.dumps({"error": "aborted", "hint": "", "exit_code": 1}))
            sys.exit(1)


def example(*lines: str) -> str:
    """An --help epilog: `Example:` and the lines, kept as typed."""
    return "\b\nExample:\n" + "\n".join(f"  {line}" for line in lines)


@click.group(cls=WorkflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name=PROG, message="%(prog)s %(version)s")
def main() -> None:
    """Import marketing lead sheets (CSV, XLSX, XLS, ODS) into Enerflo, safely.

    Suggest a mapping, check it with a dry run (validate), rehearse against the sandbox
    (send --sandbox), send, then retry what failed. Every row comes back in an annotated
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
    help="Results file (.xlsx or .csv). Default: out/<source name>.results.xlsx "
    "(out/<source name>.sandbox.results.xlsx with --sandbox).",
)
sheet_opt = click.option("--sheet", help="Sheet to read (default: the mapping's, else the first).")
encoding_opt = click.option(
    "--encoding",
    help="Text encoding of a CSV source (e.g. iso-8859-2, shift_jis); default: UTF-8, "
    "else Windows-1252 with a warning.",
)
files_dir_opt = click.option(
    "--files-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder that survey photo paths are relative to (default: the sheet's folder).",
)


def ledger_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Which ledger to use: shared by `validate`, `send`, `retry` and `ledger`."""
    for option in reversed(
        [
            click.option(
                "--ledger",
                "ledger_path",
                type=click.Path(path_type=Path, dir_okay=False),
                help="The ledger file (default: ENERFLO_IMPORT_HOME/ledger.sqlite3, else "
                "the user's data folder, e.g. ~/.local/share/enerflo-import/).",
            ),
            click.option(
                "--no-ledger",
                is_flag=True,
                help="Neither consult nor update the ledger.",
            ),
        ]
    ):
        command = option(command)
    return command


def _ledger_arg(opts: dict[str, Any]) -> Path | bool | None:
    if opts.pop("no_ledger"):
        if opts["ledger_path"] is not None:
            raise UsageError("--ledger and --no-ledger cannot be used together")
        opts.pop("ledger_path")
        return False
    return opts.pop("ledger_path")


destination_options = [
    click.option(
        "--sandbox",
        is_flag=True,
        help="Send to an embedded local sandbox (a rehearsal; no credentials).",
    ),
    click.option(
        "--base-url",
        help=f"Enerflo base URL (default: ENERFLO_BASE_URL, else {DEFAULT_BASE_URL}).",
    ),
    click.option(
        "--partner",
        help="Partner name in the API path (default: ENERFLO_PARTNER, else partner).",
    ),
]


def source_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The sheet to read and the results to write: shared by `validate` and `send`."""
    for option in reversed(
        [source_arg, mapping_opt, out_opt, sheet_opt, encoding_opt, files_dir_opt]
    ):
        command = option(command)
    return command


def sending_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where and how fast to send: shared by `send` and `retry`."""
    for option in reversed(
        [
            *destination_options,
            click.option(
                "--rate-limit",
                type=click.IntRange(min=0),
                default=300,
                show_default=True,
                help="Requests per minute to stay under (0: no pacing).",
            ),
            click.option(
                "--concurrency",
                type=click.IntRange(1, 32),
                default=1,
                show_default=True,
                help="Requests in flight at once, still paced under --rate-limit "
                "(for an API that answers slowly; 4 reaches 300/min at 0.6 s an answer).",
            ),
            click.option("--yes", "-y", is_flag=True, help="Do not ask before a large send."),
            click.option(
                "--resend",
                is_flag=True,
                help="Send every valid row, even those the ledger shows this destination "
                "already has unchanged.",
            ),
        ]
    ):
        command = option(command)
    return ledger_options(command)


def _predicting(command: Callable[..., Any]) -> Callable[..., Any]:
    """validate's destination options: only to look up the ledger, nothing is sent."""
    for option in reversed(
        [
            click.option(
                "--sandbox",
                is_flag=True,
                help="Predict a rehearsal (which keeps no ledger: every valid row is sent).",
            ),
            click.option(
                "--base-url",
                help="Predict a send to this base URL: which rows the ledger shows it already "
                "has (default: ENERFLO_BASE_URL; else, with ENERFLO_API_KEY set, "
                f"{DEFAULT_BASE_URL}).",
            ),
            click.option(
                "--partner",
                help="Partner name in the API path of that send (default: ENERFLO_PARTNER, "
                "else partner).",
            ),
        ]
    ):
        command = option(command)
    return ledger_options(command)


@main.command(epilog=example("enerflo-import validate leads.xlsx -m mappings/acme.yaml"))
@source_options
@_predicting
@common_options
def validate(console: Console, source: Path, mapping_path: Path, **opts: Any) -> int:
    """Dry run: read, map and check every row; write the results file; send nothing.

    With a destination (--sandbox/--base-url/--partner, ENERFLO_BASE_URL/ENERFLO_PARTNER,
    or just ENERFLO_API_KEY for the default endpoint), valid rows the ledger shows it
    already has say that a send would skip them, or that they update a lead sent before.
    """
    from importer import run

    report = run.validate(
        source,
        mapping_path,
        out=opts["out_path"],
        sheet=opts["sheet"],
        files_dir=opts["files_dir"],
        base_url=opts["base_url"],
        partner=opts["partner"],
        sandbox=opts["sandbox"],
        ledger=_ledger_arg(opts),
        encoding=opts["encoding"],
    )
    print_report(console, report)
    return report.exit_code


@main.command(
    epilog=example(
        "enerflo-import send leads.xlsx -m mappings/acme.yaml --sandbox   # rehearse",
        "ENERFLO_API_KEY=... enerflo-import send leads.xlsx -m mappings/acme.yaml --partner acme",
    )
)
@source_options
@sending_options
@click.option("--limit", type=click.IntRange(min=1), help="Send only the first N valid rows due.")
@click.option("--fresh", is_flag=True, help="Ignore the journal of an earlier run and start over.")
@common_options
def send(console: Console, source: Path, mapping_path: Path, **opts: Any) -> int:
    """Validate, then post every valid row to Enerflo; resumable, paced, retried.

    The api key is read from the ENERFLO_API_KEY environment variable, never from the
    command line. Re-running the same command resumes: rows already created or updated
    are not sent again. Rows this destination already has with the same values, from
    any earlier file (see `enerflo-import ledger`), are not sent either: they come back
    `unchanged` (--resend sends them).
    """
    from importer import run

    call = functools.partial(
        run.send,
        source,
        mapping_path,
        out=opts["out_path"],
        sheet=opts["sheet"],
        limit=opts["limit"],
        encoding=opts["encoding"],
    )
    return _sending(console, opts, call)


@main.command(epilog=example("enerflo-import retry out/leads.results.xlsx"))
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
def retry(console: Console, results_path: Path, **opts: Any) -> int:
    """Re-validate and re-send the rows of a results file that are not accepted yet.

    Fix cells in the results workbook itself, save it, and run retry on it: rows already
    created or updated are never sent again; the file is updated in place (or -o). It
    sends where the results file says its rows went, unless told otherwise.
    """
    from importer import run

    call = functools.partial(
        run.retry, results_path, mapping=opts["mapping_path"], out=opts["out_path"]
    )
    return _sending(console, opts, call)


def _sending(console: Console, opts: dict[str, Any], call: Callable[..., Any]) -> int:
    """Run a send or a retry with the options they share, a progress display and Ctrl-C."""
    progress = _progress(console, opts)
    with progress.signals():
        report = call(
            ledger=_ledger_arg(opts),
            resend=opts["resend"],
            sandbox=opts["sandbox"],
            base_url=opts["base_url"],
            partner=opts["partner"],
            files_dir=opts["files_dir"],
            rate_limit=opts["rate_limit"],
            concurrency=opts["concurrency"],
            fresh=opts["fresh"],
            progress=progress,
        )
    print_report(console, report)
    return int(report.exit_code)


def _progress(console: Console, opts: dict[str, Any]) -> CliProgress:
    return CliProgress(
        console,
        confirm_large=not opts["yes"],
        interactive=interactive(),
        rate_limit=opts["rate_limit"],
    )


@main.command("ledger")
@click.argument("action", required=False, type=click.Choice(["forget"]))
@click.option(
    "--destination",
    help="An endpoint or base URL, or `sandbox` (every sandbox on this machine): show only "
    "it; with forget, forget what it has.",
)
@click.option(
    "--file",
    "file_name",
    help="A file name as listed: show only it; with forget, forget the leads sent from it.",
)
@click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The ledger file (default: ENERFLO_IMPORT_HOME/ledger.sqlite3, else the user's "
    "data folder).",
)
@common_options
def ledger(
    console: Console,
    action: str | None,
    destination: str | None,
    file_name: str | None,
    ledger_path: Path | None,
) -> int:
    """Show what each destination already has (leads per file, and when), or forget some.

    \b
      enerflo-import ledger
      enerflo-import ledger forget --destination https://enerflo.io
      enerflo-import ledger forget --destination sandbox
      enerflo-import ledger forget --file leads-week47.xlsx

    A forgotten lead is sent again by the next send or retry that has it (as an update of
    the same lead in Enerflo: the record id is the upsert key).
    """
    from importer.run.ledger import Ledger, default_ledger_path

    path = ledger_path or default_ledger_path()
    if action == "forget":
        if destination is None and file_name is None:
            raise UsageError(
                "ledger forget needs --destination or --file",
                hint="run `enerflo-import ledger` to see what it holds",
            )
        with Ledger.open(path) as store:
            forgotten = store.forget(destination, file_name)
            if not forgotten:
                raise _nothing_to_forget(path, destination, file_name, store.contents())
        print_forgotten(console, path, forgotten)
        return ExitCode.OK
    with Ledger.open(path, write=False) as store:
        contents = [
            entry
            for entry in store.contents()
            if destination is None or entry.place.matches(destination)
        ]
    print_ledger(console, path, contents, file_name)
    return ExitCode.OK


def _nothing_to_forget(
    path: Path, destination: str | None, file_name: str | None, contents: list[Any]
) -> UsageError:
    what = " and ".join(
        part
        for part in (
            f"destination {destination}" if destination else "",
            f"file {file_name}" if file_name else "",
        )
        if part
    )
    known = "; ".join(
        f"{entry.place.endpoint}: " + ", ".join(f.file for f in entry.files) for entry in contents
    )
    return UsageError(
        f"{path}: the ledger holds no leads for {what}",
        hint=f"it holds: {known}" if known else "the ledger is empty",
    )


@main.command(
    "suggest-mapping",
    epilog=example("enerflo-import suggest-mapping leads.xlsx -o mappings/acme.yaml"),
)
@source_arg
@click.option(
    "-o",
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    help="Write the mapping here (default: stdout).",
)
@sheet_opt
@encoding_opt
@click.option("--header-row", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--force", is_flag=True, help="Overwrite an existing mapping file.")
@common_options
def suggest_mapping(
    console: Console,
    source: Path,
    out_path: Path | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int = 1,
    force: bool = False,
) -> int:
    """Write a starting mapping from the sheet's headers and contents, for you to review."""
    from importer.reading.sheet import read_sheet
    from importer.suggest.draft import suggest_mapping as suggest
    from importer.suggest.draft import write_suggestion

    target = out_path
    data = read_sheet(source, sheet, header_row, encoding=encoding)
    for warning in data.warnings:
        console.warn(warning)
    text = suggest(
        data.columns,
        data.frame,
        sheet_name=data.sheet_name,
        header_row=header_row,
        source_name=source.name,
    )
    if target is not None:
        write_suggestion(text, Path(target), force=force)
    if console.as_json:
        payload = {"command": "suggest-mapping", "out": str(target) if target else None}
        click.echo(json.dumps({**payload, "mapping": text, "exit_code": 0}))
        return ExitCode.OK
    if target is None:
        click.echo(text, nl=False)
        return ExitCode.OK
    console.say(f"wrote {target}: review it, then run: {PROG} validate {source} -m {target}")
    return ExitCode.OK


main.add_command(sandbox_command)
