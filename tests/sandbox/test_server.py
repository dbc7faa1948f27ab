"""The sandbox over real loopback sockets: the API page's examples, rules, limits, faults."""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from importer.sandbox import FAULT_KINDS, SAMPLE_API_KEY, SandboxError, running_sandbox

PATH = "/api/v1/partner/action/lead/add"
# The API page's GET example (its line break inside "api@enerflo.io" joined), with our host.
PAGE_GET_QUERY = (
    "integration_record_id=yj3Shbi2&full_name=Ferris+Bueller"
    "&fullAddress=2214+N+Honeydew+Dr+Saratoga+Springs,+UT+84045&email=custy@enerflo.io"
    "&mobile=8015554444&office_name=Utah+Office&creator=api@enerflo.io"
    "&assign_to_email=api@enerflo.io&lead_status=Needs+Contact&createDeal=101"
)
PNG = base64.b64encode(bytes.fromhex("89504e470d0a1a0a0000000d49484452")).decode()
PAGE_FIELDS = {
    "id", "company_id", "office_id", "creator_id", "agent_id", "first_name", "last_name",
    "email", "mobile", "address", "city", "state", "zip", "lat", "lng", "timezone", "details",
    "external_id", "lead_source", "meta_data", "created_at", "updated_at",
}  # fmt: skip


def page_post_body() -> dict:
    """The API page's POST example, placeholders filled in, its typos kept."""
    return {
        "lead": {
            "integration_record_id": "yj3Shbi2",
            "full_name": "Ferris Bueller",
            "address": "2214 N Honeydew Dr",
            "city": "Saratoga Springs",
            "state": "UT",
            "zip": "92646",
            "email": "custy@enerflo.io",
            "mobile": "8015554444",
            "office name": "Utah Office",
            "creator": "api@enerflo.io",
            "assign_to_email": "api@enerflo.io",
            "lead_status": "Needs Contact",
            "createDeal": 5686,
        },
        "survey_data": {
            "files": [{"name": "image_name.jpg", "data": PNG, "type": "img_exterior_house"}]
        },
        "appointment": {
            "appointment_type_id": 12,
            "date_time": "2020-03-12 21:59:14",
            "timezone": "utc",
            "name": "Solar Consultation",
            "Minutes": 60,
        },
    }


def post(sandbox, body, key=None, **kwargs) -> requests.Response:
    headers = {"api-key": sandbox.api_key if key is None else key}
    return requests.post(sandbox.base_url + PATH, json=body, headers=headers, timeout=5, **kwargs)


def lead(**fields) -> dict:
    base = {"integration_record_id": "r1", "fullAddress": "1 Center St, Provo, UT 84601"}
    return {"lead": {**base, **fields}}


@pytest.fixture
def sandbox():
    with running_sandbox() as running:
        yield running


# -- the API page's own examples --------------------------------------------------------


