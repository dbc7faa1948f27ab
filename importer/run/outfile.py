"""The results file a run writes: its default name, what may not be overwritten, and its lock.

One results file, one run at a time, whatever the command: every run holds an exclusive
lock on a small file beside OUT while it works, so a send and a retry (or two sends) can
never post the same rows twice or overwrite each other's results.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from importer.errors import OutputError, RunError, UsageError

XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header
RESULT_SUFFIXES = (".xlsx", ".csv")

try:  # POSIX
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt


def default_out(source: Path, sandbox: bool = False) -> Path:
    """out/<stem>.results.xlsx, or out/<stem>.sandbox.results.xlsx for a rehearsal."""
    kind = "sandbox.results" if sandbox else "results"
    return Path("out") / f"{Path(source).stem}.{kind}.xlsx"


def journal_path(out: Path) -> Path:
    """The send journal beside OUT."""
    return out.with_name(out.name + ".journal")


def retry_journal_path(out: Path) -> Path:
    """The retry journal beside OUT."""
    return out.with_name(out.name + ".retry-journal")


def lock_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.lock")


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_out(out: Path, sources: list[Path], rows: int) -> None:
    """Refuse an OUT that cannot be written, before anything is sent.

    `sources` are files OUT must never replace (the source sheet, and for retry the sheet
    the results came from). Raises UsageError or OutputError.
    """
    suffix = out.suffix.lower()
    if suffix not in RESULT_SUFFIXES:
        raise UsageError(f"{out}: the results file must end in .xlsx or .csv")
    for source in sources:
        if out.exists() and source.exists() and out.resolve() == source.resolve():
            raise UsageError(
                f"{out}: the results file would overwrite the source sheet",
                hint="give another -o",
            )
    if suffix == ".xlsx" and rows > XLSX_MAX_ROWS:
        raise UsageError(
            f"{out}: {rows} rows do not fit in an xlsx sheet",
            hint=f"write the results as CSV: -o {out.with_suffix('.csv')}",
        )
    if out.is_dir():
        raise OutputError(f"{out}: is a folder, not a results file", hint="give another -o")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out.parent):
            pass
    except OSError as exc:
        raise OutputError(
            f"{out.parent}: cannot write the results there ({exc.strerror})", hint="give another -o"
        ) from exc


class OutLock:
    """An exclusive lock on OUT for one run; RunError when another run holds it.

    The lock is an OS file lock (flock / LockFileEx) on `.<name>.lock` beside OUT, so a
    killed run never leaves a stale lock behind: the OS releases it with the process.
    """

    def __init__(self, out: Path, command: str) -> None:
        self.out = out
        self.path = lock_path(out)
        self.command = command
        self._fd: int | None = None

    def __enter__(self) -> OutLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while self._fd is None:
            self._fd = self._try_lock()
        holder = {"command": self.command, "pid": os.getpid(), "since": utc_now()}
        os.ftruncate(self._fd, 0)
        os.write(self._fd, json.dumps(holder).encode())
        return self

    def _try_lock(self) -> int | None:
        """The locked descriptor; None when the file was replaced meanwhile (try again)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(
                f"{self.out.parent}: cannot lock the results file there ({exc.strerror})",
                hint="give another -o",
            ) from exc
        try:
            _lock(fd)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            raise RunError(
                f"{self.out}: another enerflo-import run is using this results file{holder}",
                hint="wait for it to finish, or give this run another -o",
            ) from None
        # The previous holder may have removed the file between our open and our lock.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(self.path))
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return None
        return fd

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is None:
            return
        if fcntl is not None:
            self.path.unlink(missing_ok=True)  # while still locked: nobody can be mid-claim
        os.close(self._fd)
        self._fd = None


def _lock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


def _read_holder(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f" ({holder['command']}, process {holder['pid']}, since {holder['since']})"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ""
