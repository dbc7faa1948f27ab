"""Run state belongs to one destination, and no edit or command order double-sends or
overwrites a person (issue 8). Each test is a sequence a user meets, against real sandboxes
over loopback: one plays the embedded rehearsal, another "the real API"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from importer.sandbox import running_sandbox
from tests.conftest import MAPPING, lead_row, write_leads_csv
from tests.helpers import (
    SAMPLE_KEY,
    by_id,
    edit_workbook,
    invoke,
    posts,
    results_rows,
    set_cell,
    summary_facts,
)


@pytest.fixture
def real():
    """A sandbox standing in for the real API (its own port, its own leads)."""
    with running_sandbox(port=0, rate_limit=0, api_keys=(SAMPLE_KEY, "other-company-key")) as box:
        yield box


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch) -> Path:
    """The user's folder: default results go to ./out/ here."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def leads_and_mapping(folder: Path, rows: list[list[str]] | None = None) -> tuple[Path, Path]:
    source = write_leads_csv(folder / "leads.csv", rows or [lead_row(i) for i in range(1, 7)])
    mapping = folder / "mapping.yaml"
    mapping.write_text(MAPPING)
    return source, mapping


# -- a rehearsal, then the real send ---------------------------------------------------------


def test_the_readme_workflow_rehearsal_then_real_send_sends_every_row(workdir, real) -> None:
    source, mapping = leads_and_mapping(workdir)
    rehearsal = invoke("send", source, "-m", mapping, "--sandbox")
    assert rehearsal.exit_code == 0, rehearsal.stderr
    assert "rehearsal" in rehearsal.stdout
    assert Path("out/leads.sandbox.results.xlsx").exists()
    assert summary_facts(Path("out/leads.sandbox.results.xlsx"))["rehearsal"].startswith("yes")

    sent = invoke("send", source, "-m", mapping, "--base-url", real.base_url)

    assert sent.exit_code == 0, sent.stderr
    assert sorted(posts(real)) == [f"L{i:04d}" for i in range(1, 7)]
    rows = by_id(Path("out/leads.results.xlsx"))
    assert {r["import_status"] for r in rows.values()} == {"created"}
    facts = summary_facts(Path("out/leads.results.xlsx"))
    assert facts["sent to"] == f"{real.base_url}/api/v1/partner/action/lead/add"
    assert "rehearsal" not in facts


@pytest.mark.parametrize(
    ("first", "second", "named"),
    [
        (["--sandbox"], ["--base-url", "{real}"], "the embedded sandbox (a rehearsal)"),
        (["--base-url", "{real}"], ["--base-url", "{real}", "--partner", "acme"], "/partner/"),
        (["--base-url", "{real}"], ["--base-url", "{other}"], "{real}"),
        # a rehearsal starts over on its own files only: a real send's are never replaced
        (["--base-url", "{real}"], ["--sandbox"], "{real}"),
    ],
    ids=["rehearsal-then-real", "another-partner", "another-base-url", "real-then-rehearsal"],
)
def test_a_journal_of_another_destination_is_refused_naming_both(
    workdir, real, first: list[str], second: list[str], named: str
) -> None:
    source, mapping = leads_and_mapping(workdir)
    out = workdir / "out" / "leads.xlsx"
    with running_sandbox(port=0, rate_limit=0) as other:

        def fill(args: list[str]) -> list[str]:
            return [a.format(real=real.base_url, other=other.base_url) for a in args]

        assert invoke("send", source, "-m", mapping, "-o", out, *fill(first)).exit_code == 0
        before = len(real.requests()) + len(other.requests())
        refused = invoke("send", source, "-m", mapping, "-o", out, *fill(second))
        after = len(real.requests()) + len(other.requests())

    assert refused.exit_code == 3
    assert after == before, "nothing may be sent when the journal belongs elsewhere"
    line = refused.stderr.splitlines()[0]
    assert line.startswith(f"enerflo-import: error: {out}.journal: its rows were sent to ")
    assert named.format(real=real.base_url) in line and ", not to " in line
    assert "--fresh" in refused.stderr and "-o" in refused.stderr
    assert by_id(out)["L0001"]["import_status"] == "created"  # the earlier results stand