def test_page_get_example_creates_a_lead_in_the_page_answer_shape(sandbox):
    answer = requests.get(f"{sandbox.base_url}{PATH}?{PAGE_GET_QUERY}&api_key={sandbox.api_key}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["result"] == "success"
    assert body["data"]["msg"] == "Lead Created"
    created = body["data"]["lead"]
    assert set(created) >= PAGE_FIELDS
    assert (created["first_name"], created["last_name"]) == ("Ferris", "Bueller")
    assert (created["address"], created["city"], created["state"], created["zip"]) == (
        "2214 N Honeydew Dr", "Saratoga Springs", "UT", "84045",
    )  # fmt: skip
    assert (created["office_id"], created["creator_id"], created["agent_id"]) == (1000, 456, 456)
    assert created["timezone"] == "America/Denver"
    assert 40 < float(created["lat"]) < 41 and -112 < float(created["lng"]) < -111
    assert created["mobile"] == "8015554444" and created["company_id"] == 1089
    assert body["data"]["deal"]["template_id"] == 101


def test_page_post_example_creates_a_lead_with_its_survey_file_and_appointment(sandbox):
    answer = post(sandbox, page_post_body())
    body = answer.json()
    assert answer.status_code == 200 and body["result"] == "success"
    assert body["data"]["msg"] == "Lead Created"
    assert set(body["data"]["lead"]) >= PAGE_FIELDS
    stored = sandbox.leads()[0]
    assert stored["survey_data"] == [
        {"name": "image_name.jpg", "type": "img_exterior_house", "bytes": 16,
         "sha256": stored["survey_data"][0]["sha256"]},
    ]  # fmt: skip
    assert stored["appointment"]["apt_type_id"] == 12
    assert stored["appointment"]["date_time"] == "2020-03-12 21:59:14"
    assert stored["appointment"]["minutes"] == 60
    assert stored["deal_template_id"] == 5686


def test_same_post_twice_updates_the_one_lead_with_the_same_id(sandbox):
    first = post(sandbox, page_post_body()).json()["data"]
    changed = page_post_body()
    changed["lead"]["lead_status"] = "Contacted"
    second = post(sandbox, changed).json()["data"]
    assert (first["msg"], second["msg"]) == ("Lead Created", "Lead Updated")
    assert first["lead"]["id"] == second["lead"]["id"]
    assert [row["lead_status"] for row in sandbox.leads()] == ["Contacted"]


def test_each_api_key_is_its_own_company_so_one_record_id_makes_two_leads():
    with running_sandbox(api_keys=("key-a", "key-b")) as sandbox:
        one = post(sandbox, lead(), key="key-a").json()["data"]
        two = post(sandbox, lead(), key="key-b").json()["data"]
    assert (one["msg"], two["msg"]) == ("Lead Created", "Lead Created")
    assert one["lead"]["company_id"] != two["lead"]["company_id"]


# -- api key ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["wrong-key", ""])
def test_wrong_or_missing_key_is_http_401_with_a_json_body(sandbox, key):
    answer = post(sandbox, lead(), key=key)
    assert answer.status_code == 401
    assert answer.json()["result"] == "error"
    assert answer.headers["x-ratelimit-limit"] == "300"
    assert sandbox.leads() == []
    assert sandbox.requests()[-1]["outcome"] == "unauthorized"


def test_key_in_the_query_string_is_accepted_and_never_logged(sandbox):
    answer = requests.post(
        f"{sandbox.base_url}{PATH}?api_key={SAMPLE_API_KEY}", json=lead(), timeout=5
    )
    assert answer.json()["data"]["msg"] == "Lead Created"
    assert SAMPLE_API_KEY not in json.dumps(sandbox.requests() + sandbox.leads())


# -- the page's rules ------------------------------------------------------------------


def test_missing_address_is_an_error_answer_with_http_200_naming_each_field(sandbox):
    answer = post(sandbox, {"lead": {"integration_record_id": "r1", "city": "Provo"}})
    assert answer.status_code == 200
    body = answer.json()
    assert body["result"] == "error"
    assert set(body["data"]["errors"]) == {"address", "state"}
    assert "address is required when fullAddress is not sent" in body["data"]["msg"]
    assert sandbox.leads() == []


def test_missing_record_id_is_an_error_answer(sandbox):
    body = post(sandbox, {"lead": {"fullAddress": "1 Center St, Provo, UT 84601"}}).json()
    assert body["data"]["errors"] == {"integration_record_id": "integration_record_id is required"}


def test_ignore_validation_saves_a_lead_without_address_or_valid_contact(sandbox):
    body = {"lead": {"integration_record_id": "r9", "mobile": "555-1234", "ignore_validation": 1}}
    answer = post(sandbox, body).json()
    assert answer["data"]["msg"] == "Lead Created"
    assert answer["data"]["lead"]["lat"] is None and answer["data"]["lead"]["office_id"] is None


def test_full_name_is_split_into_first_and_last_name(sandbox):
    saved = post(sandbox, lead(full_name="Mary Jo Smith")).json()["data"]["lead"]
    assert (saved["first_name"], saved["last_name"]) == ("Mary", "Jo Smith")


@pytest.mark.parametrize(
    "full_address",
    [
        "2214 N Honeydew Dr Saratoga Springs, UT 84045",
        "2214 N Honeydew Dr, Saratoga Springs, UT 84045",
        "2214 N Honeydew Dr, Saratoga Springs, Utah 84045-1234, USA",
    ],
)
def test_full_address_is_broken_into_parts(sandbox, full_address):
    saved = post(sandbox, lead(fullAddress=full_address)).json()["data"]["lead"]
    parts = (saved["address"], saved["city"], saved["state"], saved["zip"])
    assert parts == ("2214 N Honeydew Dr", "Saratoga Springs", "UT", "84045")


def test_zip_that_lost_its_leading_zero_is_an_error(sandbox):
    body = {"lead": {"integration_record_id": "r1", "address": "9 Pine Ln", "city": "Boston",
                     "state": "MA", "zip": 2134}}  # fmt: skip
    answer = post(sandbox, body).json()
    assert answer["data"]["errors"] == {"zip": 'zip "2134" is not a 5 digit postal code'}


def test_unknown_people_get_null_ids_and_the_nearest_office_is_assigned(sandbox):
    body = lead(fullAddress="3401 N Central Ave, Phoenix, AZ 85012", creator="who@example.com")
    saved = post(sandbox, body).json()["data"]["lead"]
    assert saved["creator_id"] is None and saved["agent_id"] is None
    assert saved["office_id"] == 1001  # Arizona Office
    assert saved["timezone"] == "America/Phoenix"


def test_survey_file_that_is_not_base64_is_an_error_answer(sandbox):
    body = {**lead(), "survey_data": {"files": [{"name": "a.jpg", "data": "%%%", "type": "t"}]}}
    answer = post(sandbox, body).json()
    assert answer["data"]["errors"] == {
        "survey_data.files[0].data": "survey_data.files[0].data is not valid base64"
    }


def test_appointment_needs_type_time_and_name_together(sandbox):
    answer = post(sandbox, {**lead(), "appointment": {"date_time": "2020-03-12 21:59:14"}}).json()
    assert set(answer["data"]["errors"]) == {"appointment.apt_type_id", "appointment.name"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (lead(createDeal=99999999999999999999999), "createDeal"),
        (lead(createDeal="2" * 19 + "0"), "createDeal"),
        (lead(calendar_id="\u00b2"), "calendar_id"),
        ({**lead(), "appointment": {"apt_type_id": 12, "name": "Consult", "minutes": 10**30,
                                     "date_time": "2026-03-12 15:00:00"}}, "appointment.minutes"),
        ({**lead(), "appointment": {"apt_type_id": 12, "name": "Consult",
                                     "date_time": "0001-01-01 00:00:00",
                                     "timezone": "Asia/Tokyo"}}, "appointment.date_time"),
    ],
)  # fmt: skip
def test_numbers_and_times_beyond_the_store_are_error_answers_not_server_errors(
    sandbox, body, field
):
    answer = post(sandbox, body)
    assert answer.status_code == 200
    assert answer.json()["result"] == "error"
    assert list(answer.json()["data"]["errors"]) == [field]


