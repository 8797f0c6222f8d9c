"""Where delta-rs is told to find a table: a local path as itself; a table in S3 by its bucket
and key, with the credentials, region and endpoint of the Airflow connection the path names,
conditional writes for safe commits, and what the connection's extra adds."""

from __future__ import annotations

import json

from x_compliance.lake.delta_storage import delta_location


def test_a_local_table_is_its_path(tmp_path):
    from airflow.sdk import ObjectStoragePath

    assert delta_location(tmp_path / "posts") == (str(tmp_path / "posts"), None)
    assert delta_location(ObjectStoragePath((tmp_path / "posts").as_uri())) == (str(tmp_path / "posts"), None)


def test_a_table_in_s3_gets_the_connection_it_names(monkeypatch):
    from airflow.sdk import ObjectStoragePath

    connection = {
        "conn_type": "aws",
        "login": "AKIDEXAMPLE",
        "password": "a-secret",
        "extra": {
            "endpoint_url": "http://127.0.0.1:9000",
            "region_name": "eu-west-1",
            "delta_storage_options": {"AWS_S3_LOCKING_PROVIDER": "dynamodb", "AWS_CONDITIONAL_PUT": "none"},
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_LAKE_S3", json.dumps(connection))
    uri, options = delta_location(ObjectStoragePath("s3://lake_s3@bucket/lake/posts"))
    assert uri == "s3://bucket/lake/posts"
    assert options == {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "a-secret",
        "AWS_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_ALLOW_HTTP": "true",
        "AWS_S3_LOCKING_PROVIDER": "dynamodb",
        "AWS_CONDITIONAL_PUT": "none",
    }
    monkeypatch.setenv(
        "AIRFLOW_CONN_LAKE_S3", json.dumps({"conn_type": "aws", "login": "k", "password": "s"})
    )
    _, plain = delta_location(ObjectStoragePath("s3://lake_s3@bucket/t"))
    assert plain["AWS_CONDITIONAL_PUT"] == "etag" and "AWS_ENDPOINT_URL" not in plain
