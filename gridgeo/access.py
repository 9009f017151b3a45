"""Who may see and write what: API tokens, roles and areas.

A token is a random secret shown once; the store keeps only its SHA-256 with the
role it grants, the member it writes as, and its area (community and grid codes,
none for the whole district). :class:`Geography` ties every building to the grid
holding most of it (as ``gridgeo check`` does) and every grid to its community, so
an area expands to the codes of everything in it: :class:`Area`.

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

A *tile key* (:func:`tile_key`) stands for a token's principal in tile URLs without
holding the token: its id and an expiry, signed with a server secret over the
principal's role, member and area. It is checked against the principal the id has
when it is used (:func:`tile_key_matches`), so it dies with its token. Neither tokens
nor tile keys are written to logs (:class:`RedactCredentials`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import secrets
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

import pandas as pd
import sqlalchemy as sa

from gridgeo.errors import NotFound, PermissionDenied, ValidationError
from gridgeo.schema import API_ROLES, ApiToken
from gridgeo.store import Store

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
    "create_token",
    "geography",
    "hash_token",
    "principal_of_id",
    "redact_credentials",
    "revoke_token",
    "tile_key",
    "tile_key_matches",
    "tile_key_parts",
]

#: Roles that may see household names and phone numbers (on request).
PERSONAL_ROLES = frozenset({"grid_worker", "member"})
#: Roles that record field work, always as their own member.
WRITER_ROLES = frozenset({"grid_worker", "member"})
#: Layers whose changes move areas (a building's grid, a household's building...).
AREA_LAYERS = ("communities", "grids", "buildings", "households", "organisations", "members")


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored.

    Examples
    --------
    >>> hash_token("abc")[:16]
    'ba7816bf8f01cfea'
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(sorted({c.strip() for c in (text or "").split(",") if c.strip()}))


def create_token(
    store: Store,
    role: str,
    *,
    member: str | None = None,
    communities: Iterable[str] = (),
    grids: Iterable[str] = (),
    label: str | None = None,
    as_of: dt.date | None = None,
) -> tuple[str, Principal]:
    """Create a token; return the secret (shown once, never stored) and its principal.

    Parameters
    ----------
    store
        Where the token's hash is kept.
    role
        One of :data:`gridgeo.schema.API_ROLES`.
    member
        The member the token writes as; required for ``grid_worker`` and ``member``.
    communities, grids
        The area. A leader needs one; planners and analysts default to the whole
        district; a grid worker's default is the grids of their ``worker_grid``
        assignments, a member's the grids holding their buildings and households
        (both in force on ``as_of``, default today).
    label
        A note for whoever manages tokens.

    Raises
    ------
    ValidationError
        Unknown role, member, community or grid, or a missing member or area.
    """
    if role not in API_ROLES:
        raise ValidationError(f"unknown role {role!r}; use one of {', '.join(API_ROLES)}")
    communities, grids = _split(",".join(communities)), _split(",".join(grids))
    geo = geography(store)
    unknown = [c for c in communities if c not in geo.community_codes]
    unknown += [g for g in grids if g not in geo.grid_of_code]
    if unknown:
        raise ValidationError(f"unknown community or grid code(s): {', '.join(unknown)}")
    if role in WRITER_ROLES:
        if not member:
            raise ValidationError(f"a {role} token needs --member: the member it writes as")
        with store.engine.connect() as conn:
            found = conn.execute(
                sa.text("SELECT role FROM members WHERE code = :code"), {"code": member}
            ).first()
        if found is None:
            raise ValidationError(f"unknown member {member!r}")
        if not communities and not grids:
            grids = _member_grids(store, geo, member, as_of or dt.date.today())
            if not grids:
                raise ValidationError(
                    f"member {member!r} has no grid, building or household assignment in "
                    "force: give the area with --grid or --community"
                )
    elif member:
        raise ValidationError(f"a {role} token does not write, so it takes no --member")
    if role == "leader" and not communities and not grids:
        raise ValidationError("a leader token needs an area: --community CODE (or --grid CODE)")
    secret = "ggt_" + secrets.token_urlsafe(32)
    with store.engine.begin() as conn:
        token_id = conn.execute(
            sa.insert(ApiToken)
            .values(
                token_hash=hash_token(secret),
                role=role,
                member=member,
                communities=",".join(communities) or None,
                grids=",".join(grids) or None,
                label=label,
                created_at=dt.datetime.now(dt.UTC),
            )
            .returning(ApiToken.id)
        ).scalar_one()
    return secret, Principal(role, member, communities, grids, token_id)


def revoke_token(store: Store, token_id: int) -> None:
    """Revoke a token by its id; it is refused from then on."""
    with store.engine.begin() as conn:
        done = conn.execute(
            sa.update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=dt.datetime.now(dt.UTC))
        ).rowcount
    if not done:
        raise NotFound(f"no active token with id {token_id}")


def authenticate(store: Store, token: str) -> Principal | None:
    """The principal of a token, or None when it is unknown or revoked."""
    return _principal_where(store, ApiToken.token_hash == hash_token(token))


def principal_of_id(store: Store, token_id: int) -> Principal | None:
    """The principal of the token with this id, or None when it is unknown or revoked."""
    return _principal_where(store, ApiToken.id == token_id)


def _principal_where(store: Store, condition: sa.ColumnElement[bool]) -> Principal | None:
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(ApiToken).where(condition)).first()
    if row is None:
        return None
    t = row[0] if not hasattr(row, "role") else row
    if t.revoked_at is not None:
        return None
    return Principal(t.role, t.member, _split(t.communities), _split(t.grids), t.id)


# -- tile keys: a token's read access to tiles, signed and short-lived -----------------


def _tile_mac(principal: Principal, expires: int, secret: bytes) -> str:
    message = "|".join(
        (
            "gridgeo-tile-key-1",
            str(principal.token_id),
            principal.role,
            principal.member or "",
            ",".join(principal.communities),
            ",".join(principal.grids),
            str(expires),
        )
    ).encode("utf-8")
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def tile_key(principal: Principal, expires: int, secret: bytes) -> str:
    """A tile key: ``<token id>.<expiry>.<HMAC>`` for a token's principal.

    The HMAC-SHA256 (144 bits kept) covers the token id, its role, member and area, and
    the expiry (Unix seconds), under the server's ``secret``. A key tells the token
    apart from no other, holds no secret of the token, and is worth nothing once the
    token is revoked: :func:`tile_key_matches` is checked against the principal the
    token id has now.

    Raises
    ------
    ValueError
        A principal without a token (the open demo mode needs no key).

    Examples
    --------
    >>> key = tile_key(Principal("leader", communities=("C01",), token_id=7), 2_000_000_000, b"s")
    >>> key.split(".")[:2]
    ['7', '2000000000']
    """
    if principal.token_id is None:
        raise ValueError("only a token's principal has tile keys")
    return f"{principal.token_id}.{expires}.{_tile_mac(principal, expires, secret)}"


def tile_key_parts(key: str) -> tuple[int, int] | None:
    """The token id and expiry a tile key claims (None: not a tile key). Not verified."""
    token_id, _, rest = key.partition(".")
    expires, _, mac = rest.partition(".")
    if not mac or "." in mac or not _number(token_id) or not _number(expires):
        return None
    return int(token_id), int(expires)


def _number(text: str) -> bool:
    return 0 < len(text) <= 12 and text.isascii() and text.isdigit()


def tile_key_matches(key: str, principal: Principal, secret: bytes) -> bool:
    """Whether ``key`` was made by :func:`tile_key` for ``principal`` as it is now."""
    claimed = tile_key_parts(key)
    if claimed is None or principal.token_id != claimed[0]:
        return False
    expected = _tile_mac(principal, claimed[1], secret)
    return hmac.compare_digest(key.rsplit(".", 1)[1].encode("ascii", "replace"), expected.encode())


# -- credentials in logs ----------------------------------------------------------------

#: Query parameters that carry a credential: never written to a log in clear.
CREDENTIAL_PARAMETERS = frozenset({"token", "tile_key"})


def redact_credentials(target: str) -> str:
    """A URL or request target with the values of :data:`CREDENTIAL_PARAMETERS` as ``***``.

    Parameter names are compared after percent-decoding, as the service reads them.

    Examples
    --------
    >>> redact_credentials("/maps/coverage?token=ggt_abc&lang=en&%74oken=x")
    '/maps/coverage?token=***&lang=en&%74oken=***'
    """
    path, sep, query = target.partition("?")
    if not sep:
        return target
    parts = []
    for part in query.split("&"):
        name = part.partition("=")[0]
        parts.append(f"{name}=***" if unquote_plus(name) in CREDENTIAL_PARAMETERS else part)
    return f"{path}?{'&'.join(parts)}"


class RedactCredentials(logging.Filter):
    """A logging filter: credentials in request targets of access-log lines become ``***``.

    It rewrites every string argument of a record (uvicorn's access log passes the
    request target as one) and the message itself.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_credentials(a) if isinstance(a, str) and "?" in a else a for a in record.args
            )
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = redact_credentials(record.msg)
        return True


