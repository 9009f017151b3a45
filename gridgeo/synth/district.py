"""A generated district, and :func:`generate`, which runs the stages one after the other."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa

from gridgeo.layers import LAYER_ORDER
from gridgeo.synth.activity_frames import meeting_frame, problem_frame, visit_frame
from gridgeo.synth.assignments import assign
from gridgeo.synth.calibration import lay_out, place_buildings
from gridgeo.synth.defects import plant_geometry_defects
from gridgeo.synth.households import create_households
from gridgeo.synth.meetings import hold_meetings
from gridgeo.synth.parameters import Parameters, Progress, resolve_parameters
from gridgeo.synth.people import organise
from gridgeo.synth.people_frames import assignment_frame, member_frame, organisation_frame
from gridgeo.synth.place_frames import building_frame, community_frame, grid_frame, household_frame
from gridgeo.synth.problems import report_problems
from gridgeo.synth.projection import Projection, project
from gridgeo.synth.truth import record_defects
from gridgeo.synth.visits import generate_visits
from gridgeo.synth.vocabulary import Vocabulary, load_vocabulary

__all__ = ["STAGES", "District", "Place", "Sink", "generate"]

#: ``sink(layer, frame)``: takes each layer's frame as soon as it is built; the frame is
#: then dropped, so a caller that writes it out holds one layer's frame at a time.
Sink = Callable[[str, pd.DataFrame], None]
#: ``place(extent) -> (origin_x, origin_y)``: where a district goes in UTM 51N, given the
#: ``(min_x, min_y, max_x, max_y)`` metres its turned lattice and points span around its
#: origin (see :meth:`Projection.extent`); without it the district is centred on
#: ``(lon, lat)``.
Place = Callable[[tuple[float, ...]], tuple[float, float]]

#: What each stage does, as :func:`generate` reports it to ``progress``.
STAGES = (
    "laying out streets, grids and communities",
    "placing buildings",
    "planting geometry defects",
    "creating households",
    "creating organisations and members",
    "assigning responsibility",
    "generating visits",
    "generating meetings",
    "generating problems",
    "projecting to EPSG:4326",
    "building frames",
)


@dataclass(eq=False)
class District:
    """A generated district: the ten layers and the defects planted in them.

    Attributes
    ----------
    layers
        One frame per layer, keyed by layer name in :data:`gridgeo.layers.LAYER_ORDER`
        order. Columns are the layer's field names in order, plus ``geometry`` (EPSG:4326)
        for spatial layers. References hold codes.
    defects
        The deliberate defects, keyed by defect name (see :func:`generate`), with the
        codes involved and, where meaningful, the expected magnitude.
    seed
        The seed it was generated from.
    scale
        Name of the preset (``"custom"`` for a dict).
    """

    layers: dict[str, pd.DataFrame | gpd.GeoDataFrame]
    defects: dict[str, object]
    seed: int
    scale: str

    @property
    def counts(self) -> dict[str, int]:
        """Number of rows per layer."""
        return {name: len(frame) for name, frame in self.layers.items()}

    def __repr__(self) -> str:
        counts = ", ".join(f"{layer}={rows}" for layer, rows in self.counts.items())
        return f"District(scale={self.scale!r}, seed={self.seed}, {counts})"


def generate(
    scale: str | dict[str, Any] = "sample",
    *,
    seed: int = 0,
    start: dt.date | None = None,
    weeks: int | None = None,
    progress: Progress | None = None,
    **overrides: Any,
) -> District:
    """Generate a synthetic district with planted defects.

    Parameters
    ----------
    scale
        Name of a preset in :data:`SCALES` (``"tiny"``, ``"sample"``, ``"city"``), or a
        dict of parameters applied on top of the ``"sample"`` preset.
    seed
        Seed of every random draw: the same seed and parameters give identical frames.
    start
        First day (local time) of the visit period; defaults to the preset's ``start``.
    weeks
        Length of the visit period in weeks; defaults to the preset's ``weeks``.
    progress
        Called as ``progress(stage_description, done, total)``: each stage reports
        ``(stage, 0, 1)`` when it starts and ``(stage, 1, 1)`` when it is done.
    **overrides
        Any key of the preset, e.g. ``buildings=5000`` or ``gap_width_m=12``.

    Returns
    -------
    District
        The layers and ``defects``, a dict with these keys:

        ``period``
            ``{"start": date, "end": date, "weeks": int, "emerging_from": date}``: the
            visit period (``end`` exclusive, local dates) — context, not a defect.
        ``gap``
            ``{"grids": [a, b], "width_m", "area_m2", "geometry"}``: a strip
            ``width_m`` wide along the shared edge of grids ``a`` and ``b`` that no grid
            covers (``geometry``: the strip, EPSG:4326).
        ``sliver``
            Same keys: a wedge-shaped seam gap at most ``width_m`` (< 1 m) wide.
        ``overlap``
            ``{"grids": [a, b], "depth_m", "area_m2", "geometry"}``: grid ``a`` extends
            ``depth_m`` into grid ``b``; ``geometry`` is the overlapping strip.
        ``straddling_buildings``
            List of ``{"building", "grids": [major, minor], "share"}``: buildings split
            between two grids; ``share`` of the area lies in ``major`` (about 0.6).
        ``buildings_outside_grids`` / ``households_outside_grids``
            Codes of the building placed inside the gap, and of its households.
        ``unassigned_buildings``
            Buildings with no current responsible member (about 2 %, plus the building
            in the gap): neither a ``member_building`` assignment nor a
            ``member_household`` one for any of their households.
        ``double_assigned_buildings``
            ``{building: [member, member]}``: about 1 % of buildings with two current
            ``member_building`` assignments.
        ``expired_assignments``
            Codes of ``member_building`` assignments that ended before the period (a
            previous member; not a double assignment if validity is respected).
        ``members_under_10``
            Partner members (role ``member``) with fewer than 10 current households
            (planted ones, leftovers, and the members of the organisation with no grid).
        ``organisation_without_grid``
            Code of a partner-unit organisation with no ``organisation_grid`` assignment.
        ``grid_with_two_organisations``
            ``{"grid", "organisations": [o1, o2]}``.
        ``community_without_leader``
            Code of the community with no ``leader_community`` assignment.
        ``leaders_without_visits``
            Leaders linked to a community who made no visit in the period.
        ``never_visiting_members``
            Partner members with no visit in the period.
        ``members_missing_weeks``
            Partner members with at least one household and at least one week (of the
            period's ``weeks`` weeks, counted from ``start``) without a visit.
        ``grids_missing_meetings``
            ``[grid, "YYYY-MM"]`` pairs: calendar months of the period in which the grid
            held no council meeting.
        ``hotspots``
            List of ``{"center": (lon, lat), "sigma_m", "category", "emerging",
            "since", "problems"}``: the planted problem clusters (Gaussian spread
            ``sigma_m``); the emerging one only has problems from ``since`` on.
        ``overdue_problems``
            Problems with status ``open`` or ``escalated``, not resolved, whose deadline
            is before the end of the period.
        ``closed_without_feedback``
            Closed problems with no ``feedback_at``.
        ``problems_without_responsible`` / ``problems_without_deadline``
            Codes of problems missing a responsible member / a deadline.

    Examples
    --------
    >>> d = generate("tiny", seed=1)
    >>> list(d.layers) == list(LAYER_ORDER)
    True
    >>> d.defects["gap"]["width_m"]
    8.0
    """
    params, name = resolve_parameters(scale, overrides, seed=seed, start=start, weeks=weeks)
    layers, defects = _generate(params, load_vocabulary(), progress)
    layers = {layer: layers[layer] for layer in LAYER_ORDER}
    return District(layers=layers, defects=defects, seed=params.seed, scale=name)


@contextlib.contextmanager
def _stage(progress: Progress | None, description: str) -> Iterator[None]:
    """Report ``(description, 0, 1)`` before a stage and ``(description, 1, 1)`` after it."""
    if progress is not None:
        progress(description, 0, 1)
    yield
    if progress is not None:
        progress(description, 1, 1)


class _Layers(dict):
    """The frames as they are built: kept, or handed to a sink and not kept."""

    def __init__(self, sink: Sink | None) -> None:
        super().__init__()
        self.sink = sink

    def __setitem__(self, name: str, frame: pd.DataFrame) -> None:
        if self.sink is None:
            super().__setitem__(name, frame)
        else:
            self.sink(name, frame)


def _simulate(
    params: Parameters, vocabulary: Vocabulary, progress: Progress | None, place: Place | None
) -> tuple:
    """Stages 1–10: everything the frames are built from."""
    with _stage(progress, STAGES[0]):
        layout, fill = lay_out(params, vocabulary)
    with _stage(progress, STAGES[1]):
        buildings = place_buildings(fill)
        del fill
    with _stage(progress, STAGES[2]):
        buildings, planted = plant_geometry_defects(params, layout, buildings)
    with _stage(progress, STAGES[3]):
        households, household_positions = create_households(params, buildings)
    with _stage(progress, STAGES[4]):
        organisations, people = organise(params, layout.plan)
    with _stage(progress, STAGES[5]):
        responsibility, member_households, rows = assign(
            params, layout.plan, buildings, households, organisations, people
        )
    with _stage(progress, STAGES[6]):
        visits, visit_positions, compliance = generate_visits(
            params, layout.plan, buildings, households, household_positions, people,
            responsibility, member_households,
        )  # fmt: skip
        del member_households
    with _stage(progress, STAGES[7]):
        meetings = hold_meetings(params, layout.plan, vocabulary)
    with _stage(progress, STAGES[8]):
        problems, problem_positions, hotspots = report_problems(
            params, layout, buildings, household_positions, visits, people, responsibility,
            vocabulary,
        )  # fmt: skip
    with _stage(progress, STAGES[9]):
        projection = Projection.of(params, layout)
        positions = {
            "households": household_positions,
            "visits": visit_positions,
            "problems": problem_positions,
        }
        if place is not None:
            projection = projection.placed(place(projection.extent(layout, positions)))
        del household_positions, visit_positions, problem_positions
        geometries = project(projection, layout, buildings, planted, positions, visits.gps_missing)
        del positions
    return (
        layout, buildings, planted, households, organisations, people, responsibility, rows,
        visits, compliance, meetings, problems, hotspots, projection, geometries,
    )  # fmt: skip


def _generate(
    params: Parameters,
    vocabulary: Vocabulary,
    progress: Progress | None,
    place: Place | None = None,
    sink: Sink | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, object]]:
    """The layers and the defects; each stage's output is dropped once its frame is built.

    With ``sink``, each frame goes to it as soon as it is built and the layers returned
    are empty.
    """
    (
        layout, buildings, planted, households, organisations, people, responsibility, rows,
        visits, compliance, meetings, problems, hotspots, projection, geometries,
    ) = _simulate(params, vocabulary, progress, place)  # fmt: skip
    with _stage(progress, STAGES[10]):
        rng = params.rng("names")
        layers: dict[str, pd.DataFrame] = _Layers(sink)
        codes: dict[str, pa.Array] = {}
        layers["communities"], codes["communities"], community_names = community_frame(
            rng, params, layout, vocabulary, geometries
        )
        layers["grids"], codes["grids"] = grid_frame(layout, codes["communities"], geometries)
        layers["buildings"], codes["buildings"] = building_frame(
            layout, buildings, planted, geometries
        )
        layers["households"], codes["households"] = household_frame(
            rng, households, codes["buildings"], vocabulary, geometries
        )
        household_offsets = households.building_offsets
        del households
        layers["organisations"], codes["organisations"] = organisation_frame(
            rng, organisations, codes["communities"], community_names, vocabulary
        )
        layers["members"], codes["members"] = member_frame(
            rng, layout.plan, organisations, people, responsibility, codes, vocabulary
        )
        layers["assignments"], codes["assignments"] = assignment_frame(rows, codes)
        del rows
        layers["visits"], codes["visits"] = visit_frame(
            params, visits, codes, vocabulary, geometries
        )
        del visits
        pa.default_memory_pool().release_unused()
        layers["meetings"] = meeting_frame(meetings, codes["grids"], vocabulary)
        layers["problems"], codes["problems"] = problem_frame(
            params, problems, codes, vocabulary, geometries
        )
        defects = record_defects(
            params, codes, planted=planted, geometries=geometries, buildings=buildings,
            household_offsets=household_offsets, organisations=organisations, people=people,
            responsibility=responsibility, compliance=compliance, meetings=meetings,
            problems=problems, hotspots=hotspots, projection=projection, vocabulary=vocabulary,
        )  # fmt: skip
    return layers, defects
