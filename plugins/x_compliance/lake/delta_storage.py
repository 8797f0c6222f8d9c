"""Where delta-rs finds a Delta table: the URI and storage options of a dataset path.

delta-rs reaches object stores with its own client (Rust's ``object_store``), not the fsspec
filesystem behind an ``ObjectStoragePath``, so a table in S3 gets the credentials of the same
Airflow AWS connection the path names (``s3://CONN@bucket/...``; none: ``aws_default``, then
boto's usual chain) handed over as ``storage_options``: its keys, region and endpoint.

Commits to S3 use conditional writes (``AWS_CONDITIONAL_PUT=etag``, which S3 and S3-compatible
stores support): two writers committing the same version cannot both succeed, so a concurrent
commit makes the merge retry instead of one of them being lost, with no locking table. Any
option can be set or overridden in the connection's extra, ``{"delta_storage_options": {...}}``
(for a DynamoDB lock, say). Other stores (``gs://``, ``az://``) are given to delta-rs by URI and
find their credentials in its environment variables.

The options hold secrets: they are built in the task that opens the table and never logged.
"""

from __future__ import annotations

from typing import Any

from deltalake import DeltaTable

from x_compliance.files.storage_paths import as_storage_path, is_local, local_path

S3_SCHEMES = ("s3", "s3a", "s3n")
EXTRA_KEY = "delta_storage_options"


def delta_location(table: Any) -> tuple[str, dict[str, str] | None]:
    """The table's URI for delta-rs (a local path, or ``s3://bucket/key``) and its storage
    options (None: delta-rs's defaults)."""
    path = as_storage_path(table)
    if is_local(path):
        return str(local_path(path)), None
    if path.protocol in S3_SCHEMES:
        return f"s3://{path.path}", s3_storage_options(path.conn_id)
    return f"{path.protocol}://{path.path}", None


def open_delta(table: Any, storage_options: dict[str, str] | None = None, **kwargs: Any) -> DeltaTable:
    """The Delta table at ``table`` (``kwargs``: ``DeltaTable``'s, e.g. ``version``); without
    ``storage_options``, the URI and options come from the path (:func:`delta_location`)."""
    if storage_options is None:
        uri, storage_options = delta_location(table)
    else:
        uri = str(table)
    return DeltaTable(uri, storage_options=storage_options, **kwargs)


def s3_storage_options(conn_id: str | None) -> dict[str, str]:
    """delta-rs's options for S3 from the Airflow AWS connection ``conn_id``."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id=conn_id or S3Hook.default_conn_name)
    credentials = hook.get_credentials()
    options = {"AWS_CONDITIONAL_PUT": "etag"}
    if credentials.access_key:
        options["AWS_ACCESS_KEY_ID"] = credentials.access_key
        options["AWS_SECRET_ACCESS_KEY"] = credentials.secret_key
    if credentials.token:
        options["AWS_SESSION_TOKEN"] = credentials.token
    if hook.conn_region_name:
        options["AWS_REGION"] = hook.conn_region_name
    endpoint = hook.conn_config.get_service_endpoint_url(service_name="s3")
    if endpoint:
        options["AWS_ENDPOINT_URL"] = endpoint
        if endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    chosen = hook.conn_config.extra_config.get(EXTRA_KEY) or {}
    options.update({key: str(value) for key, value in chosen.items()})
    return options
