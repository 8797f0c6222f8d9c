"""What a line of a twarc2 file is, and which IDs it holds, read from the line as twarc wrote it.

twarc2 writes one JSON object a line (``json.dumps``, twarc/command2.py ``_write``): either a
page of the API as it came (``data``: a list of Posts or users, a single Post for the
filtered stream; ``includes``: ``tweets``, ``users``, ``places``, ``media``, ``polls``;
``meta``, ``errors``, ``__twarc``), or after ``twarc2 flatten`` (twarc/expansions.py
``flatten``) one Post a line with its expansions inlined: ``author``, ``in_reply_to_user``,
users merged into ``entities.mentions``, ``referenced_tweets`` entries merged with the
referenced Post (itself expanded), ``geo`` merged with its place; a flattened user carries its
``pinned_tweet``. A page with no ``data`` and only ``errors``/``meta`` holds no record.

Lines are read with orjson. What orjson refuses or would read inexactly (NaN, Infinity, a lone
surrogate, an integer past 64 bits, none of which twarc writes) is read by Python's ``json``:
such a line is refused only when ``json`` refuses it too, and written back by ``json``.
"""

from __future__ import annotations

import gc
import io
import json
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from enum import Enum
from typing import IO, Any, NamedTuple

import numpy as np
import orjson

from x_compliance.exceptions import MixedRecordsError, TwarcLineError
from x_compliance.files.ids import MAX_BIGINT, MAX_DIGITS
from x_compliance.files.lines import iter_line_blocks

# Every ID a line may hold, Post or user, as X's API and twarc write them (JSON strings): the
# value of every key ending in ``id`` (``id``, ``author_id``, ``in_reply_to_user_id``; a
# conversation's or a poll's too). A superset only costs a look at a line that holds nothing
# flagged; the literal ``id"`` it starts with lets the regex engine skip ahead.
ID_VALUES = re.compile(rb'id"\s*:\s*"([0-9]{1,%d})"' % MAX_DIGITS)
EMPTY_RESPONSE_KEYS = frozenset({"errors", "meta", "__twarc"})
# A page of 500 Posts with its includes is a few MB; no real line comes near this.
MAX_LINE = 64 << 20
BLOCK_BYTES = 4 << 20
USER_KEYS = ("author_id", "in_reply_to_user_id")  # keys whose value is a user's ID
MAX_ID_TEXT = str(MAX_BIGINT)
# orjson reads an integer past 64 bits as a float: a run of 20 digits (19 after a minus sign)
# sends the line to ``json``, which reads it exactly (a false alarm, in a string, costs only time).
# The run is found with numpy, as runs of 2, 4, 8, 16 and then 20 digits (a pass over the bytes
# each, a few times faster than mapping every digit to one byte and searching the copy).
_RUN_WIDTHS = (1, 2, 4, 8, 4)  # a run of n and one of n starting w later: a run of n + w
_ZERO, _MINUS = np.uint8(ord("0")), np.uint8(ord("-"))


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


class Line(NamedTuple):
    """A parsed line: its shape and records, the JSON value, and whether orjson read it (so
    orjson may write it back) or Python's ``json`` did."""

    shape: Shape
    records: Records
    obj: Any
    by_orjson: bool = True


def ids_in(line: bytes) -> list[str]:
    """Every Post and user ID written in ``line`` (text, repeats kept), without parsing it; a
    value past the BIGINT maximum is no ID (:mod:`~x_compliance.files.ids`), yet is found too:
    it is only ever looked up among IDs."""
    return b" ".join(ID_VALUES.findall(line)).decode().split()


def record_values(line: Line) -> tuple[list[str], list[str]]:
    """``(Post IDs, user IDs)`` of a parsed line as it writes them, strings (those that are
    no ID included: :func:`as_ids` leaves them out). What X's two jobs are sent.

    A page holds its records where X's API puts them, the lists its change goes through
    (:mod:`~x_compliance.lake.line_changes`): Posts in ``data`` and ``includes.tweets``, users
    in ``data`` or ``includes.users``, and the users a Post names (author, reply, mentions).
    Any other line has every object looked at (:func:`_every_record`): each with an ID and a
    ``text`` is a Post, with an ID and a ``username`` a user (a mention too), and the values of
    ``author_id`` and ``in_reply_to_user_id`` name users.
    """
    found = None
    if line.shape is Shape.PAGE:
        with suppress(TypeError, AttributeError, KeyError):  # not shaped as X's pages are
            found = _page_records(line.obj, line.records)
    posts, users = found or _every_record(line.obj)
    return _strings(posts), _strings(users)


def _strings(values: list) -> list[str]:
    """``values`` less any that is no string (a number or an object where an ID belongs)."""
    try:
        "".join(values)
    except TypeError:
        return [v for v in values if isinstance(v, str)]
    return values


