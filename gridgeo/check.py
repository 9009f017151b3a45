"""`gridgeo check`: gather the inputs, run the analyses, write what they found.

The inputs come from a store, or straight from a planner's files (two shapefiles and
an Excel sheet are enough). Files are read leniently: a duplicate code or an invalid
polygon is not a reason to refuse the check, it is one of the things the check reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridgeo.analysis.findings import findings
from gridgeo.errors import ValidationError
from gridgeo.io import read_file
from gridgeo.layers import LAYERS
from gridgeo.policy import Policy
from gridgeo.store import Store
from gridgeo.store.base import ROW_COLUMN, Progress
from gridgeo.validate import ALIASES, _as_text, prepare_layer

__all__ = [
    "Inputs",
    "inputs_from_store",
    "read_inputs",
    "run_check",
    "summary_counts",
    "write_results",
]


@dataclass
class Inputs:
    """The frames a check runs on (only grids and buildings are required)."""

    grids: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    layers: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: findings about the inputs themselves (duplicate codes, repaired geometries)
    input_findings: list[gpd.GeoDataFrame] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def _code_column(frame: pd.DataFrame, layer: str) -> str | None:
    """The column holding a layer's codes, by the usual names (``code``, ``id``, ``编号``...)."""
    singular = "community" if layer == "communities" else layer[:-1]
    names = ["code", "id", f"{singular}_id", f"{singular}_code", *ALIASES["code"]]
    lower = {str(c).lower(): c for c in frame.columns}
    return next((lower[n.lower()] for n in names if n.lower() in lower), None)


def _codes(frame: pd.DataFrame, column: str | None, kind: str, path: Path) -> pd.Series:
    if column and column not in frame.columns:
        raise ValidationError(
            f"{path.name}: no column {column!r}; its columns are {list(frame.columns)}"
        )
    col = column or _code_column(frame, f"{kind}s")
    if col is None:
        return pd.Series([f"{kind[0].upper()}{i + 1}" for i in range(len(frame))], dtype=object)
    text = _as_text(frame[col].reset_index(drop=True))
    missing = text.isna()
    if missing.any():
        text[missing] = [f"{kind[0].upper()}-row{r + 1}" for r in np.flatnonzero(missing)]
    return text


def _polygons(
    path: Path, kind: str, id_column: str | None, crs: str | None
) -> tuple[gpd.GeoDataFrame, list[gpd.GeoDataFrame]]:
    read = read_file(path, crs=crs, target=f"{kind}s")
    frame = read.frame
    if not isinstance(frame, gpd.GeoDataFrame):
        raise ValidationError(f"{path.name}: no geometry; {kind}s must be polygons")
    codes = _codes(frame, id_column, kind, path)
    geoms = shapely.force_2d(np.asarray(frame.geometry.values, dtype=object))
    notes: list[gpd.GeoDataFrame] = []
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    invalid = ~empty & ~shapely.is_valid(geoms)
    if invalid.any():
        notes.append(
            findings(
                "R1" if kind == "grid" else "R6",
                "warning",
                f"{kind}s",
                codes[invalid],
                "多边形无效（自相交），已用 make_valid 修复后参与分析",
                "invalid (self-intersecting) polygon, repaired with make_valid for the check",
                geometry=geoms[invalid],
                extra=pd.DataFrame({"issue": "invalid_geometry", "row": read.rows[invalid]}),
            )
        )
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    dup = codes.duplicated(keep=False).to_numpy()
    if dup.any():
        notes.append(
            findings(
                "R2" if kind == "grid" else "R7",
                "error",
                f"{kind}s",
                codes[dup],
                f"编号重复：同一编号出现在多行（{'网格' if kind == 'grid' else '楼栋'}未合并）",
                f"duplicate {kind} id: the same code is on several rows (not merged)",
                geometry=geoms[dup],
                extra=pd.DataFrame({"issue": "duplicate_code", "row": read.rows[dup]}),
            )
        )
    keep = ~empty
    attributes = pd.DataFrame(frame.drop(columns=frame.geometry.name)).loc[keep]
    attributes = attributes.drop(columns=[c for c in ("code", "row") if c in attributes])
    out = gpd.GeoDataFrame(
        {"code": codes[keep].to_numpy(), "row": read.rows[keep]},
        geometry=gpd.GeoSeries(geoms[keep], crs=4326),
        crs=4326,
    )
    for col in attributes.columns:
        out[col] = attributes[col].to_numpy()
    return out, notes


