"""Every step of ``gridgeo check``, declared once: what it needs, what it writes, how.

Each function below is one step: its decorator says which layers it needs (the step
does not run without them), which it uses when they are there and which it writes;
the function computes them from its :class:`~gridgeo.check.engine.Context`. Steps
marked ``internal`` prepare a layer for other steps (households from counts, local
visit days, who is responsible for what) and are not results themselves.

The order of the steps is derived from these declarations; the order they are
declared in is the order of the result layers. A new finding is one more function
here.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gridgeo.analysis import coverage, responsibility, summary, visits
from gridgeo.analysis.findings import findings
from gridgeo.analysis.frames import as_str
from gridgeo.check.engine import Context, Step, Steps
from gridgeo.check.inputs import members_named_by, organisations_named_by, stand_in_households
from gridgeo.errors import ValidationError
from gridgeo.localtime import local_days

__all__ = ["STEPS"]

_check = Steps()
step = _check.declare


def _households(c: Context) -> pd.DataFrame:
    """The households R5–R7 count, or none at all."""
    counted = c.get("counted_households")
    return counted if counted is not None else pd.DataFrame({"code": [], "building": []})


def _by_code(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a layer by code; of a code on several rows (files may have that), the first."""
    return frame.drop_duplicates("code").set_index("code")


def _with_geometry(table: pd.DataFrame, frame: gpd.GeoDataFrame, key: str) -> gpd.GeoDataFrame:
    """``table`` with the geometry of the ``frame`` row whose code is in its ``key`` column."""
    geoms = _by_code(frame).geometry
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


# ------------------------------------------------------------------ inputs made ready ----


@step(needs=("communities",), internal=True, absent="the communities have no geometry")
def community_areas(c: Context) -> gpd.GeoDataFrame | None:
    """The communities, when they have polygons (R3 needs them)."""
    communities = c["communities"]
    if isinstance(communities, gpd.GeoDataFrame) and communities.geometry.notna().any():
        return communities
    return None


@step(
    needs=("assignments", "buildings"),
    uses=("households",),
    internal=True,
    absent="no households, and the buildings have no households count",
)
def counted_households(c: Context) -> pd.DataFrame | None:
    """The households R5–R7 count: the layer, else one per household of each building."""
    if c.get("households") is not None:
        return c["households"]
    by_household = int((c["assignments"]["kind"] == "member_household").sum())
    if by_household:
        raise ValidationError(
            f"{c.sources.get('assignments', 'the assignments')}: {by_household} "
            "assignment(s) are of members to households; give --households FILE "
            "(code, building) so each household's building is known"
        )
    return stand_in_households(c["buildings"])


@step(uses=("members", "assignments"), internal=True, absent="no members and no assignments")
def member_roles(c: Context) -> pd.DataFrame | None:
    """The members and their roles: the layer, else as the assignments name them."""
    if c.get("members") is not None:
        return c["members"]
    if c.get("assignments") is not None:
        return members_named_by(c["assignments"])
    return None


@step(needs=("assignments",), uses=("organisations",), internal=True)
def organisation_kinds(c: Context) -> pd.DataFrame:
    """The organisations and their kinds: the layer, else as the assignments name them."""
    if c.get("organisations") is not None:
        return c["organisations"]
    return organisations_named_by(c["assignments"])


@step(needs=("visits",), internal=True)
def local_visits(c: Context) -> pd.DataFrame:
    """The visits with ``visited_at`` as a local day (every visit analysis works on days)."""
    v = c["visits"]
    return v.assign(visited_at=local_days(v["visited_at"], c.timezone))


# ------------------------------------------------------------------ coverage (R1–R3) -----


@step(needs=("grids",), uses=("district", "mask"))
def gaps(c: Context) -> gpd.GeoDataFrame:
    """Holes between grids, seam slivers and uncovered district area (R1, R2)."""
    return coverage.grid_gaps(
        c["grids"], district=c.get("district"), mask=c.get("mask"), policy=c.policy
    )


@step(needs=("grids",))
def overlaps(c: Context) -> gpd.GeoDataFrame:
    """Pairs of overlapping grids (R2)."""
    return coverage.grid_overlaps(c["grids"], policy=c.policy)


@step(needs=("buildings", "grids"))
def building_grid(c: Context) -> pd.DataFrame:
    """The grid holding most of each building."""
    return coverage.building_grid(c["buildings"], c["grids"], policy=c.policy)


@step(needs=("buildings", "grids"))
def straddling_buildings(c: Context) -> gpd.GeoDataFrame:
    """Buildings split between grids (R2)."""
    return coverage.straddling_buildings(c["buildings"], c["grids"], policy=c.policy)


