"""What a proposal does, in numbers: the summary ``gridgeo fix`` prints and the API returns.

Plain data (dicts of numbers and strings), so the command line prints it as tables
and the service sends it as JSON without knowing the proposal's frames.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gridgeo.fix.assignments import AssignmentProposal
from gridgeo.fix.grids import GridRepair

__all__ = ["assignment_summary", "repair_summary"]


def _by_kind(frame: pd.DataFrame, count: str) -> dict[str, dict[str, Any]]:
    """``{kind: {count: n, "area_m2": total}}`` of a frame with ``kind`` and ``area_m2``."""
    if not len(frame) or "kind" not in frame.columns:
        return {}
    area = frame["area_m2"] if "area_m2" in frame.columns else pd.Series(0.0, index=frame.index)
    groups = pd.DataFrame({"kind": frame["kind"].astype(str), "area": area.astype(float)})
    table = groups.groupby("kind", sort=True)["area"].agg(["size", "sum"])
    return {
        str(kind): {count: int(row["size"]), "area_m2": round(float(row["sum"]), 1)}
        for kind, row in table.iterrows()
    }


def repair_summary(repair: GridRepair) -> dict[str, Any]:
    """The edits of a grid repair by kind and area moved, and what is left to decide.

    Examples
    --------
    >>> from gridgeo.fix import repair_grids
    >>> from gridgeo.synth import generate
    >>> L = generate("tiny", seed=0).layers
    >>> s = repair_summary(repair_grids(L["grids"], communities=L["communities"]))
    >>> s["kind"], s["edits"] == sum(v["edits"] for v in s["changes"].values())
    ('grids', True)
    """
    changes = repair.changes
    edits = _by_kind(changes, "edits")
    grids = set(changes["from_grid"].dropna()) | set(changes["to_grid"].dropna())
    return {
        "kind": "grids",
        "grids": len(repair.grids),
        "grids_edited": len(grids),
        "edits": len(changes),
        "area_moved_m2": round(sum(v["area_m2"] for v in edits.values()), 1),
        "changes": edits,
        "left": _by_kind(repair.left, "areas"),
    }


def _native(value: Any) -> Any:
    """A figure as a JSON number (None for a missing one)."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return None
    return float(value) if isinstance(value, float) else int(value)


def assignment_summary(proposal: AssignmentProposal) -> dict[str, Any]:
    """Assignments added (by tier) and ended, the quality figures, the cadres' share.

    Examples
    --------
    >>> from gridgeo.fix import propose_assignments
    >>> from gridgeo.synth import generate
    >>> L = generate("tiny", seed=0).layers
    >>> p = propose_assignments(L["households"], L["buildings"], L["grids"], L["members"],
    ...                         L["assignments"], as_of="2025-03-03")
    >>> s = assignment_summary(p)
    >>> s["cadres"]["buildings"], s["figures"][1]["figure"]
    (1, 'unassigned_households')
    """
    actions = proposal.actions
    action = actions["action"].astype(str)
    added = actions[action.eq("add")]
    tiers = added["tier"].fillna("other").astype(str).value_counts().sort_index()
    cadres = proposal.cadres
    return {
        "kind": "assignments",
        "added": int(action.eq("add").sum()),
        "ended": int(action.eq("end").sum()),
        "added_by_tier": {str(k): int(v) for k, v in tiers.items()},
        "households_added": int(added["households"].fillna(1).astype(int).sum()),
        "figures": [
            {
                "figure": str(row.figure),
                "label_zh": str(row.label_zh),
                "label_en": str(row.label_en),
                "before": _native(row.before),
                "after": _native(row.after),
            }
            for row in proposal.figures.itertuples(index=False)
        ],
        "cadres": {
            "buildings": len(cadres),
            "households": int(cadres["households"].sum()) if len(cadres) else 0,
        },
    }
