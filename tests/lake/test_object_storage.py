"""A twarc2 file in an object store (moto's S3 server, through an Airflow AWS connection):
the manifest beside it, stamped by its ETag; the new file published by one upload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.lake.conftest import choose_flags, results
from tests.lake.generate import FIRST_POST, page
from tests.lake.truth import assert_file_matches, expected_lines
from x_compliance_demo.services import S3_CREDENTIALS, s3

pytestmark = pytest.mark.slow  # a moto server
BUCKET, CONN_ID = "lake", "lake_s3"


@pytest.fixture
def bucket(tmp_path: Path, monkeypatch):
    """A moto server holding ``BUCKET``, reached through the ``lake_s3`` connection. Each test
    gets its own server (and port): the filesystems Airflow and s3fs cache per connection would
    still point at the last test's, so they are forgotten first."""
    from airflow.sdk.io import store
    from s3fs import S3FileSystem

    monkeypatch.setattr(store, "_STORE_CACHE", {})
    S3FileSystem.clear_instance_cache()
    with s3(BUCKET, log=tmp_path / "moto.log") as url:
        connection = {
            "conn_type": "aws",
            "login": S3_CREDENTIALS["aws_access_key_id"],
            "password": S3_CREDENTIALS["aws_secret_access_key"],
            "extra": {"endpoint_url": url, "region_name": S3_CREDENTIALS["region_name"]},
        }
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
        yield


def test_a_file_in_s3_is_rewritten_whole_and_its_manifest_kept_beside_it(bucket, tmp_path: Path):
    from airflow.sdk import ObjectStoragePath

    from x_compliance.lake.manifest import current_manifest, file_stamp, read_manifest
    from x_compliance.lake.rewrite import rewrite_file
    from x_compliance.lake.verdicts import Verdicts

    local = tmp_path / "day.jsonl"
    local.write_text("".join(json.dumps(page(FIRST_POST + 100 * k, 100)) + "\n" for k in range(5)))
    remote = ObjectStoragePath(f"s3://{BUCKET}/2026-12-06/day.jsonl", conn_id=CONN_ID)
    remote.parent.mkdir(parents=True, exist_ok=True)
    remote.fs.put_file(str(local), remote.path)
    flags = choose_flags(local, 11, share=0.05)
    expected = expected_lines(local, flags)
    current_manifest(remote)
    audit = rewrite_file(remote, Verdicts(posts=results(flags.posts), users=results(flags.users)))
    assert len(audit) and set(audit["file"]) == {str(remote)}
    after = tmp_path / "after.jsonl"
    remote.fs.get_file(remote.path, str(after))
    assert_file_matches(after, expected)
    assert read_manifest(remote).stamp == file_stamp(remote)
    names = sorted(p.name for p in remote.parent.iterdir())
    assert names == [".x-compliance-manifest", "day.jsonl"] or names == ["day.jsonl"]  # s3 lists prefixes
