r"""The check of a partitioned exchange folder on a Dask cluster (``check --engine dask``).

A folder written by ``gridgeo export --format geoparquet`` (or ``gridgeo synth --cities
N``) holds each community's grids, buildings, households, assignments, visits and
meetings in a partition of their own (:data:`gridgeo.io.partitions.RULE`). The check's
steps (:data:`gridgeo.check.steps.STEPS`) run on it where each is exact:

* **one task per run of consecutive partitions** (:data:`PARTITION_STEPS`; whole
  partitions, at least :data:`TASK_BUILDINGS` buildings a task): their rows, the
  grids around its buildings (every grid meeting a building's bounding box: all the
  grids a building can lie in) and the assignments of whole areas (cadres, leaders,
  grid workers, organisations; a few per community). Building → grid, straddling and
  outside buildings, responsibility, last visits and the visit shares are found there:
  a building is in the partition of the grid holding most of it, so a grid's and a
  community's households are all in their partition. The grids' own steps
  (:data:`GRID_STEPS`, council meetings) see the partition's grids only;
* **one border task** (:data:`BORDER_STEPS`): gaps, overlaps and grids across
  communities, over all the grids at once, since a gap on a community border belongs
  to neither;
* **one task per bucket of members** (:data:`MEMBER_STEPS`): a member's assignments
  and visits are spread over the partitions of their households, so each partition's
  task sends every member's visits (one a day is all that weeks without a visit need;
  leaders' visits all, with their buildings' grids) and assignments to the member's
  bucket (a hash of the code), where weeks and quarters without a visit are found;
* **in the calling process**, from what the tasks return: households per member
  (each partition counts its own households, which no other partition holds), the
  quotas of organisations, the communities without a leader, and the summaries per
  grid, community and district.

Each step is the same function as in one process, and the calling process replays the
step plan (:func:`~gridgeo.check.engine.run_steps`) with the tasks' layers, so the
result layers, their row order, the steps that ran and the reasons for those that did
not are those of ``run_check(inputs_from_folder(folder))``. ``dask-geopandas`` is not
used: its ``sjoin`` is inner only (buildings in no grid need a left join), and the
partitions of the exchange format already keep the work local, which plain
``dask.distributed`` tasks over the partition files use without a spatial shuffle.

A folder whose buildings are not in the partition of their grid, or whose households,
visits and assignments name buildings or households another task holds (not written by
gridgeo), is refused with a named error rather than checked wrongly.
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
from gridgeo.io.partitions import PARTITIONED, folder_name
from gridgeo.policy import Policy
from gridgeo.progress import Progress

__all__ = [
    "AREA_KINDS",
    "TASK_BUILDINGS",
    "BORDER_STEPS",
    "GRID_STEPS",
    "MEMBER_STEPS",
    "PARTITION_STEPS",
    "check_folder",
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
#: the steps the calling process takes from the tasks rather than running them
_FROM_TASKS = (
    *PARTITION_STEPS,
    *GRID_STEPS,
    *BORDER_STEPS,
    *MEMBER_STEPS,
    "member_quota",
    "organisation_kinds",
)
#: result layers whose rows the single-process step gives sorted by these columns
_SORTED = {
    "visit_share_grids": ["group"],
    "visit_share_communities": ["group"],
    "weekly_visit_share": ["group"],
    "meeting_months": ["grid_id"],
    "visit_weeks": ["member_id"],
    "leader_quarters": ["member_id", "community_id"],
}
#: the partitioned layers the check reads (grids are read whole by the caller)
_READ = ("buildings", "households", "assignments", "visits", "meetings")
#: member kinds of assignments (those a member bucket needs)
_MEMBER_KINDS = ("member_building", "member_household")
_STEP_PARTITIONS = "checking partitions"
_STEP_MEMBERS = "checking members"


class _Elsewhere:
    """A layer that is there, but in the workers' partitions rather than in this process."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name} in the partitions>"


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
    from gridgeo.io.geoparquet import read_layer_file

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
            out[name] = check_columns(name, _concat(frames, name))
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
    from gridgeo.io.geoparquet import read_layer_file

    paths = [Path(files["assignments"]) for files in group if "assignments" in files]
    if not paths:
        return {"area": None, "members": None, "organisations": None}
    folder = Path(options.folder)
    frames = [read_layer_file(path, folder, "assignments") for path in paths]
    a = check_columns("assignments", _concat(frames, "assignments"))
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


def _files_by_partition(folder: Path, manifest: dict[str, Any]) -> tuple[list[str], dict]:
    """The partitions in the order the folder lists them, and each one's file of each layer."""
    from gridgeo.io.geoparquet import layer_files

    by_code: dict[str, dict[str, str]] = {}
    for name in PARTITIONED:
        for code, path in layer_files(folder, manifest, name):
            if code is not None:
                by_code.setdefault(code, {})[name] = str(path)
    return sorted(by_code, key=folder_name), by_code


