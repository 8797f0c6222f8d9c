"""The ``x_compliance_files`` DAG end to end with ``dag.test()`` over a Parquet dataset and over
Delta tables: R consecutive daily runs (Posts created on the first date, the same Posts in
two files, an old day added after the first run) leave the data exactly as the truth worked
out with pandas from the emulator's fates (:mod:`tests.lake.parquet_posts`); after every
Delta run no table version and no file under a table holds a removed Post; a run again
changes nothing."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from tests.dags.conftest import airflow_db  # noqa: F401 (a fixture)
from tests.lake.files_dag import DAYS, FIRST_DAY, OLD_MTIME, checked_on, dag_env, fates, run_day, sent
from tests.lake.parquet_posts import (
    GEO,
    SCHEMA,
    assert_same,
    changed_rows,
    expected,
    posts_of_day,
    read,
    write_day,
)
from tests.lake.truth import CASCADING
from x_compliance.lake import delta_table
from x_compliance.lake.delta_check import delta_files_holding, delta_versions_holding

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("airflow_db")]  # one DAG run after another
OLD_DAYS = [date(2026, 11, 1) + timedelta(days=k) for k in range(3)]
LATE_DAY = date(2026, 6, 30)


def days_of_posts() -> dict[date, pd.DataFrame]:
    """Three old days and the first run's day, each with its own Posts."""
    return {day: posts_of_day(day, 250, seed=k) for k, day in enumerate([*OLD_DAYS, FIRST_DAY])}


def write_parquet(root: Path) -> dict[Path, pd.DataFrame]:
    """A file per day, and a second file on the last old day repeating Posts of every other
    day (duplicates across files); every file old, so a rewrite shows in its mtime."""
    frames = days_of_posts()
    written = {write_day(root, day, frame): frame for day, frame in frames.items()}
    repeats = pd.concat([frame.iloc[:15] for frame in frames.values()]).sort_values("id", ignore_index=True)
    written[write_day(root, OLD_DAYS[-1], repeats, name="part-1")] = repeats
    for path in written:
        os.utime(path, ns=(OLD_MTIME, OLD_MTIME))
    return written


def append_delta(table: Path, frame: pd.DataFrame, day: date) -> None:
    rows = pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)
    rows = rows.append_column("date", pa.array([day.isoformat()] * len(frame)))
    write_deltalake(table, rows, mode="append", partition_by=["date"])


def write_delta(root: Path) -> dict[Path, pd.DataFrame]:
    """Two tables (one nested in a folder); each day appended in two commits, the second also
    repeating Posts of the day before."""
    frames = days_of_posts()
    tables = {root / "posts": [], root / "archive" / "posts_2026": []}
    previous = None
    for k, (day, frame) in enumerate(frames.items()):
        table = list(tables)[k % 2]
        later = frame.iloc[100:] if previous is None else pd.concat([frame.iloc[100:], previous.iloc[:10]])
        append_delta(table, frame.iloc[:100], day)
        append_delta(table, later, day)
        tables[table] += [frame.iloc[:100], later]
        previous = frame
    return {table: pd.concat(parts, ignore_index=True) for table, parts in tables.items()}


def delta_rows(table: Path) -> pd.DataFrame:
    frame = DeltaTable(table).to_pyarrow_table(columns=SCHEMA.names).cast(SCHEMA).to_pandas()
    return frame.sort_values(["id", "author_id"], ignore_index=True)


def sorted_truth(frame: pd.DataFrame, flags) -> pd.DataFrame:
    want = pa.Table.from_pandas(expected(frame, flags), schema=SCHEMA, preserve_index=False).to_pandas()
    return want.sort_values(["id", "author_id"], ignore_index=True)


def truth_flags(emulator, frames):
    every = pd.concat(frames)
    flags = fates(emulator, set(every["id"].astype(str)), set(every["author_id"].astype(str)))
    assert {*CASCADING, "scrub_geo", "bounced"} <= set(flags.posts.values())
    assert set(flags.users.values()) & CASCADING  # a removed author's Posts go
    return flags


def audit_of(root: Path) -> pd.DataFrame:
    stored = sorted((root / ".x-compliance" / "audit").glob("*.parquet"))
    return pd.concat([pd.read_parquet(path) for path in stored], ignore_index=True)


