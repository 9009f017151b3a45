"""The analyses: pure functions from GeoDataFrames to GeoDataFrames or named Series.

Every function takes its frames first and its options as keywords (the date, the
:class:`~gridgeo.policy.Policy`, the time zone), reads no settings, files or
databases, and returns a frame or a named Series. The packages, one per group of
rules:

- :mod:`~gridgeo.analysis.coverage`: gaps, overlaps, grids in communities and
  buildings in grids (R1–R3);
- :mod:`~gridgeo.analysis.responsibility`: assignments, unassigned and
  multi-assigned buildings, quotas, leaders (R4–R7, R12);
- :mod:`~gridgeo.analysis.visits`: visits and meetings per period (R8, R9, R12);
- :mod:`~gridgeo.analysis.lifecycle`: the problem list over time (R10, R11);
- :mod:`~gridgeo.analysis.hotspots`: problem hotspots;

and beside them :mod:`~gridgeo.analysis.findings` (the shape of every finding),
:mod:`~gridgeo.analysis.summary` (counts per area) and
:mod:`~gridgeo.analysis.frames` (helpers the analyses share).
"""

from gridgeo.analysis import coverage, lifecycle, responsibility, visits
from gridgeo.analysis.coverage import *  # noqa: F403
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
from gridgeo.analysis.lifecycle import *  # noqa: F403
from gridgeo.analysis.responsibility import *  # noqa: F403
from gridgeo.analysis.visits import *  # noqa: F403

__all__ = [
    "FINDING_COLUMNS",
    "RULES",
    "findings",
    *coverage.__all__,  # R1–R3
    *responsibility.__all__,  # R4–R7, R12
    *visits.__all__,  # R8, R9, R12
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
    *lifecycle.__all__,  # R10, R11
]
