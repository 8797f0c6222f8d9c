"""A Parquet dataset in an object store (moto's S3 server, through an Airflow AWS connection):
files listed by day, each changed file published by one upload, the others left as they were."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.lake.conftest import results
from tests.lake.parquet_posts import assert_same, choose_post_flags, expected, posts_of_day, read, write_day
from tests.lake.test_object_storage import BUCKET, CONN_ID, bucket  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow  # a moto server


def test_a_dataset_in_s3_ends_as_the_truth(bucket, tmp_path: Path):  # noqa: F811 - the fixture
    from airflow.sdk import ObjectStoragePath

    from x_compliance.lake.parquet_dataset import apply_to_parquet_dataset, ids_in_parquet_file
    from x_compliance.lake.verdicts import Verdicts

    root = ObjectStoragePath(f"s3://{BUCKET}/posts", conn_id=CONN_ID)
    frames, remote = {}, {}
    for k in range(3):
        day = date(2026, 12, 1 + k)
        local = write_day(tmp_path / "local", day, posts_of_day(day, 300, k))
        frames[local] = posts_of_day(day, 300, k)
        remote[local] = root / f"date={day.isoformat()}" / local.name
        remote[local].parent.mkdir(parents=True, exist_ok=True)
        remote[local].fs.put_file(str(local), remote[local].path)
    flags = choose_post_flags([frames[next(iter(frames))]], seed=2, share=0.1)
    flags.users.clear()  # the first day's Posts only: the other days' files stay as they are
    etags = {local: path.fs.info(path.path)["ETag"] for local, path in remote.items()}
    audit = apply_to_parquet_dataset(root, Verdicts(posts=results(flags.posts), users=results(flags.users)))
    assert len(audit) and set(audit["file"]) == {str(next(iter(remote.values())))}
    for local, path in remote.items():
        after = tmp_path / "after.parquet"
        path.fs.get_file(path.path, str(after))
        assert_same(read(after), expected(frames[local], flags))
        if str(path) not in set(audit["file"]):
            assert path.fs.info(path.path)["ETag"] == etags[local]
        ids = [i for block in ids_in_parquet_file(path) for i in block.tolist()]
        assert ids == read(after)["id"].tolist()
    names = sorted(p.name for p in remote[next(iter(remote))].parent.iterdir())
    assert names == [next(iter(remote.values())).name]  # no staging file left beside it