def test_reject_refuses_exactly_the_record_ids_it_names():
    with running_sandbox(reject_ids=("r1",)) as box:
        refused = post(box, lead()).json()
        accepted = post(box, lead(integration_record_id="r2")).json()
        invalid = post(box, lead(email="bad@")).json()  # its own rules come first
        assert [lead["integration_record_id"] for lead in box.leads()] == ["r2"]
    assert refused["result"] == "error"
    assert refused["data"]["errors"] == {
        "integration_record_id": 'integration_record_id "r1" is refused by this sandbox '
        "(--reject), as the API may refuse a row for a reason of its own"
    }
    assert accepted["result"] == "success"
    assert list(invalid["data"]["errors"]) == ["email"]


def test_body_that_is_not_json_is_an_error_answer(sandbox):
    answer = requests.post(
        sandbox.base_url + PATH, data=b"{nope", headers={"api-key": sandbox.api_key}, timeout=5
    )
    assert answer.status_code == 200
    assert answer.json() == {"result": "error", "data": {"msg": "request body is not valid JSON"}}


def test_get_takes_appointment_fields_in_bracket_notation(sandbox):
    params = {
        "api_key": sandbox.api_key, "integration_record_id": "g1",
        "fullAddress": "1 Center St, Provo, UT 84601", "appointment[apt_type_id]": "12",
        "appointment[date_time]": "2020-03-12 21:59:14", "appointment[name]": "Consult",
    }  # fmt: skip
    answer = requests.get(sandbox.base_url + PATH, params=params, timeout=5).json()
    assert answer["data"]["appointment"]["apt_type_id"] == 12


# -- browser redirects -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("redirect", "extra", "location"),
    [
        ("profile", {}, "/leads/55555"),
        ("scheduling", {"calendar": "solar_consultation"},
         "/scheduling/55555?calendar=solar_consultation"),
        ("deal", {"createDeal": "5686"}, "/deals/755555"),
    ],
)  # fmt: skip
def test_get_with_browser_redirect_answers_302_to_a_page_that_exists(
    sandbox, redirect, extra, location
):
    params = {"api_key": sandbox.api_key, "integration_record_id": "g1",
              "full_name": "Ferris Bueller", "fullAddress": "1 Center St, Provo, UT 84601",
              "browser_redirect": redirect, **extra}  # fmt: skip
    answer = requests.get(sandbox.base_url + PATH, params=params, allow_redirects=False)
    assert answer.status_code == 302
    assert answer.headers["Location"] == location
    landing = requests.get(sandbox.base_url + location, timeout=5)
    assert landing.status_code == 200 and "Ferris Bueller" in landing.text