def test_another_companys_api_key_is_refused_by_fingerprint(workdir, real) -> None:
    source, mapping = leads_and_mapping(workdir)
    out = workdir / "out.xlsx"
    assert (
        invoke("send", source, "-m", mapping, "-o", out, "--base-url", real.base_url).exit_code == 0
    )
    refused = invoke(
        "send",
        source,
        "-m",
        mapping,
        "-o",
        out,
        "--base-url",
        real.base_url,
        key="other-company-key",
    )
    assert refused.exit_code == 3
    assert "its rows were sent with another api key (fingerprint k" in refused.stderr
    assert "other-company-key" not in refused.stderr + refused.stdout
    assert len(real.leads()) == 6  # the other company received nothing


def test_fresh_sends_every_row_to_the_new_destination(workdir, real) -> None:
    source, mapping = leads_and_mapping(workdir)
    out = workdir / "out.xlsx"
    assert invoke("send", source, "-m", mapping, "-o", out, "--sandbox").exit_code == 0
    again = invoke("send", source, "-m", mapping, "-o", out, "--base-url", real.base_url, "--fresh")
    assert again.exit_code == 0, again.stderr
    assert sorted(posts(real)) == [f"L{i:04d}" for i in range(1, 7)]


def test_a_resumed_run_says_so_before_sending(workdir, real) -> None:
    rows = [lead_row(i) for i in range(1, 7)]
    source, mapping = leads_and_mapping(workdir, rows)
    out = workdir / "out.xlsx"
    first = invoke(
        "send", source, "-m", mapping, "-o", out, "--base-url", real.base_url, "--limit", "4"
    )
    assert first.exit_code == 4  # two rows left pending
    resumed = invoke("send", source, "-m", mapping, "-o", out, "--base-url", real.base_url)
    assert resumed.exit_code == 0
    endpoint = f"{real.base_url}/api/v1/partner/action/lead/add"
    assert f"resuming: 4 rows already accepted at {endpoint} on 20" in resumed.stderr
    assert "2 to send" in resumed.stderr
    assert posts(real) == {f"L{i:04d}": 1 for i in range(1, 7)}


def test_environment_sets_the_endpoint_when_no_option_does(workdir, real) -> None:
    source, mapping = leads_and_mapping(workdir)
    sent = invoke(
        "send", source, "-m", mapping, "-o", "out.xlsx",
        ENERFLO_BASE_URL=real.base_url, ENERFLO_PARTNER="acme",
    )  # fmt: skip
    assert sent.exit_code == 0, sent.stderr
    assert {r["path"] for r in real.requests()} == {"/api/v1/acme/action/lead/add"}


# -- retry never overwrites a person ---------------------------------------------------------


def alice_and_bob(folder: Path) -> tuple[Path, Path]:
    """Two people sharing the id A: Alice (first) is created, Bob is the invalid duplicate."""
    rows = [
        lead_row(1, **{"Lead ID": "A", "First Name": "Alice"}),
        lead_row(2, **{"Lead ID": "A", "First Name": "Bob", "Email": "bob@example.com"}),
        lead_row(3),
    ]
    return leads_and_mapping(folder, rows)


def send_alice_and_bob(folder: Path, real) -> Path:
    source, mapping = alice_and_bob(folder)
    out = folder / "out.xlsx"
    sent = invoke("send", source, "-m", mapping, "-o", out, "--base-url", real.base_url)
    assert sent.exit_code == 4
    rows = results_rows(out)
    assert [r["import_status"] for r in rows] == ["created", "invalid", "created"]
    return out


def lead_a_name(real) -> str:
    (lead,) = [lead for lead in real.leads() if lead["integration_record_id"] == "A"]
    return lead["first_name"]


