"""X's verdicts applied to twarc2 files, recorded and generated, against a truth worked out
apart (tests/lake/truth.py): every reason, copies in includes and referenced_tweets, the
cascade of a removed user, untouched lines byte-identical and untouched files unopened."""

from __future__ import annotations

import json
import os
from pathlib import Path

import orjson
import pytest

from tests.lake.conftest import choose_flags, objects, results
from tests.lake.generate import FIRST_POST, FIRST_USER, flatten, page, write_flat, write_pages
from tests.lake.truth import Flags, assert_file_matches, expected_lines
from x_compliance.lake.rewrite import rewrite_file
from x_compliance.lake.verdicts import Verdicts

RECORDED = [
    "geo_tweets.jsonl",  # pages with places and an includes.tweets copy
    "geo_flat.jsonl",  # the same, flattened by twarc, and stream Posts with a copy that has geo
    "quoted_edit.jsonl",
    "mentions_tweet.jsonl",
    "flat_head.jsonl",  # twarc2 flatten output: referenced copies, inlined authors and mentions
    "users.jsonl",  # a users page with pinned Posts in includes.tweets
]


def apply(path: Path, flags: Flags):
    return rewrite_file(path, Verdicts(posts=results(flags.posts), users=results(flags.users)))


def check(path: Path, flags: Flags) -> None:
    """Rewrite ``path`` and hold it and its audit to the truth."""
    expected = expected_lines(path, flags)
    before = path.read_bytes().splitlines(keepends=True)
    audit = apply(path, flags)
    assert_file_matches(path, expected)
    changed = len(before) - sum(how == "same" for how, _ in expected)
    assert audit["line"].nunique() == changed
    for row in audit.itertuples():
        flagged = flags.posts if row.kind == "post" else flags.users
        if row.change == "cascade_deleted":
            assert flags.users[_author(before, row)] == row.reason
        else:
            assert flagged[str(row.record_id)] == row.reason
        assert row.change == "geo_scrubbed" if row.reason == "scrub_geo" else row.change != "geo_scrubbed"


def _author(lines: list[bytes], row) -> str:
    """The author of the cascaded Post ``row.record_id`` on its line."""
    on_line = objects(json.loads(lines[row.line - 1]))
    return next(x["author_id"] for x in on_line if x.get("id") == str(row.record_id) and "author_id" in x)


@pytest.mark.parametrize("name", RECORDED)
@pytest.mark.parametrize("seed", range(4))
def test_recorded_samples_end_as_the_truth(samples: Path, name: str, seed: int):
    path = samples / name
    flags = choose_flags(path, seed, share=0.4)
    assert flags.posts or flags.users
    check(path, flags)


@pytest.mark.parametrize("shape", ["pages", "flat"])
@pytest.mark.parametrize("seed", range(3))
def test_generated_files_end_as_the_truth(tmp_path: Path, shape: str, seed: int):
    write = write_pages if shape == "pages" else write_flat
    path = write(tmp_path / f"{shape}.jsonl", 600, per_page=50)
    flags = choose_flags(path, seed, share=0.1)
    check(path, flags)


@pytest.mark.parametrize("write", [write_pages, write_flat])
def test_a_second_run_with_the_same_verdicts_changes_nothing(tmp_path: Path, write):
    """Flattened: a removed user's mention, back to its own keys, is no copy to remove again."""
    path = write(tmp_path / "data.jsonl", 300)
    flags = choose_flags(path, 7, share=0.2)
    assert len(apply(path, flags))
    after = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    assert apply(path, flags).empty
    assert path.read_bytes() == after and path.stat().st_mtime_ns == mtime


def test_removed_post_leaves_data_and_its_copies(tmp_path: Path):
    response = page(FIRST_POST + 100, 30)
    quoted = next(p for p in response["data"] if "referenced_tweets" in p)
    target = quoted["referenced_tweets"][0]["id"]
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(response) + "\n")
    flat = tmp_path / "flat.jsonl"
    flat.write_text("".join(json.dumps(p) + "\n" for p in flatten(response)))
    for file in (path, flat):
        audit = apply(file, Flags(posts={target: "deleted"}))
        text = file.read_text()
        assert f'"id": "{target}", "text"' not in text  # no copy of it left, wherever it was
        assert set(audit["change"]) == {"deleted"}
        assert set(audit["part"]) <= {"data", "includes.tweets", "referenced_tweets"}
        assert "includes.tweets" in set(audit["part"]) or "referenced_tweets" in set(audit["part"])