def _groups(order: Sequence[str], files: Mapping[str, Mapping[str, str]], target: int) -> list:
    """Consecutive partitions, each run of them holding at least ``target`` buildings."""
    import pyarrow.parquet as pq

    groups: list[list[str]] = [[]]
    held = 0
    for code in order:
        if held >= max(target, 1):
            groups.append([])
            held = 0
        groups[-1].append(code)
        path = files[code].get("buildings")
        held += pq.read_metadata(path).num_rows if path else 0
    return [g for g in groups if g]


def _grids(folder: Path, manifest: dict[str, Any]) -> tuple[gpd.GeoDataFrame, dict]:
    """All the grids in the folder's order, and each partition's rows among them."""
    from gridgeo.check.inputs import check_columns
    from gridgeo.io.geoparquet import check_rows, layer_files, read_layer_file

    parts, spans, start = [], {}, 0
    for code, path in layer_files(folder, manifest, "grids"):
        frame = check_columns("grids", read_layer_file(path, folder, "grids"))
        parts.append(frame)
        spans[code] = (start, start + len(frame))
        start += len(frame)
    check_rows(folder, manifest, "grids", start)
    if not parts:
        raise ValidationError(Issue("the folder has no grids: nothing to check", file=str(folder)))
    grids = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return gpd.GeoDataFrame(grids, geometry="geometry", crs=parts[0].crs), spans


def _concat(frames: list[Any], name: str) -> Any:
    frames = [f for f in frames if f is not None]
    if not frames:
        return None
    # a partition with no rows has its columns' dtypes of no rows (object for text)
    frames = [f for f in frames if len(f)] or frames[:1]
    if len(frames) == 1:
        out = frames[0].reset_index(drop=True)
    else:
        out = pd.concat(frames, ignore_index=True)
        if isinstance(frames[0], gpd.GeoDataFrame):
            out = gpd.GeoDataFrame(out, geometry=frames[0].geometry.name, crs=frames[0].crs)
    if name in _SORTED and len(out):
        out = out.sort_values(_SORTED[name], kind="stable").reset_index(drop=True)
    return out


