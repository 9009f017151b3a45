"""Where everything lies: :class:`Geography` (codes and places of one data version) and :class:`Area`.

:class:`Geography` ties every building to the grid holding most of it (as ``gridgeo
check`` does) and every grid to its community, so an area expands to the codes of
everything in it (:class:`Area`). :func:`member_assignments` is the one query of a
member's assignments with the codes of what they are to.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import pandas as pd
import sqlalchemy as sa

from gridgeo.errors import NotFound
from gridgeo.principal import Principal
from gridgeo.store import Store

__all__ = [
    "AREA_LAYERS",
    "Area",
    "Assignment",
    "Geography",
    "area_for",
    "geography",
    "member_assignments",
]

#: Layers whose changes move areas (a building's grid, a household's building...).
AREA_LAYERS = ("communities", "grids", "buildings", "households", "organisations", "members")


class Assignment(NamedTuple):
    """One assignment of a member: its kind and the codes of what it is to (None: not)."""

    kind: str
    community: str | None
    grid: str | None
    building: str | None
    household: str | None


def member_assignments(
    conn: sa.Connection, member: str, *, day: dt.date | None = None
) -> list[Assignment]:
    """The assignments of ``member`` (in force on ``day``; every one without ``day``)."""
    sql = (
        "SELECT a.kind, c.code, g.code, b.code, h.code FROM assignments a "
        "JOIN members m ON m.id = a.member_id "
        "LEFT JOIN communities c ON c.id = a.community_id "
        "LEFT JOIN grids g ON g.id = a.grid_id "
        "LEFT JOIN buildings b ON b.id = a.building_id "
        "LEFT JOIN households h ON h.id = a.household_id "
        "WHERE m.code = :member"
    )
    params: dict[str, object] = {"member": member}
    if day is not None:
        sql += " AND a.valid_from <= :day AND (a.valid_to IS NULL OR a.valid_to >= :day)"
        params["day"] = day
    return [Assignment(*row) for row in conn.execute(sa.text(sql), params).all()]


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
