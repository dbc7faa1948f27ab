"""The library as a notebook or a scheduler calls it: importer.validate / send / retry."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import importer
from importer.sandbox import running_sandbox
from tests.conftest import MAPPING, lead_row, write_leads_csv
from tests.helpers import SAMPLE_KEY, posts


@pytest.fixture
def sheet(tmp_path: Path) -> tuple[Path, Path]:
    rows = [lead_row(i) for i in range(1, 9)]
    rows[6] = lead_row(7, Zip="ABCDE")
    source = write_leads_csv(tmp_path / "leads.csv", rows)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    return source, mapping


def test_validate_returns_a_report_with_every_row(sheet, tmp_path: Path) -> None:
    source, mapping = sheet
    report = importer.validate(source, mapping, out=tmp_path / "dry.xlsx")
    assert isinstance(report, importer.Report)
    assert report.counts == {"valid": 7, "invalid": 1}
    assert report.exit_code == 4 and report.out == tmp_path / "dry.xlsx" and report.out.exists()
    assert isinstance(report.results, pd.DataFrame) and len(report.results) == 8
    assert list(report.results.columns[:2]) == ["Lead ID", "First Name"]
    assert report.results.loc[8, "import_status"] == "invalid"  # spreadsheet row 8
    assert report.results.loc[8, "import_message"].startswith("zip:")
    assert [(g.kind, g.rows) for g in report.top_problems] == [("invalid_zip", 1)]


def test_send_takes_the_key_and_endpoint_as_arguments(sheet, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("ENERFLO_API_KEY", raising=False)
    source, mapping = sheet
    with running_sandbox(port=0, rate_limit=0) as box:
        report = importer.send(
            source, mapping, api_key=SAMPLE_KEY, base_url=box.base_url, partner="acme",
            out=tmp_path / "sent.xlsx",
        )  # fmt: skip
        assert len(posts(box)) == 7
    assert report.counts == {"created": 7, "invalid": 1}
    assert report.destination is not None
    assert report.destination.endpoint == f"{box.base_url}/api/v1/acme/action/lead/add"
    assert report.results["import_lead_id"].ne("").sum() == 7


class Recorder:
    """A progress object with only some of the callbacks (the others are optional)."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.plan: importer.RunPlan | None = None
        self.done: list[tuple[int, str | None]] = []
        self.stop_after = stop_after
        self.wrote: Path | None = None

    def starting(self, plan: importer.RunPlan) -> bool:
        self.plan = plan
        return True

    def row_done(self, row: int, status) -> None:
        self.done.append((row, None if status is None else str(status)))

    def should_stop(self) -> bool:
        return self.stop_after is not None and len(self.done) >= self.stop_after

    def writing(self, out: Path) -> None:
        self.wrote = out


def test_progress_sees_the_plan_each_row_and_can_stop_the_run(sheet, tmp_path: Path) -> None:
    source, mapping = sheet
    recorder = Recorder(stop_after=3)
    report = importer.send(
        source, mapping, sandbox=True, out=tmp_path / "r.xlsx", progress=recorder
    )
    assert recorder.plan is not None and recorder.plan.to_send == 7 and recorder.plan.invalid == 1
    assert [status for _, status in recorder.done] == ["created"] * 3
    assert recorder.wrote == tmp_path / "r.xlsx"
    assert report.interrupted and report.exit_code == 130
    assert report.counts == {"created": 3, "pending": 4, "invalid": 1}


def test_a_progress_that_declines_cancels_before_anything_is_sent(sheet, tmp_path: Path) -> None:
    source, mapping = sheet

    class Decline:
        def starting(self, plan) -> bool:
            return False

    with running_sandbox(port=0, rate_limit=0) as box:
        with pytest.raises(importer.UsageError, match="cancelled; nothing was sent"):  # noqa: SIM117
            importer.send(source, mapping, api_key=SAMPLE_KEY, base_url=box.base_url,
                          out=tmp_path / "r.xlsx", progress=Decline())  # fmt: skip
        assert box.requests() == []


def test_a_refused_key_raises_with_the_report_of_what_was_written(sheet, tmp_path: Path) -> None:
    source, mapping = sheet
    with (
        running_sandbox(port=0, rate_limit=0) as box,
        pytest.raises(importer.ApiKeyError) as caught,
    ):
        importer.send(source, mapping, api_key="wrong-key-123", base_url=box.base_url,
                      out=tmp_path / "r.xlsx")  # fmt: skip
    error = caught.value
    assert "refused the api key (HTTP 401)" in error.message and error.hint
    assert error.report is not None and error.report.out.exists()
    assert error.report.counts == {"pending": 7, "invalid": 1}
    assert "wrong-key-123" not in error.message + (error.hint or "")


def test_retry_from_the_library_sends_the_fixed_row(sheet, tmp_path: Path) -> None:
    source, mapping = sheet
    out = tmp_path / "r.xlsx"
    with running_sandbox(port=0, rate_limit=0) as box:
        importer.send(source, mapping, api_key=SAMPLE_KEY, base_url=box.base_url, out=out)
        import openpyxl

        book = openpyxl.load_workbook(out)
        book.worksheets[0].cell(8, 9).value = "84601"  # row 8, Zip
        book.save(out)
        report = importer.retry(out, api_key=SAMPLE_KEY)
        assert posts(box)["L0007"] == 1
    assert report.counts == {"created": 8} and report.exit_code == 0
    assert report.plan is not None and report.plan.retry_due == 1


def test_bad_input_is_an_importer_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(importer.MappingError) as caught:
        importer.validate(tmp_path / "missing.csv", tmp_path / "missing.yaml")
    assert caught.value.exit_code == 3
    assert caught.value.hint and "suggest-mapping" in caught.value.hint
