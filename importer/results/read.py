"""Read a results file back (edits included) for retry; never writes one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from importer import __version__
from importer.errors import ResultsError, SheetError
from importer.models import RESULT_COLUMNS
from importer.reading.sheet import list_sheets, read_sheet
from importer.results.layout import source_column
from importer.results.write import (
    FORMAT_VERSION,
    META_SHEET,
    describe_error,
    text_sha256,
    unneutralize,
)


@dataclass
class ResultsWorkbook:
    """A results file read back: source columns and result columns, index = its row numbers."""

    path: Path
    frame: pd.DataFrame
    results: pd.DataFrame
    facts: dict[str, str]
    mapping_text: str
    sheet_name: str | None


def read_results(path: Path, mapping_path: Path | None = None) -> ResultsWorkbook:
    """Read a results file as the user left it (edits included) for `retry`.

    xlsx carries its facts and mapping in the hidden sheet; a csv does not, so it needs
    `mapping_path`. Raises ResultsError for a file this tool did not write or whose
    source or result columns were removed or renamed.
    """
    path = Path(path)
    try:
        if path.suffix.lower() == ".csv":
            return _read_csv_results(path, mapping_path)
        return _read_xlsx_results(path)
    except SheetError as exc:
        raise ResultsError(exc.message, hint=exc.hint) from exc


def recorded_facts(path: Path) -> dict[str, str] | None:
    """The hidden sheet's facts of an existing xlsx results file; None when there are none.

    For checks before a run replaces a file: unreadable or foreign files give None.
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx" or not path.is_file():
        return None
    try:
        if META_SHEET not in list_sheets(path):
            return None
        return _read_meta(path)
    except (SheetError, ResultsError):
        return None


def accepted_ids(facts: dict[str, str]) -> dict[str, str]:
    """record id -> lead id of the rows a results file recorded as accepted."""
    try:
        ids = json.loads(facts.get("accepted_ids") or "{}")
    except ValueError as exc:
        raise ResultsError(
            f"the hidden {META_SHEET} sheet is damaged (accepted_ids)",
            hint="use the results file as enerflo-import wrote it",
        ) from exc
    if not isinstance(ids, dict):
        raise ResultsError(f"the hidden {META_SHEET} sheet is damaged (accepted_ids)")
    return {str(key): str(value) for key, value in ids.items()}


# -- csv ------------------------------------------------------------------------------------


def _read_csv_results(path: Path, mapping_path: Path | None) -> ResultsWorkbook:
    if mapping_path is None:
        raise ResultsError(
            f"{path}: a CSV results file does not carry its mapping",
            hint="pass the mapping the run used with -m MAPPING",
        )
    try:
        mapping_text = Path(mapping_path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultsError(
            f"{mapping_path}: cannot read the mapping ({describe_error(exc)})"
        ) from exc
    # Written with commas: no guessing, which a header full of ";" would mislead; and
    # csv.writer quoted every cell, so a cell over many lines is no stray quote.
    sheet = read_sheet(path, delimiter=",", check_quotes=False)
    frame = sheet.frame.apply(unneutralize).set_axis(
        [c[1:] if c.startswith("'") else c for c in sheet.columns], axis=1
    )
    source = [c for c in frame.columns if c not in RESULT_COLUMNS]
    _require_columns(f"{path}: the file", list(frame.columns), list(RESULT_COLUMNS), "result")
    names = [source_column(c) for c in source]
    facts = {"format_version": FORMAT_VERSION, "results_kind": "csv"}
    facts |= {"source_columns": json.dumps(names), "mapping_path": str(mapping_path)}
    source_frame = frame[source].set_axis(names, axis=1)
    results = frame[list(RESULT_COLUMNS)]
    return ResultsWorkbook(path, source_frame, results, facts, mapping_text, None)


# -- xlsx -----------------------------------------------------------------------------------


def _read_xlsx_results(path: Path) -> ResultsWorkbook:
    sheets = list_sheets(path)
    if META_SHEET not in sheets:
        raise ResultsError(
            f"{path}: was not written by enerflo-import (it has no {META_SHEET} sheet)",
            hint="give retry the results file that validate or send wrote",
        )
    facts = _read_meta(path)
    if facts.get("format_version") != FORMAT_VERSION:
        raise ResultsError(
            f"{path}: results format {facts.get('format_version')!s} is not supported",
            hint=f"this enerflo-import ({__version__}) reads format {FORMAT_VERSION}",
        )
    name = facts.get("results_sheet", "")
    if name not in sheets:
        raise ResultsError(
            f'{path}: sheet "{name}" with the rows was renamed or deleted',
            hint=f'rename the sheet back to "{name}"',
        )
    sheet = read_sheet(path, sheet=name)
    written, source = _column_lists(path, facts)
    _verify(path, facts)
    where = f'{path}: sheet "{name}"'
    _require_columns(where, sheet.columns, written, "source")
    frame = sheet.frame[written[: len(source)]].set_axis(source, axis=1)
    results = sheet.frame[list(RESULT_COLUMNS)]
    mapping_text = facts.pop("mapping_text", "")
    return ResultsWorkbook(path, frame, results, facts, mapping_text, name)


def _column_lists(path: Path, facts: dict[str, str]) -> tuple[list[str], list[str]]:
    """The written and source column lists the hidden sheet recorded; ResultsError if damaged."""
    try:
        written, source = json.loads(facts["written_columns"]), json.loads(facts["source_columns"])
    except (KeyError, ValueError) as exc:
        raise ResultsError(
            f"{path}: the hidden {META_SHEET} sheet is damaged (its column lists cannot be read)",
            hint="use the results file as enerflo-import wrote it, or run send again",
        ) from exc
    if not (isinstance(written, list) and isinstance(source, list)):
        raise ResultsError(f"{path}: the hidden {META_SHEET} sheet is damaged (column lists)")
    return [str(c) for c in written], [str(c) for c in source]


def _verify(path: Path, facts: dict[str, str]) -> None:
    """The hidden sheet's long values read back exactly as written (files written before
    the checksums existed are taken as they are)."""
    checks = {
        "mapping": ("mapping_sha256", facts.get("mapping_text", "")),
        "column lists": (
            "columns_sha256",
            facts.get("written_columns", "") + facts.get("source_columns", ""),
        ),
    }
    for what, (key, value) in checks.items():
        expected = facts.get(key)
        if expected is not None and text_sha256(value) != expected:
            raise ResultsError(
                f"{path}: the hidden {META_SHEET} sheet does not read back as written "
                f"(its {what} changed or was cut, as Excel does to a cell over 32,767 "
                "characters)",
                hint="retry from the results file as enerflo-import wrote it, or run send again",
            )


def _read_meta(path: Path) -> dict[str, str]:
    meta = read_sheet(path, sheet=META_SHEET).frame
    if not {"key", "value"} <= set(meta.columns):
        raise ResultsError(
            f"{path}: the hidden {META_SHEET} sheet is damaged (no key/value header)"
        )
    facts: dict[str, str] = {}
    for key, value in zip(meta["key"], meta["value"], strict=True):
        facts[key] = facts.get(key, "") + value
    return facts


def _require_columns(where: str, present: list[str], needed: list[str], kind: str) -> None:
    missing = [c for c in needed if c not in present]
    if missing:
        names = ", ".join(f'"{c}"' for c in missing)
        kind = "result" if missing[0] in RESULT_COLUMNS else kind
        plural = "s" if len(missing) > 1 else ""
        raise ResultsError(
            f"{where} is missing {kind} column{plural} {names} (removed or renamed)",
            hint="retry needs every column it wrote: restore their headers, "
            "or run send again on the source file",
        )
