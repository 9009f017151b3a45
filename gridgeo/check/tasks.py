"""The tasks of the check on Dask: a run of partitions, the grids' borders, a bucket of members.

What each worker runs for :func:`gridgeo.check.partitioned.check_folder` (which says why
each is exact), and the steps each runs. Every task runs the check's own steps
(:data:`gridgeo.check.steps.STEPS`) with :func:`~gridgeo.check.engine.run_steps` on the
rows it is given, and refuses rows that break the folder's partition rule.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.check.engine import CheckResults, Step, run_steps
from gridgeo.errors import Issue, ValidationError
from gridgeo.io.partitions import folder_name
from gridgeo.policy import Policy

__all__ = [
    "AREA_KINDS",
    "BORDER_STEPS",
    "GRID_STEPS",
    "MEMBER_STEPS",
    "PARTITION_STEPS",
    "TASK_BUILDINGS",
    "bucket_of",
]

#: buildings a task is given at least (whole partitions, consecutive in the folder)
TASK_BUILDINGS = 50_000
#: the steps of each partition's task, on its rows and the grids around its buildings
PARTITION_STEPS = (
    "counted_households",
    "member_roles",
    "local_visits",
    "building_grid",
    "straddling_buildings",
    "buildings_outside",
    "household_links",
    "building_responsibility",
    "unassigned_buildings",
    "multi_assigned_buildings",
    "last_visits",
    "grid_of_building",
    "community_of_building",
    "numbered_households",
    "visit_share_grids",
    "visit_share_communities",
    "weekly_visit_share",
)
#: the steps of a partition's own grids
GRID_STEPS = ("meeting_months",)
#: the steps over all the grids at once
BORDER_STEPS = ("community_areas", "gaps", "overlaps", "grid_communities")
#: the steps of a bucket of members
MEMBER_STEPS = ("visit_weeks", "leader_quarters")
#: assignment kinds of whole areas, which every partition's task is given
AREA_KINDS = ("cadre_community", "leader_community", "worker_grid", "organisation_grid")
#: the partitioned layers the check reads (grids are read whole by the caller)
_READ = ("buildings", "households", "assignments", "visits", "meetings")
#: member kinds of assignments (those a member bucket needs)
_MEMBER_KINDS = ("member_building", "member_household")


@dataclass(frozen=True)
class _Options:
    """What every task is told: the folder, the check's options and the members' buckets."""

    folder: str
    policy: Policy
    as_of: dt.date
    timezone: str
    buckets: int
    sources: dict[str, str] = field(default_factory=dict)
    #: the layers the folder has (a partition without one gets it empty)
    layers: tuple[str, ...] = ()


def _steps(names: Sequence[str]) -> list[Step]:
    from gridgeo.check.steps import STEPS

    return [s for s in STEPS if s.name in names]


def bucket_of(codes: pd.Series, buckets: int) -> np.ndarray:
    """The bucket of each member code: CRC-32 of its UTF-8 text, modulo ``buckets``.

    Examples
    --------
    >>> bucket_of(pd.Series(["M1", "M2", None]), 4).tolist()
    [1, 3, -1]
    """
    ids, uniques = pd.factorize(codes.astype(object), use_na_sentinel=True)
    of = np.array(
        [zlib.crc32(str(code).encode()) % buckets for code in uniques] + [-1], dtype=np.int64
    )
    return of[ids]


# -------------------------------------------------------------------- reading a partition --


def _read_group(
    options: _Options, group: Sequence[tuple[str, Mapping[str, str]]], empty: Mapping[str, str]
) -> tuple[dict[str, pd.DataFrame], np.ndarray]:
    """The check's columns of a group of partitions' layers, in the folder's order.

    A layer the folder has is there, empty when none of the group's partitions has it.
    Also the partition of each building row.
    """
    from gridgeo.check.inputs import check_columns
    from gridgeo.io.geoparquet import concat_parts, read_layer_file

    folder = Path(options.folder)
    out: dict[str, pd.DataFrame] = {}
    parts_of_buildings: list[np.ndarray] = []
    for name in _READ:
        frames = []
        for code, files in group:
            if name in files:
                frames.append(read_layer_file(Path(files[name]), folder, name))
                if name == "buildings":
                    parts_of_buildings.append(np.full(len(frames[-1]), code, dtype=object))
        if not frames and name in empty:
            frames = [read_layer_file(Path(empty[name]), folder, name).iloc[:0]]
        if frames:
            out[name] = check_columns(name, concat_parts(frames))
    parts = np.concatenate(parts_of_buildings) if parts_of_buildings else np.array([], object)
    return out, parts


def _area_assignments(assignments: pd.DataFrame | None) -> pd.DataFrame | None:
    if assignments is None:
        return None
    kinds = assignments["kind"].astype("string").isin(AREA_KINDS).fillna(False)
    return assignments[kinds.to_numpy(dtype=bool)]


def _named(options: _Options, group: Sequence[Mapping[str, str]]) -> dict[str, pd.DataFrame | None]:
    """Partitions' assignments of whole areas, and the members and organisations they name."""
    from gridgeo.check.inputs import check_columns
    from gridgeo.io.geoparquet import concat_parts, read_layer_file

    paths = [Path(files["assignments"]) for files in group if "assignments" in files]
    if not paths:
        return {"area": None, "members": None, "organisations": None}
    folder = Path(options.folder)
    frames = [read_layer_file(path, folder, "assignments") for path in paths]
    a = check_columns("assignments", concat_parts(frames))
    named = a.dropna(subset=["member"])[["member", "kind"]].drop_duplicates()
    organisation = a["organisation"] if "organisation" in a else pd.Series([], dtype=object)
    organisations = pd.DataFrame({"organisation": pd.unique(organisation.dropna())})
    return {"area": _area_assignments(a), "members": named, "organisations": organisations}


