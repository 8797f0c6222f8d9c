"""The per-file ID manifest: every Post and user ID of the file, kept current by the file's
stamp, so a run picks the files holding flagged IDs without reading the others."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.lake.conftest import choose_flags, objects, records_in, results
from tests.lake.generate import FIRST_POST, page, write_flat, write_pages
from x_compliance.exceptions import TwarcLineError
from x_compliance.lake.manifest import (
    build_manifest,
    current_manifest,
    file_stamp,
    manifest_path,
    read_manifest,
)
from x_compliance.lake.rewrite import rewrite_file
from x_compliance.lake.twarc_lines import Records, Shape, read_line, record_values
from x_compliance.lake.verdicts import Verdicts

RECORDED_PAGES = [
    "geo_tweets.jsonl",
    "mentions_tweet.jsonl",
    "quoted_edit.jsonl",
    "streaming_output_with_error.jsonl",  # a filtered stream: one Post a page, with its rules
    "users.jsonl",
]


def held(manifest) -> np.ndarray:
    """Every ID of a manifest, once each."""
    return np.unique(np.concatenate(list(manifest.iter_ids())))


def every_id(path: Path) -> set[int]:
    """The IDs of every Post and user in the file, and every author named, by plain json."""
    posts, users = records_in(path)
    authors = set()
    with path.open("rb") as fh:
        for line in fh:
            authors |= {x["author_id"] for x in objects(json.loads(line)) if "author_id" in x}
    return {int(i) for i in (*posts, *users, *authors)}


@pytest.mark.parametrize("name", ["geo_tweets.jsonl", "geo_flat.jsonl", "flat_head.jsonl", "users.jsonl"])
def test_the_manifest_holds_every_post_and_user_of_a_recorded_file(samples: Path, name: str):
    manifest = current_manifest(samples / name)
    ids = held(manifest)
    assert every_id(samples / name) <= set(ids.tolist())
    assert list(ids) == sorted(set(ids.tolist()))
    assert manifest.records is (Records.USERS if name == "users.jsonl" else Records.POSTS)
    assert manifest_path(samples / name).exists()


@pytest.mark.parametrize("name", RECORDED_PAGES)
def test_a_page_holds_the_records_every_object_of_it_names(samples: Path, name: str):
    """A page's records are read from its lists; every object of it looked at finds the same."""
    for number, raw in enumerate((samples / name).read_bytes().splitlines(), 1):
        try:
            line = read_line(raw, source=name, line_number=number)
        except TwarcLineError:  # the truncated last line of a stream
            continue
        found = list(objects(line.obj))
        posts = {x["id"] for x in found if "id" in x and "text" in x}
        users = {x["id"] for x in found if "id" in x and "username" in x and "text" not in x}
        users |= {x[key] for x in found for key in ("author_id", "in_reply_to_user_id") if key in x}
        assert line.shape is Shape.PAGE and (posts or users)
        assert tuple(set(values) for values in record_values(line)) == (posts, users)


def test_a_page_not_shaped_as_x_writes_them_has_every_object_looked_at(tmp_path: Path):
    odd = page(FIRST_POST, 20)
    odd["includes"] = [odd["includes"]]  # a list where X writes an object
    odd["data"][0]["quoted"] = page(FIRST_POST + 50, 1)["data"][0]  # a Post where X has none
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps(odd) + "\n")
    assert every_id(path) <= set(held(current_manifest(path)).tolist())
    assert FIRST_POST + 50 in held(current_manifest(path))


def test_a_current_manifest_is_not_read_again_and_a_stale_one_is(tmp_path: Path):
    path = tmp_path / "day.jsonl"
    path.write_text(json.dumps(page(FIRST_POST, 20)) + "\n")
    first = current_manifest(path)
    stamp = path.stat()
    # The same size and time, other IDs: the stamp cannot tell, so the manifest is trusted.
    path.write_text(path.read_text().replace(f'"{FIRST_POST + 1}"', f'"{FIRST_POST + 9_000_000}"'))
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert np.array_equal(held(current_manifest(path)), held(first))
    with path.open("a") as out:  # a page appended: the stamp moves, the file is read again
        out.write(json.dumps(page(FIRST_POST + 100, 5)) + "\n")
    again = current_manifest(path)
    assert FIRST_POST + 9_000_000 in held(again) and FIRST_POST + 104 in held(again)
    assert read_manifest(path).stamp == file_stamp(path)


def test_a_rewrite_leaves_a_current_manifest_holding_the_file_and_no_record_gone(tmp_path: Path):
    """Kept from the old manifest, less the removed records the new file no longer names: every
    ID a fresh read finds (with its kind), none that went; a user only a removed Post named may
    stay (a few more IDs to send, never one missing)."""
    path = write_flat(tmp_path / "flat.jsonl", 400)
    flags = choose_flags(path, 3, share=0.2)
    audit = rewrite_file(path, Verdicts(posts=results(flags.posts), users=results(flags.users)))
    stored = read_manifest(path)
    assert stored.stamp == file_stamp(path)
    kept = records(stored)
    assert records(build_manifest(path)) <= kept
    removed = set(audit.loc[audit["change"] != "geo_scrubbed", "record_id"].tolist())
    text = path.read_text()
    gone = {record for record in removed if f'"{record}"' not in text}  # not named anywhere
    assert gone and not gone & {i for i, _ in kept}


def records(manifest) -> set[tuple[int, int]]:
    pairs = (zip(ids, kinds, strict=True) for ids, kinds in manifest.iter_records())
    return {(int(i), int(k)) for group in pairs for i, k in group}


def test_only_files_holding_a_flagged_id_are_picked(tmp_path: Path):
    files = [write_pages(tmp_path / f"day{d}.jsonl", 100) for d in range(3)]
    files[1].write_text(json.dumps(page(FIRST_POST + 50_000, 30)) + "\n")
    target = str(FIRST_POST + 50_007)
    verdicts = Verdicts(posts=results({target: "deleted"}))
    picked = [f.name for f in files if current_manifest(f).holds_any(verdicts.flagged_ids())]
    assert picked == ["day1.jsonl"]


def test_a_large_file_is_gathered_a_row_group_at_a_time(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("x_compliance.lake.manifest.ROW_GROUP_IDS", 2_000)
    path = write_flat(tmp_path / "flat.jsonl", 3_000)
    manifest = current_manifest(path)
    groups = list(manifest.iter_ids())
    assert len(groups) > 5 and all(len(g) <= 3_000 for g in groups)
    assert every_id(path) <= set(held(manifest).tolist())
    last, absent = groups[-1][-1], FIRST_POST - 1
    assert manifest.holds_any(np.sort(np.array([absent, last], np.int64)))
    assert not manifest.holds_any(np.array([absent - 1, absent], np.int64))
