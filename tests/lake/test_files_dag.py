"""The ``x_compliance_files`` DAG end to end with ``dag.test()`` against the emulator: R
consecutive daily runs over a dataset of generated and recorded twarc2 files (duplicates
across files, Posts created on the first date, an old file added after the first run) leave
every file exactly as the truth, computed apart from the code, says; the audit names every
removed record; a run again changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.dags.conftest import airflow_db  # noqa: F401 (a fixture)
from tests.lake.files_dag import (
    DAYS,
    FIRST_DAY,
    OLD_MTIME,
    RECHECK_DAYS,
    add_late_old_file,
    build_dataset,
    checked_on,
    dag_env,
    files,
    first_id_of,
    records,
    run_day,
    sent,
    truth,
)
from tests.lake.truth import CASCADING, assert_file_matches
from x_compliance.ui.files import FilesAudit

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("airflow_db")]  # one DAG run after another


@pytest.fixture
def files_env(emulator, tmp_path: Path, monkeypatch) -> dict[str, Path]:
    root, storage = tmp_path / "dataset", tmp_path / "storage"
    build_dataset(root, FIRST_DAY)
    dag_env(emulator, monkeypatch, root.as_uri(), storage.as_uri())
    return {"root": root, "storage": storage}


def every_record(paths) -> tuple[set[str], set[str]]:
    """The Posts and the users of every file."""
    posts: set[str] = set()
    users: set[str] = set()
    for path in paths:
        p, u = records(path)
        posts, users = posts | p, users | u
    return posts, users


def audit_of(root: Path) -> pd.DataFrame:
    stored = sorted((root / ".x-compliance" / "audit").glob("*.parquet"))
    return pd.concat([pd.read_parquet(path) for path in stored])


def test_r_daily_runs_leave_every_file_as_the_truth(files_env, emulator, tmp_path: Path):
    root, storage = files_env["root"], files_env["storage"]
    originals = {path: tmp_path / "originals" / path.relative_to(root) for path in files(root)}
    for path, copy in originals.items():
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
    posts_before, users_before = every_record(originals.values())

    run_day(DAYS[0])
    new_file = records(originals[root / "new" / "day.jsonl"])[0]
    new_posts = {p for p in new_file if int(p) >= first_id_of(DAYS[0])}
    assert len(new_posts) == 150 and new_posts <= sent(storage, DAYS[0], "tweets")  # created that day
    assert sent(storage, DAYS[0], "tweets") == checked_on(posts_before, DAYS[0])
    assert sent(storage, DAYS[0], "users") == checked_on(users_before, DAYS[0])

    late = add_late_old_file(root)
    originals[late] = tmp_path / "originals" / "late.jsonl"
    shutil.copy2(late, originals[late])
    for day in DAYS[1:]:
        run_day(day)
    posts_before, users_before = every_record(originals.values())

    flags, expected = truth(originals, emulator)
    assert set(flags.posts.values()) == {*CASCADING, "scrub_geo", "bounced"}
    assert {"deleted", "suspended", "scrub_geo"} <= set(flags.users.values())
    for path, lines in expected.items():
        assert_file_matches(path, lines)
        untouched = len(lines) == len(originals[path].read_bytes().splitlines())
        if untouched and all(how == "same" for how, _ in lines):
            assert path.stat().st_mtime_ns == OLD_MTIME, f"{path} had nothing to change but was written"

    posts_after, _ = every_record(originals)
    audit = audit_of(root)
    removed = audit[audit["change"] != "geo_scrubbed"]
    # Every Post X flagged went; each audited one went (a Post copied only inside a copy that
    # went, a quote in a flattened quote, goes with it, audited as that copy).
    audited = set(removed.loc[removed["kind"] == "post", "record_id"].astype(str))
    flagged = {p for p, reason in flags.posts.items() if reason != "scrub_geo"}
    assert not flagged & posts_after and audited <= posts_before - posts_after
    assert len(audited) > 0.9 * len(posts_before - posts_after)
    users_audited = set(removed.loc[removed["kind"] == "user", "record_id"].astype(str))
    assert users_audited and users_audited <= {u for u, why in flags.users.items() if why != "scrub_geo"}
    assert set(audit["change"]) == {"deleted", "cascade_deleted", "geo_scrubbed"}
    assert not audit.duplicated(["record_id", "file", "line", "part", "change"]).any()
    assert audit["job_id"].str.fullmatch(r"\d+").all() and audit["run_id"].str.len().gt(0).all()
    own = audit[audit["change"] != "cascade_deleted"]
    for row in own.itertuples():
        assert (flags.posts if row.kind == "post" else flags.users)[str(row.record_id)] == row.reason

    content = {path: path.read_bytes() for path in originals}
    run_day(DAYS[-1])  # the same date again: nothing left to change
    assert {path: path.read_bytes() for path in originals} == content
    assert len(audit_of(root)) == len(audit)

    # The Compliance page's coverage, from the audit's run rows alone: every slot and date
    # checked, each date's IDs counted once (its latest run), both job types.
    cover = FilesAudit(str(root)).coverage(RECHECK_DAYS)
    assert cover.slots == set(range(RECHECK_DAYS))
    assert cover.dates == {day.isoformat() for day in DAYS}
    assert cover.share == 1.0 and cover.on_track and cover.rotation_day == 1
    each_day = [len(sent(storage, day, kind)) for day in DAYS for kind in ("tweets", "users")]
    assert cover.ids_sent == sum(each_day)