@pytest.mark.parametrize(
    "edit", ["rename-alice-id", "rename-both-id-cells", "delete-alice", "swap"]
)
def test_retry_never_sends_bob_over_alice_whatever_the_edit(workdir, real, edit: str) -> None:
    out = send_alice_and_bob(workdir, real)

    def change(sheet) -> None:
        header = [c.value for c in sheet[1]]
        if edit == "rename-alice-id":
            sheet.cell(2, 1).value = "A-alice"
        elif edit == "rename-both-id-cells":
            sheet.cell(2, 1).value = "A-alice"
            sheet.cell(2, header.index("import_record_id") + 1).value = "A-alice"
        elif edit == "delete-alice":
            sheet.delete_rows(2)
        else:  # Bob above Alice
            first = [c.value for c in sheet[2]]
            second = [c.value for c in sheet[3]]
            for j, (a, b) in enumerate(zip(first, second, strict=True), start=1):
                sheet.cell(2, j).value, sheet.cell(3, j).value = b, a

    edit_workbook(out, change)
    before = posts(real)
    result = invoke("retry", out)

    assert posts(real) == before, "nothing may be sent: Bob's id is Alice's lead"
    assert lead_a_name(real) == "Alice"
    assert result.exit_code == 4
    (bob,) = [r for r in results_rows(out) if r["First Name"] == "Bob"]
    assert bob["import_status"] == "invalid"
    assert (
        'integration_record_id: "A" was already sent for another row (lead '
        in bob["import_message"]
    )


def test_a_row_whose_status_and_lead_id_were_cleared_is_neither_resent_nor_misnamed(
    workdir, real
) -> None:
    out = send_alice_and_bob(workdir, real)
    (workdir / "out.xlsx.journal").unlink()  # a copy travels without its journal
    set_cell(out, "A", "import_status", "")  # Alice's row: the first "A"
    set_cell(out, "A", "import_lead_id", "")
    before = posts(real)
    result = invoke("retry", out)
    assert posts(real) == before
    assert result.exit_code == 4
    alice = results_rows(out)[0]
    assert alice["First Name"] == "Alice" and alice["import_status"] == "invalid"
    assert alice["import_message"].startswith('integration_record_id: "A" was already sent (lead ')
    assert "import_status and import_lead_id were cleared" in alice["import_message"]


def test_bob_with_his_own_id_is_sent_as_a_new_lead(workdir, real) -> None:
    out = send_alice_and_bob(workdir, real)
    set_cell(out, "A", "First Name", "Alice")  # no change; Bob is the second "A"
    edit_workbook(out, lambda sheet: setattr(sheet.cell(3, 1), "value", "B"))
    result = invoke("retry", out)
    assert result.exit_code == 0, result.stderr
    assert lead_a_name(real) == "Alice"
    assert {lead["integration_record_id"] for lead in real.leads()} == {"A", "B", "L0003"}


# -- validate onto a send's results ------------------------------------------------------------


def test_validate_refuses_to_replace_results_of_a_send(workdir, real) -> None:
    out = send_alice_and_bob(workdir, real)
    before = out.read_bytes()
    refused = invoke("validate", "leads.csv", "-m", "mapping.yaml", "-o", out)
    assert refused.exit_code == 3
    assert refused.stderr.splitlines()[0] == (
        f"enerflo-import: error: {out}: holds the results of a send (2 rows accepted at "
        f"{real.base_url}/api/v1/partner/action/lead/add); validate would replace them"
    )
    assert "hint: write to another results file with -o" in refused.stderr
    assert out.read_bytes() == before


def test_retry_consults_the_send_journal_when_the_file_lost_its_statuses(workdir, real) -> None:
    out = send_alice_and_bob(workdir, real)
    # A dry run's results copied over the send's (by hand, in a file manager): the statuses
    # and lead ids are gone from the file, but the journal beside it remembers.
    assert invoke("validate", "leads.csv", "-m", "mapping.yaml", "-o", "dry.xlsx").exit_code == 4
    shutil.copyfile(workdir / "dry.xlsx", out)
    before = posts(real)
    result = invoke("retry", out, "--base-url", real.base_url)
    assert posts(real) == before, "rows the journal records as accepted are never re-sent"
    assert lead_a_name(real) == "Alice"
    rows = results_rows(out)
    assert [r["import_status"] for r in rows] == ["created", "invalid", "created"]
    assert rows[0]["import_lead_id"] == str(real.leads()[0]["id"])
    assert result.exit_code == 4


# -- retry's destination -------------------------------------------------------------------------


def test_retry_reuses_the_recorded_destination_and_says_so(workdir, real) -> None:
    out = send_alice_and_bob(workdir, real)
    edit_workbook(out, lambda sheet: setattr(sheet.cell(3, 1), "value", "B"))
    result = invoke("retry", out)  # no --base-url: the one recorded in the file
    assert result.exit_code == 0, result.stderr
    endpoint = f"{real.base_url}/api/v1/partner/action/lead/add"
    assert f"retrying at {endpoint} (as recorded in the results file)" in result.stderr
    assert posts(real)["B"] == 1


