"""What X's verdicts do to one parsed twarc2 line, in place, and the audit of each change.

The rule is the warehouse's (:mod:`~x_compliance.warehouse.tables`): a removed Post goes, a
``scrub_geo`` Post loses its ``geo``, a removed user goes and, for deleted, deactivated,
protected and suspended accounts, takes their Posts with them (``cascade_deleted``); a user's
``scrub_geo`` clears their ``location``. Wherever the line holds a copy, the copy changes too:
- a page: ``includes.tweets`` and ``includes.users``; media, polls and places only the changed
  Posts used leave ``includes`` (a place: when no Post left names it);
- a flattened Post: the Post, the copies merged into ``referenced_tweets`` (back to the bare
  ``{"type", "id"}`` a missing one gets from ``twarc2 flatten``), users inlined as ``author``,
  ``in_reply_to_user`` (back to ``{}``) and merged into ``entities.mentions`` (back to the
  mention's own keys); a flattened user's ``pinned_tweet``.
A page whose every Post or user went is dropped whole, as is a flattened record that went.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from x_compliance.lake.twarc_lines import Records, Shape
from x_compliance.lake.verdicts import FileVerdicts
from x_compliance.warehouse.tables import CASCADE_DELETED, DELETED, GEO_SCRUBBED

POST, USER = "post", "user"
# (kind, record id, where in the line, change, reason): the audit rows of a line.
Change = tuple[str, str, str, str, str]
MENTION_KEYS = ("start", "end", "username", "id")  # a v2 mention entity's own keys
MENTION_KEYS_SET = frozenset(MENTION_KEYS)
REFERENCE_KEYS = ("type", "id")
USER_SLOTS = ("author", "in_reply_to_user")
SCRUBBED = {POST: "geo", USER: "location"}  # what scrub_geo takes off a record


# What a Post refers to in a page's ``includes``: (include, its key, where in a Post: the
# object, its field, and whether the field holds a list of references or one).
INCLUDE_REFERENCES = (
    ("media", "media_key", "attachments", "media_keys", True),
    ("polls", "id", "attachments", "poll_ids", True),
    ("places", "id", "geo", "place_id", False),
)


def _references(posts: list, holder: str, field: str, many: bool) -> set:
    """What ``posts`` (objects) refer to at ``holder.field``."""
    found = [post[holder] for post in posts if holder in post]
    found = [value.get(field) for value in found if isinstance(value, dict)]
    if many:
        return {ref for refs in found if refs for ref in refs}
    return {ref for ref in found if ref}


def change_line(
    shape: Shape, records: Records, obj: Any, verdicts: FileVerdicts
) -> tuple[bool, list[Change]]:
    """Apply ``verdicts`` to the parsed line ``obj`` in place: ``(keep the line, its changes)``."""
    line = _LineChange(verdicts)
    if shape is Shape.PAGE:
        keep = line.page(obj, records)
    elif records is Records.POSTS:
        keep = line.flat_post(obj)
    elif records is Records.USERS:
        keep = line.flat_user(obj)
    else:
        keep = True
    return keep, line.changes


class _LineChange:
    """One line's change: the verdicts that concern it, and the changes made so far."""

    def __init__(self, verdicts: FileVerdicts) -> None:
        self.verdicts = verdicts
        self.changes: list[Change] = []

    def post_fate(self, post: dict) -> tuple[str, str] | None:
        """(change, reason) of a Post, or None: its own removal first, then its author's."""
        own = self.verdicts.posts.get(post.get("id"))
        if own is not None and own.removes:
            return DELETED, own.reason
        author = self.verdicts.users.get(post.get("author_id"))
        if author is not None and author.cascades:
            return CASCADE_DELETED, author.reason
        if own is not None and "geo" in post:
            return GEO_SCRUBBED, own.reason
        return None

    def user_fate(self, user: dict) -> tuple[str, str] | None:
        verdict = self.verdicts.users.get(user.get("id"))
        if verdict is None:
            return None
        if verdict.removes:
            return DELETED, verdict.reason
        return (GEO_SCRUBBED, verdict.reason) if "location" in user else None

    def stays(self, kind: str, record: dict, part: str) -> bool:
        """Whether ``record`` (at ``part`` of the line) stays, its geo or location taken off
        when X asks for a scrub; any change is noted for the audit."""
        fate = self.post_fate(record) if kind == POST else self.user_fate(record)
        if fate is None:
            return True
        self.changes.append((kind, record["id"], part, *fate))
        if fate[0] != GEO_SCRUBBED:
            return False
        record.pop(SCRUBBED[kind])
        return True

    # A page: its records leave the lists that hold them.

    def page(self, page: dict, records: Records) -> bool:
        data = page["data"]
        single = isinstance(data, dict)
        includes = page.get("includes") if isinstance(page.get("includes"), dict) else {}
        had_includes = bool(includes)
        gone: list[dict] = []  # Posts removed, or the geo taken off scrubbed ones
        if records is Records.USERS:
            kept = self.users_kept([data] if single else data, "data")
        else:
            kept = self.posts_kept([data] if single else data, "data", gone)
        if isinstance(includes.get("tweets"), list):
            _set(includes, "tweets", self.posts_kept(includes["tweets"], "includes.tweets", gone))
        if isinstance(includes.get("users"), list):
            _set(includes, "users", self.users_kept(includes["users"], "includes.users"))
        if gone:
            left = kept if records is Records.POSTS else []
            _drop_orphans(includes, gone, [*left, *includes.get("tweets", [])])
        if had_includes and not includes:
            del page["includes"]
        if not kept and data:
            return False
        page["data"] = kept[0] if single and kept else kept
        return True

    def posts_kept(self, posts: list, part: str, gone: list[dict]) -> list:
        """``posts`` less those that go: only the Posts or authors flagged are looked at."""
        flagged, authors = self.verdicts.posts, self.verdicts.users
        concerned = [
            post
            for post in posts
            if isinstance(post, dict) and (post.get("id") in flagged or post.get("author_id") in authors)
        ]
        leaving = set()
        for post in concerned:
            geo = post.get("geo")
            if not self.stays(POST, post, part):
                gone.append(post)
                leaving.add(id(post))
            elif geo is not None and "geo" not in post:
                gone.append({"geo": geo})
        return [post for post in posts if id(post) not in leaving] if leaving else posts

    def users_kept(self, users: list, part: str) -> list:
        """``users`` less those that go: only the users flagged are looked at."""
        flagged = self.verdicts.users
        concerned = [user for user in users if isinstance(user, dict) and user.get("id") in flagged]
        leaving = {id(user) for user in concerned if not self.stays(USER, user, part)}
        return [user for user in users if id(user) not in leaving] if leaving else users

    # A flattened line: the record itself, then the copies inlined in it.

    def flat_post(self, post: dict) -> bool:
        if not self.stays(POST, post, "data"):
            return False
        self.inlined(post)
        return True

    def flat_user(self, user: dict) -> bool:
        if not self.stays(USER, user, "data"):
            return False
        pinned = user.get("pinned_tweet")
        if isinstance(pinned, dict) and "id" in pinned:
            user["pinned_tweet"] = self.post_copy(pinned, "pinned_tweet", {})
        return True

    def inlined(self, post: dict) -> None:
        """The copies a flattened Post (or a copy in it) carries: users, referenced Posts."""
        for slot in USER_SLOTS:
            user = post.get(slot)
            if isinstance(user, dict) and "id" in user:
                post[slot] = self.user_copy(user, slot, {})
        mentions = (post.get("entities") or {}).get("mentions")
        if isinstance(mentions, list):
            post["entities"]["mentions"] = [
                self.user_copy(m, "entities.mentions", _only(m, MENTION_KEYS))
                if isinstance(m, dict) and "id" in m and m.keys() - MENTION_KEYS_SET  # a user merged in
                else m
                for m in mentions
            ]
        references = post.get("referenced_tweets")
        if isinstance(references, list):
            post["referenced_tweets"] = [
                self.post_copy(ref, "referenced_tweets", _only(ref, REFERENCE_KEYS))
                if isinstance(ref, dict) and "text" in ref
                else ref
                for ref in references
            ]

    def user_copy(self, user: dict, part: str, bare: dict) -> dict:
        return user if self.stays(USER, user, part) else bare

    def post_copy(self, post: dict, part: str, bare: dict) -> dict:
        if not self.stays(POST, post, part):
            return bare
        self.inlined(post)
        return post


def _only(record: dict, keys: Iterable[str]) -> dict:
    return {key: record[key] for key in keys if key in record}


def _drop_orphans(includes: dict, gone: list[dict], left: list) -> None:
    """Take out of ``includes`` what only the ``gone`` Posts (or scrubbed geo) referred to."""
    left = [post for post in left if isinstance(post, dict)]
    for name, key, *where in INCLUDE_REFERENCES:
        if not isinstance(includes.get(name), list):
            continue
        orphans = _references(gone, *where)
        if orphans:
            orphans -= _references(left, *where)
            _set(includes, name, [item for item in includes[name] if item.get(key) not in orphans])


def _set(includes: dict, name: str, items: list) -> None:
    """An include that is left empty goes, as the API leaves out an empty one."""
    if items:
        includes[name] = items
    else:
        includes.pop(name, None)
