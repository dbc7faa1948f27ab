"""--encoding: CSV text in a named encoding; an unknown name is a usage error; the
Windows-1252 fallback is reported to the user."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

import importer
from importer.cli import main
from importer.errors import SheetError, UsageError
from importer.reading.sheet import read_sheet
from tests.factories import write_csv

ROWS = [
    ["ID", "Name", "Address"],
    ["1", "Łucja Żółć", "1 Main St, Provo, UT 84601"],
    ["2", "Paweł Ćwikła", "2 Main St, Provo, UT 84601"],
]
JAPANESE = [["ID", "Name", "Address"], ["1", "山田太郎", "1 Main St, Provo, UT 84601"]]
MAPPING = (
    "version: 1\nlead:\n  integration_record_id: ID\n  full_name: Name\n  fullAddress: Address\n"
)


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING)
    return path


def test_named_encoding_reads_central_european_text(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "pl.csv", ROWS, encoding="iso-8859-2")
    sheet = read_sheet(path, encoding="iso-8859-2")
    assert sheet.frame["Name"].tolist() == ["Łucja Żółć", "Paweł Ćwikła"]
    assert (sheet.encoding, sheet.warnings) == ("iso8859-2", [])


def test_named_encoding_reads_shift_jis(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "jp.csv", JAPANESE, encoding="shift_jis")
    assert read_sheet(path, encoding="shift_jis").frame["Name"].tolist() == ["山田太郎"]


def test_without_a_name_the_windows_1252_fallback_is_a_warning(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "pl.csv", ROWS, encoding="iso-8859-2")
    sheet = read_sheet(path)
    assert sheet.encoding == "cp1252"
    assert sheet.frame["Name"].iloc[0] != "Łucja Żółć"  # what the warning is about
    assert sheet.warnings == [
        "pl.csv: not UTF-8; read as Windows-1252; if accents look wrong, pass --encoding"
    ]


def test_utf8_needs_no_warning(tmp_path: Path) -> None:
    assert read_sheet(write_csv(tmp_path / "u.csv", ROWS)).warnings == []


def test_an_encoding_that_does_not_fit_the_bytes_is_bad_input(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "jp.csv", JAPANESE, encoding="shift_jis")
    with pytest.raises(SheetError) as info:
        read_sheet(path, encoding="ascii")
    assert info.value.message == f"{path}: cannot decode the file as ascii"


def test_library_calls_take_the_encoding(tmp_path: Path, mapping: Path) -> None:
    path = write_csv(tmp_path / "pl.csv", ROWS, encoding="iso-8859-2")
    report = importer.validate(path, mapping, out=tmp_path / "o.csv", encoding="iso-8859-2")
    assert report.results["Name"].tolist() == ["Łucja Żółć", "Paweł Ćwikła"]
    assert report.warnings == []
    fallback = importer.validate(path, mapping, out=tmp_path / "p.csv")
    assert fallback.warnings == [
        "pl.csv: not UTF-8; read as Windows-1252; if accents look wrong, pass --encoding"
    ]
    with pytest.raises(UsageError):
        importer.validate(path, mapping, out=tmp_path / "q.csv", encoding="no-such-codec")


def test_send_takes_the_encoding(tmp_path: Path, mapping: Path, sandbox) -> None:
    path = write_csv(tmp_path / "pl.csv", ROWS, encoding="iso-8859-2")
    report = importer.send(
        path, mapping, base_url=sandbox.base_url, api_key=sandbox.api_key,
        out=tmp_path / "o.csv", encoding="iso-8859-2",
    )  # fmt: skip
    assert report.counts == {"created": 2}
    with urllib.request.urlopen(f"{sandbox.base_url}/_sandbox/leads") as r:
        names = sorted(lead["first_name"] for lead in json.load(r))
    assert names == ["Paweł", "Łucja"]


def test_cli_unknown_encoding_is_one_line_and_exit_2(tmp_path: Path, mapping: Path) -> None:
    path = write_csv(tmp_path / "pl.csv", ROWS)
    for command in (["validate", str(path), "-m", str(mapping)], ["suggest-mapping", str(path)]):
        code, out, err = run(*command, "--encoding", "klingon")
        assert code == 2
        assert err.splitlines() == [
            'enerflo-import: error: unknown encoding "klingon"',
            "hint: use a name such as utf-8, cp1252, iso-8859-2 or shift_jis",
        ]


def test_cli_prints_the_fallback_warning(tmp_path: Path, mapping: Path) -> None:
    path = write_csv(tmp_path / "pl.csv", ROWS, encoding="iso-8859-2")
    code, _, err = run("validate", str(path), "-m", str(mapping), "-o", str(tmp_path / "o.csv"))
    assert code == 0
    assert (
        "warning: pl.csv: not UTF-8; read as Windows-1252; if accents look wrong, pass --encoding"
        in err.splitlines()
    )
    code, out, _ = run(
        "validate", str(path), "-m", str(mapping), "-o", str(tmp_path / "j.csv"), "--json"
    )
    assert json.loads(out)["warnings"] == [
        "pl.csv: not UTF-8; read as Windows-1252; if accents look wrong, pass --encoding"
    ]


def test_cli_encoding_on_validate_and_suggest_mapping(tmp_path: Path, mapping: Path) -> None:
    path = write_csv(tmp_path / "jp.csv", JAPANESE, encoding="shift_jis")
    out = tmp_path / "o.csv"
    code, _, err = run(
        "validate", str(path), "-m", str(mapping), "-o", str(out), "--encoding", "shift_jis"
    )
    assert (code, err) == (0, "")
    assert "山田太郎" in out.read_text(encoding="utf-8-sig")
    code, text, err = run("suggest-mapping", str(path), "--encoding", "shift_jis")
    assert (code, err) == (0, "") and "version: 1" in text  # no "read as Windows-1252"