def test_a_removed_user_takes_their_posts_and_profile(tmp_path: Path):
    response = page(FIRST_POST + 200, 60)
    author = response["data"][0]["author_id"]
    path = tmp_path / "page.jsonl"
    path.write_text(json.dumps(response) + "\n")
    audit = apply(path, Flags(users={author: "suspended"}))
    (kept,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert all(p["author_id"] != author for p in kept["data"])
    assert all(p["author_id"] != author for p in kept["includes"].get("tweets", []))
    assert all(u["id"] != author for u in kept["includes"]["users"])
    theirs = [p for p in response["data"] if p["author_id"] == author]
    assert (audit["change"] == "cascade_deleted").sum() >= len(theirs)
    assert ((audit["kind"] == "user") & (audit["change"] == "deleted")).sum() == 1


def test_scrub_geo_drops_a_place_only_the_scrubbed_post_used(samples: Path):
    path = samples / "geo_tweets.jsonl"
    second = json.loads(path.read_text().splitlines()[1])
    post = second["data"][0]
    assert post["geo"]["place_id"] == second["includes"]["places"][0]["id"]
    audit = apply(path, Flags(posts={post["id"]: "scrub_geo"}))
    after = json.loads(path.read_text().splitlines()[1])
    assert "geo" not in after["data"][0] and "places" not in after["includes"]
    assert after["includes"]["users"] == second["includes"]["users"]
    assert audit[["record_id", "line", "change"]].values.tolist() == [[int(post["id"]), 2, "geo_scrubbed"]]


def test_a_users_file_loses_removed_users_and_scrubbed_locations(samples: Path):
    path = samples / "users.jsonl"
    (response,) = [json.loads(line) for line in path.read_text().splitlines()]
    located = [u["id"] for u in response["data"] if u.get("location")]
    gone, scrubbed = response["data"][0]["id"], located[1]
    audit = apply(path, Flags(users={gone: "deactivated", scrubbed: "scrub_geo"}))
    (after,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert [u["id"] for u in after["data"]] == [u["id"] for u in response["data"] if u["id"] != gone]
    assert "location" not in next(u for u in after["data"] if u["id"] == scrubbed)
    pinned = [t["id"] for t in response["includes"]["tweets"] if t["author_id"] == gone]
    assert pinned and all(t["author_id"] != gone for t in after["includes"]["tweets"])
    assert sorted(audit["change"]) == ["cascade_deleted"] * len(pinned) + ["deleted", "geo_scrubbed"]


@pytest.mark.parametrize(
    ("dumps", "ending"),
    [
        (json.dumps, b"\n"),  # as twarc writes: spaced separators, non-ASCII escaped
        (lambda r: json.dumps(r, separators=(",", ":"), ensure_ascii=False), b"\r\n"),  # other writers
    ],
)
def test_untouched_lines_keep_their_bytes_and_changed_ones_are_compact_utf8(tmp_path: Path, dumps, ending):
    """A changed line is written as orjson writes JSON, whatever the style it had, with its own
    line ending; every other line keeps its bytes."""
    responses = [page(FIRST_POST + 300 + 10 * i, 10) for i in range(4)]
    lines = [dumps(r).encode() + ending for r in responses]
    path = tmp_path / "styled.jsonl"
    path.write_bytes(b"".join(lines))
    target = responses[2]["data"][3]["id"]
    apply(path, Flags(posts={target: "deleted"}))
    after = path.read_bytes().splitlines(keepends=True)
    assert after[:2] == lines[:2] and after[3] == lines[3]
    changed = json.loads(after[2])
    assert changed["data"] == [p for p in responses[2]["data"] if p["id"] != target]
    assert after[2] == orjson.dumps(changed) + ending
    assert "caf\u00e9".encode() in after[2] and target.encode() not in after[2]


def test_files_with_nothing_flagged_are_never_opened_for_writing(tmp_path: Path):
    path = write_pages(tmp_path / "quiet.jsonl", 200)
    old = 1_600_000_000_000_000_000
    os.utime(path, ns=(old, old))
    content = path.read_bytes()
    flags = Flags(posts={str(FIRST_POST + 10**9): "deleted"}, users={str(FIRST_USER + 10**6): "suspended"})
    assert apply(path, flags).empty
    # A flagged Post without geo asks for a scrub that changes nothing: the file is read, not written.
    no_geo = next(p["id"] for p in json.loads(content.splitlines()[0])["data"] if "geo" not in p)
    assert apply(path, Flags(posts={no_geo: "scrub_geo"})).empty
    assert path.stat().st_mtime_ns == old and path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == [".x-compliance-manifest", "quiet.jsonl"]


def test_a_stream_line_whose_single_post_goes_is_dropped(samples: Path):
    path = samples / "stream.jsonl"
    lines = (samples / "streaming_output_with_error.jsonl").read_bytes().splitlines(keepends=True)[:7]
    path.write_bytes(b"".join(lines))
    target = json.loads(lines[2])["data"]["id"]
    audit = apply(path, Flags(posts={target: "deleted"}))
    assert path.read_bytes() == b"".join(lines[:2] + lines[3:])
    assert audit[["record_id", "line", "part"]].values.tolist() == [[int(target), 3, "data"]]


def test_results_as_read_flagged_returns_them_do_the_same(tmp_path: Path):
    from x_compliance.warehouse.flagged import read_flagged

    one, two = write_pages(tmp_path / "one.jsonl", 300), tmp_path / "two.jsonl"
    two.write_bytes(one.read_bytes())
    flags = choose_flags(one, 9, share=0.1)
    raw = apply(one, flags)
    decided = Verdicts(
        posts=read_flagged(results(flags.posts)), users=read_flagged(results(flags.users), cascades=True)
    )
    assert rewrite_file(two, decided).drop(columns="file").equals(raw.drop(columns="file"))
    assert one.read_bytes() == two.read_bytes()
