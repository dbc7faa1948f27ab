"""Shared fixtures: small lead sheets in tmp_path, a mapping for them, and a live sandbox."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

SAMPLE_KEY = "11595ee3c3ad592e52.31523696"
HEADER = ["Lead ID", "First Name", "Last Name", "Email", "Phone", "Street", "City", "State", "Zip"]
MAPPING = """version: 1
lead:
  integration_record_id: Lead ID
  first_name: First Name
  last_name: Last Name
  email: Email
  mobile: Phone
  address: Street
  city: City
  state: State
  zip: Zip
  lead_status: {value: Needs Contact}
"""


def lead_row(i: int, **changes: str) -> list[str]:
    """One valid lead row (Utah), with `changes` keyed by header name."""
    values = dict(
        zip(
            HEADER,
            [
                f"L{i:04d}",
                f"First{i}",
                f"Last{i}",
                f"lead{i}@example.com",
                f"(801) 555-{i % 10000:04d}",
                f"{i} N Main St",
                "Provo",
                "UT",
                "84601",
            ],
            strict=True,
        )
    )
    values.update(changes)
    return [values[h] for h in HEADER]


def write_leads_csv(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header or HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture(autouse=True)
def ledger_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Path:
    """Each test its own ledger folder (ENERFLO_IMPORT_HOME), never the user's: sandboxes
    reuse loopback ports, so a shared ledger would make one test's rows unchanged in another."""
    home = tmp_path_factory.mktemp("enerflo-home")
    monkeypatch.setenv("ENERFLO_IMPORT_HOME", str(home))
    return home


@pytest.fixture
def mapping_path(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(MAPPING)
    return path


@pytest.fixture
def leads_csv(tmp_path: Path) -> Path:
    """Eight rows: six valid, one bad zip, one bad email."""
    rows = [lead_row(i) for i in range(1, 7)]
    rows.append(lead_row(7, Zip="ABCDE"))
    rows.append(lead_row(8, Email="not-an-email"))
    return write_leads_csv(tmp_path / "leads.csv", rows)


@pytest.fixture
def sandbox() -> Iterator[object]:
    from importer.sandbox import running_sandbox

    with running_sandbox(port=0, rate_limit=0) as box:
        yield box
