"""Who may see and write what: principals and roles, tokens, areas, credentials in logs.

One import for the access rules, each kept in its own module:

- :mod:`gridgeo.principal`: the caller (:class:`Principal`) and the roles;
- :mod:`gridgeo.tokens`: API tokens (create, list, revoke, authenticate) and tile keys;
- :mod:`gridgeo.areas`: where everything lies (:class:`Geography`) and what an area
  holds (:class:`Area`);
- :mod:`gridgeo.redaction`: tokens and tile keys kept out of logs.

Roles:

========== ============================================ =========================
role       reads                                        writes
========== ============================================ =========================
leader     everything in their area                     nothing
planner    everything in their area (default: district) nothing here (imports)
analyst    everything in their area (default: district) nothing
grid_worker their area (their grids)                    meetings, visits and
                                                        problems in their grids
member     their area (their grids)                     visits and problems of
                                                        their own households
========== ============================================ =========================

Household names and phone numbers (:data:`PERSONAL_ROLES`) are given only to grid
workers and members, who visit the households, and only when asked for.
"""

from __future__ import annotations

from gridgeo.areas import AREA_LAYERS, Area, Geography, area_for, geography
from gridgeo.principal import (
    API_ROLES,
    PERSONAL_ROLES,
    WRITER_ROLES,
    Principal,
    check_personal,
)
from gridgeo.redaction import CREDENTIAL_PARAMETERS, RedactCredentials, redact_credentials
from gridgeo.tokens import (
    authenticate,
    create_token,
    hash_token,
    list_tokens,
    principal_of_id,
    revoke_token,
    tile_key,
    tile_key_matches,
    tile_key_parts,
)

__all__ = [
    "API_ROLES",
    "AREA_LAYERS",
    "CREDENTIAL_PARAMETERS",
    "PERSONAL_ROLES",
    "WRITER_ROLES",
    "Area",
    "Geography",
    "Principal",
    "RedactCredentials",
    "area_for",
    "authenticate",
    "check_personal",
    "create_token",
    "geography",
    "hash_token",
    "list_tokens",
    "principal_of_id",
    "redact_credentials",
    "revoke_token",
    "tile_key",
    "tile_key_matches",
    "tile_key_parts",
]
