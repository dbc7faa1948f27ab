"""Re-uploading a cumulative list: the ledger remembers what each destination accepted, so
list B (list A's rows plus new and edited ones, saved by a spreadsheet program as a new
file) posts only what is new or changed. Real sandboxes over loopback, real files, the CLI
as a user runs it; each test has its own ledger (conftest's ENERFLO_IMPORT_HOME)."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from importer.run.ledger import Ledger
from importer.sandbox import running_sandbox
from tests.conftest import HEADER, MAPPING, lead_row, write_leads_csv
from tests.helpers import (
    SAMPLE_KEY,
    by_id,
    edit_workbook,
    invoke,
    results_rows,
    summary_facts,
)

OTHER_KEY = "other-company-key"
A_ROWS = 120
NEW = [f"L{i:04d}" for i in range(1000, 1050)]  # 50 new leads in list B
EDITED = [f"L{i:04d}" for i in range(5, 105, 10)]  # 10 of list A's leads, changed in B


@pytest.fixture
def real():
    """A sandbox standing in for the real API; it knows a second company's key too."""
    with running_sandbox(port=0, rate_limit=0, api_keys=(SAMPLE_KEY, OTHER_KEY)) as box:
        yield box


@pytest.fixture
def lists(tmp_path: Path) -> tuple[Path, Path, Path]:
    """List A (csv), list B (xlsx: A reordered, 50 new, 10 edited) and the mapping."""
    a_rows = [lead_row(i) for i in range(A_ROWS)]
    source_a = write_leads_csv(tmp_path / "leads-week46.csv", a_rows)
    b_rows = [lead_row(i, Street=f"{i} Changed Ave") if f"L{i:04d}" in EDITED else lead_row(i)
              for i in range(A_ROWS)]  # fmt: skip
    b_rows += [lead_row(int(rid[1:])) for rid in NEW]
    random.Random(7).shuffle(b_rows)  # the export came back in another order
    source_b = save_as_xlsx(tmp_path / "leads-week47.xlsx", b_rows)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    return source_a, source_b, mapping