# -------------------------------------------------------------------- a partition's task --


def _grids_around(buildings: gpd.GeoDataFrame, grids: gpd.GeoDataFrame) -> np.ndarray:
    """Positions (sorted) of the grids meeting the bounding box of any of the buildings."""
    geoms = buildings.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return np.zeros(0, dtype=np.int64)
    envelopes = shapely.envelope(geoms[present])
    tree = shapely.STRtree(grids.geometry.to_numpy())
    _, found = tree.query(envelopes, predicate="intersects")
    return np.unique(found)


def _partition(
    options: _Options,
    group: Sequence[tuple[str, Mapping[str, str]]],
    empty: Mapping[str, str],
    grids: gpd.GeoDataFrame,
    own: np.ndarray,
    context: Mapping[str, Any],
) -> dict[str, Any]:
    """A task of a group of consecutive partitions: their steps, households per member, pieces."""
    from gridgeo.analysis.responsibility import households_per_member

    read, part_of_building = _read_group(options, group, empty)
    _check_references(read)
    assignments = read.get("assignments")
    if assignments is not None:
        kinds = assignments["kind"].astype("string").isin(AREA_KINDS).fillna(False)
        assignments = pd.concat(
            [assignments[~kinds.to_numpy(dtype=bool)], context["area_assignments"]],
            ignore_index=True,
        )
    around = _grids_around(read["buildings"], grids)
    own_grids = grids.iloc[own]
    layers = {
        **read,
        "grids": grids.iloc[np.union1d(around, own)],
        "assignments": assignments,
        "members": context["member_roles"],
    }
    keep = ("household_links", "local_visits", "grid_of_building")
    run = dict(
        policy=options.policy, as_of=options.as_of, timezone=options.timezone,
        sources=options.sources,
    )  # fmt: skip
    done = run_steps(_steps(PARTITION_STEPS), layers, keep=keep, **run)
    _check_placed(done.get("building_grid"), own_grids, read["buildings"], part_of_building)
    grid_steps = run_steps(
        _steps(GRID_STEPS), {"grids": own_grids, "meetings": read.get("meetings")}, **run
    )
    links = done.get("household_links")
    out_layers = {n: v for n, v in done.items() if n not in keep}
    out_layers |= dict(grid_steps)
    written = {
        s for s in (*done.ran, *grid_steps.ran) if s not in {**done.skipped, **grid_steps.skipped}
    }
    return {
        "layers": out_layers,
        "written": written,
        "per_member": None if links is None else households_per_member(links),
        "pieces": _member_pieces(options, done, assignments, read, context),
    }


