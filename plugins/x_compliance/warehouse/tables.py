"""What the apply step needs to know about a table, and what each reason asks of it."""

from __future__ import annotations

from dataclasses import dataclass, field

# Every reason but these asks for the record to go, those X adds later included: X labels every
# result `action: delete`, so removal is the compliant default.
SCRUB_REASONS = frozenset({"scrub_geo"})
# Account reasons whose Posts must go too (the spec: deleted, deactivated, protected, suspended).
CASCADE_REASONS = frozenset({"deleted", "deactivated", "protected", "suspended"})

# What a reason asks of a record (the rule, over a DataFrame: ``warehouse.flagged.decide``).
REMOVE, SCRUB = "delete", "scrub"
# What the audit says was done to a row.
DELETED, GEO_SCRUBBED, CASCADE_DELETED = "deleted", "geo_scrubbed", "cascade_deleted"


@dataclass(frozen=True)
class Cascade:
    """Rows of another table owned by a flagged record (e.g. the Posts of a deleted account)."""

    table: str
    column: str
    id_column: str = "id"


@dataclass(frozen=True)
class ComplianceTable:
    """A warehouse table checked against X, and the columns ``scrub_geo`` must clear."""

    name: str
    job_type: str
    created_at_column: str = "created_at"
    id_column: str = "id"
    geo_columns: tuple[str, ...] = ()
    cascades: tuple[Cascade, ...] = field(default_factory=tuple)


TWEETS = ComplianceTable(name="tweets", job_type="tweets", geo_columns=("place_id", "geo_lat", "geo_lon"))
USERS = ComplianceTable(
    name="users",
    job_type="users",
    geo_columns=("location",),
    cascades=(Cascade(table="tweets", column="author_id"),),
)
AUDIT_TABLE = "compliance_audit"
