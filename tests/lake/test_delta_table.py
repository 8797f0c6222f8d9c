"""X's verdicts applied to a Delta Lake table in one merge, against a truth worked out apart
with pandas; afterwards no version time travel can read, and no file under the table root (the
``_delta_log`` included), holds a removed Post; with a retention, the older versions do."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from tests.lake.conftest import results
from tests.lake.parquet_posts import GEO, SCHEMA, changed_rows, choose_post_flags, expected, posts_of_day
from tests.lake.truth import Flags
from x_compliance.exceptions import ParquetColumnError
from x_compliance.lake.delta_check import delta_files_holding, delta_versions_holding
from x_compliance.lake.delta_table import apply_to_delta_table
from x_compliance.lake.rewrite import AUDIT_COLUMNS
from x_compliance.lake.verdicts import Verdicts


def verdicts(flags: Flags) -> Verdicts:
    return Verdicts(posts=results(flags.posts), users=results(flags.users))


def append(root: Path, frame: pd.DataFrame, day: date) -> None:
    table = pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)
    table = table.append_column("date", pa.array([day.isoformat()] * len(frame)))
    write_deltalake(root, table, mode="append", partition_by=["date"])


def make_table(root: Path, seed: int = 0) -> pd.DataFrame:
    """Four days, each appended in two commits, the second repeating Posts of the day before
    (duplicates across files), and an old day appended last: every row, as pandas has it."""
    first, frames, previous = date(2026, 11, 1), [], None
    for k in range(4):
        day = first + timedelta(days=k)
        posts = posts_of_day(day, 120, seed)
        append(root, posts.iloc[:60], day)
        later = posts.iloc[60:] if previous is None else pd.concat([posts.iloc[60:], previous.iloc[:8]])
        append(root, later, day)
        frames.append(pd.concat([posts.iloc[:60], later]))
        previous = posts
    late = date(2026, 6, 30)
    append(root, posts_of_day(late, 50, seed), late)
    frames.append(posts_of_day(late, 50, seed))
    return pd.concat(frames, ignore_index=True)


def current(root: Path) -> pd.DataFrame:
    frame = DeltaTable(root).to_pyarrow_table(columns=SCHEMA.names).cast(SCHEMA).to_pandas()
    return frame.sort_values(["id", "author_id"], ignore_index=True)


def truth(frame: pd.DataFrame, flags: Flags) -> pd.DataFrame:
    want = expected(frame, flags)
    return (
        pa.Table.from_pandas(want, schema=SCHEMA, preserve_index=False)
        .to_pandas()
        .sort_values(["id", "author_id"], ignore_index=True)
    )


def removed(frame: pd.DataFrame, flags: Flags) -> set[int]:
    return set(frame["id"]) - set(expected(frame, flags)["id"])


def test_no_version_and_no_file_holds_a_removed_post(tmp_path: Path):
    root = tmp_path / "posts"
    frame = make_table(root)
    for run in range(2):
        flags = choose_post_flags([frame], seed=run, share=0.1)
        gone = removed(frame, flags)
        scrubbed = {int(i) for i, r in flags.posts.items() if r == "scrub_geo"} - gone
        assert gone and scrubbed
        assert delta_files_holding(root, gone)  # the check finds them before
        assert any(delta_versions_holding(root, gone).values())
        audit = apply_to_delta_table(root, verdicts(flags))
        assert list(audit.columns) == AUDIT_COLUMNS and len(audit) == changed_rows(frame, flags)
        assert set(audit.loc[audit["change"] != "geo_scrubbed", "record_id"]) == gone
        pd.testing.assert_frame_equal(current(root), truth(frame, flags))
        versions = delta_versions_holding(root, gone)
        latest = DeltaTable(root).version()
        assert latest in versions and set(versions.values()) == {0}
        assert delta_files_holding(root, gone) == {}
        for version in versions:  # no readable version serves a scrubbed Post's geo either
            old = DeltaTable(root, version=version).to_pandas()
            assert old.loc[old["id"].isin(scrubbed), GEO].isna().all().all()
        frame = expected(frame, flags)


def test_one_merge_commit_and_a_retention_keeps_older_versions(tmp_path: Path):
    root = tmp_path / "posts"
    frame = make_table(root, seed=1)
    before = DeltaTable(root).version()
    flags = choose_post_flags([frame], seed=5, share=0.1)
    gone = removed(frame, flags)
    audit = apply_to_delta_table(root, verdicts(flags), retention_hours=24)
    assert len(audit)
    table = DeltaTable(root)
    since = [h["operation"] for h in table.history() if h["version"] > before]
    assert since.count("MERGE") == 1 and set(since) <= {"MERGE", "SET TBLPROPERTIES"}
    assert table.metadata().configuration["delta.logRetentionDuration"] == "interval 24 hours"
    pd.testing.assert_frame_equal(current(root), truth(frame, flags))
    versions = delta_versions_holding(root, gone)
    assert versions[table.version()] == 0 and versions[before] > 0  # time travel still serves them
    assert delta_files_holding(root, gone)
    # The next run with no retention leaves none, though nothing is left to merge.
    assert apply_to_delta_table(root, verdicts(flags)).empty
    assert set(delta_versions_holding(root, gone).values()) == {0}
    assert delta_files_holding(root, gone) == {}


def test_a_table_without_the_id_column_is_refused_and_left_as_it_was(tmp_path: Path):
    root = tmp_path / "posts"
    frame = posts_of_day(date(2026, 11, 9), 40, 2)
    write_deltalake(
        root, pa.Table.from_pandas(frame.rename(columns={"id": "tweet_id"}), preserve_index=False)
    )
    with pytest.raises(ParquetColumnError, match="column 'id' is missing"):
        apply_to_delta_table(root, verdicts(Flags(posts={str(frame["id"].iloc[0]): "deleted"})))
    assert DeltaTable(root).version() == 0 and len(DeltaTable(root).history()) == 1


def test_a_change_data_feed_keeps_no_removed_post(tmp_path: Path):
    """The feed's files under _change_data hold every deleted row, and no tombstone names them."""
    root = tmp_path / "posts"
    frame = posts_of_day(date(2026, 11, 8), 200, 3)
    table = pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)
    write_deltalake(root, table, configuration={"delta.enableChangeDataFeed": "true"})
    write_deltalake(root, table.slice(0, 20), mode="append")
    flags = choose_post_flags([frame], seed=9, share=0.1)
    gone = removed(frame, flags)
    audit = apply_to_delta_table(root, verdicts(flags))
    assert len(audit) == changed_rows(pd.concat([frame, frame.iloc[:20]]), flags)
    assert delta_files_holding(root, gone) == {}
    assert set(delta_versions_holding(root, gone).values()) == {0}
