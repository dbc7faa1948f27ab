"""Survey photos: check paths stay in the files folder and are images; base64 them to send.

Checks read only a file's first bytes. A row's photos are encoded while that row is sent,
each read in chunks; the row's request body holds all of its photos at once (at most
10 MB each), and nothing of them is kept after the row.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd

from importer.models import Problem
from importer.records import FieldRef

MAX_BYTES = 10 * 1024 * 1024  # 10 MB (MiB), the cap on one photo before encoding
SNIFF_BYTES = 64
CHUNK_BYTES = 3 * 256 * 1024  # a multiple of 3: base64 chunks then join without padding

_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")


class FileCheckError(ValueError):
    """Why a survey file cell cannot be used; `code` is the row problem's code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def image_kind(head: bytes) -> str | None:
    """ "jpeg", "png", "gif", "webp" or "heic" from a file's first bytes; None if not an image."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "heic"
    return None


def resolve_file(base_dir: Path, cell: str) -> Path:
    """The existing file a cell names, relative to `base_dir`; FileCheckError (a ValueError) if not.

    Backslashes count as folder separators (paths typed on Windows). Absolute paths and
    anything that resolves outside `base_dir`, through `..` or a symlink, are refused.
    """
    text = cell.strip()
    if not text:
        raise FileCheckError("missing_file", "is empty")
    relative = text.replace("\\", "/")
    if PurePosixPath(relative).is_absolute() or PureWindowsPath(text).drive:
        raise FileCheckError(
            "unsafe_file_path", f"is an absolute path; give a path relative to {base_dir}"
        )
    try:
        base = base_dir.resolve()
        target = (base / relative).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loop, NUL byte
        raise FileCheckError("unsafe_file_path", "is not a usable file path") from exc
    if not target.is_relative_to(base):
        raise FileCheckError("unsafe_file_path", f"leads outside {base_dir}")
    if not target.exists():
        raise FileCheckError("missing_file", f"does not exist in {base_dir}")
    if not target.is_file():
        raise FileCheckError("missing_file", "is a folder, not a file")
    return target


def check_file(base_dir: Path, cell: str) -> Path:
    """resolve_file, then the size cap and the image check on the first bytes only."""
    path = resolve_file(base_dir, cell)
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise FileCheckError("missing_file", f"cannot be read ({exc.strerror})") from exc
    if size > MAX_BYTES:
        raise FileCheckError("file_too_large", f"is {_megabytes(size)}, over the 10 MB limit")
    if image_kind(head) is None:
        raise FileCheckError("not_an_image", "is not a JPEG, PNG, GIF, WebP or HEIC image")
    return path


def encode_file(path: Path) -> str:
    """Base64 of one file, read in chunks so the raw bytes are never all in memory."""
    parts = []
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            parts.append(base64.b64encode(chunk).decode("ascii"))
    return "".join(parts)


def check_survey_files(
    files: list[pd.DataFrame], base_dir: Path, from_files: list[bool]
) -> list[Problem]:
    """Problems with every survey file cell: a path where `from_files[i]`, base64 otherwise.

    A row whose data cell is empty simply has no such file (name and type alone are
    dropped, not an error). A row with data needs a type, and a name unless the data is a
    file (then the file's name is sent).
    """
    problems: list[Problem] = []
    for index, (frame, is_file) in enumerate(zip(files, from_files, strict=True)):
        cells = frame["data"].fillna("").astype(str)
        has = cells.str.strip() != ""
        check = _file_check(base_dir) if is_file else _check_base64
        problems += _cell_problems(cells[has], FieldRef.file(index, "data"), check)
        problems += _missing_parts(frame, has, index, needs_name=not is_file)
    return sorted(problems, key=lambda p: (p.row, p.field))


def inline_files(
    files: list[dict[str, str]], base_dir: Path, from_files: list[bool]
) -> list[dict[str, str]]:
    """One row's survey files ready for the payload: file paths replaced by their base64.

    Entries without data lose their name and type too (so no half entry is sent); a file
    entry's name becomes the file's own name when empty or a path. Raises FileCheckError
    if a file changed since validation (gone, grown, no longer an image).
    """
    out: list[dict[str, str]] = []
    for entry, is_file in zip(files, from_files, strict=True):
        value = str(entry.get("data", "")).strip()
        if not value:
            out.append({})
            continue
        entry = dict(entry)
        if is_file:
            path = check_file(base_dir, value)
            entry["data"] = encode_file(path)
            name = str(entry.get("name", "")).strip()
            entry["name"] = PureWindowsPath(name).name if name else path.name
        out.append(entry)
    return out


def _file_check(base_dir: Path):
    def check(cell: str) -> None:
        check_file(base_dir, cell)

    return check


def _check_base64(cell: str) -> None:
    text = "".join(cell.split())
    if _NOT_BASE64.search(text) or len(text) % 4:
        raise FileCheckError("invalid_base64", "is not base64 text")
    try:
        head = base64.b64decode(text[:88], validate=True)
    except binascii.Error as exc:
        raise FileCheckError("invalid_base64", "is not base64 text") from exc
    if len(text) // 4 * 3 > MAX_BYTES:
        size = _megabytes(len(text) // 4 * 3)
        raise FileCheckError("file_too_large", f"is {size}, over the 10 MB limit")
    if image_kind(head) is None:
        raise FileCheckError("not_an_image", "is base64 of something that is not an image")


def _cell_problems(cells: pd.Series, field: FieldRef, check) -> list[Problem]:
    """Each distinct cell checked once (a photo may be listed on several rows)."""
    failures: dict[str, FileCheckError | None] = {}
    problems = []
    for row, cell in cells.items():
        if cell not in failures:
            try:
                check(cell)
                failures[cell] = None
            except FileCheckError as exc:
                failures[cell] = exc
        failure = failures[cell]
        if failure is not None:
            what = f'"{_shorten(cell.strip())}" {failure.reason}'
            problems.append(Problem.error(int(row), field, failure.code, what))
    return problems


def _missing_parts(frame: pd.DataFrame, has: pd.Series, index: int, needs_name: bool):
    problems = []
    for part in ("type", "name") if needs_name else ("type",):
        if part in frame.columns:
            missing = has & (frame[part].fillna("").astype(str).str.strip() == "")
        else:
            missing = has
        what = f"is missing; a survey file with data needs a {part}"
        field = FieldRef.file(index, part)
        problems += [
            Problem.error(int(row), field, "missing_survey_field", what)
            for row in missing[missing].index
        ]
    return problems


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
