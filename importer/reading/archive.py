"""Look inside an xlsx or ods zip before calamine opens it: refuse what would exhaust memory.

Every part is inflated here once, as a stream, against its declared size (a part that
inflates to more than it declares is refused) and handed to the byte scanners of
importer.reading.xmlscan. Nothing is parsed into a tree. calamine aborts the whole
process (a Rust allocation failure) on a sheet with a cell at XFD1048576, so these checks
must come before it opens the file.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from importer.errors import SheetError
from importer.reading.xmlscan import (
    MAX_CELLS,
    OdsScanner,
    SharedStringsScanner,
    SheetFacts,
    SheetScanner,
    attributes,
    column_name,
)

MAX_PARTS = 10_000
MAX_PART_BYTES = 2 << 30  # one part, inflated
MAX_TOTAL_BYTES = 4 << 30  # every part, inflated
MAX_RATIO = 100  # inflated / compressed; real sheets stay under 25
RATIO_FROM = 1 << 20  # parts smaller than this inflate as they like
_CHUNK = 1 << 20
_DAMAGED_HINT = "save or download it again"


@dataclass
class WorkbookScan:
    """Facts per sheet name: every worksheet of an xlsx, every table of an ods."""

    sheets: dict[str, SheetFacts] = field(default_factory=dict)

    def check_sheet(self, path: Path, name: str) -> SheetFacts:
        """The sheet's facts; SheetError when it spans more cells than MAX_CELLS."""
        facts = self.sheets.get(name, SheetFacts())
        _check_bounds(path, name, facts)
        return facts


def scan_workbook(path: Path, kind: str, data: bytes) -> WorkbookScan:
    """Check every part of an xlsx/ods zip and scan its sheets; SheetError when unsafe."""
    archive = _open(path, kind, data)
    infos = archive.infolist()
    _check_listing(path, infos)
    scan = WorkbookScan()
    if kind == "xlsx":
        parts = _xlsx_sheet_parts(path, archive, data)
        for info in infos:
            name = parts.get(info.filename)
            if name is not None:
                sheet = SheetScanner()
                _inflate(path, data, info, sheet)
                scan.sheets[name] = sheet.facts
            elif info.filename.endswith("sharedStrings.xml"):
                _inflate(path, data, info, SharedStringsScanner(path))
            else:
                _inflate(path, data, info, None)
    else:
        for info in infos:
            tables = OdsScanner() if info.filename == "content.xml" else None
            _inflate(path, data, info, tables)
            if tables is not None:
                scan.sheets.update(tables.tables)
        for name in scan.sheets:  # calamine reads every table of an ods when it opens it
            scan.check_sheet(path, name)
    return scan


# -- the zip itself ---------------------------------------------------------------------------


