"""fullAddress parsed and held to the split fields' rules; PO boxes; the sandbox agrees."""

from __future__ import annotations

import pandas as pd
import pytest

from importer.sandbox.address import parse_full_address as sandbox_parse
from importer.sandbox.rules import check_lead
from importer.validation.address import parse_address
from importer.validation.leads import validate_leads


def _validate(*addresses: str, **more: list[str]):
    leads = pd.DataFrame(
        {"integration_record_id": [f"r{i}" for i in range(len(addresses))],
         "fullAddress": list(addresses), **more},
        index=range(2, 2 + len(addresses)),
    )  # fmt: skip
    return validate_leads(leads)


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("3221 W Davis St, Dallas, TX 75211, États-Unis", "3221 W Davis St, Dallas, TX 75211"),
        (
            "313 Constitution Place\nAustin, TX 78767\nUSA",
            "313 Constitution Place, Austin, TX 78767",
        ),
        ("1 Elm St, Provo, ut 84601, U.S.A.", "1 Elm St, Provo, UT 84601"),
        ("1 Elm St, Provo, Utah 84601, United States", "1 Elm St, Provo, UT 84601"),
        ("1 Elm St Provo UT 84601 USA", "1 Elm St Provo, UT 84601"),
        ("15 Beacon St, Boston, MA, 02108", "15 Beacon St, Boston, MA 02108"),
        ("1 Center St, Apt 3, American Fork, UT", "1 Center St, Apt 3, American Fork, UT"),
        ("1 Elm St, Provo 84601", "1 Elm St, Provo, 84601"),
        ("1 Elm St, Provo, UT 84601-1234", "1 Elm St, Provo, UT 84601-1234"),
        ("1 D St, Washington, D.C. 20001", "1 D St, Washington, DC 20001"),
        ("5 Calle Luna, San Juan, PR 00901, Puerto Rico", "5 Calle Luna, San Juan, PR 00901"),
        ("1 Rd, Albuquerque, New Mexico 87101", "1 Rd, Albuquerque, NM 87101"),
        (
            "2 Bay Rd, Charlotte Amalie, Virgin Islands 00802",
            "2 Bay Rd, Charlotte Amalie, VI 00802",
        ),
        ("1 Elm St,  Provo ,UT   84601", "1 Elm St, Provo, UT 84601"),
        # a state with no comma before it keeps the comma before the city
        ("1 Elm St, Provo UT 84601", "1 Elm St, Provo, UT 84601"),
        # a territory's name ends the address, not a "US" country tail to drop
        ("12 Calle Sol, San Juan Puerto Rico 00901", "12 Calle Sol, San Juan, PR 00901"),
        ("12 Calle Sol, San Juan Puerto Rico", "12 Calle Sol, San Juan, PR"),
        ("5 Marine Dr, Hagatna Guam", "5 Marine Dr, Hagatna, GU"),
    ],
)
def test_valid_addresses_are_sent_normalized(typed: str, sent: str) -> None:
    result = _validate(typed)
    assert [p for p in result.problems if p.is_error] == []
    assert result.leads.at[2, "fullAddress"] == sent


def test_a_zip_that_lost_its_zero_is_repaired_inside_the_address() -> None:
    result = _validate("12 Elm St, Bridgeport, NJ 8014")
    [problem] = result.problems
    assert (problem.code, problem.is_error) == ("zip_zero_padded", False)
    assert problem.message == 'fullAddress: "8014" read as 08014 (Excel drops leading zeros)'
    assert result.leads.at[2, "fullAddress"] == "12 Elm St, Bridgeport, NJ 08014"


