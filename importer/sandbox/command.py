"""The sandbox's command line, defined once for `enerflo-import sandbox` and
`python -m importer.sandbox`: options, start and stop lines, errors, exit codes, signals.

Click is its only dependency outside the standard library; it must not import the
importer's own CLI or anything else outside importer/sandbox.
"""

from __future__ import annotations

import contextlib
import errno
import json
import signal
import threading
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import click

from importer.sandbox.config import (
    ENDPOINT_PATH,
    FAULT_KINDS,
    FIRST_COMPANY_ID,
    SAMPLE_API_KEY,
    SandboxConfig,
    SandboxError,
    StartError,
)

if TYPE_CHECKING:
    from importer.sandbox.server import Sandbox

PROG = "enerflo-import"
USAGE_HINT = "--help lists every option"


class CommandError(click.ClickException):
    """One `enerflo-import: error:` line and a `hint:` line on stderr; with --json, the same
    as one JSON object on stdout too, so a script reading stdout is not left waiting."""

    def __init__(self, message: str, hint: str, as_json: bool) -> None:
        super().__init__(message)
        self.hint = hint
        self.as_json = as_json

    def show(self, file: IO[Any] | None = None) -> None:
        if self.as_json:
            document = {"error": self.message, "hint": self.hint, "exit_code": self.exit_code}
            click.echo(json.dumps(document))
        click.echo(f"{PROG}: error: {self.message}", err=True)
        click.echo(f"hint: {self.hint}", err=True)


class CommandRunError(CommandError):
    """Exit 1: the sandbox could not start (busy port, unreadable database) or hit a bug."""

    exit_code = 1


class CommandUsageError(CommandError):
    """Exit 2: an option or a value that cannot work."""

    exit_code = 2


