"""Read X's JSON-lines results: one object per non-compliant ID, as real files really are.

Real files carry blank lines, duplicate lines, ``\\r\\n`` endings, a ``redacted_at`` that is
sometimes missing and two timestamp styles; all of that is accepted. A line that is not a
result object fails loudly, naming the file and line, because applying half a file is worse
than applying none of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from x_compliance.exceptions import MalformedResultError
from x_compliance.ids import open_source, source_name
from x_compliance.jobs import parse_timestamp

# Reasons X documents. `bounced` (Posts only) was added in 2026.
KNOWN_REASONS = frozenset({"deleted", "deactivated", "protected", "suspended", "scrub_geo", "bounced"})


@dataclass(frozen=True)
class ComplianceResult:
    """One non-compliant ID and why. Act on ``reason``: X shows ``action: delete`` even for scrub_geo."""

    id: str
    reason: str
    action: str
    created_at: datetime | None
    redacted_at: datetime | None

    @property
    def is_known_reason(self) -> bool:
        return self.reason in KNOWN_REASONS


def parse_result_line(
    line: str, *, source: str, line_number: int, job_id: str | None = None
) -> ComplianceResult:
    """Parse one non-blank line; raise :class:`MalformedResultError` naming where it was."""

    def bad(reason: str) -> MalformedResultError:
        return MalformedResultError(source, line_number, line, reason, job_id=job_id)

    try:
        obj: Any = json.loads(line)
    except ValueError:
        raise bad("not JSON") from None
    if not isinstance(obj, dict):
        raise bad("not a JSON object")
    raw_id, reason = obj.get("id"), obj.get("reason")
    if not isinstance(raw_id, str | int) or not str(raw_id).isdigit() or len(str(raw_id)) > 19:
        raise bad("missing or invalid 'id'")
    if not isinstance(reason, str) or not reason:
        raise bad("missing 'reason'")
    try:
        created_at = parse_timestamp(obj["created_at"]) if obj.get("created_at") else None
        redacted_at = parse_timestamp(obj["redacted_at"]) if obj.get("redacted_at") else None
    except (TypeError, ValueError):
        raise bad("unreadable timestamp") from None
    return ComplianceResult(
        id=str(raw_id),
        reason=reason,
        action=str(obj.get("action") or ""),
        created_at=created_at,
        redacted_at=redacted_at,
    )


def iter_results(
    source: Any, *, job_id: str | None = None, unique: bool = True
) -> Iterator[ComplianceResult]:
    """Stream the results in ``source`` (path or ``ObjectStoragePath``), skipping blank lines.

    With ``unique`` a line repeated for the same ID is yielded once (real files repeat lines);
    only the IDs seen are kept in memory, never the file.
    """
    name = source_name(source)
    seen: set[str] = set()
    with open_source(source) as fh:
        for line_number, raw in enumerate(fh, start=1):
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            result = parse_result_line(line, source=name, line_number=line_number, job_id=job_id)
            if unique:
                if result.id in seen:
                    continue
                seen.add(result.id)
            yield result
