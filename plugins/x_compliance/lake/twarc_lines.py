"""What a line of a twarc2 file is, and which IDs it holds, read from the line as twarc wrote it.

twarc2 writes one JSON object a line (``json.dumps``, twarc/command2.py ``_write``): either a
page of the API as it came (``data``: a list of Posts or users, a single Post for the
filtered stream; ``includes``: ``tweets``, ``users``, ``places``, ``media``, ``polls``;
``meta``, ``errors``, ``__twarc``), or after ``twarc2 flatten`` (twarc/expansions.py
``flatten``) one Post a line with its expansions inlined: ``author``, ``in_reply_to_user``,
users merged into ``entities.mentions``, ``referenced_tweets`` entries merged with the
referenced Post (itself expanded), ``geo`` merged with its place; a flattened user carries its
``pinned_tweet``. A page with no ``data`` and only ``errors``/``meta`` holds no record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from enum import Enum
from typing import IO, Any

import numpy as np

from x_compliance.exceptions import MixedRecordsError, TwarcLineError
from x_compliance.files.ids import MAX_BIGINT, MAX_DIGITS
from x_compliance.files.lines import iter_line_blocks

# Every ID a line holds, Post or user, as X's API and twarc write them (JSON strings): the
# value of an ``id`` key (Posts, users, mentions) and of the keys naming an author. A superset
# (a poll's id too) only costs a look at a line that holds nothing flagged.
ID_VALUES = re.compile(rb'"(?:id|author_id|in_reply_to_user_id)"\s*:\s*"([0-9]{1,%d})"' % MAX_DIGITS)
EMPTY_RESPONSE_KEYS = frozenset({"errors", "meta", "__twarc"})
# A page of 500 Posts with its includes is a few MB; no real line comes near this.
MAX_LINE = 64 << 20
BLOCK_BYTES = 4 << 20


class Records(Enum):
    """What the records of a line (and so of its file) are."""

    POSTS = "posts"
    USERS = "users"
    NONE = "none"  # a blank line, or an API response with only errors or meta


class Shape(Enum):
    """How a line holds its records."""

    PAGE = "page"
    FLAT = "flat"
    EMPTY = "empty"


def ids_in(line: bytes) -> np.ndarray:
    """Every Post and user ID written in ``line`` (int64, repeats kept), without parsing it.

    A value past the BIGINT maximum is no ID (:mod:`~x_compliance.files.ids`) and is left out.
    """
    found = ID_VALUES.findall(line)
    if not found:
        return np.empty(0, np.int64)
    text = np.array(found, dtype=f"S{MAX_DIGITS}")
    try:
        return text.astype(np.int64)
    except OverflowError:
        return np.array([int(value) for value in found if int(value) <= MAX_BIGINT], np.int64)


USER_KEYS = ("author_id", "in_reply_to_user_id")  # keys whose value is a user's ID


def record_ids(obj: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(Post IDs, user IDs)`` of a parsed line, wherever they sit: every object with an ID and
    a ``text`` is a Post, with an ID and a ``username`` a user (a mention too), and the values of
    ``author_id`` and ``in_reply_to_user_id`` name users. What X's two jobs are sent."""
    posts: list[str] = []
    users: list[str] = []
    stack = [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            stack.extend(x)
        elif isinstance(x, dict):
            record = x.get("id")
            if isinstance(record, str):
                if "text" in x:
                    posts.append(record)
                elif "username" in x:
                    users.append(record)
            users.extend(x[key] for key in USER_KEYS if isinstance(x.get(key), str))
            stack.extend(v for v in x.values() if isinstance(v, dict | list))
    return _as_ids(posts), _as_ids(users)


def _as_ids(values: list[str]) -> np.ndarray:
    """The values that are IDs (digits, at most BIGINT max), as int64."""
    digits = [v for v in values if v.isascii() and v.isdigit() and len(v) <= MAX_DIGITS]
    return np.array([int(v) for v in digits if int(v) <= MAX_BIGINT], np.int64)


def iter_raw_lines(fh: IO[bytes], *, source: str) -> Iterator[tuple[int, bytes]]:
    """``(line number, the line's bytes with its ending)`` of a binary stream (a local file or
    an object store's), a block of lines in memory at a time; a line past ``MAX_LINE`` bytes
    is refused before it is read whole (:func:`~x_compliance.files.lines.iter_line_blocks`)."""
    for block, number in iter_line_blocks(fh, BLOCK_BYTES, max_line=MAX_LINE, source=source):
        start = 0
        while start < len(block):
            end = block.find(b"\n", start) + 1 or len(block)
            yield number, block[start:end]
            number, start = number + 1, end


def read_line(line: bytes, *, source: str, line_number: int) -> tuple[Shape, Records, Any]:
    """Parse and classify one line: ``(shape, records, the parsed object)``; a line that is not
    JSON, or neither a page nor a flattened Post or user, raises :class:`TwarcLineError`."""
    if not line.strip():
        return Shape.EMPTY, Records.NONE, None
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise TwarcLineError(source, line_number, f"not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise TwarcLineError(source, line_number, f"a JSON {type(obj).__name__}, not an object")
    if "data" in obj:
        return Shape.PAGE, _page_records(obj["data"], source, line_number), obj
    if obj and obj.keys() <= EMPTY_RESPONSE_KEYS:
        return Shape.EMPTY, Records.NONE, obj
    return Shape.FLAT, record_kind(obj, source, line_number), obj


def record_kind(record: Any, source: str, line_number: int) -> Records:
    """A Post has an id and its text; a user an id and a username (and no text)."""
    if isinstance(record, dict) and isinstance(record.get("id"), str):
        if "text" in record:
            return Records.POSTS
        if "username" in record:
            return Records.USERS
    raise TwarcLineError(
        source,
        line_number,
        "neither a page of the API nor a flattened Post or user (no id with text or username)",
    )


def _page_records(data: Any, source: str, line_number: int) -> Records:
    records = data if isinstance(data, list) else [data]
    kinds = {record_kind(record, source, line_number) for record in records}
    if len(kinds) > 1:
        raise MixedRecordsError(source, line_number, "a page holding both Posts and users")
    return kinds.pop() if kinds else Records.NONE