def _member_grids(store: Store, geo: Geography, member: str, day: dt.date) -> tuple[str, ...]:
    sql = sa.text(
        "SELECT a.kind, g.code, b.code, h.code FROM assignments a "
        "JOIN members m ON m.id = a.member_id "
        "LEFT JOIN grids g ON g.id = a.grid_id "
        "LEFT JOIN buildings b ON b.id = a.building_id "
        "LEFT JOIN households h ON h.id = a.household_id "
        "WHERE m.code = :member AND a.valid_from <= :day "
        "AND (a.valid_to IS NULL OR a.valid_to >= :day)"
    )
    with store.engine.connect() as conn:
        rows = conn.execute(sql, {"member": member, "day": day}).all()
    grids = set()
    for _kind, grid, building, household in rows:
        if grid:
            grids.add(grid)
        if household:
            building = geo.building_of_household.get(household)
        if building and geo.grid_of_building.get(building):
            grids.add(geo.grid_of_building[building])
    return tuple(sorted(grids))


# -- geography: which grid and community everything is in -----------------------------


@dataclass
class Geography:
    """Codes of the district and where each thing lies, from one data version."""

    community_codes: frozenset[str]
    grid_of_code: dict[str, str | None]  # grid -> community
    grid_of_building: dict[str, str | None]  # building -> grid holding most of it
    building_of_household: dict[str, str]
    community_of_member: dict[str, str | None]
    community_of_organisation: dict[str, str | None]
    _areas: OrderedDict[tuple[tuple[str, ...], tuple[str, ...]], Area] = field(
        default_factory=OrderedDict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def area(self, communities: Sequence[str], grids: Sequence[str]) -> Area:
        """The codes of everything in an area (cached)."""
        key = (tuple(communities), tuple(grids))
        with self._lock:
            if key in self._areas:
                self._areas.move_to_end(key)
                return self._areas[key]
        wanted_c = set(communities)
        g = {code for code, comm in self.grid_of_code.items() if comm in wanted_c}
        g |= set(grids) & set(self.grid_of_code)
        c = wanted_c | {self.grid_of_code[x] for x in grids if self.grid_of_code.get(x)}
        b = {code for code, grid in self.grid_of_building.items() if grid in g}
        h = {code for code, building in self.building_of_household.items() if building in b}
        m = {code for code, comm in self.community_of_member.items() if comm in wanted_c}
        o = {code for code, comm in self.community_of_organisation.items() if comm in wanted_c}
        area = Area(
            communities=frozenset(wanted_c),
            visible_communities=frozenset(c),
            grids=frozenset(g),
            buildings=frozenset(b),
            households=frozenset(h),
            members=frozenset(m),
            organisations=frozenset(o),
        )
        with self._lock:
            self._areas[key] = area
            while len(self._areas) > 64:
                self._areas.popitem(last=False)
        return area


_geo_cache: weakref.WeakKeyDictionary[Store, tuple[tuple[tuple[str, int], ...], Geography]] = (
    weakref.WeakKeyDictionary()
)
_geo_lock = threading.Lock()


def _versions(store: Store) -> tuple[tuple[str, int], ...]:
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT layer, version FROM data_versions")).all()
    except sa.exc.SQLAlchemyError:  # a store without change counters: never cached
        return (("*", -1),)
    return tuple(sorted((r[0], int(r[1])) for r in rows if r[0] in AREA_LAYERS))


def geography(store: Store) -> Geography:
    """Where everything lies, cached per store until one of :data:`AREA_LAYERS` changes.

    Call it while holding no connection of the store: loading it needs the pool.
    """
    versions = _versions(store)
    with _geo_lock:
        hit = _geo_cache.get(store)
        if hit is not None and hit[0] == versions and versions != (("*", -1),):
            return hit[1]
        geo = _load_geography(store)
        _geo_cache[store] = (versions, geo)
        return geo


def _load_geography(store: Store) -> Geography:
    from gridgeo.analysis.coverage import building_grid

    grids = store.read_layer("grids", columns=["community"])
    buildings = store.read_layer("buildings", columns=[])
    bg = building_grid(buildings, grids) if len(buildings) and len(grids) else None
    grid_of_building: dict[str, str | None] = {}
    if bg is not None:
        grid_of_building = dict(
            zip(bg["building_id"].astype(str), bg["grid_id"].astype(object), strict=True)
        )
    households = store.read_layer("households", columns=["building"])
    members = store.read_layer("members", columns=["community", "organisation"])
    organisations = store.read_layer("organisations", columns=["community"])
    communities = store.read_layer("communities", columns=[])
    org_comm = _mapping(organisations, "community")
    member_comm = _mapping(members, "community")
    for code, org in zip(members["code"], members["organisation"], strict=True):
        if member_comm.get(code) is None and pd.notna(org):
            member_comm[code] = org_comm.get(org)
    return Geography(
        community_codes=frozenset(communities["code"].astype(str)),
        grid_of_code=_mapping(grids, "community"),
        grid_of_building={k: (None if pd.isna(v) else v) for k, v in grid_of_building.items()},
        building_of_household=dict(
            zip(households["code"].astype(str), households["building"].astype(str), strict=True)
        ),
        community_of_member=member_comm,
        community_of_organisation=org_comm,
    )


def _mapping(frame: pd.DataFrame, column: str) -> dict[str, str | None]:
    return {
        str(k): (None if pd.isna(v) else str(v))
        for k, v in zip(frame["code"], frame[column], strict=True)
    }


# -- areas ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """The codes of everything inside an area, layer by layer.

    ``communities`` are the communities the area was given as (their members and
    organisations belong to it); ``visible_communities`` adds the communities of its
    grids (their outline is shown, nothing more).
    """

    communities: frozenset[str]
    visible_communities: frozenset[str]
    grids: frozenset[str]
    buildings: frozenset[str]
    households: frozenset[str]
    members: frozenset[str]
    organisations: frozenset[str]

    def holds(self, layer: str, code: str | None) -> bool:
        """Whether the entity ``code`` of ``layer`` lies in the area."""
        if code is None:
            return False
        sets = {
            "communities": self.visible_communities,
            "grids": self.grids,
            "buildings": self.buildings,
            "households": self.households,
            "members": self.members,
            "organisations": self.organisations,
        }
        return code in sets.get(layer, frozenset())

    def codes(self, layer: str) -> frozenset[str] | None:
        """The codes of a layer's rows in the area, when a row's own code decides it.

        None for the layers whose rows are kept by what they refer to (members and
        organisations of the area's communities, visits to its households...).
        """
        if layer == "communities":
            return self.visible_communities
        if layer in ("grids", "buildings", "households"):
            return frozenset(getattr(self, layer))
        return None

    def intersection(self, other: Area) -> Area:
        """What lies in both areas (a caller's area narrowed to a community, say)."""
        return Area(
            communities=self.communities & other.communities,
            visible_communities=self.visible_communities & other.visible_communities,
            grids=self.grids & other.grids,
            buildings=self.buildings & other.buildings,
            households=self.households & other.households,
            members=self.members & other.members,
            organisations=self.organisations & other.organisations,
        )

    def keep(self, layer: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of a layer frame (references as codes) that lie in the area."""
        mask = self._mask(layer, frame)
        return frame.loc[mask.to_numpy(dtype=bool)]

    def _in(self, frame: pd.DataFrame, column: str, codes: frozenset[str]) -> pd.Series:
        if column not in frame.columns:
            return pd.Series(False, index=frame.index)
        return frame[column].astype(object).isin(codes)

    def _mask(self, layer: str, frame: pd.DataFrame) -> pd.Series:
        code = frame["code"].astype(object) if "code" in frame.columns else None
        own = self.codes(layer)
        if own is not None:
            assert code is not None
            return code.isin(own)
        if layer == "organisations":
            assert code is not None
            return code.isin(self.organisations) | self._in(frame, "community", self.communities)
        if layer == "members":
            assert code is not None
            return code.isin(self.members) | self._in(frame, "community", self.communities)
        if layer == "meetings":
            return self._in(frame, "grid", self.grids)
        if layer in ("visits", "problems"):
            return self._in(frame, "household", self.households) | self._in(
                frame, "building", self.buildings
            )
        if layer == "assignments":
            return (
                self._in(frame, "community", self.communities)
                | self._in(frame, "grid", self.grids)
                | self._in(frame, "building", self.buildings)
                | self._in(frame, "household", self.households)
            )
        raise NotFound(f"unknown layer {layer!r}")

    def keep_findings(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of a ``gridgeo check`` result that concern the area.

        A finding is kept when its entity (``entity``/``code``) lies in the area, or
        when it names a grid, building, member, organisation or community of the
        area in one of its columns. District-wide results are withheld.
        """
        if frame.empty:
            return frame
        keep = pd.Series(False, index=frame.index)
        if "entity" in frame.columns and "code" in frame.columns:
            for entity in frame["entity"].dropna().unique():
                rows = frame["entity"] == entity
                codes = frame.loc[rows, "code"].astype(str)
                keep[rows] = [self.holds(str(entity), c) for c in codes]
        by_column = {
            "building_id": self.buildings,
            "grid_id": self.grids,
            "grid_a": self.grids,
            "grid_b": self.grids,
            "member_id": self.members,
            "organisation_id": self.organisations,
            "community_id": self.communities,
            "community": self.communities,
        }
        for column, codes in by_column.items():
            if column in frame.columns:
                keep |= frame[column].astype(object).isin(codes)
        if "group" in frame.columns:
            keep |= frame["group"].astype(object).isin(self.grids | self.communities)
        if name == "summary_grids" and "code" in frame.columns:
            keep |= frame["code"].astype(object).isin(self.grids)
        if "grids" in frame.columns and frame["grids"].notna().any():
            listed = frame["grids"].fillna("").astype(str).str.split(",")
            keep |= listed.map(lambda codes: any(c.strip() in self.grids for c in codes))
        return frame.loc[keep.to_numpy(dtype=bool)]


def area_for(store: Store, principal: Principal) -> Area | None:
    """The area a principal is restricted to; None for the whole district."""
    if principal.district_wide:
        return None
    return geography(store).area(principal.communities, principal.grids)


def check_personal(principal: Principal, include_personal: bool) -> None:
    """Refuse a request for personal data from a role not entitled to it."""
    if include_personal and not principal.may_see_personal:
        raise PermissionDenied(
            f"role {principal.role} may not see household names and phone numbers; "
            "only grid workers and members (for their own area) may ask for them"
        )
