"""The command line: exit codes, one-line errors, summaries, the dry run end to end."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from importer import __version__
from importer.cli import main
from tests.conftest import HEADER, MAPPING, lead_row, write_leads_csv
from tests.helpers import ROOT, results_rows


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version_prints_the_package_version() -> None:
    code, out, _ = run("--version")
    assert code == 0
    assert out.strip() == f"enerflo-import {__version__}"


def test_validate_writes_every_row_with_its_verdict(
    leads_csv: Path, mapping_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out" / "leads.results.xlsx"
    code, stdout, stderr = run("validate", str(leads_csv), "-m", str(mapping_path), "-o", str(out))
    assert code == 4, stderr
    rows = results_rows(out)
    assert [r["import_status"] for r in rows] == ["valid"] * 6 + ["invalid", "invalid"]
    assert rows[6]["import_message"].startswith("zip:")
    assert rows[7]["import_message"].startswith("email:")
    assert [r["Lead ID"] for r in rows] == [f"L{i:04d}" for i in range(1, 9)]
    assert "6 valid" in stdout and "2 invalid" in stdout and str(out) in stdout


def test_validate_exits_zero_when_every_row_is_valid(tmp_path: Path, mapping_path: Path) -> None:
    source = write_leads_csv(tmp_path / "ok.csv", [lead_row(i) for i in range(3)])
    code, _, stderr = run(
        "validate", str(source), "-m", str(mapping_path), "-o", str(tmp_path / "r.csv")
    )
    assert code == 0, stderr


def test_json_summary_is_machine_readable(
    leads_csv: Path, mapping_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.xlsx"
    code, stdout, _ = run(
        "validate", str(leads_csv), "-m", str(mapping_path), "-o", str(out), "--json"
    )
    summary = json.loads(stdout)
    assert code == 4
    assert summary["counts"] == {"invalid": 2, "valid": 6}
    assert summary["rows"] == 8 and summary["out"] == str(out) and summary["exit_code"] == 4


def test_sample_data_validates_with_the_sample_mapping(tmp_path: Path) -> None:
    out = tmp_path / "sample.results.xlsx"
    code, _, stderr = run(
        "validate",
        str(ROOT / "sample_data/leads.xlsx"),
        "-m",
        str(ROOT / "mappings/sample.yaml"),
        "-o",
        str(out),
    )
    assert code == 4, stderr
    rows = results_rows(out)
    by_id = {r["Lead ID"]: r for r in rows if r["Lead ID"] != "FB-1012"}
    assert by_id["FB-1005"]["import_status"] == "valid"
    assert "zip" in by_id["FB-1005"]["import_warnings"]  # 2134 zero-padded
    assert by_id["FB-1011"]["import_status"] == "invalid"  # zip ABCDE
    assert by_id["FB-1010"]["import_status"] == "invalid"  # no address
    assert by_id["FB-1006"]["Last Name"] == "NA"


def bad(args: list[str]) -> tuple[int, str]:
    code, stdout, stderr = run(*args)
    return code, stderr


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("enerflo-import: error: "), stderr
    assert all(line.startswith(("enerflo-import: error: ", "hint: ")) for line in lines), stderr
    assert "Traceback" not in stderr
    return lines[0]


def written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make_source, expected",
    [
        (lambda d: d / "missing.csv", "file not found"),
        (lambda d: written(d / "empty.csv", b""), "empty"),
        (lambda d: write_leads_csv(d / "header.csv", []), "no data rows"),
        (lambda d: written(d / "fake.xlsx", b"a,b\n1,2\n"), "xlsx"),
        (lambda d: written(d / "noise.xlsx", bytes(range(256)) * 8), "xlsx"),
        (lambda d: write_leads_csv(d / "dup.csv", [lead_row(1) + ["x"]], HEADER + ["Zip"]), "Zip"),
    ],
    ids=[
        "missing",
        "empty",
        "header-only",
        "csv-named-xlsx",
        "binary-garbage",
        "duplicate-headers",
    ],
)
def test_bad_source_is_one_line_and_exit_3(
    tmp_path: Path, mapping_path: Path, make_source, expected: str
) -> None:
    source = make_source(tmp_path)
    code, stderr = bad(
        ["validate", str(source), "-m", str(mapping_path), "-o", str(tmp_path / "o.xlsx")]
    )
    assert code == 3
    assert expected in one_error_line(stderr)
    assert not (tmp_path / "o.xlsx").exists()


def test_truncated_xlsx_is_bad_input(tmp_path: Path, mapping_path: Path) -> None:
    whole = tmp_path / "whole.xlsx"
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(lead_row(1))
    book.save(whole)
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert not zipfile.is_zipfile(cut)
    code, stderr = bad(["validate", str(cut), "-m", str(mapping_path)])
    assert code == 3
    one_error_line(stderr)


def test_bad_yaml_is_bad_input(leads_csv: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nlead:\n  integration_record_id: [Lead ID\n")
    code, stderr = bad(["validate", str(leads_csv), "-m", str(broken)])
    assert code == 3
    assert "broken.yaml" in one_error_line(stderr)


def test_mapped_column_missing_from_sheet_lists_the_columns(
    leads_csv: Path, tmp_path: Path
) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.replace("email: Email", "email: E-mail"))
    code, stderr = bad(["validate", str(leads_csv), "-m", str(mapping)])
    assert code == 3
    assert '"E-mail"' in one_error_line(stderr)
    assert "hint: " in stderr and "Email" in stderr.split("hint: ")[1]


def test_missing_api_key_is_a_usage_error(leads_csv: Path, mapping_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ENERFLO_API_KEY", raising=False)
    code, stderr = bad(["send", str(leads_csv), "-m", str(mapping_path)])
    assert code == 2
    assert "ENERFLO_API_KEY" in one_error_line(stderr)


def test_plain_http_to_a_remote_host_is_refused(
    leads_csv: Path, mapping_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("ENERFLO_API_KEY", "secret-key-123")
    code, stderr = bad(
        ["send", str(leads_csv), "-m", str(mapping_path), "--base-url", "http://example.com"]
    )
    assert code == 2
    line = one_error_line(stderr)
    assert "http" in line and "secret-key-123" not in stderr


def test_installed_console_script_runs_a_dry_run(
    leads_csv: Path, mapping_path: Path, tmp_path: Path
) -> None:
    script = shutil.which("enerflo-import", path=str(Path(sys.executable).parent))
    assert script is not None, "the console script is not installed in this venv"
    out = tmp_path / "r.csv"
    done = subprocess.run(
        [script, "validate", str(leads_csv), "-m", str(mapping_path), "-o", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 4, done.stderr
    assert json.loads(done.stdout)["counts"]["valid"] == 6
    assert out.read_text(encoding="utf-8-sig").splitlines()[0].endswith("import_at")


FORMAT_ROWS = [
    HEADER,
    lead_row(1, **{"Last Name": "Peña"}),  # an accent, to prove the encoding was read right
    lead_row(2, Zip="ABCDE"),
    lead_row(3, State="utah"),
    lead_row(4, Phone="555-1234"),
]


def _write_kind(kind: str, directory: Path) -> Path:
    from tests import factories

    writers = {
        "xlsx": lambda p: factories.write_xlsx(p, FORMAT_ROWS),
        "ods": lambda p: factories.write_ods(p, FORMAT_ROWS),
        "xls": lambda p: factories.write_xls(p, FORMAT_ROWS),
        "utf-8.csv": lambda p: factories.write_csv(p, FORMAT_ROWS, encoding="utf-8"),
        "utf-8-sig.csv": lambda p: factories.write_csv(
            p, FORMAT_ROWS, encoding="utf-8-sig", delimiter=";"
        ),
        "cp1252.csv": lambda p: factories.write_csv(
            p, FORMAT_ROWS, encoding="cp1252", delimiter="\t"
        ),
    }
    path = directory / f"leads.{kind}"
    writers[kind](path)
    return path


@pytest.mark.parametrize("kind", ["xlsx", "ods", "xls", "utf-8.csv", "utf-8-sig.csv", "cp1252.csv"])
def test_every_supported_format_validates_to_the_same_verdicts(
    kind: str, tmp_path: Path, mapping_path: Path
) -> None:
    source = _write_kind(kind, tmp_path)
    out = tmp_path / "r.xlsx"
    code, _, stderr = run("validate", str(source), "-m", str(mapping_path), "-o", str(out))
    assert code == 4, stderr
    rows = results_rows(out)
    assert [r["import_status"] for r in rows] == ["valid", "invalid", "valid", "invalid"]
    assert rows[0]["Last Name"] == "Peña"
    assert rows[1]["import_message"].startswith("zip:")
    assert "UT" in rows[2]["import_warnings"]
    assert rows[3]["import_message"].startswith("mobile:")


def test_suggest_mapping_writes_a_mapping_that_validates(tmp_path: Path) -> None:
    header = [
        "Record ID",
        "First Name",
        "Last Name",
        "Email",
        "Phone Number",
        "Street Address",
        "City",
        "State/Region",
        "Postal Code",
    ]
    source = write_leads_csv(tmp_path / "hubspot.csv", [lead_row(i) for i in range(1, 4)], header)
    target = tmp_path / "mappings" / "new.yaml"
    code, out, stderr = run("suggest-mapping", str(source), "-o", str(target))
    assert code == 0, stderr
    assert str(target) in out
    code, _, stderr = run(
        "validate", str(source), "-m", str(target), "-o", str(tmp_path / "r.xlsx")
    )
    assert code == 0, stderr
    again, _, stderr = run("suggest-mapping", str(source), "-o", str(target))
    assert again == 3 and "--force" in stderr
    forced, _, _ = run("suggest-mapping", str(source), "-o", str(target), "--force")
    assert forced == 0


def test_off_a_terminal_a_send_prints_a_progress_line_every_interval(tmp_path: Path) -> None:
    from importer.sandbox import running_sandbox
    from tests.helpers import start_cli

    source = write_leads_csv(tmp_path / "leads.csv", [lead_row(i) for i in range(20)])
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING)
    with running_sandbox(port=0, rate_limit=0, latency_ms=100) as box:
        proc = start_cli(
            "send", source, "-m", mapping, "-o", tmp_path / "o.xlsx", "--base-url", box.base_url,
            env={"ENERFLO_IMPORT_PROGRESS_SECONDS": "0.5"},
        )  # fmt: skip
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    lines = [line for line in err.splitlines() if line.startswith("progress: ")]
    assert len(lines) >= 2, err
    assert re.fullmatch(r"progress: \d+/20 rows \(\d+ ok, 0 failed\), \d+/min, ETA \d+ s", lines[0])
    assert "20 rows: 20 created" in out


def test_json_errors_are_one_object_on_stdout(tmp_path: Path, mapping_path: Path) -> None:
    code, out, err = run("validate", str(tmp_path / "nope.csv"), "-m", str(mapping_path), "--json")
    assert code == 3
    payload = json.loads(out)
    assert payload["exit_code"] == 3 and "file not found" in payload["error"]
    assert payload["hint"] == "check the path"
    assert err.startswith("enerflo-import: error: ")


def test_suggest_mapping_with_json_prints_the_mapping_inside_json(tmp_path: Path) -> None:
    source = write_leads_csv(tmp_path / "leads.csv", [lead_row(1)])
    code, out, _ = run("suggest-mapping", str(source), "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["out"] is None and payload["mapping"].startswith("# Suggested by")


def test_help_lists_commands_in_workflow_order_with_examples() -> None:
    code, out, _ = run("--help")
    listed = [line.split()[0] for line in out.split("Commands:")[1].splitlines() if line.strip()]
    assert listed == ["suggest-mapping", "validate", "send", "retry", "sandbox", "ledger"]
    for command in listed[:4]:
        assert "Example:" in run(command, "--help")[1]


def test_a_bad_option_value_with_json_is_one_json_object_too(tmp_path: Path) -> None:
    code, out, err = run("send", "leads.csv", "-m", "m.yaml", "--concurrency", "0", "--json")
    assert code == 2
    payload = json.loads(out)
    assert payload["exit_code"] == 2 and "--concurrency" in payload["error"]
    assert "Invalid value" in err
