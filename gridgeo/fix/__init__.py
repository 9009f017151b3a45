"""From findings to fixes: proposals a planner reviews before applying them.

Pure functions, like the analyses: frames in, frames out, no store and no settings.

- :func:`repair_grids`: a repaired grid coverage (seams and slivers closed, overlaps
  settled, grids kept inside their community), the edits, and what is left to decide.
"""

from gridgeo.fix.grids import GridRepair, repair_grids

__all__ = ["GridRepair", "repair_grids"]