def read_inputs(
    *,
    grids: Path,
    buildings: Path,
    grid_id: str | None = None,
    building_id: str | None = None,
    crs: str | None = None,
    extra: Mapping[str, Path | None] | None = None,
) -> Inputs:
    """Read a check's inputs from files.

    Grids and buildings may have duplicate codes and invalid polygons: both are
    reported as findings (invalid polygons are repaired for the analysis), never
    merged or silently dropped. Further layers (communities, district, assignments,
    visits, mask) are read as they are.
    """
    grid_frame, notes = _polygons(Path(grids), "grid", grid_id, crs)
    building_frame, more = _polygons(Path(buildings), "building", building_id, crs)
    inputs = Inputs(grid_frame, building_frame, input_findings=notes + more)
    inputs.sources = {"grids": str(grids), "buildings": str(buildings)}
    for name, path in (extra or {}).items():
        if path is None:
            continue
        read = read_file(path, crs=crs, target=name)
        frame = read.frame
        if name in LAYERS:
            frame = prepare_layer(
                frame,
                name,
                source=read.name,
                rows=read.rows,
                generate_ids=None if _code_column(frame, name) else f"{name[0].upper()}-",
            ).frame.drop(columns=ROW_COLUMN)
        inputs.layers[name] = frame
        inputs.sources[name] = str(path)
    return inputs


