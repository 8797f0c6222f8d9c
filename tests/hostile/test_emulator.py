"""The emulator left running on a shared machine: its admin API wants its own token on every
route, reads no path outside its data folder and echoes no file, and answers bad numbers, wrong
shapes and absurdly deep JSON with 400 in X's error shape, never 500 and never 200."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import TOKEN
from x_compliance_emulator.admin.endpoints import PREFIX
from x_compliance_emulator.runtime.app import build_app

DEEP = "[" * 20_000 + "]" * 20_000


def _admin_routes(emulator) -> list[tuple[str, str]]:
    """Every admin route the app has: one added later is checked without a line here."""
    app = build_app(emulator.emulator)  # the very app the server runs
    routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(PREFIX)
        and route.method != "HEAD"
    }
    return sorted(routes)


def _admin(emulator, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or emulator.emulator.config.admin_token}"}


def _is_x_error(response: requests.Response, status: int = 400) -> bool:
    body = response.json()
    return response.status_code == status and body.get("title") == "Invalid Request" and body["errors"]


def test_every_admin_route_refuses_a_caller_without_the_admin_token(emulator):
    routes = _admin_routes(emulator)
    assert len(routes) >= 12
    before = emulator.emulator.clock.now()
    for method, path in routes:
        url = emulator.url + path
        assert requests.request(method, url, timeout=10).status_code == 401, (method, path)
        for wrong in ("not-the-admin-token", TOKEN):  # the X bearer token is no admin token
            answer = requests.request(method, url, headers={"Authorization": f"Bearer {wrong}"}, timeout=10)
            assert answer.status_code == 403, (method, path, wrong)
            assert TOKEN not in answer.text
    assert requests.get(emulator.url + PREFIX + "/health", headers=_admin(emulator), timeout=10).ok
    assert emulator.emulator.clock.now() - before < 60  # no refused call moved the clock


def test_config_shows_no_credential(emulator):
    config = requests.get(emulator.url + PREFIX + "/config", headers=_admin(emulator), timeout=10)
    assert config.ok
    assert TOKEN not in config.text and emulator.emulator.config.admin_token not in config.text
    assert "tokens" not in config.json() and "admin_token" not in config.json()


@pytest.mark.parametrize(
    "world_file", ["/etc/passwd", "../../../../etc/passwd", "../outside.csv", "missing.csv", 7, ["x"]]
)
def test_world_file_outside_the_data_folder_is_refused_unread(emulator, tmp_path, world_file):
    (tmp_path / "outside.csv").write_text("1,deleted\n")
    answer = requests.patch(
        emulator.url + PREFIX + "/config",
        json={"world_file": world_file},
        headers=_admin(emulator),
        timeout=10,
    )
    assert _is_x_error(answer)
    assert "root:" not in answer.text and emulator.emulator.config.world_file is None


def test_a_world_file_in_the_data_folder_is_never_echoed(emulator):
    data = emulator.emulator.config.data_dir
    (data / "world.csv").write_text("id,reason\n5,deleted\nroot:x:0:0:secret-line,deleted\n")
    headers = _admin(emulator)
    assert requests.patch(
        emulator.url + PREFIX + "/config", json={"world_file": "world.csv"}, headers=headers, timeout=10
    ).ok
    answer = requests.get(emulator.url + PREFIX + "/fates?type=tweets&ids=5", headers=headers, timeout=10)
    assert _is_x_error(answer) and "line 3" in answer.text and "secret-line" not in answer.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/clock", '{"advance": NaN}'),
        ("POST", "/clock", '{"advance": Infinity}'),
        ("POST", "/clock", '{"advance": -5}'),
        ("POST", "/clock", '{"advance": "soon"}'),
        ("POST", "/clock", "[1, 2]"),
        ("POST", "/clock", DEEP),
        ("POST", "/clock", "\xff not json"),
        ("PATCH", "/config", '{"processing_seconds_base": NaN}'),
        ("PATCH", "/config", '{"upload_window_seconds": -1}'),
        ("PATCH", "/config", '{"tweet_rates": {"deleted": NaN}}'),
        ("PATCH", "/config", '{"tweet_rates": [1]}'),
        ("PATCH", "/config", '{"tokens": ["mine"]}'),
        ("PATCH", "/config", '{"data_dir": "/"}'),
        ("PATCH", "/config", DEEP),
        ("POST", "/faults", '{"kind": "slow", "seconds": NaN}'),
        ("POST", "/faults", '{"kind": "drop", "after_bytes": Infinity}'),
        ("POST", "/faults", '{"kind": "drop", "after_bytes": -3}'),
        ("POST", "/faults", DEEP),
        ("POST", "/fates", '{"type": "tweets", "ids": "1,2"}'),
        ("POST", "/fates", '{"type": "tweets", "ids": ["\u0661"]}'),
        ("POST", "/fates", DEEP),
    ],
)
def test_bad_admin_input_gets_400_in_x_error_shape(emulator, method, path, body):
    before = emulator.emulator.config.to_json()
    answer = requests.request(
        method,
        emulator.url + PREFIX + path,
        data=body.encode("utf-8", "surrogateescape"),
        headers={**_admin(emulator), "Content-Type": "application/json"},
        timeout=10,
    )
    assert _is_x_error(answer), (answer.status_code, answer.text[:300])
    assert emulator.emulator.config.to_json() == before


@pytest.mark.parametrize(
    "body",
    [DEEP, '{"type": ' * 5000 + '"tweets"' + "}" * 5000, "[]", "nul", '{"type": "tweets", "resumable": NaN}'],
)
def test_bad_bodies_on_the_public_jobs_endpoint_get_400(emulator, body):
    answer = requests.post(
        emulator.url + "/2/compliance/jobs",
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert _is_x_error(answer), (answer.status_code, answer.text[:300])
    assert emulator.emulator.jobs() == []