def check_audit(audit: pd.DataFrame, frames, flags) -> None:
    """Each removed row audited once, each kept Post whose geo went too (one scrubbed in an
    earlier run than its author's removal is audited for both), each row with X's reason."""
    every = pd.concat(frames, ignore_index=True)
    kept = pd.concat([expected(frame, flags) for frame in frames], ignore_index=True)
    removed = audit[audit["change"] != "geo_scrubbed"]
    assert set(removed["record_id"]) == set(every["id"]) - set(kept["id"])
    assert len(removed) == len(every) - len(kept)
    has_geo = every[every[GEO].notna().any(axis=1)]
    scrub = {int(i) for i, reason in flags.posts.items() if reason == "scrub_geo"}
    scrubbed = set(audit.loc[audit["change"] == "geo_scrubbed", "record_id"])
    assert scrub & set(kept["id"]) & set(has_geo["id"]) <= scrubbed <= scrub & set(has_geo["id"])
    assert set(audit["change"]) == {"deleted", "cascade_deleted", "geo_scrubbed"}
    assert not audit.duplicated(["record_id", "file", "line", "part", "change"]).any()
    assert audit["job_id"].str.fullmatch(r"\d+(,\d+)*").all() and audit["run_id"].str.len().gt(0).all()
    own = audit[audit["change"] != "cascade_deleted"]
    assert [flags.posts[str(i)] for i in own["record_id"]] == own["reason"].tolist()


@pytest.fixture
def lake(emulator, tmp_path: Path, monkeypatch) -> dict[str, Path]:
    root, storage = tmp_path / "dataset", tmp_path / "storage"
    root.mkdir()
    dag_env(emulator, monkeypatch, root.as_uri(), storage.as_uri())
    return {"root": root, "storage": storage}


def test_r_daily_runs_leave_a_parquet_dataset_as_the_truth(lake, emulator):
    root, storage = lake["root"], lake["storage"]
    frames = write_parquet(root)
    every = pd.concat(frames.values())
    run_day(DAYS[0], format="parquet")
    assert sent(storage, DAYS[0], "tweets") == checked_on(set(every["id"].astype(str)), DAYS[0])
    assert sent(storage, DAYS[0], "users") == checked_on(set(every["author_id"].astype(str)), DAYS[0])
    late = posts_of_day(LATE_DAY, 120, seed=9)
    late_path = write_day(root, LATE_DAY, late)
    os.utime(late_path, ns=(OLD_MTIME, OLD_MTIME))
    frames[late_path] = late
    for day in DAYS[1:]:
        run_day(day, format="parquet")

    flags = truth_flags(emulator, frames.values())
    for path, frame in frames.items():
        assert_same(read(path), expected(frame, flags))
        if not changed_rows(frame, flags):
            assert path.stat().st_mtime_ns == OLD_MTIME, f"{path} had nothing to change but was written"
    assert sorted(p.name for p in late_path.parent.iterdir()) == [late_path.name]  # no scratch file
    audit = audit_of(root)
    check_audit(audit, frames.values(), flags)

    content = {path: path.read_bytes() for path in frames}
    run_day(DAYS[-1], format="parquet")  # the same date again: nothing left to change
    assert {path: path.read_bytes() for path in frames} == content
    assert len(audit_of(root)) == len(audit)


def test_r_daily_runs_leave_delta_tables_as_the_truth_and_no_version_holding_a_removed_post(
    lake, emulator, monkeypatch
):
    root, storage = lake["root"], lake["storage"]
    tables = write_delta(root)
    ever = {table: set(frame["id"]) for table, frame in tables.items()}
    merged = []  # the tables merged by a run (the log keeps no older commit to count them by)
    real_merge = delta_table._merge
    monkeypatch.setattr(
        delta_table, "_merge", lambda table, *a: merged.append(real_merge(table, *a) or table)
    )

    def after_run(day: date) -> None:
        merged.clear()
        run_day(day, format="delta")
        assert len({t.table_uri for t in merged}) == len(merged) > 0  # one merge per table per run
        for table in tables:
            gone = ever[table] - set(delta_rows(table)["id"])
            assert delta_files_holding(table, gone) == {}, f"a file of {table} holds a removed Post"
            assert set(delta_versions_holding(table, gone).values()) <= {0}

    after_run(DAYS[0])
    every = pd.concat(tables.values())
    assert sent(storage, DAYS[0], "tweets") == checked_on(set(every["id"].astype(str)), DAYS[0])
    assert sent(storage, DAYS[0], "users") == checked_on(set(every["author_id"].astype(str)), DAYS[0])
    late = posts_of_day(LATE_DAY, 120, seed=9)
    late_table = root / "posts"
    append_delta(late_table, late, LATE_DAY)
    tables[late_table] = pd.concat([tables[late_table], late], ignore_index=True)
    ever[late_table] |= set(late["id"])
    for day in DAYS[1:]:
        after_run(day)

    flags = truth_flags(emulator, tables.values())
    for table, frame in tables.items():
        pd.testing.assert_frame_equal(delta_rows(table), sorted_truth(frame, flags))
    audit = audit_of(root)
    check_audit(audit, tables.values(), flags)

    before = {table: delta_rows(table) for table in tables}
    run_day(DAYS[-1], format="delta")  # the same date again: nothing left to change
    for table in tables:
        pd.testing.assert_frame_equal(delta_rows(table), before[table])
    assert len(audit_of(root)) == len(audit)