# -- rate limit --------------------------------------------------------------------------


def test_rate_limit_answers_429_with_html_and_the_ratelimit_headers():
    with running_sandbox(rate_limit=5) as sandbox:
        remaining = [post(sandbox, lead()).headers["x-ratelimit-remaining"] for _ in range(5)]
        refused = post(sandbox, lead())
        other_key_refused = post(sandbox, lead(), key="wrong").status_code
    assert remaining == ["4", "3", "2", "1", "0"]
    assert refused.status_code == 429
    assert refused.headers["Content-Type"].startswith("text/html")
    assert "<html>" in refused.text
    assert 55 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-limit"] == "5"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-reset"]) >= time.time() + 55
    assert other_key_refused == 401


def test_shorter_rate_window_keeps_the_rate_but_shrinks_the_burst():
    with running_sandbox(rate_limit=300, rate_window_s=1.0) as sandbox:
        statuses = [post(sandbox, lead()).status_code for _ in range(6)]
        refused = post(sandbox, lead())
    assert statuses == [200] * 5 + [429]  # 300 per minute is 5 per second
    assert refused.headers["x-ratelimit-limit"] == "300"  # headers speak per minute
    assert refused.headers["retry-after"] == "1"


def test_rate_limit_zero_turns_the_limit_off():
    with running_sandbox(rate_limit=0) as sandbox:
        statuses = {post(sandbox, lead()).status_code for _ in range(20)}
    assert statuses == {200}


# -- faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_server_error_faults_answer_html_and_save_nothing(kind):
    with running_sandbox(fault_rate=1.0, fault_kinds=(kind,)) as sandbox:
        answer = post(sandbox, lead())
        assert answer.status_code == int(kind)
        assert answer.headers["Content-Type"].startswith("text/html")
        assert sandbox.leads() == []
        assert sandbox.requests()[-1]["outcome"] == f"fault_{kind}"


def test_early_429_fault_says_retry_after_one_second():
    with running_sandbox(fault_rate=1.0, fault_kinds=("429",)) as sandbox:
        answer = post(sandbox, lead())
        assert answer.status_code == 429 and answer.headers["retry-after"] == "1"
        assert sandbox.leads() == []


def test_not_json_fault_answers_200_with_a_body_that_is_not_json():
    with running_sandbox(fault_rate=1.0, fault_kinds=("not_json",)) as sandbox:
        answer = post(sandbox, lead())
        assert answer.status_code == 200
        with pytest.raises(requests.JSONDecodeError):
            answer.json()
        assert sandbox.leads() == []


def test_reset_fault_drops_the_connection_and_saves_nothing():
    with running_sandbox(fault_rate=1.0, fault_kinds=("reset",)) as sandbox:
        with pytest.raises(requests.ConnectionError):
            post(sandbox, lead())
        assert sandbox.leads() == []
        assert sandbox.requests()[-1]["outcome"] == "fault_reset"


def test_reset_fault_is_a_tcp_reset():
    with running_sandbox(fault_rate=1.0, fault_kinds=("reset",)) as sandbox:
        conn = http.client.HTTPConnection(urlsplit(sandbox.base_url).netloc, timeout=5)
        conn.request("POST", PATH, body=json.dumps(lead()), headers={"api-key": sandbox.api_key})
        with pytest.raises(ConnectionResetError):
            conn.getresponse()


def test_lost_fault_saves_the_lead_then_closes_without_an_answer():
    with running_sandbox(fault_rate=1.0, fault_kinds=("lost",)) as sandbox:
        with pytest.raises(requests.ConnectionError):
            post(sandbox, lead())
        assert [row["integration_record_id"] for row in sandbox.leads()] == ["r1"]
        assert sandbox.requests()[-1]["outcome"] == "fault_lost"


def test_the_same_seed_gives_the_same_faults_in_the_same_order():
    def outcomes(seed: int) -> list[str]:
        with running_sandbox(fault_rate=0.5, fault_seed=seed, fault_kinds=FAULT_KINDS[:5]) as sb:
            for number in range(20):
                post(sb, lead(integration_record_id=f"r{number}"))
            return [row["outcome"] for row in sb.requests()]

    first = outcomes(7)
    assert first == outcomes(7)
    assert first != outcomes(8)
    assert {"created"} < set(first)


