"""The sandbox's pure parts: address and name parsing, geocoding, rules, rate limit, faults."""

from __future__ import annotations

import pytest

from importer.sandbox.address import AddressParts, parse_full_address, split_full_name
from importer.sandbox.faults import FaultPlan
from importer.sandbox.geo import find_office, locate, state_for_zip
from importer.sandbox.incoming import from_json_body, from_query, nest_query
from importer.sandbox.limits import RateLimiter
from importer.sandbox.rules import check_lead


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("2214 N Honeydew Dr Saratoga Springs, UT 84045",
         AddressParts("2214 N Honeydew Dr", "Saratoga Springs", "UT", "84045")),
        ("2214 N Honeydew Dr, Saratoga Springs, UT 84045",
         AddressParts("2214 N Honeydew Dr", "Saratoga Springs", "UT", "84045")),
        ("1180 W 400 N Orem UT 84057", AddressParts("1180 W 400 N", "Orem", "UT", "84057")),
        ("123 Main St Apt 4 West Jordan, Utah 84088-1234, USA",
         AddressParts("123 Main St Apt 4", "West Jordan", "UT", "84088")),
        ("15 Beacon St, Boston, MA, 02108", AddressParts("15 Beacon St", "Boston", "MA", "02108")),
        ("1 Center St, Apt 3, American Fork, UT",
         AddressParts("1 Center St, Apt 3", "American Fork", "UT", None)),
        ("100 Park Ave New York NY 10001", AddressParts("100 Park Ave", "New York", "NY", "10001")),
        ("somewhere", AddressParts("somewhere", "", None, None)),
    ],
)  # fmt: skip
def test_full_address_parts(text, parts):
    assert parse_full_address(text) == parts


@pytest.mark.parametrize(
    ("full", "split"),
    [("Ferris Bueller", ("Ferris", "Bueller")), ("Mary Jo Smith", ("Mary", "Jo Smith")),
     ("Bueller, Ferris", ("Ferris", "Bueller")), ("Cher", ("Cher", "")), ("  ", ("", ""))],
)  # fmt: skip
def test_full_name_split(full, split):
    assert split_full_name(full) == split


def test_zip_locates_its_metro_and_a_foreign_zip_falls_back_to_the_state():
    assert state_for_zip("02134") == "MA"
    lehi = locate("84045", "UT")
    assert lehi is not None and lehi.timezone == "America/Denver" and round(lehi.lat) == 40
    denver = locate("84045", "CO")  # a Utah zip typed on a Colorado lead
    assert denver is not None and round(denver.lng) == -105
    assert locate(None, None) is None


def test_office_by_name_ignores_case_and_otherwise_is_the_nearest():
    phoenix = locate("85012", "AZ")
    assert find_office("utah office", phoenix).name == "Utah Office"  # type: ignore[union-attr]
    assert find_office("No Such Office", phoenix).name == "Arizona Office"  # type: ignore[union-attr]
    assert find_office(None, None) is None


def test_rules_check_state_email_and_mobile_formats():
    checked = check_lead(
        {"integration_record_id": "r1", "address": "1 Main St", "city": "Provo",
         "state": "Utah", "email": "ana@example", "mobile": "+1 801 555 4444"},
        None, None,
    )  # fmt: skip
    assert set(checked.errors) == {"state", "email", "mobile"}
    assert checked.errors["state"] == 'state "Utah" is not a 2-character state code'


def test_ignore_validation_still_needs_a_record_id_and_whole_numbers():
    checked = check_lead({"ignore_validation": "true", "createDeal": "abc"}, None, None)
    assert set(checked.errors) == {"integration_record_id", "createDeal"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"browser_redirect": "home"}, 'browser_redirect "home" is not one of profile, '
                                       "scheduling, deal"),
        ({"browser_redirect": "scheduling"},
         "browser_redirect scheduling needs calendar or calendar_id"),
        ({"browser_redirect": "deal"}, "browser_redirect deal needs createDeal"),
    ],
)  # fmt: skip
def test_browser_redirect_values_are_checked(fields, message):
    lead = {"integration_record_id": "r1", "ignore_validation": 1, **fields}
    assert check_lead(lead, None, None).errors == {"browser_redirect": message}


