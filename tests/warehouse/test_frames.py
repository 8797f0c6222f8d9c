"""``remove_flagged`` on a user's own Posts and users frames, against a truth written out here in
plain Python (the README's rule: scrub_geo clears the geo columns, every other reason removes,
the first result for an ID wins, an account removed for deleted/deactivated/protected/suspended
takes its Posts), never through the provider's code."""

from __future__ import annotations

import json
import logging
import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from x_compliance.exceptions import MalformedResultError
from x_compliance.files.normalize import write_results_parquet
from x_compliance.warehouse import flagged
from x_compliance.warehouse.frames import remove_flagged

REASONS = ["deleted", "deactivated", "protected", "suspended", "scrub_geo", "bounced", "vanished"]
CASCADE = {"deleted", "deactivated", "protected", "suspended"}
POST_GEO = ("place_id", "geo_lat", "geo_lon")
CHANGES = ["record_id", "change", "reason", "cascades"]


def _posts(rng: random.Random, count: int = 400) -> pd.DataFrame:
    rows = []
    for _ in range(count):
        place = f"{rng.getrandbits(60):015x}" if rng.random() < 0.4 else None
        point = place is not None and rng.random() < 0.5
        rows.append(
            {
                "id": rng.randrange(1, 2**63),
                "author_id": rng.randrange(1, 40),
                "text": "words " * rng.randrange(1, 4),
                "place_id": place,
                "geo_lat": round(rng.uniform(-60, 60), 4) if point else None,
                "geo_lon": round(rng.uniform(-180, 180), 4) if point else None,
            }
        )
    rows += [dict(rows[i]) for i in (3, 7, 11)]  # a record can have several rows
    frame = pd.DataFrame(rows)
    frame.index = [f"r{i}" for i in range(len(frame))]  # the user's own index, kept as it is
    return frame


def _results(rng: random.Random, ids: list[int]) -> list[tuple[str, str]]:
    """Every reason, an unknown one included; some IDs twice (the first line wins) and some
    IDs the frame does not hold."""
    chosen = rng.sample(sorted(set(ids)), len(set(ids)) // 2)
    lines = [(str(i), REASONS[n % len(REASONS)]) for n, i in enumerate(chosen)]
    lines += [(str(i), rng.choice(REASONS)) for i in rng.sample(chosen, len(chosen) // 3)]
    lines += [(str(rng.randrange(1, 2**63)), rng.choice(REASONS)) for _ in range(5)]
    rng.shuffle(lines)
    return lines


def _truth(frame: pd.DataFrame, lines, *, geo, accounts: bool) -> tuple[list, list]:
    """(kept rows as (index, record dict), changes as tuples), the rule applied row by row."""
    first: dict[int, str] = {}
    for id_text, reason in lines:
        first.setdefault(int(id_text), reason)
    kept, changes = [], []
    for index, row in zip(frame.index, _records(frame), strict=True):
        reason = first.get(row["id"])
        if reason is None:
            kept.append((index, row))
        elif reason == "scrub_geo":
            if any(row[c] is not None for c in geo):
                row = {**row, **{c: None for c in geo}}
                changes.append((row["id"], "geo_scrubbed", reason, False))
            kept.append((index, row))
        else:
            changes.append((row["id"], "deleted", reason, accounts and reason in CASCADE))
    return kept, changes


def _records(frame: pd.DataFrame) -> list[dict]:
    """The rows as plain values, every kind of missing as None."""
    return [
        {k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else v) for k, v in row.items()}
        for row in frame.astype(object).to_dict("records")
    ]


def _as_truth(kept: pd.DataFrame, changes: pd.DataFrame) -> tuple[list, list]:
    assert list(changes.columns) == CHANGES
    rows = [tuple(None if pd.isna(v) else v for v in row) for row in changes.itertuples(index=False)]
    return list(zip(kept.index, _records(kept), strict=True)), [
        (int(i), str(c), str(r), bool(k)) for i, c, r, k in rows
    ]


def _frame_of(lines) -> pd.DataFrame:
    return pd.DataFrame(lines, columns=["id", "reason"])


def test_a_posts_frame_loses_removed_posts_and_the_geo_of_scrubbed_ones(caplog):
    rng = random.Random(3)
    posts = _posts(rng)
    lines = _results(rng, posts["id"].tolist())
    before = posts.copy()
    with caplog.at_level(logging.WARNING):
        kept, changes = remove_flagged(posts, _frame_of(lines), geo_columns=POST_GEO)
    expected_kept, expected_changes = _truth(posts, lines, geo=POST_GEO, accounts=False)
    assert _as_truth(kept, changes) == (expected_kept, expected_changes)
    assert {reason for _, _, reason, _ in expected_changes} == set(REASONS)  # every reason exercised
    assert any(c == "geo_scrubbed" for _, c, _, _ in expected_changes)
    assert list(kept.columns) == list(posts.columns)
    pd.testing.assert_frame_equal(posts, before)  # the caller's frame is left as it was
    assert "does not know: ['vanished']; their rows are removed" in caplog.text


def test_a_users_frame_loses_its_own_rows_and_names_the_accounts_whose_posts_must_go():
    rng = random.Random(8)
    users = pd.DataFrame(
        {
            "id": [rng.randrange(1, 2**63) for _ in range(120)],
            "username": [f"user_{i}" for i in range(120)],
            "location": [rng.choice(["Lagos", "Lima", None]) for _ in range(120)],
        }
    )
    lines = _results(rng, users["id"].tolist())
    kept, changes = remove_flagged(users, _frame_of(lines), geo_columns=("location",), accounts=True)
    expected_kept, expected_changes = _truth(users, lines, geo=("location",), accounts=True)
    assert _as_truth(kept, changes) == (expected_kept, expected_changes)
    gone = set(changes.loc[changes["cascades"], "record_id"])
    first = {}
    for id_text, reason in lines:
        first.setdefault(int(id_text), reason)
    assert gone == {i for i in users["id"] if first.get(i) in CASCADE}
    assert gone and not gone & set(kept["id"])


def test_a_posts_frame_never_asks_for_a_cascade():
    rng = random.Random(4)
    posts = _posts(rng)
    lines = [(str(i), "deleted") for i in posts["id"][:10]]
    _, changes = remove_flagged(posts, _frame_of(lines), geo_columns=POST_GEO)
    assert len(changes) == posts["id"].isin(posts["id"][:10]).sum() and not changes["cascades"].any()


def test_results_from_the_download_steps_parquet_file(tmp_path):
    rng = random.Random(5)
    posts = _posts(rng)
    lines = _results(rng, posts["id"].tolist())
    raw, parquet = tmp_path / "results.jsonl", tmp_path / "results.parquet"
    raw.write_text(
        "".join(
            json.dumps({"id": i, "action": "delete", "created_at": "2026-11-20T10:00:00.000Z", "reason": r})
            + "\n"
            for i, r in lines
        )
    )
    write_results_parquet(raw, parquet, job_id="5")
    kept, changes = remove_flagged(posts, parquet, geo_columns=POST_GEO)
    assert _as_truth(kept, changes) == _truth(posts, lines, geo=POST_GEO, accounts=False)


def test_the_first_row_for_an_id_wins_across_the_batches_of_a_file(tmp_path, monkeypatch):
    monkeypatch.setattr(flagged, "BATCH_ROWS", 4)  # the repeats land in later batches
    rng = random.Random(6)
    posts = _posts(rng, 40)
    lines = _results(rng, posts["id"].tolist())
    path = tmp_path / "results.parquet"
    ids, reasons = zip(*lines, strict=True)
    pq.write_table(pa.table({"id": list(ids), "reason": list(reasons)}), path, row_group_size=6)
    kept, changes = remove_flagged(posts, path, geo_columns=POST_GEO)
    assert _as_truth(kept, changes) == _truth(posts, lines, geo=POST_GEO, accounts=False)


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param(lambda s: s.astype(str), id="digits"),
        pytest.param(lambda s: s.astype("int64[pyarrow]"), id="arrow"),
        pytest.param(lambda s: s, id="int64"),
    ],
)
def test_ids_as_integers_or_digits_on_either_side(ids):
    rng = random.Random(9)
    posts = _posts(rng, 50).iloc[:50]  # one row a record
    lines = [(str(i), "bounced") for i in posts["id"][:5]]
    results = _frame_of(lines).assign(id=lambda f: ids(f["id"].astype("int64")))
    kept, changes = remove_flagged(posts.assign(id=ids(posts["id"])), results)
    assert sorted(changes["record_id"]) == sorted(int(i) for i, _ in lines)
    assert len(kept) == len(posts) - 5