def test_latency_delays_every_answer():
    with running_sandbox(latency_ms=150) as sandbox:
        started = time.perf_counter()
        post(sandbox, lead())
        assert time.perf_counter() - started >= 0.15


def test_latency_is_slept_outside_any_lock_so_parallel_clients_wait_about_once():
    clients, latency = 8, 0.3
    ready = threading.Barrier(clients)

    def send(number: int) -> tuple[str, float]:
        ready.wait()  # all post at once
        started = time.perf_counter()
        message = post(sandbox, lead(integration_record_id=f"p{number}")).json()["data"]["msg"]
        return message, time.perf_counter() - started

    with running_sandbox(latency_ms=int(latency * 1000)) as sandbox:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            answers = list(pool.map(send, range(clients)))
        total = time.perf_counter() - started
    assert [message for message, _ in answers] == ["Lead Created"] * clients
    assert min(took for _, took in answers) >= latency
    # One at a time, 8 answers take 8 x 300 ms = 2.4 s; side by side, about 300 ms.
    assert total < 4 * latency, f"{clients} parallel requests took {total:.2f} s"


# -- the sandbox's own endpoints, connections and persistence -----------------------------


def test_sandbox_endpoints_serve_the_tables_without_a_key_and_reset_empties_them(sandbox):
    post(sandbox, lead())
    leads = requests.get(sandbox.base_url + "/_sandbox/leads", timeout=5).json()
    logged = requests.get(sandbox.base_url + "/_sandbox/requests", timeout=5).json()
    assert [row["integration_record_id"] for row in leads] == ["r1"]
    assert [(row["method"], row["status_code"], row["outcome"]) for row in logged] == [
        ("POST", 200, "created")
    ]
    assert requests.post(sandbox.base_url + "/_sandbox/reset", timeout=5).status_code == 200
    assert sandbox.leads() == [] and sandbox.requests() == []


def test_one_keep_alive_connection_carries_many_requests(sandbox):
    conn = http.client.HTTPConnection(urlsplit(sandbox.base_url).netloc, timeout=5)
    for number in range(3):
        body = json.dumps(lead(integration_record_id=f"k{number}"))
        conn.request("POST", PATH, body=body, headers={"api-key": sandbox.api_key})
        answer = conn.getresponse()
        assert answer.getheader("Content-Length") is not None
        assert json.loads(answer.read())["data"]["msg"] == "Lead Created"
    conn.close()
    assert len(sandbox.leads()) == 3


def test_concurrent_posts_of_the_same_records_create_each_lead_once(sandbox):
    def send(number: int) -> str:
        return post(sandbox, lead(integration_record_id=f"c{number % 5}")).json()["data"]["msg"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        messages = list(pool.map(send, range(40)))
    assert messages.count("Lead Created") == 5 and messages.count("Lead Updated") == 35
    assert sorted(row["integration_record_id"] for row in sandbox.leads()) == [
        f"c{number}" for number in range(5)
    ]


def test_db_file_keeps_leads_across_restarts(tmp_path):
    db = str(tmp_path / "sandbox.db")
    with running_sandbox(db=db) as sandbox:
        first = post(sandbox, lead()).json()["data"]["lead"]["id"]
    with running_sandbox(db=db) as sandbox:
        again = post(sandbox, lead()).json()["data"]
    assert again["msg"] == "Lead Updated" and again["lead"]["id"] == first


def test_bad_settings_are_refused_before_listening():
    with pytest.raises(SandboxError, match="fault rate: 2.0 is not between 0 and 1"):
        running_sandbox(fault_rate=2.0).__enter__()


def test_busy_port_is_a_sandbox_error(sandbox):
    with pytest.raises(SandboxError, match=f"cannot listen on 127.0.0.1:{sandbox.port}"):
        running_sandbox(port=sandbox.port).__enter__()


def test_unknown_paths_other_methods_and_a_bad_content_length_get_clear_answers(sandbox):
    assert requests.get(sandbox.base_url + "/nope", timeout=5).status_code == 404
    assert requests.put(sandbox.base_url + PATH, timeout=5).status_code == 405
    conn = http.client.HTTPConnection(urlsplit(sandbox.base_url).netloc, timeout=5)
    conn.putrequest("POST", PATH)
    conn.putheader("Content-Length", "abc")
    conn.endheaders()
    answer = conn.getresponse()
    assert answer.status == 400
    assert json.loads(answer.read())["data"]["msg"] == "Content-Length is not a number"