def check_folder(
    folder: Path,
    client: Any,
    *,
    policy: Policy | None = None,
    as_of: dt.date | None = None,
    timezone: str | None = None,
    progress: Progress | None = None,
    task_buildings: int = TASK_BUILDINGS,
) -> CheckResults:
    """``run_check(inputs_from_folder(folder))``, its steps as tasks on ``client``.

    Parameters
    ----------
    folder
        A partitioned exchange folder.
    client
        A ``distributed.Client`` (:func:`gridgeo.cluster.dask_client`).
    policy, as_of, timezone
        As :func:`~gridgeo.check.run_check` takes them.
    progress
        ``progress(description, done, total)`` as partitions and buckets finish.
    task_buildings
        Consecutive partitions go to one task until it holds this many buildings (a
        partition is never split): a community's few thousand buildings are too little
        work for a task of their own.

    Returns
    -------
    CheckResults
        The same layers, ``ran``, ``skipped`` and ``not_computed`` as the check of the
        folder in one process.

    Raises
    ------
    FileFormatError
        A broken folder (a manifest, a file, a row count).
    ValidationError
        No grids or no buildings; buildings outside the partition of their grid; what
        the single-process check refuses (assignments to households without them).
    """
    from distributed import as_completed

    from gridgeo.check.inputs import (
        CHECK_READS,
        check_columns,
        members_named_by,
        organisations_named_by,
    )
    from gridgeo.cluster import gather
    from gridgeo.io.geoparquet import check_rows, read_geoparquet, read_manifest

    if timezone is None:
        from gridgeo.settings import get_settings

        timezone = get_settings().timezone
    policy = policy or Policy()
    as_of = as_of or dt.date.today()
    report = progress or (lambda *_: None)
    folder = Path(folder)
    manifest = read_manifest(folder)
    listed = {n for n, info in manifest["layers"].items() if info.get("rows")}
    if "grids" in listed and "buildings" not in listed:
        raise ValidationError(
            Issue("the folder has no buildings: nothing to check", file=str(folder))
        )
    report("reading the grids, communities and members", 0, 1)
    grids, spans = _grids(folder, manifest)
    small = read_geoparquet(folder, layers=("communities", "organisations", "members")).frames
    small = {n: check_columns(n, f) for n, f in small.items()}
    order, files = _files_by_partition(folder, manifest)
    empty = {
        name: next(f[name] for f in files.values() if name in f)
        for name in _READ
        if any(name in f for f in files.values())
    }
    workers = max(1, len(client.nthreads()))
    options = _Options(
        str(folder), policy, as_of, timezone, buckets=max(1, min(len(order), 2 * workers)),
        sources={"folder": str(folder)}, layers=tuple(sorted(listed)),
    )  # fmt: skip

    # what whole areas' assignments and the members are: read first, from every partition
    groups = _groups(order, files, task_buildings)
    named = [
        client.submit(_named, options, [files[c] for c in group], pure=False) for group in groups
    ]
    named = gather(client, named)
    area = _concat([n["area"] for n in named], "assignments")
    if "assignments" in listed and area is None:
        area = check_columns("assignments", pd.DataFrame(columns=["kind", "member"]))
    roles = small.get("members")
    if roles is None and "assignments" in listed:
        pairs = [n["members"] for n in named if n["members"] is not None]
        roles = members_named_by(pd.concat(pairs, ignore_index=True))
    kinds = small.get("organisations")
    if kinds is None and "assignments" in listed:
        orgs = [n["organisations"] for n in named if n["organisations"] is not None]
        kinds = organisations_named_by(pd.concat(orgs, ignore_index=True))
    community = grids["community"] if "community" in grids else pd.Series(None, index=grids.index)
    context = {
        "area_assignments": area,
        "member_roles": roles,
        "communities": small.get("communities"),
        "grid_communities": pd.DataFrame(
            {"code": grids["code"].to_numpy(), "community": community.to_numpy()}
        ),
    }
    report("reading the grids, communities and members", 1, 1)
    [grids_future] = client.scatter([grids], broadcast=True)
    [context_future] = client.scatter([context], broadcast=True)

    # the border step, the partitions, then the members' buckets
    border = client.submit(_border, options, grids_future, small.get("communities"), pure=False)
    tasks = []
    for group in groups:
        own = [np.arange(*spans[c]) for c in group if c in spans]
        own_rows = np.concatenate(own) if own else np.zeros(0, dtype=np.int64)
        members_of = [(c, files[c]) for c in group]
        args = (options, members_of, empty, grids_future, own_rows, context_future)
        tasks.append(client.submit(_partition, *args, pure=False))
    summaries = [client.submit(_summary, t, pure=False) for t in tasks]
    pieces = [
        [client.submit(_piece, t, b, pure=False) for t in tasks] for b in range(options.buckets)
    ]
    total = len(tasks) + options.buckets
    report(_STEP_PARTITIONS, 0, total)
    members = [
        client.submit(_members, options, b, pieces[b], context_future, pure=False)
        for b in range(options.buckets)
    ]
    for done, _ in enumerate(as_completed([*summaries, *members]), start=1):
        report(_STEP_PARTITIONS if done <= len(tasks) else _STEP_MEMBERS, done, total)
    parts = gather(client, summaries)
    buckets = gather(client, members)
    border_done = gather(client, border)
    del tasks, pieces
    for name in _READ:
        if name in listed:
            check_rows(folder, manifest, name, _rows(folder, manifest, name))

    # the step plan replayed in this process, with the tasks' layers
    values: dict[str, Any] = {}
    for results in (parts, buckets):
        for name in {n for p in results for n in p["layers"]}:
            values[name] = _concat([p["layers"].get(name) for p in results], name)
        for step in {s for p in results for s in p["written"]}:
            values.setdefault(step, True)
    values.update(dict(border_done))
    for step in border_done.ran:
        if step not in border_done.skipped:
            values.setdefault(step, True)
    values["member_roles"] = roles
    values["organisation_kinds"] = kinds
    per_member = [p["per_member"] for p in parts if p["per_member"] is not None]
    if per_member:
        counts = pd.concat(per_member).groupby(level=0, sort=False).sum()
        values["member_quota"] = ("per_member", counts)
    layers: dict[str, Any] = {"grids": grids, **small}
    for name in CHECK_READS:
        if name in listed and name not in layers:
            layers[name] = _Elsewhere(name)
    if "assignments" in listed:
        layers["assignments"] = area
    return run_steps(
        _replayed(values), layers, policy=policy, as_of=as_of, timezone=timezone,
        sources=options.sources, progress=progress,
    )  # fmt: skip


def _rows(folder: Path, manifest: dict[str, Any], name: str) -> int:
    """The rows of a layer's files (their Parquet footers)."""
    import pyarrow.parquet as pq

    from gridgeo.io.geoparquet import layer_files

    return sum(pq.read_metadata(path).num_rows for _, path in layer_files(folder, manifest, name))


def _replayed(values: Mapping[str, Any]) -> list[Step]:
    """The check's steps, those run in tasks giving what the tasks wrote."""
    from dataclasses import replace

    from gridgeo.check.steps import STEPS

    def given(name: str) -> Any:
        def run(c: Any) -> Any:
            value = values.get(name)
            if isinstance(value, tuple) and value and value[0] == "per_member":
                from gridgeo.analysis import responsibility

                return responsibility.member_quota(
                    c["member_roles"], None, None, as_of=c.as_of, policy=c.policy,
                    per_member=value[1],
                )  # fmt: skip
            if name == "member_quota" and value is None:
                return None
            return value

        return run

    return [replace(s, run=given(s.name)) if s.name in _FROM_TASKS else s for s in STEPS]