def test_retry_of_a_rehearsal_stays_a_rehearsal(workdir) -> None:
    source, mapping = alice_and_bob(workdir)
    assert invoke("send", source, "-m", mapping, "--sandbox").exit_code == 4
    result = invoke("retry", "out/leads.sandbox.results.xlsx", key=None)  # no key needed
    assert result.exit_code == 4, result.stderr
    assert "retrying at the embedded sandbox (a rehearsal)" in result.stderr


def test_retry_to_another_destination_than_the_rows_went_to_is_refused(workdir, real) -> None:
    out = send_alice_and_bob(workdir, real)
    refused = invoke("retry", out, "--sandbox")
    assert refused.exit_code == 3
    assert f"its rows were sent to {real.base_url}/api/v1/partner/action/lead/add, not to " in (
        refused.stderr
    )
    other_key = invoke("retry", out, key="other-company-key")
    assert other_key.exit_code == 3
    assert "another api key" in other_key.stderr


def fix_bob_in_csv(path: Path) -> None:
    """Bob gets his own id in a CSV results file, as a user would fix it."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[2].startswith("A,Bob,")
    lines[2] = "B" + lines[2][1:]
    path.write_text("".join(lines), encoding="utf-8")


def test_retry_of_csv_results_goes_where_its_journal_says(workdir, real) -> None:
    source, mapping = alice_and_bob(workdir)
    sent = invoke("send", source, "-m", mapping, "-o", "out.csv", "--base-url", real.base_url)
    assert sent.exit_code == 4, sent.stderr
    fix_bob_in_csv(workdir / "out.csv")
    result = invoke("retry", "out.csv", "-m", mapping)  # no --base-url: the journal knows
    assert result.exit_code == 0, result.stderr
    assert "(as recorded in the results file)" in result.stderr
    assert posts(real) == {"A": 1, "B": 1, "L0003": 1}


def test_a_csv_rehearsal_moved_without_its_journal_is_never_passed_off_as_sent(
    workdir, real
) -> None:
    source, mapping = alice_and_bob(workdir)
    assert invoke("send", source, "-m", mapping, "--sandbox", "-o", "rehearsal.csv").exit_code == 4
    moved = workdir / "moved"
    moved.mkdir()
    shutil.copyfile(workdir / "rehearsal.csv", moved / "rehearsal.csv")
    fix_bob_in_csv(moved / "rehearsal.csv")
    before = (moved / "rehearsal.csv").read_bytes()
    for where in ([], ["--base-url", real.base_url]):
        refused = invoke("retry", moved / "rehearsal.csv", "-m", mapping, *where)
        assert refused.exit_code == 3, refused.stderr
        assert "nothing records where they were sent" in refused.stderr
        assert "rehearsal.csv.journal" in refused.stderr
    assert posts(real) == {}
    assert (moved / "rehearsal.csv").read_bytes() == before


def test_retry_out_onto_the_source_sheet_is_refused(workdir, real) -> None:
    out = send_alice_and_bob(workdir, real)
    source = workdir / "leads.csv"
    before = source.read_bytes()
    refused = invoke("retry", out, "-o", "leads.csv")
    assert refused.exit_code == 2
    assert "would overwrite the source sheet" in refused.stderr
    assert source.read_bytes() == before


def test_a_rehearsal_always_starts_over_its_sandbox_is_new_each_time(workdir) -> None:
    source, mapping = leads_and_mapping(workdir)
    assert invoke("send", source, "-m", mapping, "--sandbox", "--limit", "2").exit_code == 4
    write_leads_csv(source, [lead_row(i, City="Orem") for i in range(1, 7)])  # edited source
    again = invoke("send", source, "-m", mapping, "--sandbox")
    assert again.exit_code == 0, again.stderr
    assert "resuming" not in again.stderr
    rows = by_id(Path("out/leads.sandbox.results.xlsx"))
    assert {row["import_status"] for row in rows.values()} == {"created"}
    assert {row["City"] for row in rows.values()} == {"Orem"}
