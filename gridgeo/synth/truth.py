"""The record of the planted defects, by code: ``District.defects``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from gridgeo.synth.assignments import Responsibility
from gridgeo.synth.buildings import PLANTED_IN_GAP, PLANTED_STRADDLER, Buildings
from gridgeo.synth.defects import GeometryDefects
from gridgeo.synth.lifecycle import CLOSED, ESCALATED, NEVER, OPEN
from gridgeo.synth.meetings import Meetings
from gridgeo.synth.parameters import SECONDS_PER_DAY, Parameters
from gridgeo.synth.people import Organisations, People
from gridgeo.synth.problems import Hotspots, Problems
from gridgeo.synth.projection import Geometries, Projection
from gridgeo.synth.visits import VisitCompliance
from gridgeo.synth.vocabulary import Vocabulary

__all__ = ["record_defects"]


def _codes(codes: pa.Array, index: Any) -> list[str]:
    return codes.take(pa.array(np.asarray(index, np.int64))).to_pylist()


def record_defects(
    params: Parameters,
    codes: Mapping[str, pa.Array],
    *,
    planted: GeometryDefects,
    geometries: Geometries,
    buildings: Buildings,
    household_offsets: np.ndarray,
    organisations: Organisations,
    people: People,
    responsibility: Responsibility,
    compliance: VisitCompliance,
    meetings: Meetings,
    problems: Problems,
    hotspots: Hotspots,
    projection: Projection,
    vocabulary: Vocabulary,
) -> dict[str, object]:
    """Every planted defect, as documented in :func:`gridgeo.synth.generate`.

    Parameters
    ----------
    params
        The period and ``min_member_households``.
    codes
        The codes of each layer's rows, by layer name.
    planted, geometries, buildings, household_offsets, organisations, people,
    responsibility, compliance, meetings, problems, hotspots, projection, vocabulary
        What the stages planted and measured.

    Returns
    -------
    dict
        The defects by name; magnitudes measured in metres on the generated geometries.
    """
    grid_codes = codes["grids"]
    defects: dict[str, object] = {}
    for strip in planted.strips:
        defects[strip.kind] = {
            "grids": _codes(grid_codes, strip.grids),
            strip.size_name: strip.size_m,
            "area_m2": geometries.strip_areas_m2[strip.kind],
            "geometry": geometries.strips[strip.kind],
        }
    defects["grid_with_two_organisations"] = {
        "grid": grid_codes[organisations.grid_with_two].as_py(),
        "organisations": _codes(
            codes["organisations"],
            [
                organisations.grid_organisation[organisations.grid_with_two],
                organisations.second_organisation,
            ],
        ),
    }
    start = params.start
    emerging_from = start + dt.timedelta(days=hotspots.emerging_day)
    defects["period"] = {
        "start": start,
        "end": params.end,
        "weeks": int(params.weeks),
        "emerging_from": emerging_from,
    }
    defects.update(
        _building_defects(codes, planted, geometries, buildings, household_offsets, projection)
    )
    defects.update(
        _people_defects(params, codes, organisations, people, responsibility, compliance)
    )
    defects["grids_missing_meetings"] = [
        [grid_codes[grid].as_py(), month] for grid, month in meetings.missing
    ]
    defects["hotspots"] = _hotspots(
        buildings, problems, hotspots, projection, vocabulary, emerging_from
    )
    defects.update(_problem_defects(params, codes["problems"], problems))
    return defects


def _building_defects(
    codes: Mapping[str, pa.Array],
    planted: GeometryDefects,
    geometries: Geometries,
    buildings: Buildings,
    household_offsets: np.ndarray,
    projection: Projection,
) -> dict[str, object]:
    """Straddling buildings (their share measured in metres) and those outside the grids."""
    building_codes, grid_codes = codes["buildings"], codes["grids"]
    straddlers = np.flatnonzero(buildings.planted >= PLANTED_STRADDLER)
    straddlers = straddlers[np.argsort(buildings.planted[straddlers])]  # in planting order
    straddling = []
    for building, (major, minor) in zip(straddlers, planted.straddler_grids, strict=True):
        polygon = projection.metric(geometries.buildings[building])
        inside = shapely.intersection(polygon, geometries.grids_metric[major])
        straddling.append(
            {
                "building": building_codes[int(building)].as_py(),
                "grids": _codes(grid_codes, [major, minor]),
                "share": round(float(shapely.area(inside) / shapely.area(polygon)), 3),
            }
        )
    gap = np.flatnonzero(buildings.planted == PLANTED_IN_GAP)
    in_gap = np.concatenate(
        [
            np.arange(household_offsets[building], household_offsets[building + 1])
            for building in gap
        ]
    )
    return {
        "straddling_buildings": straddling,
        "buildings_outside_grids": _codes(building_codes, gap),
        "households_outside_grids": _codes(codes["households"], in_gap),
    }


def _people_defects(
    params: Parameters,
    codes: Mapping[str, pa.Array],
    organisations: Organisations,
    people: People,
    responsibility: Responsibility,
    compliance: VisitCompliance,
) -> dict[str, object]:
    """Responsibility gaps and doubles, and who does not visit."""
    member_codes, first_partner = codes["members"], people.first_partner
    order = np.argsort(responsibility.double_buildings)
    doubles = zip(
        _codes(codes["buildings"], responsibility.double_buildings[order]),
        _codes(member_codes, first_partner + responsibility.double_first[order]),
        _codes(member_codes, first_partner + responsibility.double_second[order]),
        strict=True,
    )
    few = responsibility.households_per_partner < params.min_member_households
    silent = compliance.silent_leader
    return {
        "unassigned_buildings": _codes(
            codes["buildings"], np.flatnonzero(~responsibility.building_assigned)
        ),
        "double_assigned_buildings": {
            building: [first, second] for building, first, second in doubles
        },
        "expired_assignments": _codes(codes["assignments"], responsibility.expired_rows),
        "members_under_10": _codes(member_codes, first_partner + np.flatnonzero(few)),
        "organisation_without_grid": codes["organisations"][organisations.without_grid].as_py(),
        "community_without_leader": codes["communities"][people.community_without_leader].as_py(),
        "leaders_without_visits": _codes(member_codes, [silent] if silent >= 0 else []),
        "never_visiting_members": _codes(
            member_codes, first_partner + np.flatnonzero(compliance.never_visiting)
        ),
        "members_missing_weeks": _codes(
            member_codes, first_partner + np.flatnonzero(compliance.missing_weeks)
        ),
    }


def _hotspots(
    buildings: Buildings,
    problems: Problems,
    hotspots: Hotspots,
    projection: Projection,
    vocabulary: Vocabulary,
    emerging_from: dt.date,
) -> list[dict[str, object]]:
    """Centre, spread, category and number of problems of each planted hotspot."""
    record = []
    count = len(hotspots.centre_building)
    for spot, centre in enumerate(hotspots.centre_building):
        lon, lat = projection.lonlat(
            buildings.centre_x[centre : centre + 1], buildings.centre_y[centre : centre + 1]
        )
        emerging = spot == count - 1
        record.append(
            {
                "center": (round(float(lon[0]), 6), round(float(lat[0]), 6)),
                "sigma_m": round(float(hotspots.sigma_m[spot]), 1),
                "category": vocabulary.categories[int(hotspots.category[spot])],
                "emerging": emerging,
                "since": emerging_from if emerging else None,
                "problems": int((problems.hotspot == spot).sum()),
            }
        )
    return record


def _problem_defects(
    params: Parameters, problem_codes: pa.Array, problems: Problems
) -> dict[str, object]:
    """Overdue problems, and those closed without feedback, responsible or deadline."""
    period_days = params.period_seconds // SECONDS_PER_DAY
    overdue = (
        np.isin(problems.lifecycle.status, [OPEN, ESCALATED])
        & (problems.lifecycle.resolved >= NEVER)
        & ~problems.no_deadline
        & (problems.deadline < period_days)
    )
    closed = problems.lifecycle.status == CLOSED
    closed_without_feedback = closed & (problems.lifecycle.feedback >= NEVER)
    return {
        "overdue_problems": _codes(problem_codes, np.flatnonzero(overdue)),
        "closed_without_feedback": _codes(problem_codes, np.flatnonzero(closed_without_feedback)),
        "problems_without_responsible": _codes(
            problem_codes, np.flatnonzero(problems.responsible < 0)
        ),
        "problems_without_deadline": _codes(problem_codes, np.flatnonzero(problems.no_deadline)),
    }
