"""Generated twarc2 data in both shapes, shaped like the recorded samples.

Pages as the API sends them (``data`` Posts; ``includes`` with ``users``, ``tweets``,
``places``, ``media``) and the same Posts flattened the way twarc/expansions.py ``flatten``
does it (``author``, ``in_reply_to_user``, users merged into mentions, referenced Posts
merged into ``referenced_tweets``, the place merged into ``geo``, ``media`` beside
``media_keys``). Every Post is a function of its ID, so a copy in ``includes`` equals the
Post itself wherever it is written.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

FIRST_POST = 1_500_000_000_000_000_000
FIRST_USER = 100_000_000
USERS = 300
PLACES = 40


def user(uid: int) -> dict:
    k = uid - FIRST_USER
    profile = {
        "id": str(uid),
        "name": f"User {k}",
        "username": f"user{k}",
        "created_at": "2019-06-23T01:30:07.000Z",
    }
    if k % 3:
        profile["location"] = f"Town {k % 17}"
    return profile


def place(k: int) -> dict:
    return {"full_name": f"Place {k}, Land", "id": f"{k:016x}", "place_type": "city", "country_code": "DE"}


def post(pid: int, *, refs: bool = True) -> dict:
    """The Post ``pid``; with ``refs``, it may quote or reply to an older Post."""
    rng = random.Random(pid)
    author = FIRST_USER + rng.randrange(USERS)
    mentioned = FIRST_USER + rng.randrange(USERS)
    body: dict = {
        "id": str(pid),
        "text": f"@user{mentioned - FIRST_USER} post {pid} caf\u00e9",
        "author_id": str(author),
        "created_at": "2021-04-01T12:00:00.000Z",
        "entities": {
            "mentions": [
                {"start": 0, "end": 9, "username": f"user{mentioned - FIRST_USER}", "id": str(mentioned)}
            ]
        },
    }
    if refs and pid > FIRST_POST + 10 and rng.random() < 0.35:
        older = pid - rng.randrange(1, 10)
        kind = rng.choice(["quoted", "replied_to"])
        body["referenced_tweets"] = [{"type": kind, "id": str(older)}]
        if kind == "replied_to":
            body["in_reply_to_user_id"] = post(older, refs=False)["author_id"]
    if rng.random() < 0.3:
        body["geo"] = {"place_id": place(rng.randrange(PLACES))["id"]}
        if rng.random() < 0.5:
            body["geo"]["coordinates"] = {"type": "Point", "coordinates": [13.4, 52.5]}
    if rng.random() < 0.2:
        body["attachments"] = {"media_keys": [f"3_{pid}"]}
    return body


def page(first: int, count: int) -> dict:
    """One page of ``count`` Posts from ``first`` on, with what they refer to in ``includes``."""
    data = [post(pid) for pid in range(first, first + count)]
    copies = {}
    for p in data:
        for ref in p.get("referenced_tweets", []):
            copies[ref["id"]] = post(int(ref["id"]), refs=False)
    everyone = [*data, *copies.values()]
    user_ids = {p["author_id"] for p in everyone} | {
        m["id"] for p in everyone for m in p["entities"]["mentions"]
    }
    user_ids |= {p["in_reply_to_user_id"] for p in data if "in_reply_to_user_id" in p}
    places = sorted({p["geo"]["place_id"] for p in everyone if "geo" in p})
    media = [
        {"media_key": k, "type": "photo"}
        for p in everyone
        for k in p.get("attachments", {}).get("media_keys", [])
    ]
    includes = {
        "users": [user(int(u)) for u in sorted(user_ids)],
        "tweets": list(copies.values()),
        "places": [place(int(k, 16)) for k in places],
        "media": media,
    }
    return {
        "data": data,
        "includes": {k: v for k, v in includes.items() if v},
        "meta": {"result_count": count},
    }


def flatten(response: dict) -> list[dict]:
    """The Posts of a page one by one, expansions inlined as twarc's ``flatten`` does."""
    inc = response.get("includes", {})
    users = {u["id"]: u for u in inc.get("users", [])}
    users |= {u["username"]: u for u in inc.get("users", [])}
    tweets = {t["id"]: t for t in inc.get("tweets", [])}
    places = {p["id"]: p for p in inc.get("places", [])}
    media = {m["media_key"]: m for m in inc.get("media", [])}

    def expand(p: dict) -> dict:
        p = json.loads(json.dumps(p))
        if "author_id" in p:
            p["author"] = users.get(p["author_id"], {})
        if "in_reply_to_user_id" in p:
            p["in_reply_to_user"] = users.get(p["in_reply_to_user_id"], {})
        if "attachments" in p:
            p["attachments"]["media"] = [media.get(k, {}) for k in p["attachments"]["media_keys"]]
        if "geo" in p and "place_id" in p["geo"]:
            p["geo"] = {**p["geo"], **places.get(p["geo"]["place_id"], {})}
        if "entities" in p:
            p["entities"]["mentions"] = [
                {**m, **users.get(m["username"], {})} for m in p["entities"]["mentions"]
            ]
        if "referenced_tweets" in p:
            p["referenced_tweets"] = [
                {**r, **expand(tweets[r["id"]])} if r["id"] in tweets else r for r in p["referenced_tweets"]
            ]
        return p

    return [expand(p) for p in response["data"]]


def pages(posts: int, per_page: int = 100) -> Iterator[dict]:
    for first in range(FIRST_POST, FIRST_POST + posts, per_page):
        yield page(first, min(per_page, FIRST_POST + posts - first))


def write_pages(path: Path, posts: int, per_page: int = 100) -> Path:
    with path.open("w") as out:
        for response in pages(posts, per_page):
            out.write(json.dumps(response) + "\n")
    return path


def write_flat(path: Path, posts: int, per_page: int = 100) -> Path:
    with path.open("w") as out:
        for response in pages(posts, per_page):
            for p in flatten(response):
                out.write(json.dumps(p) + "\n")
    return path
