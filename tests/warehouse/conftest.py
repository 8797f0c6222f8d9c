"""The hostile tier's seeded SQLite warehouse (the demo's schema, the warehouse connection on
it), and a SqliteHook through that connection."""

from __future__ import annotations

import pytest

from tests.hostile.conftest import warehouse  # noqa: F401  (a fixture, used by name)


@pytest.fixture
def sqlite_hook(warehouse):  # noqa: F811
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook

    return SqliteHook(sqlite_conn_id="warehouse_default")
