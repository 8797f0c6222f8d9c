"""Apply a job's results to your own pandas DataFrames, as the warehouse apply does to a table.

:func:`remove_flagged` reads and decides through the same code as the warehouse apply
(:mod:`~x_compliance.warehouse.flagged`): the same ID rule, the first row for an ID winning,
the same change for each reason; and it reports its changes in the audit's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from x_compliance.warehouse.flagged import ID, read_flagged
from x_compliance.warehouse.tables import DELETED, GEO_SCRUBBED, REMOVE, SCRUB

__all__ = ["remove_flagged"]


def remove_flagged(
    frame: pd.DataFrame,
    results: Any,
    *,
    id_column: str = "id",
    geo_columns: Sequence[str] = (),
    accounts: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Remove from ``frame`` the records X flagged, and clear the geo data of those it asks to
    scrub; return ``(kept, changes)``. ``frame`` itself is left as it was.

    Args:
        frame: Posts or accounts, one record a row (a record may have several rows).
        results: X's results for the IDs of ``frame``: a DataFrame with X's ``id`` and
            ``reason`` columns, or the path (or ``ObjectStoragePath``) of the Parquet file the
            download step writes, read in batches. The first row for an ID wins.
        id_column: the column of ``frame`` holding the record IDs (integers, or their digits).
        geo_columns: the columns that ``scrub_geo`` clears (e.g. ``("place_id", "geo_lat",
            "geo_lon")`` for Posts, ``("location",)`` for accounts).
        accounts: ``frame`` holds accounts, ``results`` are a users job's: fills ``cascades``.

    Returns:
        ``kept``: the rows of ``frame`` not removed, with the same index and columns, and
        ``geo_columns`` missing (NA) in the rows of records flagged ``scrub_geo``.
        ``changes``: one row per row of ``frame`` changed, in ``frame``'s order:
        ``record_id``; ``change``, ``deleted`` or ``geo_scrubbed`` (a row whose geo columns
        were already all missing is not changed); ``reason``, X's; ``cascades``, True for an
        account whose removal must take its Posts too (deleted, deactivated, protected,
        suspended; never for Posts).

    Every reason but ``scrub_geo`` removes the record, one that this version does not know
    included, with a warning logged: X labels every result ``action: delete``.

    The cascade to an account's Posts is the caller's, since ``frame`` holds only the accounts:
    with ``gone = changes.loc[changes["cascades"], "record_id"]``,
    ``posts[~posts["author_id"].isin(gone)]`` drops their Posts. The warehouse apply makes the
    same cascade in SQL (:mod:`~x_compliance.warehouse.apply`).
    """
    flagged = read_flagged(results, cascades=accounts)
    ids = frame[id_column].astype(ID)
    at = pd.Index(flagged["id"]).get_indexer(ids)
    hit = at >= 0
    verdicts = flagged.iloc[at[hit]]  # the flagged record of each row of frame that is one
    asks = verdicts["change"].to_numpy(object)
    removed, scrub = np.zeros(len(frame), dtype=bool), np.zeros(len(frame), dtype=bool)
    removed[hit], scrub[hit] = asks == REMOVE, asks == SCRUB
    geo = list(geo_columns)
    if geo:
        scrub &= frame[geo].notna().any(axis=1).to_numpy(bool)  # nothing to clear: no change
    else:
        scrub[:] = False
    kept = frame.loc[~removed].copy()
    for column in geo:
        kept[column] = kept[column].mask(scrub[~removed])
    changed = removed | scrub
    on_hit = changed[hit]
    changes = pd.DataFrame(
        {
            "record_id": ids[changed].array,
            "change": pd.array(np.where(removed[changed], DELETED, GEO_SCRUBBED), dtype="str"),
            "reason": pd.array(verdicts["reason"][on_hit].astype("str")),
            "cascades": pd.array(verdicts["cascades"][on_hit]),
        }
    )
    return kept, changes
