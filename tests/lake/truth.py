"""What a twarc2 file must hold after X's verdicts, worked out with plain json and a walk over
every object of every line, apart from the code under test (which visits known slots).

Any object with an ``id`` and a ``text`` is a Post, with an ``id``, a ``username`` and more
than a mention's own keys a user, wherever it sits. A Post that goes leaves a list, or becomes
``{}`` as a value, or ``{"type", "id"}`` in ``referenced_tweets``; a user that goes likewise,
or shrinks back to the mention in ``mentions``. ``scrub_geo`` takes ``geo`` off a Post and
``location`` off a user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

MENTION = ("start", "end", "username", "id")
CASCADING = {"deleted", "deactivated", "protected", "suspended"}
INCLUDE_REFS = {"media": "media_key", "polls": "id", "places": "id"}


@dataclass
class Flags:
    """Flagged IDs (text) with X's reason, for Posts and for users."""

    posts: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def post_goes(self, d: object) -> bool:
        if not (isinstance(d, dict) and "id" in d and "text" in d):
            return False
        own, author = self.posts.get(d["id"]), self.users.get(d.get("author_id"))
        return (own is not None and own != "scrub_geo") or author in CASCADING

    def user_goes(self, d: object) -> bool:
        return _is_user(d) and self.users.get(d["id"], "scrub_geo") != "scrub_geo"


def _is_user(d: object) -> bool:
    return (
        isinstance(d, dict)
        and "id" in d
        and "username" in d
        and "text" not in d
        and bool(set(d) - set(MENTION))
    )


def _walk(x: object, flags: Flags, key: str | None = None) -> object:
    if isinstance(x, list):
        out = []
        for item in x:
            if flags.post_goes(item):
                if key == "referenced_tweets":
                    out.append({k: item[k] for k in ("type", "id") if k in item})
            elif flags.user_goes(item):
                if key == "mentions":
                    out.append({k: item[k] for k in MENTION if k in item})
            else:
                out.append(_walk(item, flags))
        return out
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            if flags.post_goes(v) or flags.user_goes(v):
                out[k] = {}
            elif not _scrubbed(x, k, flags):
                out[k] = _walk(v, flags, k)
        return out
    return x


def _scrubbed(x: dict, key: str, flags: Flags) -> bool:
    """Whether ``key`` is the geo of a Post, or the location of a user, flagged ``scrub_geo``."""
    if key == "geo" and "text" in x:
        return flags.posts.get(x.get("id")) == "scrub_geo"
    return key == "location" and _is_user(x) and flags.users.get(x["id"]) == "scrub_geo"


def _refs(post: dict, include: str) -> set:
    if include == "places":
        return {post["geo"]["place_id"]} if "place_id" in post.get("geo", {}) else set()
    key = {"media": "media_keys", "polls": "poll_ids"}[include]
    return set(post.get("attachments", {}).get(key, []))


def _expected_page(page: dict, flags: Flags) -> dict | None:
    new = _walk(page, flags)
    data = page["data"] if isinstance(page["data"], list) else [page["data"]]
    if data and not [d for d in (new["data"] if isinstance(new["data"], list) else [new["data"]]) if d]:
        return None
    if "includes" not in page:
        return new
    before = [*data, *page["includes"].get("tweets", [])]
    after = [
        *(new["data"] if isinstance(new["data"], list) else [new["data"]]),
        *new["includes"].get("tweets", []),
    ]
    posts_after = [p for p in after if isinstance(p, dict) and "text" in p]
    for include, key in INCLUDE_REFS.items():
        if include not in new["includes"]:
            continue
        changed = set()
        for p in before:
            if "text" not in p:
                continue
            if flags.post_goes(p) or (include == "places" and flags.posts.get(p["id"]) == "scrub_geo"):
                changed |= _refs(p, include)
        orphans = changed - set().union(*(_refs(p, include) for p in posts_after))
        new["includes"][include] = [e for e in new["includes"][include] if e.get(key) not in orphans]
    for include in list(new["includes"]):
        if new["includes"][include] == [] and page["includes"][include] != []:
            del new["includes"][include]
    if page["includes"] and not new["includes"]:
        del new["includes"]
    return new


def expected_lines(path: Path, flags: Flags) -> list[tuple[str, object]]:
    """Per line kept: ``("same", its bytes)`` or ``("changed", the object it must hold)``."""
    out: list[tuple[str, object]] = []
    with path.open("rb") as fh:
        for raw in fh:
            obj = json.loads(raw)
            if "data" in obj:
                new = _expected_page(obj, flags)
            else:
                new = None if flags.post_goes(obj) or flags.user_goes(obj) else _walk(obj, flags)
            if new is None:
                continue
            out.append(("same", raw) if new == obj else ("changed", new))
    return out


def assert_file_matches(path: Path, expected: list[tuple[str, object]]) -> None:
    with path.open("rb") as fh:
        actual = fh.readlines()
    assert len(actual) == len(expected), f"{len(actual)} lines, expected {len(expected)}"
    for number, (raw, (how, want)) in enumerate(zip(actual, expected, strict=True), 1):
        if how == "same":
            assert raw == want, f"line {number} should be byte-identical"
        else:
            assert json.loads(raw) == want, f"line {number} differs from the truth"
