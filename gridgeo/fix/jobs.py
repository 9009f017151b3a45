"""The two proposals as jobs: the check's inputs in, a proposal GeoPackage (and workbook) out.

These are what ``gridgeo fix grids`` and ``gridgeo fix assignments`` run. The inputs
are the check's (:class:`gridgeo.check.Inputs`, from a store or from a planner's
files) and the thresholds come from the policy, so a proposal is made on the same
data and by the same rules as the findings it answers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gridgeo.check.inputs import Inputs
from gridgeo.check.output import write_results
from gridgeo.errors import ValidationError
from gridgeo.fix.assignments import AssignmentProposal, propose_assignments
from gridgeo.fix.grids import GridRepair, repair_grids
from gridgeo.policy import Policy

__all__ = [
    "PROPOSAL_KINDS",
    "ProposalFiles",
    "fix_assignments",
    "fix_grids",
    "write_assignment_proposal",
    "write_grid_repair",
]

#: The layer that tells a proposal GeoPackage's kind (what ``gridgeo apply`` applies).
PROPOSAL_KINDS = {"grids": "changes", "assignments": "actions"}

#: The layers an assignment proposal needs besides grids and buildings.
_NEEDS = ("households", "members", "assignments")


@dataclass(frozen=True)
class ProposalFiles:
    """Where a proposal was written."""

    gpkg: Path
    xlsx: Path


def fix_grids(inputs: Inputs, *, policy: Policy, as_of: dt.date) -> GridRepair:
    """:func:`gridgeo.fix.repair_grids` on a check's inputs, with the policy's thresholds."""
    layers = inputs.layers
    return repair_grids(
        inputs.grids,
        communities=layers.get("communities"),
        buildings=inputs.buildings,
        households=layers.get("households"),
        members=layers.get("members"),
        assignments=layers.get("assignments"),
        as_of=as_of,
        snap_distance=policy.fix_snap_distance_m,
        max_gap_width=policy.sliver_width_m,
        min_area=policy.min_gap_area_m2,
        crs=policy.metric_crs,
    )


def fix_assignments(inputs: Inputs, *, policy: Policy, as_of: dt.date) -> AssignmentProposal:
    """:func:`gridgeo.fix.propose_assignments` on a check's inputs.

    Raises
    ------
    ValidationError
        The households, members or assignments are missing: without them there is
        nobody to propose and nothing to propose for.
    """
    missing = [name for name in _NEEDS if inputs.layers.get(name) is None]
    if missing:
        raise ValidationError(
            f"a proposal of assignments needs the {', '.join(missing)}: "
            + ("give them with --" + " / --".join(missing) if "store" not in inputs.sources
               else "import them into the store first")
        )  # fmt: skip
    layers = inputs.layers
    return propose_assignments(
        layers["households"],
        inputs.buildings,
        inputs.grids,
        layers["members"],
        layers["assignments"],
        as_of=as_of,
        quota=policy.min_member_households,
        cap=policy.max_member_households,
    )


def write_grid_repair(repair: GridRepair, out: Path, *, lang: str = "zh") -> ProposalFiles:
    """The repaired ``grids``, the ``changes`` and what is ``left`` to decide, as files.

    ``lang`` is the language of the workbook's sheet names and headings and of the
    GeoPackage's field titles (the layer and column names stay, for ``gridgeo apply``).
    """
    gpkg, xlsx = write_results(
        {"grids": repair.grids, "changes": repair.changes, "left": repair.left}, out, lang=lang
    )
    return ProposalFiles(gpkg, xlsx)


def write_assignment_proposal(
    proposal: AssignmentProposal, out: Path, *, lang: str = "zh"
) -> ProposalFiles:
    """The ``actions`` to apply, the ``cadres``' share, the ``members`` and the ``figures``.

    ``lang`` as for :func:`write_grid_repair`; ``gridgeo apply`` reads the workbook back
    in either language.
    """
    results: dict[str, pd.DataFrame] = {
        "actions": proposal.actions,
        "cadres": proposal.cadres,
        "members": proposal.members,
        "figures": proposal.figures,
    }
    gpkg, xlsx = write_results(results, out, lang=lang)
    return ProposalFiles(gpkg, xlsx)