def test_appointment_times_are_stored_in_utc():
    lead = {"integration_record_id": "r1", "ignore_validation": 1}
    local = {"apt_type_id": "12", "name": "Consult", "date_time": "2020-03-12 15:00:00",
             "timezone": "America/Denver"}  # fmt: skip
    unix = {"apt_type_id": 12, "name": "Consult", "date_time": "1584050354", "date_format": "U"}
    assert check_lead(lead, None, local).appointment["date_time"] == "2020-03-12 21:00:00"  # type: ignore[index]
    assert check_lead(lead, None, unix).appointment["date_time"] == "2020-03-12 21:59:14"  # type: ignore[index]
    bad = check_lead(lead, None, {**local, "date_time": "12/03/2020"})
    assert list(bad.errors) == ["appointment.date_time"]


def test_survey_files_need_name_data_and_type():
    lead = {"integration_record_id": "r1", "ignore_validation": 1}
    checked = check_lead(lead, {"files": [{"data": "aGVsbG8="}]}, None)
    assert set(checked.errors) == {"survey_data.files[0].name", "survey_data.files[0].type"}
    assert check_lead(lead, {"files": "x"}, None).errors == {
        "survey_data.files": "survey_data.files must be a list of files"
    }


def test_bracket_query_nests_objects_and_lists():
    pairs = [("a", "1"), ("appointment[name]", "X"), ("survey_data[files][1][name]", "b"),
             ("survey_data[files][0][name]", "a"), ("tags[]", "p"), ("tags[]", "q")]  # fmt: skip
    assert nest_query(pairs) == {
        "a": "1", "appointment": {"name": "X"},
        "survey_data": {"files": [{"name": "a"}, {"name": "b"}]}, "tags": ["p", "q"],
    }  # fmt: skip
    request = from_query([("api_key", "k"), ("integration_record_id", "r1"), ("lead[city]", "P")])
    assert request.lead == {"integration_record_id": "r1", "city": "P"}


@pytest.mark.parametrize(
    ("body", "problem"),
    [(b"", 'request body must be a JSON object with a "lead" object'),
     (b"[1]", 'request body must be a JSON object with a "lead" object'),
     (b'{"lead": "x"}', 'request body must be a JSON object with a "lead" object'),
     (b"\xff", "request body is not valid JSON")],
)  # fmt: skip
def test_post_body_must_hold_a_lead_object(body, problem):
    assert from_json_body(body).problem == problem


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_client_pacing_exactly_at_the_limit_is_never_refused():
    clock = FakeClock()
    limiter = RateLimiter(300, clock=clock, wall_clock=clock)
    refused = 0
    for _ in range(300 * 3):  # three minutes at 300/min, one request every 0.2 s
        refused += not limiter.take("key").allowed
        clock.now += 60 / 300
    assert refused == 0


def test_burst_over_the_limit_is_refused_until_the_oldest_request_leaves_the_window():
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock, wall_clock=clock)
    assert [limiter.take("key").allowed for _ in range(6)] == [True] * 5 + [False]
    refused = limiter.take("key")
    assert (refused.remaining, refused.retry_after, refused.reset_epoch) == (0, 60, 1060)
    assert limiter.take("other").allowed
    clock.now += 30
    assert not limiter.take("key").allowed
    clock.now += 30
    assert limiter.take("key").allowed


def test_fault_plan_is_reproducible_and_restricted_to_its_kinds():
    def draws(seed: int) -> list[str | None]:
        plan = FaultPlan(0.5, seed, ("500", "reset"))
        return [plan.next_fault() for _ in range(50)]

    assert draws(1) == draws(1)
    assert set(draws(1)) == {None, "500", "reset"}
    plan = FaultPlan(1.0, 3, ("lost",))
    first = [plan.next_fault() for _ in range(3)]
    plan.reset()
    assert first == [plan.next_fault() for _ in range(3)] == ["lost"] * 3
    assert FaultPlan(0.0, 1, ("500",)).next_fault() is None


def test_short_window_headers_still_speak_per_minute():
    clock = FakeClock()
    limiter = RateLimiter(5, window=1.0, clock=clock, wall_clock=clock, per_minute=300)
    first = limiter.take("key")
    assert (first.limit, first.remaining) == (300, 240)
    assert [limiter.take("key").allowed for _ in range(5)] == [True] * 4 + [False]
    clock.now += 1.0
    assert limiter.take("key").allowed
