"""X's verdicts for a run, ready to look up file by file: which Posts and users are flagged,
and what each asks (:func:`~x_compliance.warehouse.flagged.decide`, the warehouse's rule).

The flagged records stay in sorted numpy arrays (about 12 bytes a record, whatever the number
of files): the ID, its reason's code, what it asks and which of the run's jobs flagged it. A
file's IDs (its manifest) are looked up all at once, and only those that hit become the dicts
that each line's change (:mod:`~x_compliance.lake.line_changes`) reads, a dict lookup a record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from x_compliance.files.sorted_ids import find_sorted, sorted_distinct
from x_compliance.warehouse.flagged import read_flagged
from x_compliance.warehouse.tables import REMOVE

JOB_INDEX = np.int16  # which of a run's jobs flagged a record (``FlaggedRecords.jobs``)


@dataclass(frozen=True)
class Verdict:
    """What X asks of one record: ``removes`` (else scrub its geo), X's ``reason``, and for a
    user whether their Posts go too (``cascades``)."""

    removes: bool
    reason: str
    cascades: bool = False


@dataclass(frozen=True)
class FileVerdicts:
    """The verdicts that concern one file, by ID as its lines write them (text): one entry for
    each flagged record the file holds (about 110 bytes each)."""

    posts: dict[str, Verdict]
    users: dict[str, Verdict]

    def flagged(self) -> set[str]:
        """Every flagged ID the file holds, Post or user."""
        return self.posts.keys() | self.users.keys()


class FlaggedRecords:
    """One job type's flagged records: sorted IDs, and per ID its reason (a code into
    ``reasons``), its change, and the job that flagged it (the frame's ``job`` column, else 0)."""

    def __init__(self, flagged: pd.DataFrame | None, *, cascades: bool) -> None:
        if flagged is None:
            flagged = pd.DataFrame({"id": pd.Series([], dtype="int64"), "reason": pd.Series([], dtype="str")})
        if "change" not in flagged.columns:  # X's id/reason: checked and decided as the warehouse does
            flagged = read_flagged(flagged, cascades=cascades)
        ids = flagged["id"].to_numpy(np.int64)
        # read_flagged's are sorted already: then no copy is made
        order = slice(None) if _is_sorted(ids) else np.argsort(ids, kind="stable")
        self.ids = ids[order]
        codes, self.reasons = flagged["reason"].factorize()  # by code: no string per row
        self.reason_names = self.reasons.tolist()  # one lookup per hit: a list, not an Index
        self.codes = codes.astype(np.min_scalar_type(max(len(self.reasons), 1)))[order]
        self.removes = (flagged["change"] == REMOVE).to_numpy(bool)[order]
        self.cascades = flagged["cascades"].to_numpy(bool)[order] if cascades else np.zeros(len(ids), bool)
        jobs = (
            flagged["job"].to_numpy(JOB_INDEX) if "job" in flagged.columns else np.zeros(len(ids), JOB_INDEX)
        )
        self.jobs = jobs[order]

    def hits(self, ids: np.ndarray) -> np.ndarray:
        """Positions in this set of the flagged ones among ``ids`` (unique)."""
        at, found = find_sorted(self.ids, ids)
        return sorted_distinct(at[found])

    def verdicts(self, at: np.ndarray) -> dict[str, Verdict]:
        """The verdicts at positions ``at``, by ID as text; records that ask the same share one."""
        columns = (self.removes[at].tolist(), self.codes[at].tolist(), self.cascades[at].tolist())
        asks = list(zip(*columns, strict=True))
        shared = {ask: Verdict(ask[0], self.reason_names[ask[1]], ask[2]) for ask in set(asks)}
        return {str(record): shared[ask] for record, ask in zip(self.ids[at].tolist(), asks, strict=True)}


def _is_sorted(ids: np.ndarray) -> bool:
    return bool(np.all(ids[1:] >= ids[:-1]))


class Verdicts:
    """The flagged records of a run: ``posts`` from a tweets job, ``users`` from a users job,
    each a DataFrame with X's ``id`` and ``reason`` (or as :func:`read_flagged` returns it)."""

    def __init__(self, posts: pd.DataFrame | None = None, users: pd.DataFrame | None = None) -> None:
        self._posts = FlaggedRecords(posts, cascades=False)
        self._users = FlaggedRecords(users, cascades=True)
        # Sorted arrays merged by a sort: np.union1d hashes them, and holds tens of MB after.
        self._every = sorted_distinct(np.concatenate([self._posts.ids, self._users.ids]))

    @property
    def posts(self) -> FlaggedRecords:
        """The flagged Posts, sorted by ID: for formats that look up whole columns at once."""
        return self._posts

    @property
    def users(self) -> FlaggedRecords:
        """The flagged users, sorted by ID (``cascades``: their Posts go too)."""
        return self._users

    def flagged_ids(self) -> np.ndarray:
        """Every flagged ID, Post or user, sorted: what a file's manifest is checked against."""
        return self._every

    def for_file(self, groups: Iterable[np.ndarray]) -> FileVerdicts | None:
        """The verdicts for a file that holds the IDs of ``groups`` (its manifest's row groups,
        each looked up at once), or None when none of them is flagged."""
        posts, users = [np.empty(0, np.intp)], [np.empty(0, np.intp)]
        for ids in groups:
            posts.append(self._posts.hits(ids))
            users.append(self._users.hits(ids))
        posts, users = sorted_distinct(np.concatenate(posts)), sorted_distinct(np.concatenate(users))
        if not len(posts) and not len(users):
            return None
        return FileVerdicts(self._posts.verdicts(posts), self._users.verdicts(users))
