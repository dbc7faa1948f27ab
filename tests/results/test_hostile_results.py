"""Hostile content against the results file: nothing cut silently, every file round-trips."""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from importer.cli import main
from importer.errors import OutputError, ResultsError, UsageError
from importer.models import RESULT_COLUMNS
from importer.reading.sheet import SourceSheet, read_sheet
from importer.results.layout import check_fits, written_column
from importer.results.read import read_results
from importer.results.write import (
    META_SHEET,
    ResultsContent,
    ResultsSummary,
    SourceFacts,
    write_results,
)
from tests.conftest import HEADER, MAPPING, SAMPLE_KEY, lead_row, write_leads_csv
from tests.factories import write_csv, write_xlsx

SUMMARY = ResultsSummary("validate", "2026-03-12T10:00:00Z", "2026-03-12T10:00:01Z")
EMOJI = "\U0001f600"  # two UTF-16 units, as Excel counts


def sheet_of(tmp_path: Path, rows: list[list[str]]) -> SourceSheet:
    """A CSV source: it holds cells of any length, as an xlsx cannot."""
    return read_sheet(write_csv(tmp_path / "source.csv", rows))


def results_for(sheet: SourceSheet) -> pd.DataFrame:
    results = pd.DataFrame({c: "" for c in RESULT_COLUMNS}, index=sheet.frame.index)
    results["import_status"] = "valid"
    return results


def write(out: Path, sheet: SourceSheet, mapping: str = MAPPING) -> None:
    write_results(out, content(sheet, results_for(sheet), mapping))


def content(sheet: SourceSheet, results: pd.DataFrame, mapping: str = MAPPING) -> ResultsContent:
    return ResultsContent(
        rows=sheet.frame,
        sheet_title=sheet.sheet_name,
        source=SourceFacts.of(sheet),
        results=results,
        problems=[],
        field_columns={},
        summary=SUMMARY,
        mapping_text=mapping,
    )


def invoke(*args: str):
    return CliRunner(env={"ENERFLO_API_KEY": SAMPLE_KEY}).invoke(main, list(args))


# -- 11. what an xlsx cannot hold ------------------------------------------------------------


def test_check_fits_refuses_a_cell_longer_than_an_xlsx_cell_holds(tmp_path):
    sheet = sheet_of(tmp_path, [["Lead ID", "Note"], ["L1", "ok"], ["L2", "n" * 40_000]])
    out = tmp_path / "out" / "leads.results.xlsx"
    with pytest.raises(UsageError) as info:
        check_fits(out, sheet, MAPPING)
    assert info.value.message == (
        f'{out}: the results would not fit in an xlsx file: row 3, column "Note" holds '
        "40,000 characters; an xlsx cell holds at most 32,767"
    )
    assert (
        info.value.hint
        == f"write the results as CSV instead: -o {tmp_path / 'out' / 'leads.results.csv'}"
    )
    check_fits(out.with_suffix(".csv"), sheet, MAPPING)  # CSV holds anything


def test_check_fits_counts_characters_as_excel_does(tmp_path):
    fits = sheet_of(tmp_path, [["Lead ID", "Note"], ["L1", EMOJI * 16_000]])
    check_fits(tmp_path / "a.xlsx", fits, MAPPING)
    too_long = sheet_of(tmp_path, [["Lead ID", "Note"], ["L1", EMOJI * 16_400]])
    with pytest.raises(UsageError, match=r'row 2, column "Note" holds 32,800 characters'):
        check_fits(tmp_path / "a.xlsx", too_long, MAPPING)


def test_check_fits_refuses_columns_past_the_last_xlsx_column(tmp_path):
    columns = [f"c{j}" for j in range(16_377)]
    frame = pd.DataFrame([["x"] * len(columns)], columns=columns, index=[2])
    sheet = SourceSheet(tmp_path / "w.csv", "csv", None, 1, columns, frame, "utf-8", ",", "0")
    with pytest.raises(UsageError) as info:
        check_fits(tmp_path / "w.xlsx", sheet, MAPPING)
    assert info.value.message.endswith(
        "16,385 columns with the 8 import_* columns; an xlsx sheet holds at most 16,384"
    )
    narrower = dataclasses.replace(sheet, frame=frame.iloc[:, 1:], columns=columns[1:])
    check_fits(tmp_path / "w.xlsx", narrower, MAPPING)  # 16,384 columns: fits


