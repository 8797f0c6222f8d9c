"""Results files as they really are: the recorded ones, and the ways a file can be broken."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from x_compliance.exceptions import MalformedResultError
from x_compliance.files.results import iter_results


def test_recorded_tweet_results(recorded_dir):
    results = list(iter_results(recorded_dir / "twarc-csv-tweets-compliance.jsonl"))
    assert [(r.id, r.reason) for r in results] == [
        ("1170025343920402432", "protected"),
        ("1170147183095664640", "deactivated"),
    ]
    assert results[0].redacted_at is None  # missing in the real file
    assert results[1].redacted_at == datetime(2021, 8, 17, 17, 26, 15, 788000, tzinfo=UTC)
    assert results[0].created_at == datetime(2019, 9, 6, 17, 25, 54, 667000, tzinfo=UTC)


def test_recorded_user_results_deduplicated(recorded_dir):
    path = recorded_dir / "twarc-csv-users-compliance.jsonl"
    assert [r.id for r in iter_results(path, unique=False)] == ["1482680858", "1482680858"]
    (only,) = iter_results(path)
    assert only.created_at == datetime(2013, 6, 4, 16, 25, 4, tzinfo=UTC)  # "+00:00", no millis
    assert only.reason == "protected" and only.action == "delete"


def test_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        b'\r\n{"id":"1","action":"delete","created_at":"2020-01-01T00:00:00.000Z","reason":"scrub_geo"}\r\n\r\n'
    )
    (result,) = iter_results(path)
    assert (result.id, result.reason) == ("1", "scrub_geo")


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
        list(iter_results(path, job_id="9"))
    assert exc.value.line_number == 3
    assert why in str(exc.value) and str(path) in str(exc.value) and "job 9" in str(exc.value)


def test_unknown_reason_is_kept(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'{"id":"5","action":"delete","reason":"vanished"}\n')
    (result,) = iter_results(path)
    assert result.reason == "vanished"