def _refuse(what: str, code: object, names: str, target: object, where: str) -> ValidationError:
    return ValidationError(
        Issue(
            f"{what} {code!r} names {names} {target!r}, which is not in {where}; the Dask "
            "check needs every object beside what it names (the folder's partition rule)",
            file=f"{what}s",
            hint="export the folder again with gridgeo export --format geoparquet, "
            "or check it with --engine local",
        )
    )


def _check_references(read: Mapping[str, pd.DataFrame]) -> None:
    """Refuse rows naming buildings or households outside the task's partitions.

    In a folder gridgeo writes, a household is beside its building, a visit beside its
    household (else its building) and an assignment beside its building or household,
    so a task finds all of them among its own rows.
    """
    where = "the partitions of its building"
    buildings = set(read["buildings"]["code"].astype(str))
    households = read.get("households")
    known = set() if households is None else set(households["code"].astype(str))
    checks = []
    if households is not None:
        checks.append(("household", households, "building", buildings, "building"))
    visits = read.get("visits")
    if visits is not None:
        checks += [("visit", visits, "building", buildings, "building")]
        if households is not None:
            checks += [("visit", visits, "household", known, "household")]
    assignments = read.get("assignments")
    if assignments is not None:
        kinds = assignments["kind"].astype("string")
        by_building = assignments[kinds.eq("member_building").fillna(False).to_numpy(dtype=bool)]
        by_household = assignments[kinds.eq("member_household").fillna(False).to_numpy(dtype=bool)]
        checks += [("assignment", by_building, "building", buildings, "building")]
        if households is not None:
            checks += [("assignment", by_household, "household", known, "household")]
    for what, frame, column, codes, names in checks:
        if column not in frame:
            continue
        values = frame[column]
        present = values.notna().to_numpy(dtype=bool)
        outside = present & ~values.astype(object).isin(codes).to_numpy(dtype=bool)
        if outside.any():
            row = np.flatnonzero(outside)[0]
            raise _refuse(what, frame["code"].iloc[row], names, values.iloc[row],
                          where if what == "household" else "the same partitions")  # fmt: skip


def _check_placed(
    building_grid: pd.DataFrame | None,
    own: pd.DataFrame,
    buildings: pd.DataFrame,
    part_of_building: np.ndarray,
) -> None:
    """Refuse buildings lying mostly in grids of partitions the task does not hold."""
    if building_grid is None or not len(building_grid):
        return
    grid = building_grid["grid_id"]
    elsewhere = (grid.notna() & ~grid.astype(object).isin(set(own["code"].astype(str)))).to_numpy(
        dtype=bool
    )
    if elsewhere.any():
        first = np.flatnonzero(elsewhere)[0]
        building = building_grid["building_id"].iloc[first]
        rows = np.flatnonzero(buildings["code"].astype(str).to_numpy() == str(building))
        code = part_of_building[rows[0]] if len(rows) else None
        raise ValidationError(
            Issue(
                f"{int(elsewhere.sum()):,} building(s) lie mostly in grids of other "
                f"partitions: building {building!r} of partition {code!r} in grid "
                f"{grid.iloc[first]!r}; the Dask check needs each building in the partition "
                "of its grid",
                file=f"buildings/{folder_name(str(code))}",
                hint="export the folder again with gridgeo export --format geoparquet, "
                "or check it with --engine local",
            )
        )


