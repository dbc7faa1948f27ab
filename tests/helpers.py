"""What tests share besides fixtures: running the CLI, reading results back, editing workbooks
as Excel would save them, waiting on a real condition, counting what a sandbox received."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
from click.testing import CliRunner, Result

from importer.cli import main

SAMPLE_KEY = "11595ee3c3ad592e52.31523696"
ROOT = Path(__file__).resolve().parent.parent


def invoke(*args: object, key: str | None = SAMPLE_KEY, **env: str) -> Result:
    """The CLI in this process, with ENERFLO_API_KEY set (None: unset)."""
    environment = {"ENERFLO_API_KEY": key, **env}
    return CliRunner(env=environment).invoke(main, [str(a) for a in args])


def start_cli(
    *args: object, key: str = SAMPLE_KEY, env: dict[str, str] | None = None, **popen: object
) -> subprocess.Popen:
    """The installed CLI as a separate process (for signals and kills); `env` adds variables."""
    environment = {**os.environ, "ENERFLO_API_KEY": key, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "importer", *map(str, args)],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[arg-type]
    )


def results_rows(path: Path) -> list[dict[str, str]]:
    """The data sheet of a results workbook (or CSV) as dicts of text, in row order."""
    if path.suffix.lower() == ".csv":
        import csv

        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    return [
        dict(zip(header, ("" if v is None else str(v) for v in row), strict=True))
        for row in rows[1:]
    ]


def by_id(path: Path, column: str = "Lead ID") -> dict[str, dict[str, str]]:
    return {row[column]: row for row in results_rows(path)}


def summary_facts(path: Path) -> dict[str, str]:
    sheet = openpyxl.load_workbook(path, read_only=True)["Summary"]
    return {str(r[0]): str(r[1]) for r in sheet.iter_rows(values_only=True) if r and r[0]}


def edit_workbook(path: Path, change: Callable[[openpyxl.worksheet.worksheet.Worksheet], None]):
    """Open the results workbook, change its data sheet, save it (as a user in Excel would)."""
    book = openpyxl.load_workbook(path)
    change(book.worksheets[0])
    book.save(path)


def set_cell(path: Path, lead_id: str, column: str, value: str) -> None:
    """Type `value` into `column` of the row whose Lead ID is `lead_id`."""

    def change(sheet) -> None:
        header = [cell.value for cell in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            if row[0].value == lead_id:
                row[header.index(column)].value = value
                return
        raise AssertionError(f"no row {lead_id}")

    edit_workbook(path, change)


def posts(box) -> Counter[str]:
    """POSTs the sandbox received, per record id."""
    return Counter(r["integration_record_id"] for r in box.requests() if r["method"] == "POST")


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen | None = None, timeout=60.0):
    """Poll a real condition (never a sleep standing in for one); fail if the process ends."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended first: {proc.communicate()}")
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.02)


def assert_sent_as_validated(sandbox: Any, source: Path, mapping: Path, validated: Any) -> None:
    """Send `source` to `sandbox`: every row the dry run `validated` called valid is
    accepted, and the rows it called invalid are invalid on send too."""
    import importer
    from importer.models import ACCEPTED

    sent = importer.send(
        source, mapping, base_url=sandbox.base_url, api_key=sandbox.api_key,
        out=validated.out.with_name("send.csv"), rate_limit=0,
    )  # fmt: skip
    status, outcome = validated.results["import_status"], sent.results["import_status"]
    was_valid = status == "valid"
    refused = sent.results.loc[was_valid & ~outcome.isin(ACCEPTED), "import_message"]
    assert refused.to_dict() == {}, "validate called these rows valid; the sandbox refused them"
    assert (outcome == "invalid").equals(~was_valid)  # the same verdicts on send
