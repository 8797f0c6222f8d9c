"""X's verdicts applied to a Parquet dataset partitioned by day, against a truth worked out
apart with pandas (tests/lake/parquet_posts.py): every reason, removed authors' Posts,
duplicates across files, a late old partition, consecutive runs; untouched files unopened for
writing; schema, row groups and codecs kept; bad input refused with nothing rewritten."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.lake.conftest import results
from tests.lake.parquet_posts import (
    assert_same,
    changed_rows,
    choose_post_flags,
    expected,
    posts_of_day,
    read,
    write_dataset,
    write_day,
)
from tests.lake.truth import Flags
from x_compliance.exceptions import DataFileChangedError, FileError, ParquetColumnError
from x_compliance.lake.parquet_dataset import (
    apply_to_parquet_dataset,
    apply_to_parquet_file,
    dataset_files,
    ids_in_parquet_file,
)
from x_compliance.lake.parquet_rows import PostColumns
from x_compliance.lake.rewrite import AUDIT_COLUMNS, TEMP_SUFFIX
from x_compliance.lake.verdicts import Verdicts

OLD = 1_500_000_000_000_000_000


def verdicts(flags: Flags) -> Verdicts:
    return Verdicts(posts=results(flags.posts), users=results(flags.users))


def scratch(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TEMP_SUFFIX)]


@pytest.mark.parametrize("seed", range(3))
def test_consecutive_runs_end_as_the_truth(tmp_path: Path, seed: int):
    root = tmp_path / "posts"
    frames = write_dataset(root, seed=seed)
    assert sorted(str(p) for p in dataset_files(root)) == sorted(map(str, frames))
    late = max(frames, key=lambda path: path.stat().st_mtime_ns)
    for run in range(2):  # a second run brings new verdicts over what the first left: the late day's
        flags = choose_post_flags([frames[late]] if run else list(frames.values()), 100 * seed + run, 0.08)
        if run:
            flags.users.clear()
        for path in frames:
            os.utime(path, ns=(OLD, OLD))
        want = {path: expected(frame, flags) for path, frame in frames.items()}
        audit = apply_to_parquet_dataset(root, verdicts(flags))
        assert list(audit.columns) == AUDIT_COLUMNS
        changed = {path: changed_rows(frame, flags) for path, frame in frames.items()}
        for path in frames:
            assert_same(read(path), want[path])
            assert (audit["file"] == str(path)).sum() == changed[path]
            assert (path.stat().st_mtime_ns == OLD) == (changed[path] == 0), path
        assert sum(n > 0 for n in changed.values()) == (1 if run else len(frames))
        for row in audit.itertuples():
            frame = frames[Path(row.file)]
            post = frame.iloc[row.line - 1]
            assert post["id"] == row.record_id
            if row.change == "cascade_deleted":
                assert flags.users[str(post["author_id"])] == row.reason
            else:
                assert flags.posts[str(row.record_id)] == row.reason
            assert (row.change == "geo_scrubbed") == (row.reason == "scrub_geo")
            assert row.part == ("geo_lat,geo_lon,place_id" if row.change == "geo_scrubbed" else "row")
        frames = want
    assert scratch(root) == []


def test_every_reason_is_applied(tmp_path: Path):
    root = tmp_path / "posts"
    frames = write_dataset(root, days=2, seed=4)
    flags = choose_post_flags(list(frames.values()), seed=4, share=0.3)
    audit = apply_to_parquet_dataset(root, verdicts(flags))
    assert set(audit["change"]) == {"deleted", "cascade_deleted", "geo_scrubbed"}
    assert {
        "deleted",
        "deactivated",
        "protected",
        "suspended",
        "bounced",
        "scrub_geo",
        "a_new_reason",
    } <= set(audit["reason"])
    # A user's scrub_geo asks nothing of their Posts' rows; a user's new reason removes no Post.
    cascaded = set(audit.loc[audit["change"] == "cascade_deleted", "reason"])
    assert cascaded <= {"deleted", "deactivated", "protected", "suspended"}


def test_the_file_keeps_its_schema_row_groups_and_codecs(tmp_path: Path):
    frame = posts_of_day(date(2026, 11, 3), 400, 1)
    path = write_day(tmp_path, date(2026, 11, 3), frame, row_group=100)
    before = pq.ParquetFile(path)
    target = int(frame["id"].iloc[150])
    audit = apply_to_parquet_file(path, verdicts(Flags(posts={str(target): "deleted"})))
    assert audit["record_id"].tolist() == [target] and audit["line"].tolist() == [151]
    after = pq.ParquetFile(path)
    assert after.schema_arrow.equals(before.schema_arrow, check_metadata=True)
    assert [after.metadata.row_group(g).num_rows for g in range(4)] == [100, 99, 100, 100]
    assert after.metadata.row_group(2).column(0).compression == "ZSTD"
    assert target not in np.concatenate(list(ids_in_parquet_file(path)))


def test_ids_in_a_file_are_its_id_column(tmp_path: Path):
    frames = write_dataset(tmp_path, days=2)
    for path, frame in frames.items():
        ids = np.concatenate(list(ids_in_parquet_file(path)))
        assert ids.tolist() == frame["id"].tolist()


def test_text_ids_as_x_writes_them(tmp_path: Path):
    frame = posts_of_day(date(2026, 11, 4), 120, 2)
    table = pa.Table.from_pandas(frame.astype({"id": str, "author_id": str}), preserve_index=False)
    path = tmp_path / "text_ids.parquet"
    pq.write_table(table, path, row_group_size=40)
    flags = Flags(
        posts={str(frame["id"].iloc[3]): "suspended"}, users={str(frame["author_id"].iloc[70]): "deleted"}
    )
    audit = apply_to_parquet_file(path, verdicts(flags))
    kept = pq.read_table(path).to_pandas()
    gone = (frame["id"] == frame["id"].iloc[3]) | (frame["author_id"] == frame["author_id"].iloc[70])
    assert kept["id"].tolist() == frame.loc[~gone, "id"].astype(str).tolist()
    assert len(audit) == gone.sum()


def refused(path: Path, flags: Flags, columns: PostColumns, words: str) -> None:
    os.utime(path, ns=(OLD, OLD))
    content = path.read_bytes()
    with pytest.raises(ParquetColumnError) as caught:
        apply_to_parquet_file(path, verdicts(flags), columns=columns)
    assert isinstance(caught.value, FileError) and str(path) in str(caught.value)
    assert words in str(caught.value) and "nothing was rewritten" in str(caught.value)
    assert path.read_bytes() == content and path.stat().st_mtime_ns == OLD
    assert scratch(path.parent) == []


def test_a_file_without_the_id_column_is_refused(tmp_path: Path):
    frame = posts_of_day(date(2026, 11, 5), 50, 3)
    path = tmp_path / "no_id.parquet"
    pq.write_table(pa.Table.from_pandas(frame.rename(columns={"id": "tweet_id"}), preserve_index=False), path)
    flags = Flags(posts={str(frame["id"].iloc[0]): "deleted"})
    refused(path, flags, PostColumns(), "column 'id' is missing")
    with pytest.raises(ParquetColumnError, match="column 'id' is missing"):
        list(ids_in_parquet_file(path))
    # Named as the file names it, it is applied.
    assert len(apply_to_parquet_file(path, verdicts(flags), columns=PostColumns(id="tweet_id"))) == 1


def test_a_file_without_the_author_column_or_with_no_ids_is_refused(tmp_path: Path):
    frame = posts_of_day(date(2026, 11, 6), 50, 3)
    flags = Flags(posts={str(frame["id"].iloc[0]): "deleted"})
    path = tmp_path / "no_author.parquet"
    pq.write_table(pa.Table.from_pandas(frame.drop(columns="author_id"), preserve_index=False), path)
    refused(path, flags, PostColumns(), "column 'author_id' is missing")
    words = tmp_path / "not_ids.parquet"
    pq.write_table(pa.Table.from_pandas(frame.assign(id="a post"), preserve_index=False), words)
    refused(words, flags, PostColumns(), "holds a value that is no ID")
    floats = tmp_path / "float_ids.parquet"
    pq.write_table(pa.Table.from_pandas(frame.astype({"id": float}), preserve_index=False), floats)
    refused(floats, flags, PostColumns(), "holds double, not IDs")


def test_flags_outside_a_file_s_range_leave_it_unread_for_writing(tmp_path: Path):
    frame = posts_of_day(date(2026, 11, 7), 100, 5)
    path = write_day(tmp_path, date(2026, 11, 7), frame)
    os.utime(path, ns=(OLD, OLD))
    beyond = Flags(posts={str(frame["id"].max() + 5): "deleted", str(frame["id"].min() - 5): "deleted"})
    geo_less = frame.loc[frame[["geo_lat", "geo_lon", "place_id"]].isna().all(axis=1), "id"].iloc[0]
    nothing = Flags(posts={str(geo_less): "scrub_geo"}, users={str(frame["author_id"].iloc[0]): "scrub_geo"})
    for flags in (beyond, nothing, Flags()):
        assert apply_to_parquet_file(path, verdicts(flags)).empty
        assert path.stat().st_mtime_ns == OLD


def test_a_file_written_during_the_rewrite_keeps_what_its_writer_wrote(tmp_path: Path, monkeypatch):
    """A collector replaces the file while the rewrite streams: the rewrite is dropped, not its file."""
    import x_compliance.lake.parquet_dataset as parquet_dataset

    frame = posts_of_day(date(2026, 11, 8), 100, 6)
    path = write_day(tmp_path, date(2026, 11, 8), frame)
    flags = Flags(posts={str(frame["id"].iloc[10]): "deleted"})
    collected = posts_of_day(date(2026, 11, 8), 120, 7)
    write_rewrite = parquet_dataset._write_changed

    def written_meanwhile(*args):
        write_rewrite(*args)
        write_day(tmp_path, date(2026, 11, 8), collected)

    monkeypatch.setattr(parquet_dataset, "_write_changed", written_meanwhile)
    with pytest.raises(DataFileChangedError, match="changed while it was being rewritten"):
        apply_to_parquet_file(path, verdicts(flags))
    assert_same(read(path), collected)
    assert scratch(tmp_path) == []
