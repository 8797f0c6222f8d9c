"""Hostile ID and results files: very long lines, digits that are not ASCII, IDs past BIGINT,
JSON nested beyond reason. Each ends with a typed error naming file, line and what was wrong,
in bounded time and memory, with no scratch file left and the warehouse unchanged."""

from __future__ import annotations

import sqlite3

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.hostile.conftest import bounded, fingerprint
from x_compliance.exceptions import InvalidIdError, LineTooLongError, MalformedResultError
from x_compliance.files.id_files import validated_id_file
from x_compliance.files.limits import MAX_ID_LINE, MAX_RESULT_LINE
from x_compliance.files.normalize import write_results_parquet
from x_compliance.warehouse.apply import apply_results
from x_compliance.warehouse.export import export_ids, id_lines
from x_compliance.warehouse.tables import TWEETS, ComplianceTable

LONG = 32 << 20  # a 32 MiB line: far past both caps, small enough for CI
OVER_BIGINT = "9223372036854775808"
ARABIC_INDIC = "\u0661\u0662\u0663"  # "123" in Arabic-Indic digits: str.isdigit() says yes
SUPERSCRIPT = "\u00b9\u00b2"


def _sqlite_hook():
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook

    return SqliteHook(sqlite_conn_id="warehouse_default")


# -- very long lines ---------------------------------------------------------------------------


def test_a_32_mib_id_line_is_refused_as_soon_as_it_passes_the_cap(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_bytes(b"1\n2\n" + b"7" * LONG + b"\n3\n")
    with (
        bounded(seconds=5, mb=120),
        pytest.raises(LineTooLongError) as exc,
        validated_id_file(path, job_id="5"),
    ):
        pass
    assert (exc.value.line_number, exc.value.limit) == (3, MAX_ID_LINE)
    assert f"{path}, line 3: longer than {MAX_ID_LINE:,} bytes" in str(exc.value) and "job 5" in str(
        exc.value
    )


def test_a_long_id_line_inside_a_block_is_named_too(tmp_path):
    path = tmp_path / "ids.txt"
    path.write_bytes(b"1\n" + b"9" * 1000 + b"\n2\n")
    with pytest.raises(LineTooLongError) as exc, validated_id_file(path):
        pass
    assert exc.value.line_number == 2


def test_a_32_mib_result_line_is_refused_and_nothing_is_written(tmp_path):
    raw, parquet = tmp_path / "results.jsonl", tmp_path / "results.parquet"
    raw.write_bytes(b'{"id":"1","reason":"deleted"}\n{"id":"2","reason":"' + b"x" * LONG + b'"}\n')
    with bounded(seconds=5, mb=150), pytest.raises(LineTooLongError) as exc:
        write_results_parquet(raw, parquet, job_id="8")
    assert (exc.value.line_number, exc.value.limit) == (2, MAX_RESULT_LINE)
    assert "job 8" in str(exc.value) and str(raw) in str(exc.value)


# -- digits that are not ASCII, IDs past BIGINT --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (ARABIC_INDIC, "only ASCII digits 0-9 are allowed"),
        (SUPERSCRIPT, "only ASCII digits 0-9 are allowed"),
        (OVER_BIGINT, "above 9223372036854775807, the largest BIGINT"),
        ("18446744073709551616", "more than 19 digits"),
    ],
)
def test_id_file_refuses_what_is_no_bigint_id(tmp_path, value, why):
    path = tmp_path / "ids.txt"
    path.write_bytes(f"1\n9223372036854775807\n{value}\n".encode())
    with pytest.raises(InvalidIdError) as exc, validated_id_file(path, job_id="3"):
        pass
    assert (exc.value.line_number, exc.value.value, exc.value.reason) == (3, value, why)
    assert why in str(exc.value) and "nothing was uploaded" in str(exc.value)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (ARABIC_INDIC, "invalid 'id': only ASCII digits 0-9 are allowed"),
        (OVER_BIGINT, "invalid 'id': above 9223372036854775807"),
    ],
)
def test_results_reader_refuses_what_is_no_bigint_id(tmp_path, scratch, value, why):
    raw, parquet = tmp_path / "results.jsonl", tmp_path / "results.parquet"
    good = '{"id":"9223372036854775807","reason":"deleted"}\n'
    raw.write_text(good + "\n" + f'{{"id":"{value}","reason":"deleted"}}\n', encoding="utf-8")
    with pytest.raises(MalformedResultError) as exc:
        write_results_parquet(raw, parquet, job_id="4")
    assert exc.value.line_number == 3 and why in str(exc.value), str(exc.value)


def test_export_through_adbc_writes_what_db_api_writes_and_falls_back_for_padded_text(
    tmp_path, warehouse, scratch, caplog
):
    """ADBC (clean BIGINTs, in C) and DB-API (the rule in Python) must write the same bytes; a
    padded text id, which only DB-API's exact values can normalize, sends the export there."""
    from x_compliance.warehouse import export

    adbc, db_api = tmp_path / "adbc" / "ids.txt", tmp_path / "db-api" / "ids.txt"
    export_ids(_sqlite_hook(), TWEETS, adbc)
    assert "as Arrow columns through adbc-driver-sqlite" in caplog.text
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(export, "arrow_source", lambda hook: None)
        export_ids(_sqlite_hook(), TWEETS, db_api)
    assert adbc.read_bytes() == db_api.read_bytes() and len(adbc.read_bytes().splitlines()) == 500

    with sqlite3.connect(warehouse) as db:  # ids kept as text, padded as a CHAR column pads them
        db.execute("CREATE VIEW padded AS SELECT ' ' || id || ' ' AS id, created_at FROM tweets")
    caplog.clear()
    padded = tmp_path / "padded" / "ids.txt"
    export_ids(_sqlite_hook(), ComplianceTable(name="padded", job_type="tweets"), padded)
    assert "again through DB-API" in caplog.text
    assert padded.read_bytes() == adbc.read_bytes()


