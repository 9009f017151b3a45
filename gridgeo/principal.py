"""Who is calling: a :class:`Principal` (a role, the member it writes as, an area) and the roles.

See :mod:`gridgeo.access` for what each role may read and write.
"""

from __future__ import annotations

from dataclasses import dataclass

from gridgeo.errors import PermissionDenied
from gridgeo.schema import API_ROLES

__all__ = [
    "API_ROLES",
    "PERSONAL_ROLES",
    "WRITER_ROLES",
    "Principal",
    "check_personal",
]

#: Roles that may see household names and phone numbers (on request).
PERSONAL_ROLES = frozenset({"grid_worker", "member"})
#: Roles that record field work, always as their own member.
WRITER_ROLES = frozenset({"grid_worker", "member"})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a role, the member it writes as, and its area.

    ``communities`` and ``grids`` both empty means the whole district. ``token_id``
    is None for the open demo mode (``GRIDGEO_AUTH=off``).
    """

    role: str
    member: str | None = None
    communities: tuple[str, ...] = ()
    grids: tuple[str, ...] = ()
    token_id: int | None = None

    @property
    def district_wide(self) -> bool:
        """Whether the caller sees the whole district."""
        return not self.communities and not self.grids

    @property
    def owner(self) -> str:
        """Whose idempotency keys these are (one namespace per token)."""
        return "demo" if self.token_id is None else f"token:{self.token_id}"

    @property
    def may_see_personal(self) -> bool:
        """Whether the role may ask for household names and phone numbers."""
        return self.role in PERSONAL_ROLES

    def describe(self) -> str:
        """The caller in words, for messages: ``member M00012 (grids C01-G001)``."""
        who = f"{self.role} {self.member}" if self.member else self.role
        if self.district_wide:
            return f"{who} (whole district)"
        parts = []
        if self.communities:
            parts.append("communities " + ", ".join(self.communities))
        if self.grids:
            parts.append("grids " + ", ".join(self.grids))
        return f"{who} ({'; '.join(parts)})"


def check_personal(principal: Principal, include_personal: bool) -> None:
    """Refuse a request for personal data from a role not entitled to it."""
    if include_personal and not principal.may_see_personal:
        raise PermissionDenied(
            f"role {principal.role} may not see household names and phone numbers; "
            "only grid workers and members (for their own area) may ask for them"
        )
