"""The data model: SQLAlchemy 2 mapped classes shared by both stores.

The same classes (and the same Alembic migrations) create a PostGIS database, with
native ``geometry(<type>, 4326)`` columns and GiST indexes, and the embedded SQLite
file, where a geometry is a WKB blob and the spatial work is done by shapely. Natural
keys (``code``) are unique everywhere; foreign keys and CHECK constraints hold the
rules a database can hold.
"""

from gridgeo.schema.activity import Meeting, Problem, Visit
from gridgeo.schema.columns import (
    ASSIGNMENT_KINDS,
    MEMBER_ROLES,
    ORGANISATION_KINDS,
    PROBLEM_STATUSES,
    SRID,
    Base,
    Geom,
    UTCDateTime,
)
from gridgeo.schema.people import Assignment, Member, Organisation
from gridgeo.schema.places import Building, Community, Grid, Household
from gridgeo.schema.service import API_ROLES, ApiToken, AuditEntry, DataVersion, IdempotencyKey

__all__ = [
    "API_ROLES",
    "ASSIGNMENT_KINDS",
    "MEMBER_ROLES",
    "ORGANISATION_KINDS",
    "PROBLEM_STATUSES",
    "SRID",
    "ApiToken",
    "Assignment",
    "AuditEntry",
    "Base",
    "Building",
    "Community",
    "DataVersion",
    "Geom",
    "Grid",
    "Household",
    "IdempotencyKey",
    "Meeting",
    "Member",
    "Organisation",
    "Problem",
    "UTCDateTime",
    "Visit",
]
