"""Error answers of the X endpoints: 401, every 400 case, not found, and the 409 conflict rule."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import TOKEN
from tests.emulator.conftest import JOBS, XApi, id_file, put_ids, snowflakes

INVALID_REQUEST = {
    "title": "Invalid Request",
    "detail": "One or more parameters to your request was invalid.",
    "type": "https://api.twitter.com/2/problems/invalid-request",
}


def assert_invalid_request(response: requests.Response, parameter: str | None) -> None:
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert {k: body[k] for k in INVALID_REQUEST} == INVALID_REQUEST
    assert body["errors"] and all(
        set(e) == {"parameters", "message"} and e["message"] for e in body["errors"]
    )
    if parameter is not None:
        assert any(parameter in e["parameters"] for e in body["errors"]), body
    # 4xx answers carry the rate-limit headers too.
    assert "x-rate-limit-remaining" in response.headers


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer"])
def test_unauthorized(emulator, authorization) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for call in (
        lambda: requests.post(emulator.url + JOBS, json={"type": "tweets"}, headers=headers),
        lambda: requests.get(emulator.url + JOBS + "/123", headers=headers),
        lambda: requests.get(emulator.url + JOBS, params={"type": "tweets"}, headers=headers),
    ):
        response = call()
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {
            "title": "Unauthorized",
            "type": "about:blank",
            "status": 401,
            "detail": "Unauthorized",
        }
    assert emulator.emulator.jobs() == []


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({}, "type"),
        ({"type": "posts"}, "type"),
        ({"type": None}, "type"),
        ({"type": "tweets", "name": "x" * 65}, "name"),
        ({"type": "tweets", "name": 7}, "name"),
        ({"type": "tweets", "resumable": "yes"}, "resumable"),
        ({"type": "tweets", "resumable": 1}, "resumable"),
        ({"type": "tweets", "priority": "high"}, "priority"),
    ],
)
def test_create_rejects_bad_bodies(api: XApi, emulator, body, parameter) -> None:
    response = api.session.post(emulator.url + JOBS, json=body)
    assert_invalid_request(response, parameter)
    assert emulator.emulator.jobs() == []


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"", b'"tweets"'])
def test_create_rejects_non_json_bodies(api: XApi, emulator, raw) -> None:
    response = api.session.post(emulator.url + JOBS, data=raw, headers={"Content-Type": "application/json"})
    assert_invalid_request(response, None)


def test_name_of_exactly_64_characters_is_fine(api: XApi) -> None:
    assert api.create_job("tweets", name="n" * 64)["name"] == "n" * 64


@pytest.mark.parametrize("job_id", ["abc", "12345678901234567890", "-1", "1.5"])
def test_get_rejects_bad_ids(api: XApi, job_id) -> None:
    assert_invalid_request(api.get(job_id), "id")


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "type"),
        ({"type": "posts"}, "type"),
        ({"type": "tweets", "status": "done"}, "status"),
        ({"type": "tweets", "status": "expired"}, "status"),
        ({"type": "tweets", "colour": "red"}, "colour"),
    ],
)
def test_list_rejects_bad_queries(api: XApi, params, parameter) -> None:
    assert_invalid_request(api.list(**params), parameter)


def test_fields_parameter_is_accepted_and_ignored(api: XApi) -> None:
    job = api.create_job("tweets")
    fields = {"compliance_job.fields": "id,status"}
    listed = api.list(type="tweets", **fields)
    got = api.session.get(f"{api.server.url}{JOBS}/{job['id']}", params=fields)
    assert listed.status_code == got.status_code == 200
    assert listed.json()["data"] == [job]
    assert got.json()["data"] == job


def test_unknown_id_is_http_200_with_only_errors(api: XApi) -> None:
    response = api.get("1446017776678801409")
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "value": "1446017776678801409",
                "detail": "Could not find compliance_job with id: [1446017776678801409].",
                "title": "Not Found Error",
                "resource_type": "compliance_job",
                "parameter": "id",
                "resource_id": "1446017776678801409",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }


def test_another_tokens_jobs_are_invisible(make_server) -> None:
    server = make_server(tokens=["alice", "bob"])
    alice, bob = XApi(server, "alice"), XApi(server, "bob")
    job = alice.create_job("tweets")
    assert "errors" in bob.get(job["id"]).json() and "data" not in bob.get(job["id"]).json()
    assert bob.list(type="tweets").json() == {}
    assert alice.list(type="tweets").json() == {"data": [job]}


CONFLICT = {
    "title": "Conflict",
    "detail": "You cannot create a new job if one is already in progress",
    "type": "https://api.twitter.com/2/problems/conflict",
    "status": 409,
}


def test_created_job_blocks_same_type_until_it_expires(api: XApi, emulator) -> None:
    first = api.create_job("tweets")
    blocked = api.create("tweets")
    assert blocked.status_code == 409
    assert blocked.headers["content-type"] == "application/problem+json"
    assert blocked.json() == CONFLICT
    assert api.create("users").status_code == 200  # another type is not blocked
    emulator.emulator.clock.advance(901)
    assert api.job(first["id"])["status"] == "expired"
    assert api.create("tweets").status_code == 200  # expired does not block


def test_in_progress_blocks_and_complete_does_not(api: XApi, emulator) -> None:
    job = api.create_job("tweets")
    assert put_ids(job["upload_url"], id_file(snowflakes(10))).status_code == 200
    assert api.job(job["id"])["status"] == "in_progress"
    assert api.create("tweets").status_code == 409
    emulator.emulator.clock.advance(60)
    api.wait_for(job["id"], "complete")
    assert api.create("tweets").status_code == 200


def test_other_token_is_not_blocked(make_server) -> None:
    server = make_server(tokens=["alice", "bob"])
    assert XApi(server, "alice").create("tweets").status_code == 200
    assert XApi(server, "bob").create("tweets").status_code == 200
    assert XApi(server, "alice").create("tweets").status_code == 409


def test_created_blocks_can_be_switched_off(api: XApi, emulator) -> None:
    emulator.emulator.config.created_blocks = False
    assert api.create("tweets").status_code == 200
    second = api.create_job("tweets")
    # An uploaded job is being processed, so it blocks whatever the setting.
    put_ids(second["upload_url"], id_file(snowflakes(3)))
    assert api.create("tweets").status_code == 409


def test_failed_job_does_not_block(api: XApi, emulator) -> None:
    job = api.create_job("tweets")
    put_ids(job["upload_url"], b"not an id\n")
    emulator.emulator.clock.advance(60)
    assert api.wait_for(job["id"], "failed")["status"] == "failed"
    assert api.create("tweets").status_code == 200


def test_bearer_token_is_checked_before_the_rate_limit(api: XApi, emulator) -> None:
    requests.get(emulator.url + JOBS, params={"type": "tweets"}, headers={"Authorization": "Bearer nope"})
    assert api.list(type="tweets").headers["x-rate-limit-remaining"] == "149"
    assert TOKEN in emulator.emulator.config.tokens
