"""Real public lists (tests/data/real/) and the samples: a row `validate` calls valid is a
row the sandbox accepts. Each list also pins its count of valid rows, so a change in what
validation accepts shows up here, list by list."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

import importer
from tests.helpers import ROOT, assert_sent_as_validated

REAL = ROOT / "tests" / "data" / "real"
SAMPLES = ROOT / "sample_data"
# (source, mapping, rows, rows valid): a change in a valid count must be explained, list by
# list, in the commit that makes it (tests/data/real/README.md says where each list is from).
LISTS = [
    (REAL / "us500.csv", REAL / "us500.yaml", 150, 150),
    (REAL / "ca500.csv", REAL / "ca500.yaml", 63, 0),
    (REAL / "irs_eo4.csv", REAL / "irs_eo4.yaml", 143, 90),
    (REAL / "irs_eo_ak.csv", REAL / "irs_eo_ak.yaml", 65, 65),
    (REAL / "cms_hospitals.csv", REAL / "cms_hospitals.yaml", 150, 150),
    (REAL / "salesforce_contacts.csv", REAL / "salesforce_contacts.yaml", 21, 13),
    (REAL / "salesforce_leads.csv", REAL / "salesforce_leads.yaml", 22, 2),
    (REAL / "gmaps_gosom.csv", REAL / "gmaps_gosom.yaml", 38, 8),
    (REAL / "gmaps_dallas.xlsx", REAL / "gmaps_dallas.yaml", 25, 25),
    (REAL / "usda_farmers_markets.csv", REAL / "usda_farmers_markets.yaml", 150, 127),
    (REAL / "hubspot_faker.csv", REAL / "hubspot_faker.yaml", 100, 1),
    (REAL / "superstore_cp1252.csv", REAL / "superstore_cp1252.yaml", 150, 0),
    (SAMPLES / "leads.csv", ROOT / "mappings" / "sample.yaml", 36, 30),
    (SAMPLES / "leads.xlsx", ROOT / "mappings" / "sample.yaml", 36, 30),
    (SAMPLES / "appointments.csv", ROOT / "mappings" / "appointments.yaml", 5, 3),
]


def test_every_list_in_the_folder_is_covered() -> None:
    covered = {source.name for source, *_ in LISTS}
    on_disk = {p.name for p in REAL.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert on_disk <= covered


@pytest.mark.parametrize(
    ("source", "mapping", "rows", "valid"), LISTS, ids=[source.name for source, *_ in LISTS]
)
def test_every_row_validate_calls_valid_is_accepted_by_the_sandbox(
    tmp_path: Path, sandbox, source: Path, mapping: Path, rows: int, valid: int
) -> None:
    checked = importer.validate(source, mapping, out=tmp_path / "validate.csv")
    status = checked.results["import_status"]
    assert (len(status), int((status == "valid").sum())) == (rows, valid)
    assert_sent_as_validated(sandbox, source, mapping, checked)


# ---------------------------------------------------------------- targeted


def _validate(tmp_path: Path, source: Path, mapping_text: str) -> pd.DataFrame:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(mapping_text)
    return importer.validate(source, mapping, out=tmp_path / "out.csv").results


def test_foreign_one_cell_addresses_are_not_valid_even_without_a_phone(tmp_path: Path) -> None:
    # gmaps_gosom's foreign rows were caught only by their +39 phones before.
    results = _validate(
        tmp_path,
        REAL / "gmaps_gosom.csv",
        "version: 1\nlead:\n  integration_record_id: place_id\n  fullAddress: address\n",
    )
    foreign = ~results["address"].str.contains(r", (?:TX|GA) \d{5}", regex=True)
    assert int(foreign.sum()) == 30
    assert (results.loc[foreign, "import_status"] == "invalid").all()
    assert results.loc[foreign, "import_message"].str.contains("not the United States").all()
    assert (results.loc[~foreign, "import_status"] == "valid").all()


def test_country_tails_in_any_language_are_dropped_from_the_line_sent(
    tmp_path: Path, sandbox
) -> None:
    mapping = REAL / "gmaps_dallas.yaml"
    importer.send(
        REAL / "gmaps_dallas.xlsx", mapping, base_url=sandbox.base_url,
        api_key=sandbox.api_key, out=tmp_path / "send.csv", rate_limit=0,
    )  # fmt: skip
    with urllib.request.urlopen(f"{sandbox.base_url}/_sandbox/leads") as answer:
        leads = json.load(answer)
    assert len(leads) == 25
    assert {lead["state"] for lead in leads} == {"TX"}
    assert all(lead["zip"].startswith("75") for lead in leads)


def test_impossible_phones_are_not_valid(tmp_path: Path) -> None:
    # The before-report's diagnostic: a constant US address, so only the phone is judged.
    body = (
        "version: 1\nlead:\n  integration_record_id: Guid\n"
        "  fullAddress: {value: '1 Main St, Provo, UT 84601'}\n  mobile: Phone\n"
    )
    leads = _validate(tmp_path, REAL / "salesforce_leads.csv", body)
    japan = leads["Phone"] == "(033) 452-1299"
    assert leads.loc[japan, "import_message"].tolist() == [
        'mobile: "(033) 452-1299" is not a North American number '
        "(area code 033 cannot start with 0)"
    ]
    contacts = _validate(tmp_path, REAL / "salesforce_contacts.csv", body)
    paris = contacts["Phone"] == "(014) 427-4427"
    assert contacts.loc[paris, "import_status"].tolist() == ["invalid"]


def test_extensions_and_001_prefixes_no_longer_invalidate_hubspot_phones(tmp_path: Path) -> None:
    body = (
        "version: 1\nlead:\n  integration_record_id: Contact ID\n"
        "  fullAddress: {value: '1 Main St, Provo, UT 84601'}\n  mobile: Mobile Phone Number\n"
    )
    results = _validate(tmp_path, REAL / "hubspot_faker.csv", body)
    assert int((results["import_status"] == "valid").sum()) == 98
    assert int(results["import_warnings"].str.contains("has an extension").sum()) == 64


def test_irs_territories_are_sent_and_military_and_foreign_codes_refused(tmp_path: Path) -> None:
    results = _validate(tmp_path, REAL / "irs_eo4.csv", (REAL / "irs_eo4.yaml").read_text())
    by_state = results.groupby("STATE")["import_status"].agg(lambda s: set(s))
    for state in ("PR", "VI", "GU", "AS", "MP"):
        assert by_state[state] == {"valid"}, state
    for state in ("AA", "AE", "AP", "FM", "MH", "PW"):
        assert by_state[state] == {"invalid"}, state
    military = results["STATE"].isin(["AA", "AE", "AP"])
    messages = results.loc[military, "import_message"]
    assert messages.str.contains("is a military mail code").all()


def test_po_boxes_of_the_real_lists_are_warned(tmp_path: Path) -> None:
    results = _validate(tmp_path, REAL / "irs_eo_ak.csv", (REAL / "irs_eo_ak.yaml").read_text())
    boxes = results["STREET"].str.contains("PO BOX")
    assert int(boxes.sum()) == 30
    assert results.loc[boxes, "import_warnings"].str.contains("is a PO box").all()
    assert not results.loc[~boxes, "import_warnings"].str.contains("is a PO box").any()


TEMPLATE = '  fullAddress: {template: "{address}, {city}, {%s} {%s}"}\n'


def test_canadian_addresses_built_with_a_template_are_not_valid(tmp_path: Path) -> None:
    body = "version: 1\nlead:\n  integration_record_id: {hash: [email]}\n"
    results = _validate(tmp_path, REAL / "ca500.csv", body + TEMPLATE % ("province", "postal"))
    assert set(results["import_status"]) == {"invalid"}
    assert results["import_message"].str.contains("has a Canadian postal code").all()


def test_zips_that_lost_their_zero_inside_a_template_are_repaired_and_accepted(
    tmp_path: Path, sandbox
) -> None:
    mapping = tmp_path / "us500.yaml"
    mapping.write_text(
        "version: 1\nlead:\n  integration_record_id: {hash: [email, phone1]}\n"
        + TEMPLATE % ("state", "zip")
    )
    sent = importer.send(
        REAL / "us500.csv", mapping, base_url=sandbox.base_url, api_key=sandbox.api_key,
        out=tmp_path / "send.csv", rate_limit=0,
    )  # fmt: skip
    assert sent.counts == {"created": 150}
    repaired = sent.results["import_warnings"].str.contains("Excel drops leading zeros")
    assert int(repaired.sum()) == 38
