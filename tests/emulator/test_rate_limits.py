"""Rate limits per tier and endpoint, their headers, both 429 bodies, and the emulator-clock Date."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import pytest

from tests.emulator.conftest import XApi
from x_compliance_emulator import Fault

CODE88 = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
PROBLEM_429 = {
    "title": "Too Many Requests",
    "type": "about:blank",
    "status": 429,
    "detail": "Too Many Requests",
}


def calls(api: XApi):
    return {
        "get": lambda: api.get("1"),
        "list": lambda: api.list(type="tweets"),
        # Creating a job is rate-limited whether or not it succeeds; 409s count like any call.
        "create": lambda: api.create("users"),
    }


@pytest.mark.parametrize(
    ("tier", "limits"),
    [("basic", {"get": 5, "list": 5, "create": 15}), ("pro", {"get": 150, "list": 150, "create": 150})],
)
def test_tier_limits_per_endpoint(api: XApi, emulator, tier, limits) -> None:
    emulator.emulator.config.tier = tier
    for endpoint, call in calls(api).items():
        limit = limits[endpoint]
        remaining = [int(call().headers["x-rate-limit-remaining"]) for _ in range(limit)]
        assert remaining == list(range(limit - 1, -1, -1)), endpoint
        over = call()
        assert over.status_code == 429, endpoint
        assert over.json() == CODE88
        assert over.headers["x-rate-limit-limit"] == str(limit)
        assert over.headers["x-rate-limit-remaining"] == "0"
    stats = emulator.emulator.stats
    assert stats["rate_limited"] == {"create": 1, "get": 1, "list": 1, "upload": 0, "download": 0}
    assert stats["requests"]["get"] == limits["get"] + 1


def test_window_resets_at_the_advertised_time(api: XApi, emulator) -> None:
    emulator.emulator.config.tier = "basic"
    first = api.get("1")
    reset = int(first.headers["x-rate-limit-reset"])
    date = parsedate_to_datetime(first.headers["Date"]).timestamp()
    assert 899 <= reset - date <= 901  # a fixed 15-minute window from the first call
    for _ in range(4):
        assert api.get("1").headers["x-rate-limit-reset"] == str(reset)  # fixed, not sliding
    assert api.get("1").status_code == 429
    emulator.emulator.clock.advance(reset - emulator.emulator.clock.now() + 0.01)
    again = api.get("1")
    assert again.status_code == 200
    assert again.headers["x-rate-limit-remaining"] == "4"
    assert int(again.headers["x-rate-limit-reset"]) > reset


def test_short_windows_roll_over_in_real_time(make_server) -> None:
    server = make_server(tier="basic", rate_limit_window_seconds=0.3)
    api = XApi(server, "t1")
    statuses = [api.list(type="tweets").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    time.sleep(0.35)
    assert api.list(type="tweets").status_code == 200


def test_problem_form_of_429(api: XApi, emulator) -> None:
    emulator.emulator.config.tier = "basic"
    emulator.emulator.config.rate_limit_body = "problem"
    for _ in range(5):
        api.get("1")
    over = api.get("1")
    assert over.status_code == 429
    assert over.headers["content-type"] == "application/problem+json"
    assert over.json() == PROBLEM_429


def test_limits_are_per_token(make_server) -> None:
    server = make_server(tier="basic", tokens=["a", "b"])
    a, b = XApi(server, "a"), XApi(server, "b")
    for _ in range(5):
        a.get("1")
    assert a.get("1").status_code == 429
    assert b.get("1").status_code == 200


def test_injected_429_has_a_near_reset_and_does_not_use_quota(api: XApi, emulator) -> None:
    emulator.emulator.faults.add(Fault("http_429", target="get", count=2, body="problem"))
    first, second, third = api.get("1"), api.get("1"), api.get("1")
    assert first.status_code == second.status_code == 429
    assert first.json() == PROBLEM_429
    assert first.headers["x-rate-limit-remaining"] == "0"
    date = parsedate_to_datetime(first.headers["Date"]).timestamp()
    assert 0 < int(first.headers["x-rate-limit-reset"]) - date <= 3
    assert third.status_code == 200
    assert third.headers["x-rate-limit-remaining"] == "149"
    assert emulator.emulator.stats["rate_limited"]["get"] == 2


def test_injected_429_uses_configured_body_by_default(api: XApi, emulator) -> None:
    emulator.emulator.faults.add(Fault("http_429", target="list"))
    assert api.get("1").status_code == 200  # other endpoints untouched
    response = api.list(type="tweets")
    assert (response.status_code, response.json()) == (429, CODE88)


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_503", 503)])
def test_injected_server_errors(api: XApi, emulator, kind, status) -> None:
    emulator.emulator.faults.add(Fault(kind, target="create"))
    response = api.create("tweets")
    assert response.status_code == status
    assert response.json()["status"] == status
    assert "x-rate-limit-limit" in response.headers
    assert emulator.emulator.jobs() == []
    assert api.create("tweets").status_code == 200


def test_date_header_follows_the_emulator_clock(api: XApi, emulator) -> None:
    before = parsedate_to_datetime(api.get("1").headers["Date"]).timestamp()
    emulator.emulator.clock.advance(3600)
    after = parsedate_to_datetime(api.get("1").headers["Date"]).timestamp()
    assert 3599 <= after - before <= 3602