@pytest.mark.parametrize(
    ("typed", "code", "why"),
    [
        ("Piazza Giuseppe Massari, 15, 70122 Bari BA, Italy", "not_us_address",
         "is in Italy, not the United States"),
        ("2 Place Jussieu, 75005 Paris, France", "not_us_address",
         "is in France, not the United States"),
        ("Calle 1, Ciudad de México, México", "not_us_address",
         "is in Mexico, not the United States"),
        ("Unter den Linden 77, 10117 Berlin, Deutschland", "not_us_address",
         "is in Germany, not the United States"),
        ("1 Bay St, Toronto, Canada", "not_us_address", "is in Canada, not the United States"),
        ("Athina 105 60, Ελλάδα", "not_us_address", "is in Greece, not the United States"),
        ("123 Main St, Toronto, ON M5V 2T6", "not_us_address",
         "has a Canadian postal code (M5V 2T6), not a US zip"),
        ("123 Main St, Toronto, ON", "not_us_address",
         'has "ON", which is Ontario, Canada, not the United States'),
        ("1 Main St, Majuro, MH 96960", "not_us_address",
         'has "MH", which is the Marshall Islands, not the United States'),
        ("PSC 802 BOX 74, APO AE 09499", "military_address",
         "has the military mail code AE (APO/FPO/DPO), not a house"),
        ("1 Main St, Springfield, ZZ 62701", "invalid_full_address",
         'has "ZZ" before its zip, which is not a US state'),
        ("12 Main St, Dallas, TX 752111", "invalid_full_address",
         'ends in "752111", which is not a 5-digit zip'),
        ("Piazza Giuseppe Massari, 15, 70122 Bari BA", "invalid_full_address",
         "has no US state or zip code at its end"),
        ("12 Oak Ct", "invalid_full_address", "has no US state or zip code at its end"),
        ("UT 84601", "invalid_full_address", "has no street before its state and zip"),
    ],
)  # fmt: skip
def test_foreign_or_broken_addresses_are_invalid(typed: str, code: str, why: str) -> None:
    [problem] = _validate(typed).problems
    assert (problem.code, problem.is_error) == (code, True)
    quoted = " ".join(typed.split())
    assert problem.message == f'fullAddress: "{quoted}" {why}'


def test_zip_state_mismatch_applies_to_parsed_addresses() -> None:
    [problem] = _validate("1 Main St, Provo, CA 84601").problems
    assert (problem.code, problem.message) == (
        "zip_state_mismatch",
        "fullAddress: 84601 is in UT, not CA",
    )


def test_zip_of_no_state_inside_an_address_is_a_warning() -> None:
    [problem] = _validate("1 Main St, Provo, UT 00123").problems
    assert problem.message == "fullAddress: 00123 is in no US state's zip range"


def test_ignore_validation_skips_the_address_rules() -> None:
    result = _validate("Piazza Massari 15, Bari, Italy", ignore_validation=["1"])
    assert result.problems == []


@pytest.mark.parametrize(
    "street",
    ["PO BOX 12", "P.O. Box 12", "P O BOX 12", "Post Office Box 12", "POB 12", "Box 12",
     "PMB 12", "123 Main St PMB 44", "P.O.Box12", "PO Drawer 5",
     "83825 HIGHWAY 9    P O BOX 1270", "1 LOWER NAVY HILL ROAD (PO BOX 409CK)",
     "CALLER BOX C268", "200 HAWTHORNE LANE BOX 33549", "2000 CHAMBERS, BOX A"],
)  # fmt: skip
def test_po_boxes_draw_a_warning_in_address_and_full_address(street: str) -> None:
    split = validate_leads(
        pd.DataFrame(
            {
                "integration_record_id": ["r1"],
                "address": [street],
                "state": ["UT"],
                "zip": ["84601"],
            },
            index=[2],
        )  # fmt: skip
    )
    [problem] = split.problems
    assert (problem.code, problem.is_error, problem.field) == ("po_box", False, "address")
    assert problem.message == (
        f'address: "{" ".join(street.split())}" is a PO box; a site survey needs the house\'s '
        "street address"
    )
    [problem] = _validate(f"{street}, Provo, UT 84601").problems
    assert (problem.code, problem.field) == ("po_box", "fullAddress")


