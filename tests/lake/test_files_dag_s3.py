"""The ``x_compliance_files`` DAG over a Parquet dataset in an object store (moto's S3 server,
through an Airflow AWS connection named in the root, ``s3://CONN@BUCKET/...``): a sweep leaves
every file as the truth, keeps the files with nothing to change as they were, and stores its
audit beside the dataset in the bucket."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.dags.conftest import airflow_db  # noqa: F401 (a fixture)
from tests.lake.files_dag import dag_env, fates, run_day
from tests.lake.parquet_posts import assert_same, changed_rows, expected, posts_of_day, read, write_day
from tests.lake.test_object_storage import BUCKET, CONN_ID, bucket  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("airflow_db")]  # a moto server, a DAG run


def test_a_sweep_of_a_parquet_dataset_in_s3_ends_as_the_truth(
    bucket,  # noqa: F811 - the fixture
    emulator,
    tmp_path: Path,
    monkeypatch,
):
    from airflow.sdk import ObjectStoragePath

    root = ObjectStoragePath(f"s3://{CONN_ID}@{BUCKET}/posts")
    dag_env(emulator, monkeypatch, str(root), (tmp_path / "storage").as_uri())
    frames, remote = {}, {}
    for k in range(3):
        day = date(2026, 12, 1 + k)
        frame = posts_of_day(day, 200, k)
        local = write_day(tmp_path / "local", day, frame)
        frames[local], remote[local] = frame, root / f"date={day.isoformat()}" / local.name
        remote[local].parent.mkdir(parents=True, exist_ok=True)
        remote[local].fs.put_file(str(local), remote[local].path)
    etags = {local: path.fs.info(path.path)["ETag"] for local, path in remote.items()}

    run_day(date(2026, 12, 4), format="parquet", mode="sweep")

    every = pd.concat(frames.values())
    flags = fates(emulator, set(every["id"].astype(str)), set(every["author_id"].astype(str)))
    assert flags.posts
    for local, path in remote.items():
        after = tmp_path / "after.parquet"
        path.fs.get_file(path.path, str(after))
        assert_same(read(after), expected(frames[local], flags))
        if not changed_rows(frames[local], flags):
            assert path.fs.info(path.path)["ETag"] == etags[local]
    audits = list((root / ".x-compliance" / "audit").iterdir())
    assert len(audits) == 1
    with audits[0].open("rb") as fh:
        audit = pd.read_parquet(fh)
    assert len(audit) == sum(changed_rows(frame, flags) for frame in frames.values())
    assert set(audit["file"]) <= {str(path) for path in remote.values()}
