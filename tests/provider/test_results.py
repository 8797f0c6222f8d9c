"""Results files as they really are: the recorded ones, and the ways a file can be broken. Each
goes through what the download step runs: the raw file parsed into the Parquet results file."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from x_compliance.exceptions import MalformedResultError
from x_compliance.files.normalize import write_results_parquet


def _rows(raw, job_id: str = "9") -> list[dict]:
    parquet = raw.with_suffix(".parquet")
    counts = write_results_parquet(raw, parquet, job_id=job_id)
    rows = pq.read_table(parquet).to_pylist()
    assert sum(counts.values()) == len(rows)
    return rows


def test_recorded_tweet_results(recorded_dir, tmp_path):
    raw = tmp_path / "tweets.jsonl"
    raw.write_bytes((recorded_dir / "twarc-csv-tweets-compliance.jsonl").read_bytes())
    rows = _rows(raw)
    assert [(r["id"], r["reason"]) for r in rows] == [
        ("1170025343920402432", "protected"),
        ("1170147183095664640", "deactivated"),
    ]
    assert rows[0]["redacted_at"] is None  # missing in the real file
    assert rows[1]["redacted_at"] == datetime(2021, 8, 17, 17, 26, 15, 788000, tzinfo=UTC)
    assert rows[0]["created_at"] == datetime(2019, 9, 6, 17, 25, 54, 667000, tzinfo=UTC)


def test_recorded_user_results_deduplicated(recorded_dir, tmp_path):
    raw = tmp_path / "users.jsonl"
    raw.write_bytes((recorded_dir / "twarc-csv-users-compliance.jsonl").read_bytes())
    assert [line.count(b'"1482680858"') for line in raw.read_bytes().splitlines() if line.strip()] == [1, 1]
    (only,) = _rows(raw)  # the same ID twice in the real file: the first line wins
    assert only["id"] == "1482680858"
    assert only["created_at"] == datetime(2013, 6, 4, 16, 25, 4, tzinfo=UTC)  # "+00:00", no millis
    assert only["reason"] == "protected" and only["action"] == "delete"


def test_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        b'\r\n{"id":"1","action":"delete","created_at":"2020-01-01T00:00:00.000Z","reason":"scrub_geo"}\r\n\r\n'
    )
    (result,) = _rows(path)
    assert (result["id"], result["reason"]) == ("1", "scrub_geo")


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b'{"id":"1","reason":"deleted"', "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"reason":"deleted"}', "invalid 'id'"),
        (b'{"id":"12a","reason":"deleted"}', "invalid 'id'"),
        (b'{"id":"1"}', "missing 'reason'"),
        (b'{"id":"1","reason":"deleted","created_at":"yesterday"}', "unreadable timestamp"),
        (b'{"id":"1","reason":"deleted","created_at":"2020-01-01 00:00:00Z"}', "unreadable timestamp"),
        (b'{"id":"1","reason":""}', "missing 'reason'"),
        (b'{"id":"1","reason":"deleted"}{"id":"2","reason":"deleted"}', "more than one object"),
        (b'{"id":"1","reason":"del\xffeted"}', "not UTF-8"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, line, why):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"id":"1","reason":"deleted"}\n\n' + line + b"\n")
    with pytest.raises(MalformedResultError) as exc:
        _rows(path, job_id="9")
    assert exc.value.line_number == 3
    assert why in str(exc.value) and str(path) in str(exc.value) and "job 9" in str(exc.value)


def test_unknown_reason_is_kept(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"id":"5","action":"delete","reason":"vanished"}\n')
    (result,) = _rows(path)
    assert result["reason"] == "vanished"