def test_writing_what_does_not_fit_writes_csv_whole_instead_of_cutting(tmp_path):
    long = "n" * 40_000
    sheet = sheet_of(tmp_path, [["Lead ID", "Note"], ["L1", long]])
    out = tmp_path / "leads.results.xlsx"
    with pytest.raises(OutputError) as info:
        write(out, sheet)
    fallback = tmp_path / "leads.results.csv"
    assert info.value.message.startswith(f"{out}: the results do not fit in an xlsx file (row 2,")
    assert info.value.message.endswith(f"they were written whole to {fallback} instead")
    assert not out.exists()
    assert read_results(fallback, _mapping(tmp_path)).frame.at[2, "Note"] == long


def _mapping(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING)
    return path


def test_a_long_mapping_round_trips_in_cells_excel_never_cuts(tmp_path):
    mapping = MAPPING + "# " + EMOJI * 40_000 + " end\n" + "# \r\n tail " + "é" * 70_000 + "\n"
    sheet = sheet_of(tmp_path, [["Lead ID"], ["L1"]])
    out = tmp_path / "r.xlsx"
    write(out, sheet, mapping)
    meta = openpyxl.load_workbook(out)[META_SHEET]
    units = [
        len(str(c.value).encode("utf-16-le")) // 2
        for (c,) in meta.iter_rows(min_col=2, max_col=2)
        if c.value
    ]
    assert max(units) <= 32_767
    assert read_results(out).mapping_text == mapping


def test_a_hidden_sheet_cut_or_edited_is_refused_not_trusted(tmp_path):
    sheet = sheet_of(tmp_path, [["Lead ID"], ["L1"]])
    out = tmp_path / "r.xlsx"
    write(out, sheet, MAPPING + "  email: Email\n")
    book = openpyxl.load_workbook(out)
    for key, value in book[META_SHEET].iter_rows(min_row=2):
        if key.value == "mapping_text":
            value.value = value.value.replace("  email: Email\n", "")  # what a cut does
    book.save(out)
    with pytest.raises(ResultsError) as info:
        read_results(out)
    assert info.value.message == (
        f"{out}: the hidden {META_SHEET} sheet does not read back as written (its mapping "
        "changed or was cut, as Excel does to a cell over 32,767 characters)"
    )


def test_edited_column_lists_are_refused(tmp_path):
    sheet = sheet_of(tmp_path, [["Lead ID", "Zip"], ["L1", "84601"]])
    out = tmp_path / "r.xlsx"
    write(out, sheet)
    book = openpyxl.load_workbook(out)
    for key, value in book[META_SHEET].iter_rows(min_row=2):
        if key.value == "source_columns":
            value.value = '["Zip", "Lead ID"]'
    book.save(out)
    with pytest.raises(ResultsError, match="its column lists changed or was cut"):
        read_results(out)


# -- 12. file modes ----------------------------------------------------------------------------


@pytest.fixture
def umask():
    def set_umask(mask: int) -> None:
        os.umask(mask)

    previous = os.umask(0o022)
    yield set_umask
    os.umask(previous)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_a_new_results_file_follows_the_umask(tmp_path, umask, suffix):
    umask(0o077)
    out = tmp_path / f"private{suffix}"
    write(out, sheet_of(tmp_path, [["Lead ID"], ["L1"]]))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    umask(0o022)
    out2 = tmp_path / f"shared{suffix}"
    write(out2, sheet_of(tmp_path, [["Lead ID"], ["L1"]]))
    assert stat.S_IMODE(out2.stat().st_mode) == 0o644


def test_a_results_file_made_private_stays_private_when_rewritten(tmp_path, umask):
    out = tmp_path / "r.xlsx"
    sheet = sheet_of(tmp_path, [["Lead ID"], ["L1"]])
    write(out, sheet)
    out.chmod(0o600)
    write(out, sheet)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


# -- 13. sheet titles, file names, leftovers ----------------------------------------------


@pytest.mark.parametrize("title", ["'Leads'", "'", "Leads'", EMOJI * 20, "Summary", "a" * 30 + "'"])
def test_any_source_sheet_name_gives_writable_results_that_retry_finds(tmp_path, title):
    rows = [HEADER, *[lead_row(i) for i in range(1, 4)]]
    source = write_xlsx(tmp_path / "named.xlsx", rows, sheet=title)
    mapping = _mapping(tmp_path)
    out = tmp_path / "named.results.xlsx"
    result = invoke("validate", str(source), "-m", str(mapping), "-o", str(out))
    assert result.exit_code == 0, result.output
    result = invoke("retry", str(out), "--sandbox", "--rate-limit", "0")
    assert result.exit_code == 0, result.output
    assert "3 created" in result.stdout


