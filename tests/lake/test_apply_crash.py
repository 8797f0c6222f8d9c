"""The apply task SIGKILLed mid-loop (a real child process): every file is whole-old or
whole-new, and a retry finishes the job with the audit complete, each row once."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.lake.conftest import child, choose_flags
from tests.lake.generate import write_pages
from tests.lake.truth import Flags
from x_compliance.lake.apply import FilesJob, apply_jobs_to_files
from x_compliance.lake.dataset import TWARC2
from x_compliance.lake.journal import SUMMARY_KEY, audit_path

pytestmark = pytest.mark.slow  # a child process over tens of files
FILES, POSTS = 12, 1_500

APPLY = """
import sys
from x_compliance.lake.apply import FilesJob, apply_jobs_to_files
from x_compliance.lake.dataset import TWARC2
root, at = sys.argv[1], sys.argv[2]
kinds = (("1", "tweets"), ("2", "users"))
jobs = [FilesJob(i, kind, f"{at}/{kind}.parquet", f"{at}/{kind}.txt") for i, kind in kinds]
apply_jobs_to_files(root, TWARC2, jobs, run_id="run")
"""


def jobs_for(folder: Path, flags: Flags) -> list[FilesJob]:
    folder.mkdir()
    jobs = []
    for job_id, kind, flagged in (("1", "tweets", flags.posts), ("2", "users", flags.users)):
        results, ids = folder / f"{kind}.parquet", folder / f"{kind}.txt"
        pd.DataFrame({"id": list(flagged), "reason": list(flagged.values())}).to_parquet(results)
        ids.write_text("".join(f"{i}\n" for i in flagged))
        jobs.append(FilesJob(job_id, kind, str(results), str(ids)))
    return jobs


def audit_rows(root: Path) -> list[tuple]:
    frame = pd.read_parquet(audit_path(root.as_uri(), "1-2").path)
    frame["file"] = frame["file"].str.replace(root.as_uri(), "", regex=False)
    columns = ["record_id", "kind", "file", "line", "part", "change", "reason", "job_id", "run_id"]
    return sorted(frame[columns].itertuples(index=False, name=None))


def test_a_sigkill_mid_apply_leaves_whole_files_and_a_retry_completes_the_audit(tmp_path: Path):
    root, reference = tmp_path / "dataset", tmp_path / "reference"
    root.mkdir()
    for k in range(FILES):
        write_pages(root / f"day{k:02d}.jsonl", POSTS)  # the same Posts in every file: all change
    flags = choose_flags(root / "day00.jsonl", 4, share=0.03)
    jobs = jobs_for(tmp_path / "jobs", flags)
    shutil.copytree(root, reference)
    apply_jobs_to_files(reference.as_uri(), TWARC2, jobs, run_id="run")
    old = (root / "day00.jsonl").read_bytes()
    new = (reference / "day00.jsonl").read_bytes()
    assert old != new

    proc = child(APPLY, root.as_uri(), str(tmp_path / "jobs"))
    journal = root / ".x-compliance" / "journal" / "1-2"
    while proc.poll() is None and len(list(journal.glob("*.parquet"))) < 3:
        time.sleep(0.002)
    assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    states = [(root / f"day{k:02d}.jsonl").read_bytes() for k in range(FILES)]
    assert all(state in (old, new) for state in states)  # whole-old or whole-new, never a mix
    assert new in states and old in states  # killed mid-loop
    swapped = [k for k, state in enumerate(states) if state == new]

    mtimes = {k: (root / f"day{k:02d}.jsonl").stat().st_mtime_ns for k in swapped}
    apply_jobs_to_files(root.as_uri(), TWARC2, jobs, run_id="run")  # the retry
    assert all((root / f"day{k:02d}.jsonl").read_bytes() == new for k in range(FILES))
    assert {k: (root / f"day{k:02d}.jsonl").stat().st_mtime_ns for k in swapped} == mtimes  # not again
    assert audit_rows(root) == audit_rows(reference)  # every row, once
    assert not journal.exists()

    apply_jobs_to_files(root.as_uri(), TWARC2, jobs, run_id="run")  # the same jobs again: nothing
    assert audit_rows(root) == audit_rows(reference)


KILLED_BEFORE_CLEAR = """
import os, signal, sys
from x_compliance.lake import journal
from x_compliance.lake.apply import FilesJob, apply_jobs_to_files
from x_compliance.lake.dataset import TWARC2
root, at = sys.argv[1], sys.argv[2]
journal.Journal.clear = lambda self: os.kill(os.getpid(), signal.SIGKILL)
kinds = (("1", "tweets"), ("2", "users"))
jobs = [FilesJob(i, kind, f"{at}/{kind}.parquet", f"{at}/{kind}.txt") for i, kind in kinds]
apply_jobs_to_files(root, TWARC2, jobs, run_id="run")
"""


def test_a_sigkill_after_the_audit_is_stored_and_before_the_journal_goes_doubles_no_row(tmp_path: Path):
    """The retry finds the audit stored and the journal still there: merged again, each row
    once, the audit's footer the same runs and segments."""
    root, reference = tmp_path / "dataset", tmp_path / "reference"
    root.mkdir()
    for k in range(3):
        write_pages(root / f"day{k:02d}.jsonl", 300)
    jobs = jobs_for(tmp_path / "jobs", choose_flags(root / "day00.jsonl", 5, share=0.05))
    shutil.copytree(root, reference)
    apply_jobs_to_files(reference.as_uri(), TWARC2, jobs, run_id="run")

    proc = child(KILLED_BEFORE_CLEAR, root.as_uri(), str(tmp_path / "jobs"))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
    journal = root / ".x-compliance" / "journal" / "1-2"
    assert len(list(journal.glob("*.parquet"))) == 3 and audit_rows(root) == audit_rows(reference)
    stored = pq.read_metadata(audit_path(root.as_uri(), "1-2").path).metadata[SUMMARY_KEY]

    summary = apply_jobs_to_files(root.as_uri(), TWARC2, jobs, run_id="run")  # the retry
    assert summary["files_rewritten"] == summary["audit_rows"] == 0
    assert audit_rows(root) == audit_rows(reference)  # every row, once
    assert pq.read_metadata(audit_path(root.as_uri(), "1-2").path).metadata[SUMMARY_KEY] == stored
    assert not journal.exists()