def save_as_xlsx(path: Path, rows: list[list[str]]) -> Path:
    """The rows as a spreadsheet program saves them: a new workbook, one sheet."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Leads"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def send(source: Path, mapping: Path, box, *args: object, key: str = SAMPLE_KEY):
    out = source.with_name(source.stem + ".results.xlsx")
    return invoke("send", source, "-m", mapping, "-o", out, "--base-url", box.base_url,
                  "--rate-limit", "0", *args, key=key)  # fmt: skip


def posts_since(box, mark: int) -> Counter[str]:
    """POSTs per record id the sandbox received after its first `mark` requests (its leads
    stay: an edited row must find the lead it updates)."""
    return Counter(
        r["integration_record_id"] for r in box.requests()[mark:] if r["method"] == "POST"
    )


def b_out(lists) -> Path:
    return lists[1].with_name("leads-week47.results.xlsx")


# -- the scenario ---------------------------------------------------------------------


def test_list_b_posts_only_its_new_and_edited_rows(lists, real) -> None:
    source_a, source_b, mapping = lists
    assert send(source_a, mapping, real).exit_code == 0
    a_results = by_id(source_a.with_name("leads-week46.results.xlsx"))
    lead_of = {rid: row["import_lead_id"] for rid, row in a_results.items()}
    mark = len(real.requests())

    sent = send(source_b, mapping, real)

    assert sent.exit_code == 0, sent.stderr
    assert sorted(posts_since(real, mark)) == sorted(NEW + EDITED), (
        "exactly the 60 new or edited rows"
    )
    assert set(posts_since(real, mark).values()) == {1}
    rows = by_id(b_out(lists))
    unchanged = [rid for rid, row in rows.items() if row["import_status"] == "unchanged"]
    assert len(unchanged) == A_ROWS - len(EDITED)
    for rid in unchanged:
        row = rows[rid]
        assert row["import_lead_id"] == lead_of[rid], "the lead id from the ledger"
        spreadsheet_row = int(rid[1:]) + 2  # list A: header on row 1, L0000 on row 2
        assert row["import_message"] == (
            f"unchanged since {row['import_at'][:10]} (leads-week46.csv row {spreadsheet_row})"
            ": not sent"
        )
        assert row["import_http_status"] == "" and row["import_attempts"] == ""
    for rid in EDITED:
        assert rows[rid]["import_status"] == "updated"
        assert rows[rid]["import_lead_id"] == lead_of[rid]
        assert "integration_record_id: updates a lead sent on 20" in rows[rid]["import_warnings"]
        assert "(leads-week46.csv row " in rows[rid]["import_warnings"]
    assert {rows[rid]["import_status"] for rid in NEW} == {"created"}
    assert f"{A_ROWS + len(NEW)} rows: 50 created, {len(unchanged)} unchanged, 10 updated" in (
        sent.stdout
    )
    assert "ledger: 110 rows unchanged since an earlier import to " in sent.stderr
    facts = summary_facts(b_out(lists))
    assert facts["unchanged"] == "110" and facts["created"] == "50" and facts["updated"] == "10"
    assert "110 rows unchanged at this destination were not sent" in facts["ledger"]
    assert facts["updates_earlier_import"] == "warning"


def test_sending_b_again_sends_nothing_and_exits_0(lists, real) -> None:
    source_a, source_b, mapping = lists
    send(source_a, mapping, real)
    send(source_b, mapping, real)
    again = source_b.with_name("leads-week47-copy.xlsx")
    again.write_bytes(source_b.read_bytes())
    mark = len(real.requests())

    result = invoke("send", again, "-m", mapping, "-o", again.with_suffix(".results.xlsx"),
                    "--base-url", real.base_url, "--json")  # fmt: skip

    assert result.exit_code == 0, result.stdout
    assert posts_since(real, mark) == {}
    assert '"counts": {"unchanged": 170}' in result.stdout


@pytest.mark.parametrize("where", ["another sandbox", "another partner", "another key"])
def test_to_another_destination_b_sends_every_valid_row(lists, real, where: str) -> None:
    source_a, source_b, mapping = lists
    assert send(source_a, mapping, real).exit_code == 0
    mark = len(real.requests())
    with running_sandbox(port=0, rate_limit=0) as other:
        if where == "another sandbox":
            result, box, mark = send(source_b, mapping, other), other, 0
        elif where == "another partner":
            result, box = send(source_b, mapping, real, "--partner", "acme"), real
        else:
            result, box = send(source_b, mapping, real, key=OTHER_KEY), real
        assert result.exit_code == 0, result.stderr
        assert len(posts_since(box, mark)) == A_ROWS + len(NEW)
    assert "unchanged" not in {row["import_status"] for row in results_rows(b_out(lists))}


def test_resend_sends_every_row_and_keeps_the_ledger(lists, real) -> None:
    source_a, _, mapping = lists
    send(source_a, mapping, real)
    mark = len(real.requests())
    out = source_a.with_name("again.xlsx")
    result = invoke("send", source_a, "-m", mapping, "-o", out, "--base-url", real.base_url,
                    "--rate-limit", "0", "--resend")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert len(posts_since(real, mark)) == A_ROWS
    assert {row["import_status"] for row in results_rows(out)} == {"updated"}
    assert "--resend: every valid row sent" in summary_facts(out)["ledger"]


def test_no_ledger_neither_consults_nor_records(lists, real, ledger_home: Path) -> None:
    source_a, _, mapping = lists
    send(source_a, mapping, real, "--no-ledger")
    assert not (ledger_home / "ledger.sqlite3").exists()
    mark = len(real.requests())
    again = invoke("send", source_a, "-m", mapping, "-o", source_a.with_name("again.xlsx"),
                   "--base-url", real.base_url, "--rate-limit", "0")  # fmt: skip
    assert again.exit_code == 0
    assert len(posts_since(real, mark)) == A_ROWS  # nothing was recorded to skip them


def test_a_rehearsal_neither_consults_nor_records_the_ledger(lists, ledger_home: Path) -> None:
    source_a, _, mapping = lists
    for out in ("first.xlsx", "second.xlsx"):
        result = invoke("send", source_a, "-m", mapping, "-o", source_a.with_name(out),
                        "--sandbox", "--rate-limit", "0")  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert f"{A_ROWS} rows: {A_ROWS} created" in result.stdout
    assert not (ledger_home / "ledger.sqlite3").exists()
    facts = summary_facts(source_a.with_name("second.xlsx"))
    assert facts["ledger"] == "not used by a rehearsal (each embedded sandbox starts empty)"


def test_the_ledger_path_option_moves_it(lists, real, tmp_path: Path, ledger_home) -> None:
    source_a, source_b, mapping = lists
    elsewhere = tmp_path / "team" / "ledger.db"
    send(source_a, mapping, real, "--ledger", elsewhere)
    assert elsewhere.exists() and not (ledger_home / "ledger.sqlite3").exists()
    mark = len(real.requests())
    send(source_b, mapping, real, "--ledger", elsewhere)
    assert len(posts_since(real, mark)) == 60


# -- the dry run says what a send would do ----------------------------------------------------


def test_validate_with_a_destination_predicts_the_send(lists, real) -> None:
    source_a, source_b, mapping = lists
    send(source_a, mapping, real)
    dry = source_b.with_name("dry.xlsx")

    result = invoke("validate", source_b, "-m", mapping, "-o", dry, "--base-url", real.base_url)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1] == (
        f"ledger: a send to {real.base_url}/api/v1/partner/action/lead/add would skip 110 "
        "unchanged rows and update 10 leads sent before"
    )
    rows = by_id(dry)
    assert {row["import_status"] for row in rows.values()} == {"valid"}
    skipped = {rid for rid, row in rows.items() if "will not be sent" in row["import_warnings"]}
    assert len(skipped) == 110
    assert re.fullmatch(
        r"integration_record_id: unchanged since \d{4}-\d\d-\d\d \(leads-week46.csv row 2\): "
        "will not be sent",
        rows["L0000"]["import_warnings"],
    )
    assert all("updates a lead sent on" in rows[rid]["import_warnings"] for rid in EDITED)
    assert all(rows[rid]["import_warnings"] == "" for rid in NEW)
    mark = len(real.requests())
    send(source_b, mapping, real)
    assert set(posts_since(real, mark)) == set(rows) - skipped, "the send did what the dry run said"


def test_validate_with_only_a_base_url_uses_the_one_key_the_ledger_knows(lists, real) -> None:
    source_a, source_b, mapping = lists
    send(source_a, mapping, real)
    result = invoke("validate", source_b, "-m", mapping, "-o", source_b.with_name("dry.xlsx"),
                    "--base-url", real.base_url, key=None)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "would skip 110 unchanged rows and update 10 leads sent before (no api key set: " in (
        result.stdout
    )


def test_validate_reads_the_destination_from_the_environment_like_send(lists, real) -> None:
    source_a, source_b, mapping = lists
    send(source_a, mapping, real)
    result = invoke("validate", source_b, "-m", mapping, "-o", source_b.with_name("dry.xlsx"),
                    ENERFLO_BASE_URL=real.base_url, ENERFLO_PARTNER="partner")  # fmt: skip
    assert f"ledger: a send to {real.base_url}/api/v1/partner/action/lead/add would skip 110" in (
        result.stdout
    )


def test_validate_with_another_key_predicts_every_row_is_sent(lists, real) -> None:
    source_a, source_b, mapping = lists
    send(source_a, mapping, real)
    result = invoke("validate", source_b, "-m", mapping, "-o", source_b.with_name("dry.xlsx"),
                    "--base-url", real.base_url, key=OTHER_KEY)  # fmt: skip
    assert "would skip 0 unchanged rows and update 0 leads sent before" in result.stdout


def test_validate_without_a_destination_or_key_does_not_look(lists, real) -> None:
    source_a, source_b, mapping = lists
    send(source_a, mapping, real)
    dry = source_b.with_name("dry.xlsx")
    result = invoke("validate", source_b, "-m", mapping, "-o", dry, key=None)
    assert result.exit_code == 0
    assert "ledger" not in result.stdout
    assert {row["import_warnings"] for row in results_rows(dry)} == {""}


def test_validate_of_a_rehearsal_says_the_ledger_is_not_used(lists) -> None:
    _, source_b, mapping = lists
    result = invoke("validate", source_b, "-m", mapping, "-o", source_b.with_name("dry.xlsx"),
                    "--sandbox")  # fmt: skip
    assert "ledger: not used by a rehearsal (each embedded sandbox starts empty)" in result.stdout


# -- retry --------------------------------------------------------------------------------------


def test_retry_never_resends_unchanged_rows_and_their_ids_stay_taken(lists, real) -> None:
    source_a, _, mapping = lists
    send(source_a, mapping, real)
    rows = [lead_row(i) for i in range(10)] + [lead_row(500, Zip="ABCDE")]
    source_c = save_as_xlsx(source_a.with_name("leads-c.xlsx"), rows)
    assert send(source_c, mapping, real).exit_code == 4  # L0500 invalid, the rest unchanged
    out = source_c.with_name("leads-c.results.xlsx")
    assert {r["import_status"] for r in results_rows(out)} == {"unchanged", "invalid"}

    def fix(sheet) -> None:  # L0500 now claims L0003's id, which this file left unchanged
        sheet["A12"].value = "L0003"
        sheet["I12"].value = "84601"

    edit_workbook(out, fix)
    mark = len(real.requests())
    result = invoke("retry", out, "--rate-limit", "0")

    assert result.exit_code == 4, result.stderr
    assert posts_since(real, mark) == {}
    retried = results_rows(out)
    assert [r["import_status"] for r in retried] == ["unchanged"] * 10 + ["invalid"]
    assert '"L0003" was already sent for another row' in retried[10]["import_message"]


def test_retry_skips_a_pending_row_another_file_got_accepted(lists, real) -> None:
    source_a, source_b, mapping = lists
    assert send(source_b, mapping, real, "--limit", "5").exit_code == 4  # the rest is pending
    first = {rid for rid, row in by_id(b_out(lists)).items() if row["import_lead_id"]}
    assert send(source_a, mapping, real).exit_code == 0  # list A's rows go in meanwhile
    mark = len(real.requests())

    result = invoke("retry", b_out(lists), "--rate-limit", "0")

    assert result.exit_code == 0, result.stderr
    assert set(posts_since(real, mark)) == set(NEW + EDITED) - first
    statuses = {rid: row["import_status"] for rid, row in by_id(b_out(lists)).items()}
    unchanged = {rid for rid, status in statuses.items() if status == "unchanged"}
    assert unchanged == {f"L{i:04d}" for i in range(A_ROWS)} - set(EDITED) - first
    assert "ledger: 110" not in result.stderr  # retry counts only the rows it had due
    assert f"ledger: {len(unchanged)} rows unchanged since an earlier import" in result.stderr


# -- what the ledger holds --------------------------------------------------------------------


def test_the_ledger_holds_hashes_never_the_key_or_lead_values(lists, real, ledger_home) -> None:
    source_a, _, mapping = lists
    send(source_a, mapping, real)
    raw = b"".join(path.read_bytes() for path in ledger_home.iterdir())
    for secret in (
        SAMPLE_KEY,
        "lead7@example.com",
        "First7",
        "Last7",
        "7 N Main St",
        "555-0007",
        "8015550007",
    ):
        assert secret.encode() not in raw, secret
    with Ledger.open(ledger_home / "ledger.sqlite3", write=False) as ledger:
        [place] = [contents.place for contents in ledger.contents()]
        entry = ledger.known(place)["L0007"]
    assert place.endpoint == f"{real.base_url}/api/v1/partner/action/lead/add"
    assert place.key_fingerprint.startswith("k") and SAMPLE_KEY not in place.key_fingerprint
    assert (entry.file, entry.row, len(entry.fingerprint)) == ("leads-week46.csv", 9, 32)


def test_unchanged_rows_are_coloured_apart_from_sent_ones(lists, real) -> None:
    source_a, source_b, mapping = lists
    send(source_a, mapping, real)
    send(source_b, mapping, real)
    sheet = openpyxl.load_workbook(b_out(lists))["Leads"]
    fills = {
        rule.formula[0]: rule.dxf.fill.bgColor.rgb
        for cf in sheet.conditional_formatting
        for rule in cf.rules
    }
    assert fills['"unchanged"'] == "FFDDEBF7"  # a muted blue: fine, and nothing was sent
    assert fills['"unchanged"'] not in (fills['"created"'], fills['"pending"'])