@pytest.mark.parametrize(
    "street",
    [
        "1 Box Elder St",
        "12 Boxwood Dr",
        "RR 2 Box 152",
        "HC 68 Box 23",
        "12 Post Office Rd",
        "1 Box Canyon Rd",
        "Rural Route 3, Box 7",
    ],  # fmt: skip
)
def test_streets_that_only_look_like_boxes_are_not_warned(street: str) -> None:
    assert _validate(f"{street}, Provo, UT 84601").problems == []


# The sandbox parses fullAddress with its own code: what the client sends must read the same.
AGREEMENT = [
    "3221 W Davis St, Dallas, TX 75211, États-Unis",
    "313 Constitution Place\nAustin, TX 78767\nUSA",
    "2214 N Honeydew Dr Saratoga Springs, UT 84045",
    "1180 W 400 N Orem UT 84057",
    "123 Main St Apt 4 West Jordan, Utah 84088-1234, USA",
    "15 Beacon St, Boston, MA, 02108",
    "1 Center St, Apt 3, American Fork, UT",
    "100 Park Ave New York NY 10001",
    "12 Elm St, Bridgeport, NJ 8014",
    "1600 Pennsylvania Ave NW, Washington, DC 20500",
    "PO BOX 1715, PAGO PAGO AS 96799-1715",
    "5 Calle Luna, San Juan, Puerto Rico 00901",
    "2 Bay Rd, Charlotte Amalie, Virgin Islands 00802",
    "1 Marine Dr, Hagatna, Guam 96910",
    "1 Elm St, Provo 84601",
    "607 E Tyler St #106, Athens, TX 75751",
    "1 A St, Athens, Georgia 30601, United States",
]


@pytest.mark.parametrize("typed", AGREEMENT)
def test_sandbox_reads_the_sent_line_as_the_client_parsed_it(typed: str) -> None:
    client = parse_address(typed)
    assert client.code == ""
    sandbox = sandbox_parse(client.line)
    if client.state:  # a line with a zip alone: the sandbox may read a word as a state
        assert sandbox.state == client.state
    assert (sandbox.zip or "") == client.zip[:5]
    assert not check_lead(
        {"integration_record_id": "r", "fullAddress": client.line}, None, None
    ).errors


def test_the_quick_path_for_canonical_cells_gives_exactly_the_full_parse() -> None:
    import itertools
    import random

    from importer.validation.address import _canonical, parse_address

    streets = ["1 Main St", "2214 N Honeydew Dr", "PO BOX 12", "1180 W 400 N", "5 Elm St Apt 4",
               "7 Oak Ct", "12 Route 9", "Suite 12345", "9 Park Ave, Fl 2"]  # fmt: skip
    cities = ["Provo", "Salt Lake City", "San Juan", "Bari", "Washington", "Ct", "12345"]
    states = ["UT", "ut", "CA", "PR", "VI", "AE", "FM", "ZZ", "Utah", "CT"]
    zips = ["84601", "84601-1234", "2134", "00901", "846011234", "ABCDE"]
    seps = [", ", ",", " , ", ",, ", "  ", ", "]
    rng = random.Random(7)
    cells = []
    for street, city, state, zip_code in itertools.product(streets, cities, states, zips):
        a, b = rng.choice(seps), rng.choice(seps)
        cells.append(f"{street}{a}{city}{b}{state} {zip_code}")
        cells.append(f"{street}, {city}, {state} {zip_code}")
        cells.append(f"{street}, {city}, {state} {zip_code}, USA")
    quick = 0
    for cell in cells:
        fast = _canonical(cell)
        if fast is not None:
            quick += 1
            assert fast == parse_address(cell), cell
    assert _canonical("2214 N Honeydew Dr, Saratoga Springs, UT 84045") is not None
    assert quick > 500  # the quick path does take the common shape
