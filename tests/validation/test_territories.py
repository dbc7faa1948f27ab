"""Territories, military mail and freely associated states: the client and the sandbox agree."""

from __future__ import annotations

import pandas as pd
import pytest

from importer import usps
from importer.sandbox.geo import STATES as SANDBOX_STATES
from importer.sandbox.geo import locate
from importer.sandbox.rules import check_lead
from importer.validation.leads import validate_leads

TERRITORIES = {
    "PR": "America/Puerto_Rico",
    "VI": "America/St_Thomas",
    "GU": "Pacific/Guam",
    "AS": "Pacific/Pago_Pago",
    "MP": "Pacific/Saipan",
}
TERRITORY_ZIPS = {"PR": "00901", "VI": "00802", "GU": "96910", "AS": "96799", "MP": "96950"}


def _lead(state: str, zip_code: str = "") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "integration_record_id": ["r1"],
            "address": ["1 Main St"],
            "city": ["Town"],
            "state": [state],
            "zip": [zip_code],
        },
        index=[2],
    )


def _client_accepts(state: str, zip_code: str = "") -> bool:
    return not validate_leads(_lead(state, zip_code)).invalid_rows


def _sandbox_accepts(state: str, zip_code: str = "") -> bool:
    fields = {"integration_record_id": "r1", "address": "1 Main St", "city": "Town"}
    fields |= {"state": state, "zip": zip_code}
    return not check_lead(fields, None, None).errors


@pytest.mark.parametrize("state", sorted(TERRITORIES))
def test_inhabited_territories_are_valid_and_accepted(state: str) -> None:
    zip_code = TERRITORY_ZIPS[state]
    assert _client_accepts(state, zip_code)
    assert _sandbox_accepts(state, zip_code)


@pytest.mark.parametrize("state", sorted(TERRITORIES))
def test_sandbox_places_territories_in_their_own_zone(state: str) -> None:
    place = locate(TERRITORY_ZIPS[state], state)
    assert place is not None and place.timezone == TERRITORIES[state]


@pytest.mark.parametrize("state", ["AA", "AE", "AP"])
def test_military_mail_codes_are_a_military_address_error(state: str) -> None:
    result = validate_leads(_lead(state))
    [problem] = result.problems
    assert (problem.code, problem.is_error) == ("military_address", True)
    assert problem.message == (
        f'state: "{state}" is a military mail code (APO/FPO/DPO), not a house to survey'
    )
    assert not _sandbox_accepts(state)


@pytest.mark.parametrize(
    ("state", "name"),
    [("FM", "the Federated States of Micronesia"), ("MH", "the Marshall Islands"), ("PW", "Palau")],
)
def test_freely_associated_states_are_foreign(state: str, name: str) -> None:
    [problem] = validate_leads(_lead(state)).problems
    assert problem.code == "not_us_address"
    assert problem.message == f'state: "{state}" is {name}, not the United States'
    assert not _sandbox_accepts(state)


def test_military_state_names_are_refused_too() -> None:
    [problem] = validate_leads(_lead("Armed Forces Europe")).problems
    assert problem.code == "military_address"


def test_client_and_sandbox_agree_on_every_two_letter_code() -> None:
    # Every pair of capital letters, so a code added to one side alone shows up here.
    codes = [chr(a) + chr(b) for a in range(65, 91) for b in range(65, 91)]
    leads = pd.concat([_lead(code) for code in codes], ignore_index=True)
    leads.index = range(2, 2 + len(codes))
    leads["integration_record_id"] = codes
    invalid = validate_leads(leads).invalid_rows
    client = {code for row, code in zip(leads.index, codes, strict=True) if row not in invalid}
    sandbox = {code for code in codes if _sandbox_accepts(code)}
    assert client == sandbox == usps.STATE_CODES == set(SANDBOX_STATES)


def test_client_and_sandbox_agree_on_state_names() -> None:
    names = [*usps.STATE_NAMES.values(), "Armed Forces Pacific", "Marshall Islands", "Ontario"]
    for name in names:
        assert _client_accepts(name) == _sandbox_full_address_accepts(name), name


def _sandbox_full_address_accepts(state_name: str) -> bool:
    # The sandbox reads state names only inside fullAddress.
    lead = {"integration_record_id": "r1", "fullAddress": f"1 Main St, Town, {state_name}"}
    return not check_lead(lead, None, None).errors


@pytest.mark.parametrize(
    ("zip_code", "states"),
    [
        ("06390", ["CT", "NY"]),  # Fishers Island, NY
        ("06320", ["CT", "NY"]),
        ("20588", ["DC", "MD", "VA"]),
        ("20598", ["DC", "MD", "VA"]),
        ("72644", ["AR", "MO"]),
        ("73960", ["OK", "TX"]),
        ("83414", ["ID", "WY"]),
        ("09901", ["AE"]),
        ("88888", ["DC"]),
    ],
)
def test_shared_and_added_zip_prefixes(zip_code: str, states: list[str]) -> None:
    assert usps.states_of_zip(zip_code) == states


@pytest.mark.parametrize(
    ("state", "zip_code"),
    [("NY", "06390"), ("MD", "20588"), ("VA", "20598"), ("MO", "72644"), ("TX", "73960"),
     ("WY", "83414"), ("CT", "06320"), ("ID", "83401"), ("OK", "73949")],
)  # fmt: skip
def test_no_mismatch_warning_for_a_prefix_the_state_shares(state: str, zip_code: str) -> None:
    assert validate_leads(_lead(state, zip_code)).problems == []


def test_mismatch_names_every_state_of_a_shared_prefix() -> None:
    [problem] = validate_leads(_lead("UT", "20588")).problems
    assert problem.message == "zip: 20588 is in DC, MD or VA, not UT"


def test_prefixes_099_and_888_are_no_longer_unknown() -> None:
    assert validate_leads(_lead("DC", "88888")).problems == []
    codes = [p.code for p in validate_leads(_lead("UT", "09901")).problems]
    assert codes == ["zip_state_mismatch"]
