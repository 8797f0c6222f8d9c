"""The files DAG's apply to Delta tables, failing after its audit was journaled, either before
the merge committed or after: the retry finds the commit done (or makes it), the table ends
as the truth with one merge, and the audit holds every row once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from deltalake import DeltaTable

from tests.lake.parquet_posts import changed_rows, choose_post_flags
from tests.lake.test_apply_crash import jobs_for
from tests.lake.test_delta_table import current, make_table, truth
from x_compliance.lake import delta_table
from x_compliance.lake.apply import apply_jobs_to_files
from x_compliance.lake.dataset import DELTA
from x_compliance.lake.journal import audit_path


class Crash(Exception):
    pass


@pytest.mark.parametrize("step", ["_merge", "_forget"])
def test_a_retry_after_a_crash_merges_once_and_audits_every_row_once(tmp_path: Path, monkeypatch, step):
    root = tmp_path / "lake"
    table = root / "posts"
    frame = make_table(table, seed=3)
    flags = choose_post_flags([frame], seed=4, share=0.1)
    jobs = jobs_for(tmp_path / "jobs", flags)
    merges = []
    real_merge, real = delta_table._merge, getattr(delta_table, step)
    monkeypatch.setattr(delta_table, "_merge", lambda *args: merges.append(real_merge(*args)))

    def crash(*args, **kwargs):
        if step == "_forget":
            real(*args, **kwargs)  # the merge is committed and the table cleaned: then the crash
        raise Crash(step)

    with monkeypatch.context() as crashing:
        crashing.setattr(delta_table, step, crash)
        with pytest.raises(Crash):
            apply_jobs_to_files(root.as_uri(), DELTA, jobs, run_id="run")
    assert len(merges) == (step == "_forget")
    assert DeltaTable(table).transaction_version("x-compliance:1-2") == (1 if merges else None)

    applied = apply_jobs_to_files(root.as_uri(), DELTA, jobs, run_id="run")  # the retry
    assert len(merges) == 1 and DeltaTable(table).transaction_version("x-compliance:1-2") == 1
    pd.testing.assert_frame_equal(current(table), truth(frame, flags))
    audit = pd.read_parquet(audit_path(root.as_uri(), "1-2").path)
    assert len(audit) == changed_rows(frame, flags) == applied["audit_rows"]
    assert not audit.duplicated(["record_id", "file", "line", "part", "change"]).any()
    assert not list((root / ".x-compliance").rglob("journal/**/*.parquet"))  # all in the audit

    again = apply_jobs_to_files(root.as_uri(), DELTA, jobs, run_id="run")  # the same jobs again
    assert again["audit_rows"] == 0 and len(merges) == 1


def test_a_delta_root_must_be_the_folder_of_the_tables(tmp_path: Path):
    make_table(tmp_path / "posts")
    with pytest.raises(ValueError, match="is a Delta table: give the folder that holds it"):
        list(DELTA.units(tmp_path / "posts"))