class _SandboxCommand(click.Command):
    """Usage errors in the one-line form, exit 2, whichever entry point parsed them."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        as_json = "--json" in args
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            hint = USAGE_HINT
            if exc.possibilities:
                hint = f"did you mean {' or '.join(sorted(exc.possibilities))}? {USAGE_HINT}"
            # Worded here, not taken from click: its wording changes between versions.
            message = f"sandbox: no such option '{exc.option_name}'"
            raise CommandUsageError(message, hint, as_json) from exc
        except click.UsageError as exc:
            message = f"sandbox: {_sentence(exc.format_message())}"
            raise CommandUsageError(message, USAGE_HINT, as_json) from exc


@click.command(
    "sandbox", cls=_SandboxCommand, context_settings={"help_option_names": ["-h", "--help"]}
)
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
    type=click.Path(dir_okay=False),
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
    type=click.Choice(FAULT_KINDS),
    help="Only inject this fault (repeatable; default: every kind).",
)
@click.option(
    "--reject",
    "reject_ids",
    multiple=True,
    metavar="RECORD_ID",
    help="Refuse this integration_record_id with an error answer (repeatable): rehearse a "
    "row the API rejects for a reason no dry run can see.",
)
@click.option("--quiet", "-q", is_flag=True, help="No start and stop lines; errors only.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object on stdout once listening (url, endpoint, api_keys, page, db).",
)
@click.option("--traceback", is_flag=True, help="Show the Python traceback of an error.")
def sandbox_command(
    api_keys: tuple[str, ...],
    fault_kinds: tuple[str, ...],
    quiet: bool,
    as_json: bool,
    traceback: bool,
    **settings: Any,
) -> None:
    """Run a local Enerflo-compatible Leads API to rehearse against (Ctrl-C stops it).

    Open its URL in a browser to watch the leads and requests it receives; /docs says
    how to post to it. The same as JSON: /_sandbox/leads and /_sandbox/requests. On
    start it prints its URL, its endpoint and the api key it accepts (with --json: one
    JSON object, so --port 0 works from scripts). `kill PID` stops it as Ctrl-C does.

    \b
    Examples:
      enerflo-import sandbox
      enerflo-import sandbox --port 0 --json --db rehearsal.db
      enerflo-import sandbox --latency-ms 600 --fault-rate 0.1 --fault-seed 7
      ENERFLO_API_KEY=11595ee3c3ad592e52.31523696 enerflo-import send leads.xlsx \\
          -m mapping.yaml --base-url http://127.0.0.1:8765
    """
    from importer.sandbox.server import serve  # here: `enerflo-import --help` needs no server

    config = SandboxConfig(
        api_keys=api_keys or (SAMPLE_API_KEY,), fault_kinds=fault_kinds or FAULT_KINDS, **settings
    )
    try:
        with _stopping_on_signals():
            serve(config, on_ready=lambda sandbox: _announce(sandbox, quiet, as_json))
    except KeyboardInterrupt:
        pass  # a signal before serving began: nothing was listening yet
    except StartError as exc:
        raise CommandRunError(f"sandbox: {exc}", _start_hint(exc), as_json) from exc
    except SandboxError as exc:
        raise CommandUsageError(f"sandbox: {exc}", USAGE_HINT, as_json) from exc
    except Exception as exc:  # nothing reaches the user as a traceback unless asked
        if traceback:
            raise
        message = f"sandbox: internal error: {type(exc).__name__}: {exc}"
        hint = "this is a bug in the sandbox; rerun with --traceback and report it"
        raise CommandRunError(message, hint, as_json) from exc
    if not quiet and not as_json:
        click.echo("sandbox stopped")


def sandbox_facts(sandbox: Sandbox) -> dict[str, Any]:
    """What the start line says, as the --json object has it."""
    base = sandbox.base_url
    return {
        "url": base,
        "endpoint": base + ENDPOINT_PATH,
        "api_keys": list(sandbox.config.api_keys),
        "page": base + "/",
        "docs": base + "/docs",
        "db": sandbox.config.db,
    }


def _announce(sandbox: Sandbox, quiet: bool, as_json: bool) -> None:
    # The sandbox's keys are not secrets: the sample key is printed on Enerflo's API page,
    # and a key given with --api-key is one the user chose to put on the command line.
    facts = sandbox_facts(sandbox)
    if as_json:
        click.echo(json.dumps(facts))  # click.echo flushes: a script sees it at once
        return
    if quiet:
        return
    keys = facts["api_keys"]
    if keys == [SAMPLE_API_KEY]:
        key_line = f"  api key:   {SAMPLE_API_KEY} (the sample key from Enerflo's API page)"
    elif len(keys) == 1:
        key_line = f"  api key:   {keys[0]}"
    else:
        companies = ", ".join(
            f"{key} (company {FIRST_COMPANY_ID + n})" for n, key in enumerate(keys)
        )
        key_line = f"  api keys:  {companies}"
    lines = [
        f"sandbox listening on {facts['url']} (Ctrl-C stops it)",
        f"  page:      {facts['page']}",
        f"  endpoint:  {facts['endpoint']}",
        key_line,
        f"  docs:      {facts['docs']}",
    ]
    if facts["db"]:
        lines.append(f"  database:  {facts['db']}")
    click.echo("\n".join(lines))


def _start_hint(exc: StartError) -> str:
    if exc.errno is None:
        return "--db needs a SQLite file the sandbox wrote, or a new file in a folder that exists"
    if exc.errno == errno.EADDRINUSE:
        return "another program uses that port: stop it, choose another --port, or --port 0"
    if exc.errno == errno.EACCES:
        return "ports below 1024 need privileges: choose another --port, or --port 0"
    return "--host must be an address of this machine, such as 127.0.0.1"


@contextlib.contextmanager
def _stopping_on_signals() -> Iterator[None]:
    """SIGTERM stops the sandbox as Ctrl-C does (KeyboardInterrupt in the serving thread).

    A second signal while it stops is ignored, so the connections and the database are
    always closed; stopping is bounded by the server's own waits.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; a caller's thread keeps its own
        return
    fired = False

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal fired
        if not fired:
            fired = True
            raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _sentence(text: str) -> str:
    """Click's "Invalid value for '--port': ..." in this project's style: lower-case, no stop."""
    text = " ".join(text.split()).rstrip(".")
    return text[:1].lower() + text[1:]
