"""The ``x_compliance_files`` DAG over data in an object store (moto's S3 server, through an
Airflow AWS connection named in the root, ``s3://CONN@BUCKET/...``): a sweep of a Parquet
dataset leaves every file as the truth, keeps the files with nothing to change as they were, and
stores its audit beside the dataset in the bucket; a sweep of a Delta table leaves it as the
truth with no version and no object under it holding a removed Post."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from tests.dags.conftest import airflow_db  # noqa: F401 (a fixture)
from tests.lake.files_dag import dag_env, fates, run_day
from tests.lake.parquet_posts import (
    SCHEMA,
    assert_same,
    changed_rows,
    expected,
    posts_of_day,
    read,
    write_day,
)
from tests.lake.test_object_storage import BUCKET, CONN_ID, bucket  # noqa: F401 - the fixture
from x_compliance.lake.delta_check import delta_files_holding, delta_versions_holding
from x_compliance.lake.delta_storage import delta_location

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

    run = run_day(date(2026, 12, 4), format="parquet", mode="sweep")
    assert_first_tries(run)

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


def test_a_sweep_of_a_delta_table_in_s3_leaves_no_object_holding_a_removed_post(
    bucket,  # noqa: F811 - the fixture
    emulator,
    tmp_path: Path,
    monkeypatch,
):
    """delta-rs gets the credentials and endpoint of the connection the root names."""
    from airflow.sdk import ObjectStoragePath

    root = ObjectStoragePath(f"s3://{CONN_ID}@{BUCKET}/lake")
    dag_env(emulator, monkeypatch, str(root), (tmp_path / "storage").as_uri())
    uri, options = delta_location(root / "posts")
    frames = [posts_of_day(date(2026, 12, 1 + k), 150, k) for k in range(3)]
    for frame in frames:  # three commits, three data files
        table = pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)
        write_deltalake(uri, table, mode="append", storage_options=options)
    every = pd.concat(frames, ignore_index=True)

    run = run_day(date(2026, 12, 4), format="delta", mode="sweep")
    assert_first_tries(run)

    flags = fates(emulator, set(every["id"].astype(str)), set(every["author_id"].astype(str)))
    gone = set(every["id"]) - set(expected(every, flags)["id"])
    assert gone
    after = DeltaTable(uri, storage_options=options).to_pyarrow_table(columns=SCHEMA.names).cast(SCHEMA)
    by_post = ["id", "author_id"]
    assert_same(after.to_pandas().sort_values(by_post), expected(every, flags).sort_values(by_post))
    assert delta_files_holding(root / "posts", gone) == {}
    assert set(delta_versions_holding(root / "posts", gone).values()) == {0}


def assert_first_tries(run) -> None:
    """Every task of ``run`` succeeded on its first try: a retry that succeeds hides a fault."""
    retried = {ti.task_id: ti.try_number for ti in run.get_task_instances() if ti.try_number != 1}
    assert retried == {}, f"tasks needed retries: {retried}"