def _page_records(page: dict, records: Records) -> tuple[list, list]:
    data = page["data"]
    data = [data] if isinstance(data, dict) else data
    includes = page.get("includes") or {}
    posts = includes.get("tweets") or []
    people = includes.get("users") or []
    if records is Records.USERS:
        people = [*data, *people]
    else:
        posts = [*data, *posts]
    users = [user["id"] for user in people]
    users += [post[key] for key in USER_KEYS for post in posts if key in post]
    mentions = [post["entities"].get("mentions") for post in posts if "entities" in post]
    users += [m["id"] for found in mentions if found for m in found if "id" in m]
    return [post["id"] for post in posts], users


def _every_record(obj: Any) -> tuple[list, list]:
    posts: list = []
    users: list = []
    stack = [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            record = x.get("id")
            if isinstance(record, str):
                if "text" in x:
                    posts.append(record)
                elif "username" in x:
                    users.append(record)
            users += [x[key] for key in USER_KEYS if key in x]
            stack += [v for v in x.values() if isinstance(v, dict | list)]
        elif isinstance(x, list):
            stack += [v for v in x if isinstance(v, dict | list)]
    return posts, users


def as_ids(values: Collection) -> np.ndarray:
    """The values that are IDs (strings of ASCII digits, at most BIGINT max), as int64."""
    try:  # all of them digits, the common case: checked and converted in one go
        text = "".join(values)
        if text.isascii() and text.isdigit():
            ids = np.fromiter(map(int, values), np.uint64, len(values))
            return ids[ids <= MAX_BIGINT].astype(np.int64)
    except (TypeError, ValueError, OverflowError):  # no string, an empty one, past 64 bits
        pass
    digits = [v for v in values if isinstance(v, str) and v.isascii() and v.isdigit()]
    return np.array([int(v) for v in digits if len(v) < MAX_DIGITS or v <= MAX_ID_TEXT], np.int64)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while lines are parsed: the objects of a parsed
    line hold no cycles (reference counting frees them), yet the thousands each line allocates
    set off collections that walk every object the worker holds (Airflow's, pandas')."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def iter_raw_lines(fh: IO[bytes], *, source: str) -> Iterator[tuple[int, bytes]]:
    """``(line number, the line's bytes with its ending)`` of a binary stream (a local file or
    an object store's), a block of lines in memory at a time; a line past ``MAX_LINE`` bytes
    is refused before it is read whole (:func:`~x_compliance.files.lines.iter_line_blocks`)."""
    for block, number in iter_line_blocks(fh, BLOCK_BYTES, max_line=MAX_LINE, source=source):
        yield from enumerate(io.BytesIO(block), number)


def read_line(
    line: bytes,
    *,
    source: str,
    line_number: int,
    exact_numbers: bool = False,
    records: Records | None = None,
) -> Line:
    """Parse and classify one line; a line that is not JSON, or neither a page nor a flattened
    Post or user, raises :class:`TwarcLineError`. ``exact_numbers``: the line will be written
    back, so an integer orjson would read as a float sends it to ``json`` (reading IDs only,
    which are strings, needs no such look). ``records``: what the file's records are, when a
    current manifest says so (its build classified every page): a page is not looked at again."""
    if not line or line.isspace():
        return Line(Shape.EMPTY, Records.NONE, None)
    obj, by_orjson = _parse(line, source, line_number, exact_numbers)
    if not isinstance(obj, dict):
        raise TwarcLineError(source, line_number, f"a JSON {type(obj).__name__}, not an object")
    if "data" in obj:
        kind = records or _page_kind(obj["data"], source, line_number)
        return Line(Shape.PAGE, kind, obj, by_orjson)
    if obj and obj.keys() <= EMPTY_RESPONSE_KEYS:
        return Line(Shape.EMPTY, Records.NONE, obj, by_orjson)
    return Line(Shape.FLAT, record_kind(obj, source, line_number), obj, by_orjson)


def _parse(line: bytes, source: str, line_number: int, exact_numbers: bool) -> tuple[Any, bool]:
    if not exact_numbers or not _has_long_number(line):
        try:
            return orjson.loads(line), True
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(line), False
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise TwarcLineError(source, line_number, f"not JSON ({exc})") from None


def _has_long_number(line: bytes) -> bool:
    text = np.frombuffer(line, np.uint8)
    run = ((text - _ZERO) < 10) | (text == _MINUS)  # bytes that start a run of 1
    for width in _RUN_WIDTHS:  # then of 2, 4, 8, 16, 20
        run = run[:-width] & run[width:]
    return bool(run.any())


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


def _page_kind(data: Any, source: str, line_number: int) -> Records:
    records = data if isinstance(data, list) else [data]
    try:  # one look at each record: True for a Post, False for maybe a user, None for no id
        found = {"text" in record if isinstance(record.get("id"), str) else None for record in records}
    except AttributeError:  # a record that is no object
        found = {None}
    if found == {True}:
        return Records.POSTS
    if found == {False} and all("username" in record for record in records):
        return Records.USERS
    kinds = {record_kind(record, source, line_number) for record in records}  # names the fault
    if len(kinds) > 1:
        raise MixedRecordsError(source, line_number, "a page holding both Posts and users")
    return kinds.pop() if kinds else Records.NONE
