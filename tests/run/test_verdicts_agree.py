"""The dry run predicts the API on the cells nobody means to type: generated rows mixing the
request's own fields (ignore_validation, createDeal, calendar_id, browser_redirect) and
appointment cells at and past their edges. Every row `validate` calls valid is accepted by
the sandbox, and none crashes the run."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

import importer
from tests.helpers import assert_sent_as_validated

CHOICES: dict[str, list[str]] = {
    "Ignore": ["", "1", "0", "yes", "TRUE", "maybe"],
    "Deal": ["", "5686", "5686.0", "abc", "-5", "1e3", "9223372036854775807",
             "9223372036854775808", "99999999999999999999999", "\u0665\u0666"],
    "Calendar Id": ["", "12", "x", "007"],
    "Calendar": ["", "solar_consultation"],
    "Redirect": ["", "profile", "deal", "scheduling", "home", "DEAL"],
    "Email": ["a@example.com", "", "bad@"],
    "State": ["UT", "", "XX", "utah"],
    "Zip": ["84601", "", "8460", "ABCDE"],
    "Street": ["1 Center St", ""],
    "When": ["", "2027-01-05 10:00", "9999-12-31 23:59", "0001-01-01 00:00",
             "12/31/9999 11:00 PM", "1773325800", "9999999999", "2026-03-08 02:30",
             "9999-12-31T23:59:00-06:00", "soon", "46093.5"],
    "Type": ["12", "", "0", "99999999999999999999"],
    "Minutes": ["", "60", "1" + "0" * 30, "-30"],
}  # fmt: skip

MAPPING = """\
version: 1
lead:
  integration_record_id: Id
  first_name: {value: Pat}
  email: Email
  address: Street
  city: {value: Provo}
  state: State
  zip: Zip
  ignore_validation: Ignore
  createDeal: Deal
  calendar_id: Calendar Id
  calendar: Calendar
  browser_redirect: Redirect
appointment:
  apt_type_id: Type
  name: {value: Consult}
  minutes: Minutes
  date_time: When
  timezone: America/Denver
"""


def generated_sheet(path: Path, seed: int, rows: int = 200) -> Path:
    chance = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Id", *CHOICES])
        for number in range(rows):
            # Half the cells take the column's first (usual) value, so some rows are valid.
            cells = [c[0] if chance.random() < 0.5 else chance.choice(c) for c in CHOICES.values()]
            writer.writerow([f"R{number}", *cells])
    return path


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_generated_row_validate_calls_valid_is_accepted(
    tmp_path: Path, sandbox, seed: int
) -> None:
    source = generated_sheet(tmp_path / "generated.csv", seed)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    checked = importer.validate(source, mapping, out=tmp_path / "validate.csv")
    status = checked.results["import_status"]
    assert 0 < int((status == "valid").sum()) < len(status), "the mix must have both verdicts"
    assert_sent_as_validated(sandbox, source, mapping, checked)