def test_a_file_name_that_is_not_utf8_crashes_no_command(tmp_path):
    name = os.fsdecode(b"leads-\xff")
    source = write_xlsx(tmp_path / f"{name}.xlsx", [HEADER, lead_row(1), lead_row(2)])
    mapping = _mapping(tmp_path)
    env = {**os.environ, "ENERFLO_API_KEY": SAMPLE_KEY, "PYTHONIOENCODING": "utf-8"}

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "importer", *args], env=env, cwd=tmp_path,
                              capture_output=True, timeout=120)  # fmt: skip

    out = tmp_path / "out" / f"{name}.results.xlsx"
    for args in (
        ["validate", str(source), "-m", str(mapping)],
        ["send", str(source), "-m", str(mapping), "--sandbox", "--rate-limit", "0", "-o", str(out)],
        ["retry", str(out), "--sandbox"],
        ["validate", str(tmp_path / f"{name}-missing.csv"), "-m", str(mapping)],
    ):
        result = run(*args)
        assert b"internal error" not in result.stderr, result.stderr
        assert b"Traceback" not in result.stderr
    assert result.returncode == 3
    first = result.stderr.splitlines()[0]
    assert first.startswith(b"enerflo-import: error: ")
    assert first.endswith(b"leads-\\udcff-missing.csv: file not found")


def test_temp_files_a_killed_write_left_behind_are_cleaned(tmp_path):
    out = tmp_path / "r.xlsx"
    stale = tmp_path / ".r.xlsx.k3j9x0q_.tmp"
    fresh = tmp_path / ".r.xlsx.abcd1234.tmp"  # as if another write were in flight now
    other = tmp_path / ".r.xlsx.backup.tmp"
    for path in (stale, fresh, other):
        path.write_bytes(b"")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    os.utime(other, (hour_ago, hour_ago))
    os.utime(fresh, (time.time() + 60, time.time() + 60))
    write(out, sheet_of(tmp_path, [["Lead ID"], ["L1"]]))
    leftovers = sorted(p.name for p in tmp_path.glob(".r.xlsx.*"))
    assert leftovers == [fresh.name, other.name]


# -- 13. every results file round-trips through retry ---------------------------------------

HOSTILE = [
    "import_status", "import_status (source)", "import_message (source) (source)",
    ";;;" * 40, "a;b;c;d;e;f", ",", "x,y", "tab\there", '"quoted"', 'say "hi"', "=1+2",
    "+1", "-x", "@x", "'apostrophe", "L" * 5000, "é ü " + EMOJI, "_x0041_", "new\nline",
]  # fmt: skip


def hostile_source(tmp_path: Path) -> Path:
    header = HEADER + HOSTILE
    rows = [lead_row(i) + [f"{name[:10]}-{i}" for name in HOSTILE] for i in range(1, 4)]
    return write_xlsx(tmp_path / "hostile.xlsx", [header, *rows])


def test_written_names_never_collide():
    names = [written_column(n) for n in HOSTILE] + list(RESULT_COLUMNS)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_results_with_hostile_headers_read_back_exactly(tmp_path, suffix):
    sheet = read_sheet(hostile_source(tmp_path))
    out = tmp_path / f"r{suffix}"
    write(out, sheet)
    back = read_results(out, _mapping(tmp_path) if suffix == ".csv" else None)
    assert list(back.frame.columns) == sheet.columns
    assert back.frame.reset_index(drop=True).equals(sheet.frame.reset_index(drop=True))


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_retry_accepts_its_own_output_whatever_the_headers(tmp_path, suffix):
    source = hostile_source(tmp_path)
    mapping = _mapping(tmp_path)
    out = tmp_path / f"hostile.results{suffix}"
    result = invoke("validate", str(source), "-m", str(mapping), "-o", str(out))
    assert result.exit_code == 0, result.output
    more = ["-m", str(mapping)] if suffix == ".csv" else []
    result = invoke("retry", str(out), *more, "--sandbox", "--rate-limit", "0")
    assert result.exit_code == 0, result.output
    assert "3 created" in result.stdout
    again = read_results(out, mapping if suffix == ".csv" else None)
    assert list(again.frame.columns) == read_sheet(source).columns


def test_a_source_csv_whose_quoted_header_is_full_of_semicolons_is_still_comma_separated(tmp_path):
    header = HEADER + ["Notes, misc" + "; and more" * 20]
    source = write_leads_csv(tmp_path / "semi.csv", [lead_row(1) + ["n"]], header)
    sheet = read_sheet(source)
    assert sheet.delimiter == ","
    assert sheet.columns == header