@step(needs=("buildings", "grids"))
def buildings_outside(c: Context) -> gpd.GeoDataFrame:
    """Buildings in no grid (R1)."""
    return coverage.buildings_outside(c["buildings"], c["grids"], policy=c.policy)


@step(needs=("grids", "community_areas"))
def grid_communities(c: Context) -> gpd.GeoDataFrame:
    """Grids not in exactly one community (R3)."""
    return coverage.grid_communities(c["grids"], c["community_areas"], policy=c.policy)


# ------------------------------------------------------------------ responsibility -------


@step(needs=("assignments", "member_roles", "buildings"), uses=("counted_households",),
      internal=True)  # fmt: skip
def household_links(c: Context) -> responsibility.Links:
    """Who is responsible for which household (shared by R5, R6 and R7)."""
    return responsibility.household_links(
        _households(c),
        c["assignments"],
        as_of=c.as_of,
        buildings=as_str(c["buildings"]["code"]),
        members=c["member_roles"],
    )


@step(
    needs=("buildings", "grids", "assignments", "member_roles", "household_links", "building_grid"),
    uses=("counted_households",),
    internal=True,
)
def building_responsibility(c: Context) -> pd.DataFrame:
    """Responsible members and fallback cadres of each building (R6, R7)."""
    return responsibility.building_responsibility(
        c["buildings"],
        _households(c),
        c["assignments"],
        as_of=c.as_of,
        building_grid=c["building_grid"],
        grids=c["grids"],
        members=c["member_roles"],
        links=c["household_links"],
    )


@step(
    needs=("buildings", "assignments", "building_responsibility"),
    uses=("counted_households", "member_roles"),
)
def unassigned_buildings(c: Context) -> gpd.GeoDataFrame:
    """Buildings nobody is responsible for, with their fallback cadres (R6)."""
    return responsibility.unassigned_buildings(
        c["buildings"], _households(c), c["assignments"], as_of=c.as_of,
        members=c["member_roles"], responsibility=c["building_responsibility"],
    )  # fmt: skip


@step(
    needs=("buildings", "assignments", "building_responsibility"),
    uses=("counted_households", "member_roles"),
)
def multi_assigned_buildings(c: Context) -> gpd.GeoDataFrame:
    """Buildings several members are responsible for (R7)."""
    return responsibility.multi_assigned_buildings(
        c["buildings"], _households(c), c["assignments"], as_of=c.as_of,
        members=c["member_roles"], responsibility=c["building_responsibility"],
    )  # fmt: skip


@step(needs=("organisation_kinds", "assignments"))
def organisation_quota(c: Context) -> gpd.GeoDataFrame:
    """Partner-unit organisations linked to too few grids (R4)."""
    return responsibility.organisation_quota(
        c["organisation_kinds"], c["assignments"], as_of=c.as_of, policy=c.policy
    )


@step(needs=("assignments", "grids"))
def shared_grids(c: Context) -> gpd.GeoDataFrame:
    """Grids linked to several organisations (R4, for information)."""
    return responsibility.shared_grids(c["assignments"], as_of=c.as_of, grids=c["grids"])


@step(needs=("member_roles", "counted_households", "assignments", "household_links"))
def member_quota(c: Context) -> gpd.GeoDataFrame:
    """Members responsible for too few households (R5)."""
    return responsibility.member_quota(
        c["member_roles"], c["counted_households"], c["assignments"], as_of=c.as_of,
        policy=c.policy, links=c["household_links"],
    )  # fmt: skip


@step(needs=("communities", "assignments"))
def community_leaders(c: Context) -> gpd.GeoDataFrame:
    """Communities without a linked county-level leader (R12)."""
    return responsibility.community_leaders(c["communities"], c["assignments"], as_of=c.as_of)


# ------------------------------------------------------------------ visits and meetings --


@step(needs=("local_visits", "buildings"))
def last_visits(c: Context) -> gpd.GeoDataFrame:
    """The last visit of each building, and the days since."""
    table = visits.last_visits(
        c["buildings"], c["local_visits"], as_of=c.as_of, timezone=c.timezone
    )
    return _with_geometry(table, c["buildings"], "building_id")


@step(needs=("building_grid", "households", "local_visits"), internal=True)
def grid_of_building(c: Context) -> pd.Series:
    """Grid code by building code (buildings in a grid), for the visit shares."""
    placed = c["building_grid"].dropna(subset=["grid_id"])
    return pd.Series(placed["grid_id"].to_numpy(), index=placed["building_id"].to_numpy())


