"""Fates: deterministic from seed and id, configurable rates, a world file as an answer key,
and the ID-file parser that feeds them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import requests

from tests.emulator.conftest import XApi, id_file, put_ids, snowflakes
from x_compliance_emulator.runtime.config import default_tweet_rates
from x_compliance_emulator.world.fates import TYPE_REASONS
from x_compliance_emulator.world.idfile import InvalidIdFile, iter_id_chunks


def results_of(server, job_type: str, ids: list[int], token: str = "t1") -> str:
    api = XApi(server, token)
    job = api.create_job(job_type)
    put_ids(job["upload_url"], id_file(ids))
    server.emulator.clock.advance(3600)
    done = api.wait_for(job["id"], "complete")
    return requests.get(done["download_url"]).text


def test_same_seed_same_results_on_two_servers(make_server) -> None:
    ids = snowflakes(5000)
    first, second, other = make_server(seed=11), make_server(seed=11), make_server(seed=12)
    assert results_of(first, "tweets", ids) == results_of(second, "tweets", ids)
    assert results_of(first, "tweets", ids) != results_of(other, "tweets", ids)
    assert [first.emulator.fate("users", i) for i in ids] == [second.emulator.fate("users", i) for i in ids]


def test_same_id_same_fate_in_every_job(make_server) -> None:
    server = make_server()
    ids = snowflakes(2000)
    first = results_of(server, "tweets", ids)
    second = results_of(server, "tweets", ids[::-1])
    assert reasons_by_id(first) == reasons_by_id(second)


def reasons_by_id(text: str) -> dict[str, str]:
    return {line["id"]: line["reason"] for line in map(json.loads, filter(None, text.splitlines()))}


def test_rates_shape_the_reasons(make_server) -> None:
    server = make_server(tweet_rates={"deleted": 0.5}, user_rates={})
    ids = snowflakes(20_000)
    reasons = [server.emulator.fate("tweets", i) for i in ids]
    assert set(reasons) == {"deleted", None}
    assert 0.47 < reasons.count("deleted") / len(ids) < 0.53
    assert {server.emulator.fate("users", i) for i in ids[:500]} == {None}


def test_default_rates_roughly_hold(emulator) -> None:
    ids = np.arange(10**18, 10**18 + 200_000, dtype=np.uint64)
    codes = emulator.emulator.fate_model("tweets").codes(ids)
    expected = sum(default_tweet_rates().values())
    assert abs((codes >= 0).mean() - expected) < 0.005


def test_world_file_is_the_whole_truth(make_server, tmp_path: Path) -> None:
    world = tmp_path / "world.csv"
    world.write_text("id,reason\n1170025343920402432,protected\n1482680858,suspended\n42,scrub_geo\n")
    server = make_server(world_file=world)
    assert server.emulator.fate("tweets", 1170025343920402432) == "protected"
    assert server.emulator.fate("users", 42) == "scrub_geo"
    ids = [1170025343920402432, 42, *snowflakes(3000, start=1170025343920402433)]
    lines = [json.loads(line) for line in results_of(server, "tweets", ids).splitlines() if line]
    assert {(line["id"], line["reason"]) for line in lines} == {
        ("1170025343920402432", "protected"),
        ("42", "scrub_geo"),
    }
    assert lines[0]["created_at"] == "2019-09-06T17:25:54.667Z"  # the real sample's date, from the snowflake


def test_fate_of_ids_that_cannot_exist(emulator) -> None:
    assert emulator.emulator.fate("tweets", 2**64) is None
    with pytest.raises(ValueError):
        emulator.emulator.fate("posts", 1)


def test_scheduled_fates_change_at_their_emulator_time(make_server) -> None:
    server = make_server(tweet_rates={}, user_rates={})
    emulator, ids = server.emulator, snowflakes(4)
    now = emulator.clock.now()
    emulator.schedule_fate("tweets", ids[0], "deleted", at=now + 86400)
    emulator.schedule_fate("tweets", ids[1], "protected", at=now + 86400)
    emulator.schedule_fate("tweets", ids[1], None, at=now + 3 * 86400)  # unprotected later
    emulator.schedule_fate("users", ids[2], "suspended", at=now - 1)
    assert [emulator.fate("tweets", i) for i in ids] == [None] * 4
    assert emulator.fate("users", ids[2]) == "suspended" and emulator.fate("tweets", ids[2]) is None
    assert reasons_by_id(results_of(server, "tweets", ids)) == {}  # uploaded before the change
    emulator.clock.advance(86400)
    # results_of advanced the clock an hour past the upload: a day has passed
    assert reasons_by_id(results_of(server, "tweets", ids)) == {
        str(ids[0]): "deleted",
        str(ids[1]): "protected",
    }
    assert emulator.fate("tweets", ids[1], at=now + 3 * 86400) is None
    emulator.clock.advance(2 * 86400)
    assert reasons_by_id(results_of(server, "tweets", ids)) == {str(ids[0]): "deleted"}
    with pytest.raises(ValueError, match="unknown reason"):
        emulator.schedule_fate("tweets", ids[3], "vanished", at=now)
    emulator.reset()
    assert emulator.fate("tweets", ids[0], at=now + 86400) is None


def test_churn_moves_a_seeded_share_to_other_reasons_from_its_time(make_server) -> None:
    server = make_server(seed=5, churn_rate=0.05, churn_at=2_000_000_000)
    emulator = server.emulator
    ids = np.arange(10**18, 10**18 + 200_000, dtype=np.uint64)
    before = emulator.fate_model("tweets", at=1_999_999_999).codes(ids)
    after = emulator.fate_model("tweets", at=2_000_000_000).codes(ids)
    moved = before != after
    assert 0.048 < moved.mean() < 0.052
    # every churned ID now has a reason, spread across all six of the type's reasons
    assert (after[moved] >= 0).all()
    counts = np.bincount(after[moved], minlength=6)
    assert counts.min() > 0.8 * moved.sum() / 6
    # the same IDs churn on another server with the same seed, other IDs with another seed
    same = make_server(seed=5, churn_rate=0.05, churn_at=2_000_000_000).emulator
    assert (same.fate_model("tweets", at=2_000_000_000).codes(ids) == after).all()
    other = make_server(seed=6, churn_rate=0.05, churn_at=2_000_000_000).emulator
    other_moved = other.fate_model("tweets", at=2_000_000_000).codes(ids) != other.fate_model(
        "tweets", at=0
    ).codes(ids)
    assert (other_moved & moved).mean() < 0.01
    with pytest.raises(ValueError, match="churn_rate must be at most 1"):
        emulator.config.update(churn_rate=1.5)


def test_churn_reaches_the_results_file(make_server) -> None:
    server = make_server(tweet_rates={}, user_rates={}, churn_rate=0.5)
    ids = snowflakes(2000)
    reasons = reasons_by_id(results_of(server, "tweets", ids))
    assert 0.44 < len(reasons) / len(ids) < 0.56
    assert set(reasons.values()) <= set(TYPE_REASONS["tweets"])


def test_world_file_schedules_changes(make_server, tmp_path: Path) -> None:
    world = tmp_path / "world.csv"
    world.write_text("id,reason,at\n42,scrub_geo\n43,deleted,2030-01-01T00:00:00Z\n42,compliant,1900000000\n")
    emulator = make_server(world_file=world).emulator
    assert emulator.fate("tweets", 42) == "scrub_geo" and emulator.fate("tweets", 43) is None
    assert emulator.fate("tweets", 43, at=1893456000) == "deleted"  # 2030-01-01
    assert emulator.fate("tweets", 42, at=1900000000) is None
    (tmp_path / "bad.csv").write_text("42,deleted,not-a-time\n")
    with pytest.raises(ValueError, match=r"bad\.csv, line 1"):
        make_server(world_file=tmp_path / "bad.csv").emulator.fate("tweets", 42)


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "ids.txt"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("chunk_bytes", [7, 64, 1 << 20])
def test_parser_handles_mixed_widths_and_line_endings(tmp_path: Path, chunk_bytes: int) -> None:
    ids = [1, 22, 333, 1482680858, 9999999999999999999, *snowflakes(50)]
    data = b"".join(f"{i}\r\n".encode() if n % 3 else f" {i}\n\n".encode() for n, i in enumerate(ids))
    parsed = np.concatenate(list(iter_id_chunks(write(tmp_path, data), chunk_bytes=chunk_bytes)))
    assert parsed.tolist() == ids


def test_parser_fast_path_on_uniform_files(tmp_path: Path) -> None:
    ids = snowflakes(10_000)
    chunks = list(iter_id_chunks(write(tmp_path, id_file(ids)), chunk_bytes=20 * 1000))
    assert len(chunks) > 1
    assert np.concatenate(chunks).tolist() == ids


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"1\n2\nx3\n", 3),
        (b"1\n2 3\n", 2),
        (b"1\n-5\n", 2),
        (b"1\n+5\n", 2),
        (b"1\n1_000\n", 2),
        (b"12345678901234567890\n", 1),
        (b"1\r2\n", 1),
        (b"\xff\xfe1\n", 1),
    ],
)
def test_parser_rejects_non_ids(tmp_path: Path, data: bytes, line: int) -> None:
    with pytest.raises(InvalidIdFile) as error:
        list(iter_id_chunks(write(tmp_path, data)))
    assert error.value.line_number == line