def _open(path: Path, kind: str, data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        msg = f"{path}: is damaged or truncated (not a readable {kind} workbook)"
        raise SheetError(msg, hint=_DAMAGED_HINT) from exc


def _check_listing(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    if len(infos) > MAX_PARTS:
        raise SheetError(f"{path}: holds {len(infos):,} parts, more than {MAX_PARTS:,}")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise SheetError(
                f"{path}: is encrypted (part {info.filename})",
                hint="remove the password in Excel and save it again",
            )
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise SheetError(
                f"{path}: part {info.filename} uses compression method {info.compress_type}, "
                "which spreadsheet programs do not write",
                hint=_DAMAGED_HINT,
            )
        _check_part_size(path, info)
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise SheetError(
            f"{path}: inflates to {_size(total)}, more than the {_size(MAX_TOTAL_BYTES)} "
            "this tool reads",
            hint="split the sheet, or save it as CSV",
        )


def _check_part_size(path: Path, info: zipfile.ZipInfo) -> None:
    if info.file_size > MAX_PART_BYTES:
        raise SheetError(
            f"{path}: part {info.filename} inflates to {_size(info.file_size)}, more than "
            f"the {_size(MAX_PART_BYTES)} this tool reads",
            hint="split the sheet, or save it as CSV",
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size >= RATIO_FROM and ratio > MAX_RATIO:
        raise SheetError(
            f"{path}: part {info.filename} inflates {ratio:,.0f} times "
            f"({_size(info.compress_size)} to {_size(info.file_size)}): a zip bomb, not a sheet",
            hint="do not open this file; ask for the export again",
        )


def _inflate(
    path: Path, data: bytes, info: zipfile.ZipInfo, consumer: Callable[[bytes], None] | None
) -> None:
    """Inflate one part in chunks, refusing it the moment it outgrows its declared size."""
    raw = _compressed(path, data, info)
    produced = 0
    for chunk in _chunks(path, info, raw):
        produced += len(chunk)
        if produced > info.file_size:
            raise SheetError(
                f"{path}: part {info.filename} inflates to more than the "
                f"{_size(info.file_size)} it declares",
                hint="do not open this file; ask for the export again",
            )
        if consumer is not None:
            consumer(chunk)
    if produced != info.file_size:
        raise SheetError(
            f"{path}: part {info.filename} is damaged or truncated", hint=_DAMAGED_HINT
        )
    if consumer is not None:
        consumer(b"")  # end of part


def _compressed(path: Path, data: bytes, info: zipfile.ZipInfo) -> memoryview:
    start = info.header_offset
    header = data[start : start + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise SheetError(f"{path}: part {info.filename} is damaged", hint=_DAMAGED_HINT)
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    begin = start + 30 + name_length + extra_length
    raw = memoryview(data)[begin : begin + info.compress_size]
    if len(raw) < info.compress_size:
        raise SheetError(f"{path}: part {info.filename} is truncated", hint=_DAMAGED_HINT)
    return raw


def _chunks(path: Path, info: zipfile.ZipInfo, raw: memoryview) -> Iterator[bytes]:
    if info.compress_type == zipfile.ZIP_STORED:
        for start in range(0, len(raw), _CHUNK):
            yield bytes(raw[start : start + _CHUNK])
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    position = 0
    pending = b""
    try:
        while not inflater.eof:
            if not pending:
                if position >= len(raw):
                    break
                pending = bytes(raw[position : position + _CHUNK])
                position += _CHUNK
            chunk = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            if chunk:
                yield chunk
    except zlib.error as exc:
        msg = f"{path}: part {info.filename} is damaged (cannot be inflated)"
        raise SheetError(msg, hint=_DAMAGED_HINT) from exc


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} bytes"


def _check_bounds(path: Path, name: str, facts: SheetFacts) -> None:
    cells = facts.rows * facts.columns
    if cells > MAX_CELLS:
        corner = f"{column_name(facts.columns)}{facts.rows}"
        reach = "reaches cell" if facts.exact else "reaches up to cell"
        raise SheetError(
            f'{path}: sheet "{name}" {reach} {corner}: {cells:,} cells from A1, more than '
            f"the {MAX_CELLS:,} this tool reads",
            hint="delete the stray far-away cells in Excel, or save the sheet as CSV",
        )
    if facts.declared_cells > MAX_CELLS:
        raise SheetError(
            f'{path}: sheet "{name}" declares the range {facts.declared}: '
            f"{facts.declared_cells:,} cells, more than the {MAX_CELLS:,} this tool reads",
            hint="open it in Excel and save it again, or save the sheet as CSV",
        )


# -- xlsx -------------------------------------------------------------------------------------

_SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
_RELATION_TAG = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
_SMALL_PART = 16 << 20  # workbook.xml and its relations are read whole, up to this


def _xlsx_sheet_parts(path: Path, archive: zipfile.ZipFile, data: bytes) -> dict[str, str]:
    """Part name -> sheet name, from workbook.xml and its relations (regex, no XML parser:
    an entity bomb in workbook.xml must not expand here)."""
    workbook = _small_part(path, archive, data, "xl/workbook.xml")
    relations = _small_part(path, archive, data, "xl/_rels/workbook.xml.rels")
    targets = {}
    for match in _RELATION_TAG.finditer(relations):
        relation = attributes(match.group(1))
        target = relation.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        targets[relation.get("Id", "")] = _normalized(target)
    parts = {}
    for match in _SHEET_TAG.finditer(workbook):
        sheet = attributes(match.group(1))
        rid = next((v for k, v in sheet.items() if k.endswith(":id")), "")
        if rid in targets:
            parts[targets[rid]] = sheet.get("name", "")
    return parts


def _small_part(path: Path, archive: zipfile.ZipFile, data: bytes, name: str) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return b""
    if info.file_size > _SMALL_PART:
        raise SheetError(f"{path}: part {name} is {_size(info.file_size)}, far too big")
    parts: list[bytes] = []
    _inflate(path, data, info, parts.append)
    return b"".join(parts)


def _normalized(target: str) -> str:
    parts: list[str] = []
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)
