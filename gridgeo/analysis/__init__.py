"""The analyses: pure functions from GeoDataFrames to GeoDataFrames or named Series."""

from gridgeo.analysis.coverage import (
    building_grid,
    buildings_outside,
    grid_communities,
    grid_gaps,
    grid_overlaps,
    metric_crs,
    straddling_buildings,
)
from gridgeo.analysis.findings import FINDING_COLUMNS, RULES, findings
from gridgeo.analysis.hotspots import (
    DensitySurface,
    aggregate,
    emerging_hotspots,
    gi_star,
    hotspot_layers,
    kernel_density,
    local_moran,
    mann_kendall,
    spatial_weights,
)
from gridgeo.analysis.lifecycle import (
    lifecycle_findings,
    lifecycle_table,
    overdue_problems,
    problem_areas,
    problem_lifecycle,
    problems_without_feedback,
    repeat_problems,
    unowned_problems,
)
from gridgeo.analysis.responsibility import (
    active_assignments,
    building_community,
    building_responsibility,
    community_leaders,
    household_responsibility,
    member_households,
    member_quota,
    multi_assigned_buildings,
    organisation_quota,
    shared_grids,
    unassigned_buildings,
)
from gridgeo.analysis.visits import (
    last_visits,
    leader_quarters,
    meeting_months,
    member_visit_weeks,
    visit_share,
    weekly_visit_share,
)

__all__ = [
    "FINDING_COLUMNS",
    "RULES",
    "findings",
    # coverage (R1–R3)
    "building_grid",
    "buildings_outside",
    "grid_communities",
    "grid_gaps",
    "grid_overlaps",
    "metric_crs",
    "straddling_buildings",
    # responsibility (R4–R7, R12)
    "active_assignments",
    "building_community",
    "building_responsibility",
    "community_leaders",
    "household_responsibility",
    "member_households",
    "member_quota",
    "multi_assigned_buildings",
    "organisation_quota",
    "shared_grids",
    "unassigned_buildings",
    # visits (R8, R9, R12)
    "last_visits",
    "leader_quarters",
    "meeting_months",
    "member_visit_weeks",
    "visit_share",
    "weekly_visit_share",
    # problem hotspots
    "DensitySurface",
    "aggregate",
    "emerging_hotspots",
    "gi_star",
    "hotspot_layers",
    "kernel_density",
    "local_moran",
    "mann_kendall",
    "spatial_weights",
    # problem-list lifecycle (R10, R11)
    "lifecycle_findings",
    "lifecycle_table",
    "overdue_problems",
    "problem_areas",
    "problem_lifecycle",
    "problems_without_feedback",
    "repeat_problems",
    "unowned_problems",
]