def _member_pieces(
    options: _Options,
    done: Mapping[str, Any],
    assignments: pd.DataFrame | None,
    read: Mapping[str, pd.DataFrame],
    context: Mapping[str, Any],
) -> list[dict[str, pd.DataFrame]]:
    """What each bucket of members needs from this partition.

    ``days``: the days each party member visited (weeks without a visit need no more);
    ``visits``: the leaders' visits, with the ``building_grid`` rows of their buildings
    and the ``households`` of those without a building (quarters count the visits);
    ``assignments``: the members' assignments to buildings and households.
    """
    pieces: list[dict[str, pd.DataFrame]] = [{} for _ in range(options.buckets)]
    roles = context["member_roles"]
    if roles is None:
        return pieces
    role_of = pd.Series(
        roles["role"].astype(object).to_numpy(), index=roles["code"].astype(str).to_numpy()
    )
    role_of = role_of[~role_of.index.duplicated()]
    visits = done.get("local_visits")
    if visits is not None:
        role = visits["member"].astype(object).map(role_of)
        days = visits.loc[role.eq("member").to_numpy(dtype=bool), ["member", "visited_at"]]
        days = days.drop_duplicates()
        leaders = visits[role.eq("leader").to_numpy(dtype=bool)]
        day_bucket = bucket_of(days["member"], options.buckets)
        leader_bucket = bucket_of(leaders["member"], options.buckets)
        bg = done.get("building_grid")
        households = read.get("households")
        for b in range(options.buckets):
            led = leaders[leader_bucket == b]
            piece: dict[str, pd.DataFrame] = {"days": days[day_bucket == b], "visits": led}
            if bg is not None:
                seen = set(led["building"].dropna().astype(str))
                if households is not None and "household" in led:
                    wanted = set(led["household"].dropna().astype(str))
                    hh = households[households["code"].astype(str).isin(wanted)]
                    piece["households"] = hh
                    seen |= set(hh["building"].dropna().astype(str))
                piece["building_grid"] = bg[bg["building_id"].astype(str).isin(seen)]
            pieces[b] = piece
    if assignments is not None:
        kinds = assignments["kind"].astype("string").isin(_MEMBER_KINDS).fillna(False)
        mine = assignments[kinds.to_numpy(dtype=bool)]
        bucket = bucket_of(mine["member"], options.buckets)
        for b in range(options.buckets):
            pieces[b]["assignments"] = mine[bucket == b]
    return pieces


def _piece(result: Mapping[str, Any], bucket: int) -> dict[str, pd.DataFrame]:
    return result["pieces"][bucket]


def _summary(result: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "pieces"}


def _border(
    options: _Options, grids: gpd.GeoDataFrame, communities: pd.DataFrame | None
) -> CheckResults:
    """The border task: the steps over all the grids at once."""
    return run_steps(
        _steps(BORDER_STEPS), {"grids": grids, "communities": communities},
        policy=options.policy, as_of=options.as_of, timezone=options.timezone,
        sources=options.sources,
    )  # fmt: skip


# -------------------------------------------------------------------- a bucket's task -----


def _members(
    options: _Options, bucket: int, pieces: Sequence[Mapping[str, pd.DataFrame]],
    context: Mapping[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """One bucket's task: weeks and quarters without a visit of its members."""
    roles = context["member_roles"]
    mine = roles[bucket_of(roles["code"], options.buckets) == bucket]

    def joined(name: str) -> pd.DataFrame | None:
        parts = [p[name] for p in pieces if name in p]
        return pd.concat(parts, ignore_index=True) if parts else None

    area = context["area_assignments"]
    own_area = None
    if area is not None:
        own_area = area[bucket_of(area["member"], options.buckets) == bucket]
    member_assignments = joined("assignments")
    if member_assignments is None and own_area is None:
        assignments = None
    else:
        assignments = pd.concat(
            [p for p in (member_assignments, own_area) if p is not None], ignore_index=True
        )
    seen = [v for v in (joined("visits"), joined("days")) if v is not None]
    layers = {
        "local_visits": pd.concat(seen, ignore_index=True) if seen else None,
        "assignments": assignments,
        "member_roles": mine,
        "communities": context.get("communities"),
        "building_grid": joined("building_grid"),
        "grids": context["grid_communities"],
        "households": joined("households") if "households" in options.layers else None,
    }
    if layers["local_visits"] is not None and layers["building_grid"] is None:
        layers["building_grid"] = pd.DataFrame({"building_id": [], "grid_id": [], "share": []})
    done = run_steps(
        _steps(MEMBER_STEPS), layers, policy=options.policy, as_of=options.as_of,
        timezone=options.timezone, sources=options.sources,
    )  # fmt: skip
    written = {s for s in done.ran if s not in done.skipped}
    return {"layers": dict(done), "written": written}


# -------------------------------------------------------------------- the whole check -----