@pytest.mark.parametrize(
    "results",
    [
        pytest.param(pd.DataFrame({"id": [], "reason": []}), id="no-rows"),
        pytest.param(pd.DataFrame({"id": pd.Series([], dtype=str), "reason": []}), id="no-rows-text"),
    ],
)
def test_empty_results_change_nothing(results):
    posts = _posts(random.Random(10), 30)
    kept, changes = remove_flagged(posts, results, geo_columns=POST_GEO)
    pd.testing.assert_frame_equal(kept, posts)
    assert list(changes.columns) == CHANGES and changes.empty


def test_empty_results_file(tmp_path):
    posts = _posts(random.Random(10), 30)
    raw, parquet = tmp_path / "results.jsonl", tmp_path / "results.parquet"
    raw.write_text("")
    write_results_parquet(raw, parquet, job_id="5")
    kept, changes = remove_flagged(posts, parquet, geo_columns=POST_GEO)
    pd.testing.assert_frame_equal(kept, posts)
    assert changes.empty


@pytest.mark.parametrize(
    ("results", "line", "why"),
    [
        pytest.param({"id": ["12", "1x2"], "reason": ["deleted", "deleted"]}, 2, "invalid 'id'", id="bad-id"),
        pytest.param({"id": ["12", "13"], "reason": ["deleted", None]}, 2, "missing 'reason'", id="no-why"),
        pytest.param({"id": [12, -3], "reason": ["deleted", "bounced"]}, 2, "invalid 'id'", id="negative"),
    ],
)
def test_bad_results_name_their_row_and_change_nothing(results, line, why):
    posts = _posts(random.Random(11), 20)
    with pytest.raises(MalformedResultError) as exc:
        remove_flagged(posts, pd.DataFrame(results))
    assert exc.value.line_number == line and why in str(exc.value)


def test_without_geo_columns_scrub_geo_changes_nothing():
    posts = _posts(random.Random(12), 30).iloc[:30]
    lines = [(str(i), "scrub_geo") for i in posts["id"][:6]] + [(str(posts["id"].iloc[6]), "protected")]
    kept, changes = remove_flagged(posts, _frame_of(lines))
    pd.testing.assert_frame_equal(kept, posts.drop(posts.index[6]))
    assert changes.to_dict("list") == {
        "record_id": [posts["id"].iloc[6]],
        "change": ["deleted"],
        "reason": ["protected"],
        "cascades": [False],
    }
