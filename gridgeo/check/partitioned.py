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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gridgeo.check.engine import CheckResults, Step, run_steps
from gridgeo.check.tasks import (
    _READ,
    AREA_KINDS,
    BORDER_STEPS,
    GRID_STEPS,
    MEMBER_STEPS,
    PARTITION_STEPS,
    TASK_BUILDINGS,
    _border,
    _members,
    _named,
    _Options,
    _partition,
    _piece,
    _summary,
)
from gridgeo.errors import Issue, ValidationError
from gridgeo.io.partitions import PARTITIONED, folder_name
from gridgeo.policy import Policy
from gridgeo.progress import Progress

__all__ = [
    "AREA_KINDS",
    "BORDER_STEPS",
    "GRID_STEPS",
    "MEMBER_STEPS",
    "PARTITION_STEPS",
    "TASK_BUILDINGS",
    "check_folder",
]

#: the steps the calling process takes from the tasks rather than running them
_FROM_TASKS = (
    *PARTITION_STEPS,
    *GRID_STEPS,
    *BORDER_STEPS,
    *MEMBER_STEPS,
    "member_quota",
    "organisation_kinds",
)
_STEP_PARTITIONS = "checking partitions"
_STEP_MEMBERS = "checking members"


#: result layers whose rows the single-process step gives sorted by these columns
_SORTED = {
    "visit_share_grids": ["group"],
    "visit_share_communities": ["group"],
    "weekly_visit_share": ["group"],
    "meeting_months": ["grid_id"],
    "visit_weeks": ["member_id"],
    "leader_quarters": ["member_id", "community_id"],
}


class _Elsewhere:
    """A layer that is there, but in the workers' partitions rather than in this process."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name} in the partitions>"


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
