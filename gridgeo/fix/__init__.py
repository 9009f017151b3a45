"""From findings to fixes: proposals a planner reviews before applying them.

The proposals are pure functions, like the analyses: frames in, frames out, no store
and no settings. :mod:`gridgeo.fix.jobs` runs them on a check's inputs with the policy's
thresholds and writes the proposal files; :mod:`gridgeo.fix.apply` applies an accepted
(perhaps edited) proposal file to a store, all rows or none.

- :func:`repair_grids`: a repaired grid coverage (seams and slivers closed, overlaps
  settled, grids kept inside their community), the edits, and what is left to decide.
- :func:`propose_assignments`: a member for every unassigned household (R6), the
  quota met where the grid allows it (R5), double responsibility settled (R7), and
  what falls to the community's cadres; :func:`apply_proposal` applies it in memory.
- :func:`member_workload`: each member's households and spread (the quality figures).
"""

from gridgeo.fix.assignments import AssignmentProposal, apply_proposal, propose_assignments
from gridgeo.fix.grids import GridRepair, repair_grids
from gridgeo.fix.workload import member_workload

__all__ = [
    "AssignmentProposal",
    "GridRepair",
    "apply_proposal",
    "member_workload",
    "propose_assignments",
    "repair_grids",
]