def summary_counts(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per result layer: how many rows it has, and of which rule."""
    rows = []
    for name, frame in results.items():
        rule = ""
        if "rule" in frame.columns and len(frame):
            rule = ", ".join(sorted(set(frame["rule"].dropna().astype(str))))
        rows.append({"layer": name, "rows": len(frame), "rules": rule})
    return pd.DataFrame(rows)


def write_results(results: Mapping[str, pd.DataFrame], out: Path) -> tuple[Path, Path]:
    """Write every result as a layer of a GeoPackage and a sheet of an XLSX beside it.

    Layers without geometry become GeoPackage attribute tables; in the workbook
    geometries are left out (the GeoPackage has them) except for a point's lon/lat.
    """
    import pyogrio

    out = Path(out)
    if out.suffix.lower() != ".gpkg":
        raise ValidationError(f"--out {out}: give a .gpkg path (the .xlsx is written beside it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    xlsx = out.with_suffix(".xlsx")
    for name, frame in results.items():
        table = frame
        if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.notna().any():
            pyogrio.write_dataframe(frame, out, layer=name, driver="GPKG", promote_to_multi=False)
        else:
            table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
            pyogrio.write_dataframe(table, out, layer=name, driver="GPKG")
    with pd.ExcelWriter(xlsx, engine="openpyxl") as writer:
        summary_counts(results).to_excel(writer, sheet_name="summary", index=False)
        for name, frame in results.items():
            table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
            for col in table.columns:
                if isinstance(table[col].dtype, pd.DatetimeTZDtype):
                    table[col] = table[col].dt.tz_localize(None)
            table.to_excel(writer, sheet_name=name[:31], index=False)
    return out, xlsx


def _households_from_counts(buildings: pd.DataFrame) -> pd.DataFrame | None:
    """Stand-in households from each building's ``households`` count (no households file)."""
    col = next((c for c in ("households", "户数") if c in buildings.columns), None)
    if col is None:
        return None
    counts = pd.to_numeric(buildings[col], errors="coerce").fillna(0).clip(lower=0).astype(int)
    codes = np.repeat(buildings["code"].to_numpy(dtype=object), counts.to_numpy())
    numbers = np.concatenate([np.arange(1, n + 1) for n in counts.to_numpy()] or [np.zeros(0, int)])
    return pd.DataFrame(
        {"code": [f"{b}#{i}" for b, i in zip(codes, numbers, strict=True)], "building": codes}
    )


_ROLE_OF_KIND = {
    "member_building": "member",
    "member_household": "member",
    "worker_grid": "grid_worker",
    "cadre_community": "cadre",
    "leader_community": "leader",
}


def _derived(assignments: pd.DataFrame, column: str) -> pd.DataFrame:
    """Members or organisations as the assignments name them (no file of their own given)."""
    named = assignments.dropna(subset=[column])
    if column == "organisation":
        return pd.DataFrame({"code": pd.unique(named[column]), "kind": "partner_unit"})
    roles = named.assign(role=named["kind"].map(_ROLE_OF_KIND))
    # a member responsible for buildings or households is a party member (R5 applies)
    roles = roles.sort_values("role", key=lambda r: r.ne("member")).drop_duplicates(column)
    return pd.DataFrame({"code": roles[column].to_numpy(), "role": roles["role"].to_numpy()})


def run_check(
    inputs: Inputs,
    *,
    policy: Policy | None = None,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
) -> dict[str, pd.DataFrame]:
    """Run every analysis the inputs allow; return result layers by name.

    Always: ``gaps``, ``overlaps``, ``building_grid``, ``straddling_buildings``,
    ``buildings_outside``; with communities: ``grid_communities``; with assignments:
    ``unassigned_buildings``, ``multi_assigned_buildings``, ``member_quota``,
    ``organisation_quota``, ``shared_grids`` (and ``community_leaders`` with
    communities); ``input_issues`` when the inputs themselves had problems.
    """
    from gridgeo.analysis import coverage, responsibility, visits
    from gridgeo.analysis.summary import area_summary

    policy = policy or Policy()
    as_of = as_of or dt.date.today()
    start = as_of - dt.timedelta(weeks=policy.review_weeks)  # visits and meetings reviewed since
    layers = inputs.layers
    grids, buildings = inputs.grids, inputs.buildings
    steps: list[tuple[str, Callable[[], pd.DataFrame]]] = [
        (
            "gaps",
            lambda: coverage.grid_gaps(
                grids, district=layers.get("district"), mask=layers.get("mask"), policy=policy
            ),
        ),
        ("overlaps", lambda: coverage.grid_overlaps(grids, policy=policy)),
        ("building_grid", lambda: coverage.building_grid(buildings, grids, policy=policy)),
        (
            "straddling_buildings",
            lambda: coverage.straddling_buildings(buildings, grids, policy=policy),
        ),
        ("buildings_outside", lambda: coverage.buildings_outside(buildings, grids, policy=policy)),
    ]
    communities = layers.get("communities")
    if isinstance(communities, gpd.GeoDataFrame) and communities.geometry.notna().any():
        steps.append(
            (
                "grid_communities",
                lambda: coverage.grid_communities(grids, communities, policy=policy),
            )
        )
    results: dict[str, pd.DataFrame] = {}
    assignments = layers.get("assignments")
    if assignments is not None:
        households = layers.get("households")
        if households is None:
            by_household = int((assignments["kind"] == "member_household").sum())
            if by_household:
                raise ValidationError(
                    f"{inputs.sources.get('assignments', 'the assignments')}: {by_household} "
                    "assignment(s) are of members to households; give --households FILE "
                    "(code, building) so each household's building is known"
                )
            households = _households_from_counts(buildings)
        members = layers.get("members")
        if members is None:
            members = _derived(assignments, "member")
        organisations = layers.get("organisations")
        if organisations is None:
            organisations = _derived(assignments, "organisation")
        hh = households if households is not None else pd.DataFrame({"code": [], "building": []})
        shared: dict[str, pd.DataFrame] = {}

        def _responsibility() -> pd.DataFrame:
            if "r" not in shared:
                shared["r"] = responsibility.building_responsibility(
                    buildings,
                    hh,
                    assignments,
                    as_of=as_of,
                    building_grid=results["building_grid"],
                    grids=grids,
                    members=members,
                )
            return shared["r"]

        steps += [
            (
                "unassigned_buildings",
                lambda: responsibility.unassigned_buildings(
                    buildings,
                    hh,
                    assignments,
                    as_of=as_of,
                    members=members,
                    responsibility=_responsibility(),
                ),
            ),
            (
                "multi_assigned_buildings",
                lambda: responsibility.multi_assigned_buildings(
                    buildings,
                    hh,
                    assignments,
                    as_of=as_of,
                    members=members,
                    responsibility=_responsibility(),
                ),
            ),
            (
                "organisation_quota",
                lambda: responsibility.organisation_quota(
                    organisations, assignments, as_of=as_of, policy=policy
                ),
            ),
            (
                "shared_grids",
                lambda: responsibility.shared_grids(assignments, as_of=as_of, grids=grids),
            ),
        ]
        if households is not None:
            steps.append(
                (
                    "member_quota",
                    lambda: responsibility.member_quota(
                        members, hh, assignments, as_of=as_of, policy=policy
                    ),
                )
            )
        if communities is not None:
            steps.append(
                (
                    "community_leaders",
                    lambda: responsibility.community_leaders(communities, assignments, as_of=as_of),
                )
            )
    visits_frame = layers.get("visits")
    if visits_frame is not None:
        # every visit analysis works on local days: convert the times once
        visits_frame = visits_frame.assign(visited_at=visits._local_day(visits_frame["visited_at"]))
    members_frame = layers.get("members")
    if members_frame is None and assignments is not None:
        members_frame = _derived(assignments, "member")
    if visits_frame is not None:
        steps.append(
            (
                "last_visits",
                lambda: _with_geometry(
                    visits.last_visits(buildings, visits_frame, as_of=as_of),
                    buildings,
                    "building_id",
                ),
            )
        )
        households_frame = layers.get("households")
        if households_frame is not None:

            def _building_to(column: str) -> pd.Series:
                bg = results["building_grid"].dropna(subset=["grid_id"])
                grid_of = pd.Series(bg["grid_id"].to_numpy(), index=bg["building_id"].to_numpy())
                if column == "grid":
                    return grid_of
                return grid_of.map(grids.set_index("code")["community"])

            steps += [
                (
                    "visit_share_grids",
                    lambda: visits.visit_share(
                        visits_frame, households_frame, by=_building_to("grid"), as_of=as_of
                    ),
                ),
                (
                    "visit_share_communities",
                    lambda: visits.visit_share(
                        visits_frame, households_frame, by=_building_to("community"), as_of=as_of
                    ),
                ),
                (
                    "weekly_visit_share",
                    lambda: visits.weekly_visit_share(
                        visits_frame,
                        households_frame,
                        by=_building_to("grid"),
                        start=start,
                        end=as_of,
                    ),
                ),
            ]
    if visits_frame is not None and assignments is not None and members_frame is not None:
        steps.append(
            (
                "visit_weeks",
                lambda: _missed(
                    visits.member_visit_weeks(
                        visits_frame,
                        members_frame,
                        assignments,
                        start=start,
                        end=as_of,
                        policy=policy,
                    ),
                    "R8",
                    "members",
                    "member_id",
                    "weeks_missed",
                    "{n} 周没有入户走访",
                    "no visit in {n} week(s)",
                ),
            )
        )
        if communities is not None:
            steps.append(
                (
                    "leader_quarters",
                    lambda: _missed(
                        visits.leader_quarters(
                            visits_frame,
                            members_frame,
                            assignments,
                            start=start,
                            end=as_of,
                            building_community=responsibility.building_community(
                                results["building_grid"], grids
                            ),
                            households=layers.get("households"),
                            policy=policy,
                        ),
                        "R12",
                        "members",
                        "member_id",
                        "quarters_missed",
                        "{n} 个季度未到联系社区调度",
                        "no visit to the linked community in {n} quarter(s)",
                    ),
                )
            )
    meetings_frame = layers.get("meetings")
    if meetings_frame is not None:
        steps.append(
            (
                "meeting_months",
                lambda: _missed(
                    visits.meeting_months(
                        meetings_frame, grids, start=start, end=as_of, policy=policy
                    ),
                    "R9",
                    "grids",
                    "grid_id",
                    "months_missed",
                    "{n} 个月未召开网格议事会",
                    "no council meeting in {n} month(s)",
                    geometry=grids.set_index("code").geometry,
                ),
            )
        )
    for i, (name, step) in enumerate(steps):
        if progress:
            progress("checking", i, len(steps))
        results[name] = step()
    if progress:
        progress("checking", len(steps), len(steps))
    if inputs.input_findings:
        results["input_issues"] = pd.concat(inputs.input_findings, ignore_index=True)
    results.update(area_summary(grids, results))
    return results


def _with_geometry(table: pd.DataFrame, frame: gpd.GeoDataFrame, key: str) -> gpd.GeoDataFrame:
    geoms = frame.drop_duplicates("code").set_index("code").geometry
    return gpd.GeoDataFrame(
        table, geometry=geoms.reindex(table[key].astype(str)).to_numpy(), crs=frame.crs
    )


def _missed(
    table: pd.DataFrame,
    rule: str,
    entity: str,
    key: str,
    count: str,
    zh: str,
    en: str,
    *,
    geometry: gpd.GeoSeries | None = None,
) -> gpd.GeoDataFrame:
    """The rows of a compliance table that missed a period, as findings."""
    rows = table[table[count] > 0].reset_index(drop=True)
    n = rows[count].astype(int)
    geoms = None if geometry is None else geometry.reindex(rows[key].astype(str)).to_numpy()
    return findings(
        rule,
        "warning",
        entity,
        rows[key],
        [zh.format(n=v) for v in n],
        [en.format(n=v) for v in n],
        geometry=geoms,
        extra=rows,
    )


#: What the check reads of each layer: ``(columns, geometry)``; None = every column.
CHECK_READS: dict[str, tuple[list[str] | None, bool]] = {
    "communities": (None, True),
    "grids": (None, True),
    "buildings": (None, True),
    "households": (["building"], False),
    "organisations": (None, False),
    "members": (None, False),
    "assignments": (None, False),
    "visits": (["member", "household", "building", "visited_at"], False),
    "meetings": (None, False),
}


def inputs_from_store(store: Store) -> Inputs:
    """The layers of a store that the check uses, as its inputs.

    Only the columns the analyses use are read (:data:`CHECK_READS`): no visit
    notes, no household or visit points and no problems, which on a city's
    10,000,000 visits is most of the reading time and memory.
    """
    layers = {
        name: store.read_layer(name, columns=columns, geometry=geometry)
        for name, (columns, geometry) in CHECK_READS.items()
    }
    inputs = Inputs(layers.pop("grids"), layers.pop("buildings"), layers=layers)
    inputs.sources = {"store": store.url}
    return inputs
