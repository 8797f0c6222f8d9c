"""Settings of one emulator instance: what the fake X service looks like and how it misbehaves.

Every field has a default so ``EmulatorConfig()`` is a usable Pro-tier service; the object stays
mutable at run time (``server.emulator.config.tier = "basic"``) and is re-read on every request.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Requests per window on each endpoint. Pro: 150/15 min everywhere; Basic (2023 table): 5/15 min
# for GET by id and for list, 15/15 min for POST.
TIER_LIMITS: dict[str, dict[str, int]] = {
    "pro": {"create": 150, "get": 150, "list": 150},
    "basic": {"create": 15, "get": 5, "list": 5},
}

RATE_LIMIT_BODIES = ("code88", "problem")
# Set at start-up only (CLI or constructor), never through the admin API.
FIXED_FIELDS = frozenset({"tokens", "admin_token", "data_dir", "host", "port"})
SECRET_FIELDS = ("tokens", "admin_token")
_DURATIONS = (
    "rate_limit_window_seconds",
    "upload_window_seconds",
    "download_window_seconds",
    "created_lag_seconds",
    "processing_seconds_base",
    "processing_seconds_per_million",
)


def _non_negative(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0")


def default_tweet_rates() -> dict[str, float]:
    return {
        "deleted": 0.03,
        "deactivated": 0.01,
        "protected": 0.01,
        "suspended": 0.01,
        "scrub_geo": 0.02,
        "bounced": 0.005,
    }


def default_user_rates() -> dict[str, float]:
    # Users are never "bounced": X documents that reason for Posts only.
    return {"deleted": 0.02, "deactivated": 0.01, "protected": 0.01, "suspended": 0.01, "scrub_geo": 0.01}


@dataclass
class EmulatorConfig:
    tokens: list[str] = field(default_factory=lambda: ["emulator-token"])
    # The admin API's own credential (``Authorization: Bearer <admin_token>``), never a bearer token.
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    seed: int = 0
    data_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    tier: str = "pro"
    rate_limit_window_seconds: float = 900
    upload_window_seconds: float = 900
    download_window_seconds: float = 7 * 86400
    created_lag_seconds: float = 0
    processing_seconds_base: float = 0.5
    processing_seconds_per_million: float = 2.0
    rate_limit_body: str = "code88"
    tweet_rates: dict[str, float] = field(default_factory=default_tweet_rates)
    user_rates: dict[str, float] = field(default_factory=default_user_rates)
    world_file: Path | None = None
    # The share of all IDs whose fate changes from emulator time ``churn_at`` on (world.fates.Churn).
    churn_rate: float = 0.0
    churn_at: float = 0.0
    duplicate_rate: float = 0.01
    blank_lines: bool = True
    created_blocks: bool = True
    gzip_downloads: bool = False
    list_meta: bool = False

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir) if self.data_dir is not None else None
        self.world_file = Path(self.world_file) if self.world_file is not None else None
        self.tokens = list(self.tokens)
        self.validate()

    def validate(self) -> None:
        if self.tier not in TIER_LIMITS:
            raise ValueError(f"tier must be one of {sorted(TIER_LIMITS)}, not {self.tier!r}")
        if self.rate_limit_body not in RATE_LIMIT_BODIES:
            raise ValueError(
                f"rate_limit_body must be one of {RATE_LIMIT_BODIES}, not {self.rate_limit_body!r}"
            )
        for name in (*_DURATIONS, "duplicate_rate", "churn_rate", "churn_at"):
            _non_negative(name, getattr(self, name))
        for name in ("duplicate_rate", "churn_rate"):
            if getattr(self, name) > 1:
                raise ValueError(f"{name} must be at most 1")
        if not self.admin_token or self.admin_token in self.tokens:
            raise ValueError("admin_token must be set, and differ from every bearer token")
        for rates in (self.tweet_rates, self.user_rates):
            if not isinstance(rates, dict):
                raise ValueError("rates must be an object of reason: rate")
            for rate in rates.values():
                _non_negative("a rate", rate)
        if "bounced" in self.user_rates:
            raise ValueError("users are never 'bounced'")
        for rates in (self.tweet_rates, self.user_rates):
            if any(r < 0 for r in rates.values()) or sum(rates.values()) > 1:
                raise ValueError("rates must be >= 0 and sum to at most 1")

    def limit(self, endpoint: str) -> int:
        return TIER_LIMITS[self.tier][endpoint]

    def rates(self, job_type: str) -> dict[str, float]:
        return self.tweet_rates if job_type == "tweets" else self.user_rates

    def update(self, **changes: Any) -> None:
        """Apply a partial update (the admin PATCH), rejecting unknown or fixed fields and bad
        values. A ``world_file`` must lie inside ``data_dir``: the API reads no other path."""
        names = {f.name for f in dataclasses.fields(self)} - FIXED_FIELDS
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown or fixed config fields: {sorted(unknown)}")
        if changes.get("world_file") is not None:
            changes["world_file"] = self._inside_data_dir(changes["world_file"])
        candidate = dataclasses.replace(self, **changes)  # runs __post_init__, so validates first
        for name in changes:
            setattr(self, name, getattr(candidate, name))

    def _inside_data_dir(self, path: Any) -> Path:
        if not isinstance(path, str) or self.data_dir is None:
            raise ValueError("world_file must be a file name inside the emulator's data folder")
        folder = self.data_dir.resolve()
        target = (folder / path).resolve()
        if not target.is_relative_to(folder) or not target.is_file():
            raise ValueError("world_file must be a file name inside the emulator's data folder")
        return target

    def to_json(self) -> dict[str, Any]:
        """The settings, without the credentials."""
        out = dataclasses.asdict(self)
        for key in SECRET_FIELDS:
            out.pop(key)
        for key in ("data_dir", "world_file"):
            out[key] = str(out[key]) if out[key] is not None else None
        return out
