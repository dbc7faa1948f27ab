"""`retry`: fix cells in the results workbook, re-run only what is not accepted yet."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl

from importer.sandbox import running_sandbox
from tests.conftest import HEADER, MAPPING, SAMPLE_KEY, lead_row, write_leads_csv
from tests.helpers import invoke, posts, results_rows

REDIRECT_MAPPING = MAPPING + "  browser_redirect: Redirect\n"


def edit_cells(path: Path, changes: dict[tuple[str, str], str]) -> None:
    """Edit cells as a user would in Excel: (Lead ID, column) -> new text."""
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        for (lead_id, column), value in changes.items():
            if row[0].value == lead_id:
                row[header.index(column)].value = value
    book.save(path)


def first_send(tmp_path: Path, box) -> Path:
    """Eight rows: five accepted, a bad zip, a bad email (invalid), one the API rejects
    (`box` refuses the id L0008, for a reason no dry run sees)."""
    assert box.config.reject_ids == ("L0008",)
    rows = [lead_row(i) + [""] for i in range(1, 9)]
    rows[5] = lead_row(6, Zip="8460X") + [""]
    rows[6] = lead_row(7, Email="seven@@example") + [""]
    source = write_leads_csv(tmp_path / "leads.csv", rows, HEADER + ["Redirect"])
    mapping = tmp_path / "m.yaml"
    mapping.write_text(REDIRECT_MAPPING)
    out = tmp_path / "out" / "leads.results.xlsx"
    result = invoke(
        "send", str(source), "-m", str(mapping), "-o", str(out), "--base-url", box.base_url
    )
    assert result.exit_code == 4, result.stderr
    return out


def test_retry_sends_exactly_the_fixed_and_rejected_rows(tmp_path: Path) -> None:
    with running_sandbox(port=0, rate_limit=0, reject_ids=("L0008",)) as box:
        out = first_send(tmp_path, box)
        before = {r["Lead ID"]: r for r in results_rows(out)}
        assert before["L0008"]["import_status"] == "rejected"
        assert "refused by this sandbox" in before["L0008"]["import_message"]
        edit_cells(
            out,
            {
                ("L0006", "Zip"): "84601",
                ("L0007", "Email"): "seven@example.com",
                ("L0008", "Lead ID"): "L0008-new",  # what the API refuses, changed
            },
        )
        sent_before = posts(box)
        result = invoke("retry", str(out), "--base-url", box.base_url)
        assert result.exit_code == 0, result.stderr + result.stdout
        new_posts = posts(box) - sent_before
    assert sorted(new_posts) == ["L0006", "L0007", "L0008-new"]
    after = {r["Lead ID"]: r for r in results_rows(out)}
    assert {r["import_status"] for r in after.values()} == {"created"}
    assert after["L0006"]["Zip"] == "84601"  # the user's fix is kept in the workbook
    assert after["L0008-new"]["import_attempts"] == "2"  # one rejected, one accepted
    assert after["L0001"]["import_lead_id"] == before["L0001"]["import_lead_id"]
    assert after["L0001"]["import_at"] == before["L0001"]["import_at"]


def test_second_retry_with_nothing_due_sends_nothing(tmp_path: Path) -> None:
    with running_sandbox(port=0, rate_limit=0, reject_ids=("L0008",)) as box:
        out = first_send(tmp_path, box)
        edit_cells(
            out,
            {
                ("L0006", "Zip"): "84601",
                ("L0007", "Email"): "seven@example.com",
                ("L0008", "Lead ID"): "L0008-new",  # what the API refuses, changed
            },
        )
        assert invoke("retry", str(out), "--base-url", box.base_url).exit_code == 0
        count = len(box.requests())
        again = invoke("retry", str(out), "--base-url", box.base_url)
        assert again.exit_code == 0, again.stderr
        assert len(box.requests()) == count


def test_unfixed_rows_stay_invalid_and_are_not_sent(tmp_path: Path) -> None:
    with running_sandbox(port=0, rate_limit=0, reject_ids=("L0008",)) as box:
        out = first_send(tmp_path, box)
        sent_before = posts(box)
        result = invoke("retry", str(out), "--base-url", box.base_url)
        new_posts = posts(box) - sent_before
    assert result.exit_code == 4
    assert sorted(new_posts) == ["L0008"]  # rejected rows are re-sent as they are
    statuses = {r["Lead ID"]: r["import_status"] for r in results_rows(out)}
    assert statuses["L0006"] == "invalid" and statuses["L0007"] == "invalid"


def test_rows_added_by_the_user_are_reported_not_sent(tmp_path: Path) -> None:
    with running_sandbox(port=0, rate_limit=0, reject_ids=("L0008",)) as box:
        out = first_send(tmp_path, box)
        book = openpyxl.load_workbook(out)
        book.worksheets[0].append(lead_row(99) + [""])
        book.save(out)
        sent_before = posts(box)
        result = invoke("retry", str(out), "--base-url", box.base_url)
        new_posts = posts(box) - sent_before
    assert "L0099" not in new_posts
    added = [r for r in results_rows(out) if r["Lead ID"] == "L0099"]
    assert added and added[0]["import_status"] == "invalid"
    assert "added" in added[0]["import_message"]
    assert result.exit_code == 4


def test_csv_results_round_trip_through_formula_neutralization(tmp_path: Path) -> None:
    rows = [lead_row(1, **{"First Name": "=cmd|'/C calc'!A0"}), lead_row(2, Zip="ABCDE")]
    source = write_leads_csv(tmp_path / "leads.csv", rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING)
    out = tmp_path / "results.csv"
    with running_sandbox(port=0, rate_limit=0) as box:
        invoke("send", str(source), "-m", str(mapping), "-o", str(out), "--base-url", box.base_url)
        text = out.read_text(encoding="utf-8-sig")
        assert "'=cmd" in text  # neutralized for spreadsheet programs
        fixed = text.replace("ABCDE", "84601")
        out.write_text(fixed, encoding="utf-8-sig")
        result = invoke("retry", str(out), "-m", str(mapping), "--base-url", box.base_url)
        leads = {lead["integration_record_id"]: lead for lead in box.leads()}
    assert result.exit_code == 0, result.stderr
    assert leads["L0001"]["first_name"] == "=cmd|'/C calc'!A0"  # sent as typed, not with the quote
    with out.open(encoding="utf-8-sig", newline="") as handle:
        records = list(csv.DictReader(handle))
    assert [r["import_status"] for r in records] == ["created", "created"]
    assert records[0]["First Name"] == "'=cmd|'/C calc'!A0"


def test_a_workbook_not_written_by_the_tool_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.xlsx"
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(lead_row(1))
    book.save(plain)
    result = invoke("retry", str(plain), "--sandbox")
    assert result.exit_code == 3
    assert result.stderr.startswith("enerflo-import: error: ") and "enerflo-import" in result.stderr


def test_a_workbook_with_a_result_column_removed_is_refused(tmp_path: Path) -> None:
    with running_sandbox(port=0, rate_limit=0, reject_ids=("L0008",)) as box:
        out = first_send(tmp_path, box)
        book = openpyxl.load_workbook(out)
        book.worksheets[0].delete_cols(book.worksheets[0].max_column)  # import_at
        book.save(out)
        count = len(box.requests())
        result = invoke("retry", str(out), "--base-url", box.base_url)
        assert len(box.requests()) == count
    assert result.exit_code == 3
    assert "import_at" in result.stderr


def test_retry_after_a_kill_resumes_without_doubling(tmp_path: Path) -> None:
    rows = [lead_row(i, Zip="ABCDE") for i in range(60)]
    source = write_leads_csv(tmp_path / "leads.csv", rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING)
    out = tmp_path / "results.xlsx"
    assert invoke("validate", str(source), "-m", str(mapping), "-o", str(out)).exit_code == 4
    book = openpyxl.load_workbook(out)
    sheet = book.worksheets[0]
    zip_col = HEADER.index("Zip") + 1
    for r in range(2, sheet.max_row + 1):
        sheet.cell(r, zip_col).value = "84601"
    book.save(out)
    env = {**os.environ, "ENERFLO_API_KEY": SAMPLE_KEY}
    with running_sandbox(port=0, rate_limit=0) as box:
        cmd = [
            sys.executable,
            "-m",
            "importer",
            "retry",
            str(out),
            "--base-url",
            box.base_url,
            "--quiet",
        ]
        proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while len(box.leads()) < 10:
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)  # polling a real condition
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        before = posts(box)
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        after = posts(box)
        assert len(box.leads()) == 60
    resent = [rid for rid, n in after.items() if n > 1]
    assert len(resent) <= 1 and all(before[rid] == 1 for rid in resent)
    assert {r["import_status"] for r in results_rows(out)} <= {"created", "updated"}


def test_a_duplicate_moved_above_its_sent_twin_is_still_not_sent(tmp_path: Path) -> None:
    rows = [lead_row(1), lead_row(2), lead_row(2, Email="second@example.com")]
    source = write_leads_csv(tmp_path / "leads.csv", rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING)
    out = tmp_path / "out.xlsx"
    with running_sandbox(port=0, rate_limit=0) as box:
        invoke("send", str(source), "-m", str(mapping), "-o", str(out), "--base-url", box.base_url)
        book = openpyxl.load_workbook(out)
        sheet = book.worksheets[0]
        values = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
        for r, row in enumerate([values[0], values[2], values[1]], start=2):  # sort: dup first
            for c, value in enumerate(row, start=1):
                sheet.cell(r, c).value = value
        book.save(out)
        sent_before = posts(box)
        result = invoke("retry", str(out), "--base-url", box.base_url)
        new_posts = posts(box) - sent_before
    assert result.exit_code == 4
    assert not new_posts
    dup = [r for r in results_rows(out) if r["Email"] == "second@example.com"][0]
    assert dup["import_status"] == "invalid" and "already sent" in dup["import_message"]


def test_send_refuses_an_out_that_retry_has_updated(tmp_path: Path) -> None:
    with running_sandbox(port=0, rate_limit=0, reject_ids=("L0008",)) as box:
        out = first_send(tmp_path, box)
        assert invoke("retry", str(out), "--base-url", box.base_url).exit_code == 4
        count = len(box.requests())
        again = invoke(
            "send",
            str(tmp_path / "leads.csv"),
            "-m",
            str(tmp_path / "m.yaml"),
            "-o",
            str(out),
            "--base-url",
            box.base_url,
        )
        assert len(box.requests()) == count
    assert again.exit_code == 3
    assert "retry has updated this results file" in again.stderr and "--fresh" in again.stderr


def test_a_lead_id_fixed_in_place_is_the_one_sent(tmp_path: Path) -> None:
    rows = [lead_row(1), lead_row(1, Email="twin@example.com")]  # same id twice: 2nd invalid
    source = write_leads_csv(tmp_path / "leads.csv", rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING)
    out = tmp_path / "out.xlsx"
    with running_sandbox(port=0, rate_limit=0) as box:
        invoke("send", str(source), "-m", str(mapping), "-o", str(out), "--base-url", box.base_url)
        book = openpyxl.load_workbook(out)
        book.worksheets[0].cell(3, 1).value = "L0001-B"
        book.save(out)
        result = invoke("retry", str(out), "--base-url", box.base_url)
        ids = sorted(lead["integration_record_id"] for lead in box.leads())
    assert result.exit_code == 0, result.stderr + result.stdout
    assert ids == ["L0001", "L0001-B"]
    fixed = results_rows(out)[1]
    assert (fixed["import_status"], fixed["import_record_id"]) == ("created", "L0001-B")


def test_rows_deleted_by_hand_are_reported(tmp_path: Path) -> None:
    with running_sandbox(port=0, rate_limit=0, reject_ids=("L0008",)) as box:
        out = first_send(tmp_path, box)
        book = openpyxl.load_workbook(out)
        book.worksheets[0].delete_rows(3, 2)  # L0002 and L0003
        book.save(out)
        result = invoke("retry", str(out), "--base-url", box.base_url)
    assert "2 rows were deleted" in result.stderr and "L0002, L0003" in result.stderr
    summary = openpyxl.load_workbook(out, read_only=True)["Summary"]
    facts = {row[0]: row[1] for row in summary.iter_rows(values_only=True) if row and row[0]}
    assert facts["rows deleted by hand"] == "2: L0002, L0003"


def test_a_damaged_hidden_sheet_is_refused_clearly(tmp_path: Path) -> None:
    with running_sandbox(port=0, rate_limit=0, reject_ids=("L0008",)) as box:
        out = first_send(tmp_path, box)
        book = openpyxl.load_workbook(out)
        meta = book["_enerflo_import"]
        for row in meta.iter_rows(min_row=2):
            if row[0].value == "written_columns":
                row[1].value = "["
        book.save(out)
        result = invoke("retry", str(out), "--base-url", box.base_url)
    assert result.exit_code == 3
    assert "hidden _enerflo_import sheet is damaged" in result.stderr
    assert "Traceback" not in result.stderr
