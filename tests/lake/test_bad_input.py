"""Bad twarc2 input is refused with a typed error naming the file and the line, and nothing
is rewritten: same bytes, same modification time, no scratch file."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import pytest

from tests.lake.conftest import results
from tests.lake.generate import FIRST_POST, page, user
from x_compliance.exceptions import FileError, LineTooLongError, MixedRecordsError, TwarcLineError
from x_compliance.lake.rewrite import rewrite_file
from x_compliance.lake.verdicts import Verdicts

OLD = 1_500_000_000_000_000_000


def refused(path: Path, error: type[Exception], line: int, words: str) -> None:
    os.utime(path, ns=(OLD, OLD))
    content = path.read_bytes()
    ids = [found.decode() for found in re.findall(rb'"id": "([0-9]+)"', content)[:3]]
    verdicts = Verdicts(posts=results(dict.fromkeys(ids, "deleted")))
    with pytest.raises(error) as caught:
        rewrite_file(path, verdicts)
    assert isinstance(caught.value, FileError) and caught.value.line_number == line
    assert str(path) in str(caught.value) and f"line {line}:" in str(caught.value)
    assert words in str(caught.value)
    assert path.read_bytes() == content and path.stat().st_mtime_ns == OLD
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}")] == []


def lines(*objects: object) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objects)


def test_a_truncated_last_line_as_a_real_stream_left_it(samples: Path):
    """twarc-csv's streaming_output_with_error.jsonl: a filtered stream cut mid-line."""
    refused(samples / "streaming_output_with_error.jsonl", TwarcLineError, 8, "not JSON")


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (b"{not json}\n", "not JSON"),
        (b"[1, 2, 3]\n", "a JSON list, not an object"),
        (
            b'{"id": "12", "name": "a list, not a Post"}\n',
            "neither a page of the API nor a flattened Post or user",
        ),
        (b'{"data": [{"id": "1", "name": "a list", "owner_id": "2"}]}\n', "neither a page of the API"),
        (b'{"data": [{"id": 12, "text": "an id that is a number"}]}\n', "neither a page of the API"),
        (b"\xff\xfe garbage\n", "not JSON"),
    ],
)
def test_a_line_that_is_no_page_and_no_record(tmp_path: Path, bad: bytes, words: str):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(
        lines(page(FIRST_POST, 5), page(FIRST_POST + 5, 5)) + bad + lines(page(FIRST_POST + 10, 5))
    )
    refused(path, TwarcLineError, 3, words)


def test_a_file_mixing_posts_and_users(tmp_path: Path, samples: Path):
    path = tmp_path / "mixed.jsonl"
    users_page = (samples / "users.jsonl").read_bytes()
    path.write_bytes(lines(page(FIRST_POST, 5), page(FIRST_POST + 5, 5)) + users_page)
    refused(path, MixedRecordsError, 3, "users after the posts of line 1")


def test_a_page_mixing_posts_and_users(tmp_path: Path):
    mixed = page(FIRST_POST, 5)
    mixed["data"].append(user(100_000_007))
    path = tmp_path / "mixed_page.jsonl"
    path.write_bytes(lines(page(FIRST_POST + 5, 5), mixed))
    refused(path, MixedRecordsError, 2, "a page holding both Posts and users")


def test_a_line_longer_than_any_page(tmp_path: Path, monkeypatch):
    path = tmp_path / "long.jsonl"
    path.write_bytes(lines(page(FIRST_POST, 5), page(FIRST_POST + 5, 400)))
    monkeypatch.setattr("x_compliance.lake.twarc_lines.MAX_LINE", 100_000)
    refused(path, LineTooLongError, 2, "longer than 100,000 bytes")


def test_an_id_past_the_bigint_maximum_is_no_id_and_no_crash(tmp_path: Path):
    response = page(FIRST_POST, 5)
    response["data"][1]["id"] = "9999999999999999999"
    path = tmp_path / "huge_id.jsonl"
    path.write_bytes(lines(response))
    target = response["data"][2]["id"]
    audit = rewrite_file(path, Verdicts(posts=results({target: "deleted"})))
    assert audit["record_id"].tolist() == [int(target)]
    assert [p["id"] for p in json.loads(path.read_bytes())["data"]] == [
        p["id"] for p in response["data"] if p["id"] != target
    ]


def test_a_line_only_python_json_reads_is_written_back_by_it(tmp_path: Path):
    """NaN and Infinity are no JSON orjson reads, and it reads integers past 64 bits as floats;
    twarc writes none of them. Such a line is read by json and, when it changes, written by json
    with every value as it was; the other lines keep their bytes."""
    odd, plain, huge = page(FIRST_POST, 5), page(FIRST_POST + 5, 5), page(FIRST_POST + 10, 5)
    odd["data"][0]["score"] = float("nan")
    odd["data"][2]["far"] = float("-inf")
    huge["data"][1]["big"] = 2**70 + 1  # no float holds it
    huge["data"][2]["small"] = -(2**64) - 3
    path = tmp_path / "odd.jsonl"
    path.write_bytes(lines(odd, plain, huge))
    targets = [odd["data"][3]["id"], huge["data"][3]["id"]]
    audit = rewrite_file(path, Verdicts(posts=results(dict.fromkeys(targets, "deleted"))))
    assert audit[["record_id", "line"]].values.tolist() == [[int(targets[0]), 1], [int(targets[1]), 3]]
    first, second, third = path.read_bytes().splitlines(keepends=True)
    assert second == lines(plain)
    odd_after, huge_after = json.loads(first), json.loads(third)
    assert math.isnan(odd_after["data"][0]["score"]) and odd_after["data"][2]["far"] == float("-inf")
    assert huge_after["data"][1]["big"] == 2**70 + 1 and huge_after["data"][2]["small"] == -(2**64) - 3
    for before, after in ((odd, odd_after), (huge, huge_after)):
        assert [p["id"] for p in after["data"]] == [p["id"] for p in before["data"] if p["id"] not in targets]