@pytest.mark.parametrize(
    ("value", "shown"),
    # SQLite's INTEGER affinity stores a number past BIGINT as a float: refused as such.
    [(ARABIC_INDIC, ARABIC_INDIC), (OVER_BIGINT, "9.223372036854776e+18")],
    ids=["arabic-indic", "past-bigint"],
)
def test_export_refuses_a_stored_id_that_is_no_bigint(tmp_path, warehouse, scratch, value, shown, caplog):
    with sqlite3.connect(warehouse) as db:
        db.execute(
            "INSERT INTO tweets (id, author_id, created_at, text) VALUES (?, 1, ?, 'x')",
            (value, "2026-11-19"),
        )
    before = fingerprint(warehouse)
    with pytest.raises(InvalidIdError) as exc:
        export_ids(_sqlite_hook(), TWEETS, tmp_path / "out" / "ids.txt")
    assert "tweets.id" in str(exc.value) and "nothing was exported" in str(exc.value)
    assert shown in str(exc.value)
    assert "again through DB-API" in caplog.text  # ADBC saw the value; DB-API named its row
    assert not (tmp_path / "out" / "ids.txt").exists()
    assert fingerprint(warehouse) == before


def test_export_refuses_an_integer_past_bigint_from_any_driver():
    # Drivers of NUMERIC columns (PostgreSQL, ADBC) hand over Python ints of any size.
    with pytest.raises(InvalidIdError) as exc:
        id_lines([5, 2**63], table=TWEETS, first_row=10)
    assert exc.value.line_number == 11 and "above 9223372036854775807" in str(exc.value)
    with pytest.raises(InvalidIdError, match="expected 1 to 19 ASCII digits"):
        id_lines([-1], table=TWEETS, first_row=1)


def _first_tweet(warehouse) -> int:
    with sqlite3.connect(warehouse) as db:
        return db.execute("SELECT id FROM tweets ORDER BY id LIMIT 1").fetchone()[0]


def test_apply_refuses_a_results_id_past_bigint_and_changes_nothing(tmp_path, warehouse, scratch):
    tweet = _first_tweet(warehouse)
    results = tmp_path / "results.parquet"
    pq.write_table(pa.table({"id": [str(tweet), OVER_BIGINT], "reason": ["deleted", "deleted"]}), results)
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{tweet}\n")
    before = fingerprint(warehouse)
    with bounded(seconds=10, mb=200), pytest.raises(MalformedResultError) as exc:
        apply_results(_sqlite_hook(), TWEETS, results, ids_path=ids, job_id="6", run_id="r")
    assert exc.value.line_number == 2 and "above 9223372036854775807" in str(exc.value)
    assert fingerprint(warehouse) == before


def test_apply_refuses_an_uploaded_id_past_bigint_and_changes_nothing(tmp_path, warehouse, scratch):
    tweet = _first_tweet(warehouse)
    results = tmp_path / "results.parquet"
    pq.write_table(pa.table({"id": [str(tweet)], "reason": ["deleted"]}), results)
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{tweet}\n{OVER_BIGINT}\n")
    before = fingerprint(warehouse)
    with pytest.raises(InvalidIdError) as exc:
        apply_results(_sqlite_hook(), TWEETS, results, ids_path=ids, job_id="6", run_id="r")
    assert exc.value.line_number == 2 and "nothing was applied" in str(exc.value)
    assert fingerprint(warehouse) == before


# -- JSON nested beyond reason ------------------------------------------------------------------


def test_a_result_line_nested_20000_deep_is_a_typed_error(tmp_path, scratch):
    raw, parquet = tmp_path / "results.jsonl", tmp_path / "results.parquet"
    raw.write_bytes(b'{"id":"1","reason":"deleted"}\n' + b"[" * 20_000 + b"]" * 20_000 + b"\n")
    with bounded(seconds=5, mb=100), pytest.raises(LineTooLongError) as exc:
        write_results_parquet(raw, parquet, job_id="2")
    assert exc.value.line_number == 2  # 40 KB of brackets is no result: refused before parsing


@pytest.mark.parametrize(
    "line",
    [b"[" * 3000 + b"]" * 3000, b'{"a":' * 2500 + b"1" + b"}" * 2500],
    ids=["arrays", "objects"],
)
def test_a_result_line_nested_deep_within_the_cap_is_a_typed_error(tmp_path, scratch, line):
    raw, parquet = tmp_path / "results.jsonl", tmp_path / "results.parquet"
    raw.write_bytes(b'{"id":"1","reason":"deleted"}\n' + line + b"\n")
    with bounded(seconds=5, mb=100), pytest.raises(MalformedResultError) as exc:
        write_results_parquet(raw, parquet, job_id="2")
    assert exc.value.line_number == 2 and "nested too deeply" in str(exc.value)