@step(needs=("grid_of_building", "grids"), internal=True)
def community_of_building(c: Context) -> pd.Series:
    """Community code by building code, through its grid, for the visit shares."""
    return c["grid_of_building"].map(_by_code(c["grids"])["community"])


@step(needs=("households", "local_visits"), internal=True)
def numbered_households(c: Context) -> visits.HouseholdBuildings:
    """The households' buildings numbered once for the three visit shares."""
    return visits.household_buildings(c["households"])


def _visit_share(c: Context, by: str) -> pd.DataFrame:
    return visits.visit_share(
        c["local_visits"], c["households"], by=c[by], as_of=c.as_of, timezone=c.timezone,
        numbered=c.get("numbered_households"),
    )  # fmt: skip


@step(needs=("local_visits", "households", "grid_of_building"), uses=("numbered_households",))
def visit_share_grids(c: Context) -> pd.DataFrame:
    """Share of each grid's households visited in the last 7 and 30 days."""
    return _visit_share(c, "grid_of_building")


@step(needs=("local_visits", "households", "community_of_building"),
      uses=("numbered_households",))  # fmt: skip
def visit_share_communities(c: Context) -> pd.DataFrame:
    """Share of each community's households visited in the last 7 and 30 days."""
    return _visit_share(c, "community_of_building")


@step(needs=("local_visits", "households", "grid_of_building"), uses=("numbered_households",))
def weekly_visit_share(c: Context) -> pd.DataFrame:
    """Share of each grid's households visited, week by week over the review period."""
    return visits.weekly_visit_share(
        c["local_visits"], c["households"], by=c["grid_of_building"], start=c.start,
        end=c.as_of, timezone=c.timezone, numbered=c.get("numbered_households"),
    )  # fmt: skip


@step(needs=("local_visits", "assignments", "member_roles"))
def visit_weeks(c: Context) -> gpd.GeoDataFrame:
    """Members with weeks without a visit (R8)."""
    weeks = visits.member_visit_weeks(
        c["local_visits"], c["member_roles"], c["assignments"], start=c.start, end=c.as_of,
        policy=c.policy, timezone=c.timezone,
    )  # fmt: skip
    return _missed(weeks, "R8", "members", "member_id", "weeks_missed",
                   "{n} 周没有入户走访", "no visit in {n} week(s)")  # fmt: skip


@step(
    needs=("local_visits", "assignments", "member_roles", "communities", "building_grid", "grids"),
    uses=("households",),
)
def leader_quarters(c: Context) -> gpd.GeoDataFrame:
    """Linked leaders with quarters without a visit to their community (R12)."""
    quarters = visits.leader_quarters(
        c["local_visits"], c["member_roles"], c["assignments"], start=c.start, end=c.as_of,
        building_community=responsibility.building_community(c["building_grid"], c["grids"]),
        households=c.get("households"), policy=c.policy, timezone=c.timezone,
    )  # fmt: skip
    return _missed(quarters, "R12", "members", "member_id", "quarters_missed",
                   "{n} 个季度未到联系社区调度",
                   "no visit to the linked community in {n} quarter(s)")  # fmt: skip


@step(needs=("meetings", "grids"))
def meeting_months(c: Context) -> gpd.GeoDataFrame:
    """Grids with months without a council meeting (R9)."""
    months = visits.meeting_months(
        c["meetings"], c["grids"], start=c.start, end=c.as_of, policy=c.policy,
        timezone=c.timezone,
    )  # fmt: skip
    return _missed(months, "R9", "grids", "grid_id", "months_missed",
                   "{n} 个月未召开网格议事会", "no council meeting in {n} month(s)",
                   geometry=_by_code(c["grids"]).geometry)  # fmt: skip


# ------------------------------------------------------------------ about the inputs, summary


@step(uses=("input_findings",), absent="the input files had no problems of their own")
def input_issues(c: Context) -> gpd.GeoDataFrame | None:
    """What was wrong with the input files themselves (duplicate codes, invalid polygons)."""
    found = c.get("input_findings")
    return pd.concat(found, ignore_index=True) if found else None


@step(
    needs=("grids", "building_grid"),
    uses=("gaps", "overlaps", "straddling_buildings", "unassigned_buildings",
          "multi_assigned_buildings"),
    writes=("summary_grids", "summary_communities", "summary_district"),
)  # fmt: skip
def area_summary(c: Context) -> dict[str, pd.DataFrame]:
    """Findings counted per grid, community and district, with a coverage score."""
    return summary.area_summary(c["grids"], c.layers)


#: the steps of the check, in the order they are declared (the order of the results)
STEPS: tuple[Step, ...] = tuple(_check)
