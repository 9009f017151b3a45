"""The parameters of a synthetic district: presets, overrides, checks and random streams."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

__all__ = [
    "DEFAULTS",
    "METRIC_CRS",
    "SCALES",
    "SECONDS_PER_DAY",
    "STREAMS",
    "UTC_OFFSET_SECONDS",
    "Parameters",
    "Progress",
    "resolve_parameters",
]

#: ``progress(stage_description, done, total)``, as :func:`gridgeo.synth.generate` takes it.
Progress = Callable[[str, int, int], None]

#: CRS the district is built in (UTM zone 51N, metres).
METRIC_CRS = "EPSG:32651"
#: Asia/Shanghai is UTC+8 all year (no daylight saving).
UTC_OFFSET_SECONDS = 8 * 3600
SECONDS_PER_DAY = 86400

#: Every parameter and its value in the ``"sample"`` preset.
DEFAULTS: dict[str, Any] = {
    # sizes (targets: the generator calibrates block size and building mix to them)
    "communities": 4,
    "grids": 36,
    "buildings": 3000,
    "households": 15000,
    "visits": 24000,
    "problems": 2000,
    "weeks": 12,
    "hotspots": 3,
    "straddling": 2,
    # place and time
    "lon": 121.44,
    "lat": 31.22,
    "district": "长宁区",
    "start": dt.date(2025, 3, 3),
    "rotation_deg": None,  # None: drawn from the seed, within ±12°
    # grid layout: probabilities of 1×1, 2×1, 1×2, 2×2 blocks per grid
    "grid_shapes": (0.42, 0.22, 0.22, 0.14),
    "split_block_share": 0.04,  # share of blocks split between two grids
    "parcel_split_share": 0.3,  # share of blocks divided by an internal lane
    "open_parcel_share": 0.06,  # parks, schools, sports grounds: no buildings
    # defects
    "gap_width_m": 8.0,
    "sliver_width_m": 0.4,
    "overlap_depth_m": 10.0,
    "straddle_share": 0.6,
    "unassigned_share": 0.02,
    "double_share": 0.01,
    "expired_share": 0.005,
    "under10_share": 0.01,
    "missing_meeting_share": 0.04,
    # responsibility
    "member_households": (15, 35),  # households per member, drawn per grid
    "min_member_households": 10,
    "big_building_households": 30,  # bigger buildings are shared out by household
    # visits: shares of regular / irregular / never-visiting members
    "compliance": (0.86, 0.10, 0.04),
    "irregular_week_share": 0.55,
    "gps_missing_share": 0.08,
    # problems
    "hotspot_share": 0.5,
    "problem_paths": (0.6, 0.3, 0.1),  # resolved on site / escalated / left open
    "visit_link_share": 0.85,
    "no_feedback_share": 0.08,
    "no_responsible_share": 0.04,
    "no_deadline_share": 0.04,
}

#: Named presets: complete parameter sets (``generate(**overrides)`` changes any key).
SCALES: dict[str, dict[str, Any]] = {
    "tiny": {
        **DEFAULTS,
        "communities": 2,
        "grids": 8,
        "buildings": 300,
        "households": 1500,
        "visits": 3000,
        "problems": 200,
        "hotspots": 2,
        "straddling": 1,
    },
    "sample": dict(DEFAULTS),
    "city": {
        **DEFAULTS,
        "communities": 500,
        "grids": 10_000,
        "buildings": 1_000_000,
        "households": 5_000_000,
        "visits": 10_000_000,
        "problems": 1_000_000,
        "hotspots": 40,
        "straddling": 10,
    },
}

#: The named random streams, one per stage; each is seeded by ``(seed, 101 + position)``.
STREAMS = (
    "layout",
    "lattice",
    "fill",
    "attrs",
    "defects",
    "households",
    "people",
    "assign",
    "visits",
    "meetings",
    "problems",
    "names",
)


@dataclass(frozen=True)
class Parameters:
    """One complete, checked parameter set and the seed (see :data:`DEFAULTS`)."""

    seed: int
    communities: int
    grids: int
    buildings: int
    households: int
    visits: int
    problems: int
    weeks: int
    hotspots: int
    straddling: int
    lon: float
    lat: float
    district: str
    start: dt.date
    rotation_deg: float | None
    grid_shapes: tuple[float, float, float, float]
    split_block_share: float
    parcel_split_share: float
    open_parcel_share: float
    gap_width_m: float
    sliver_width_m: float
    overlap_depth_m: float
    straddle_share: float
    unassigned_share: float
    double_share: float
    expired_share: float
    under10_share: float
    missing_meeting_share: float
    member_households: tuple[int, int]
    min_member_households: int
    big_building_households: int
    compliance: tuple[float, float, float]
    irregular_week_share: float
    gps_missing_share: float
    hotspot_share: float
    problem_paths: tuple[float, float, float]
    visit_link_share: float
    no_feedback_share: float
    no_responsible_share: float
    no_deadline_share: float

    def rng(self, stream: str) -> np.random.Generator:
        """A new generator of the named stream: each call starts the stream again.

        Parameters
        ----------
        stream
            One of :data:`STREAMS`.

        Returns
        -------
        numpy.random.Generator
            Seeded by ``(seed, 101 + STREAMS.index(stream))``.
        """
        return np.random.default_rng([self.seed, STREAMS.index(stream) + 101])

    @property
    def start_day(self) -> int:
        """First day of the visit period, in days since 1970-01-01."""
        return (self.start - dt.date(1970, 1, 1)).days

    @property
    def end(self) -> dt.date:
        """First day after the visit period."""
        return self.start + dt.timedelta(weeks=int(self.weeks))

    @property
    def period_seconds(self) -> int:
        """Length of the visit period in seconds."""
        return int(self.weeks) * 7 * SECONDS_PER_DAY


def resolve_parameters(
    scale: str | dict[str, Any],
    overrides: dict[str, Any],
    *,
    seed: int,
    start: dt.date | None = None,
    weeks: int | None = None,
) -> tuple[Parameters, str]:
    """The checked parameters of a preset or dict with overrides, and the scale's name.

    Parameters
    ----------
    scale
        Name of a preset in :data:`SCALES`, or a dict applied on top of ``"sample"``.
    overrides
        Keys of :data:`DEFAULTS` and their values.
    seed
        Non-negative integer seed.
    start, weeks
        Replace the preset's ``start`` and ``weeks`` when given.

    Returns
    -------
    tuple of (Parameters, str)
        The parameters and the scale's name (``"custom"`` for a dict).

    Raises
    ------
    TypeError
        An unknown parameter, a scale that is neither a name nor a dict, a start that is
        not a date.
    ValueError
        An unknown scale, a size or share out of range, a negative seed.
    """
    values, name = _preset(scale, overrides)
    if start is not None:
        values["start"] = start
    if weeks is not None:
        values["weeks"] = weeks
    _check(values)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    names = [field.name for field in fields(Parameters)]
    return Parameters(seed=int(seed), **{key: values[key] for key in names[1:]}), name


def _preset(scale: str | dict[str, Any], overrides: dict[str, Any]) -> tuple[dict, str]:
    if isinstance(scale, str):
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; known scales: {', '.join(SCALES)}")
        values, name = dict(SCALES[scale]), scale
    elif isinstance(scale, dict):
        values, name = dict(SCALES["sample"]), "custom"
        overrides = {**scale, **overrides}
    else:
        raise TypeError(f"scale must be a preset name or a dict, got {type(scale).__name__}")
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if unknown:
        raise TypeError(
            f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(DEFAULTS))}"
        )
    values.update(overrides)
    return values, name


def _check(values: dict[str, Any]) -> None:
    for key in ("communities", "grids", "buildings", "households", "weeks", "straddling"):
        if int(values[key]) < 1:
            raise ValueError(f"{key} must be at least 1, got {values[key]!r}")
    for key in ("visits", "problems", "hotspots"):
        if int(values[key]) < 0:
            raise ValueError(f"{key} must not be negative, got {values[key]!r}")
    if values["communities"] > values["grids"]:
        raise ValueError("communities must not outnumber grids")
    if values["grids"] < 6:
        raise ValueError("at least 6 grids are needed to plant the grid defects")
    if not isinstance(values["start"], dt.date):
        raise TypeError(f"start must be a datetime.date, got {values['start']!r}")
    if not 0 < values["sliver_width_m"] < values["gap_width_m"]:
        raise ValueError("need 0 < sliver_width_m < gap_width_m")
    if not 0.5 < values["straddle_share"] < 0.95:
        raise ValueError("straddle_share must be between 0.5 and 0.95")
