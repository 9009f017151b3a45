"""Assignments in force on a date, and the community each building belongs to."""

from __future__ import annotations

import pandas as pd

from gridgeo.analysis.frames import as_str
from gridgeo.localtime import DateLike, as_day

__all__ = ["active_assignments", "assignment_pairs", "building_community"]


def active_assignments(
    assignments: pd.DataFrame, *, as_of: DateLike = None, kind: str | None = None
) -> pd.DataFrame:
    """Return the assignments valid on ``as_of`` (inclusive on both ends; NaT = open).

    Parameters
    ----------
    assignments
        The ``assignments`` layer frame.
    as_of
        The date; default today.
    kind
        Keep only this kind (e.g. ``"member_building"``).

    Returns
    -------
    pandas.DataFrame
        The rows of ``assignments`` that are in force, with their original index.

    Examples
    --------
    >>> a = pd.DataFrame({"code": ["A1", "A2"], "kind": ["member_building"] * 2,
    ...                   "valid_from": pd.to_datetime(["2026-01-01", "2025-01-01"]),
    ...                   "valid_to": pd.to_datetime([None, "2025-12-31"])})
    >>> active_assignments(a, as_of="2026-03-01").code.tolist()
    ['A1']
    >>> active_assignments(a, as_of="2025-12-31").code.tolist()
    ['A2']
    """
    day = as_day(as_of)
    vf = pd.to_datetime(assignments["valid_from"])
    vt = pd.to_datetime(assignments["valid_to"])
    mask = (vf <= day) & (vt.isna() | (vt >= day))
    if kind is not None:
        mask &= assignments["kind"].astype("string").eq(kind).fillna(False)
    return assignments[mask.to_numpy(dtype=bool)]


def assignment_pairs(
    assignments: pd.DataFrame, kind: str, target: str, *, as_of: DateLike = None
) -> pd.DataFrame:
    """Distinct (``target``, holder) pairs of the assignments of ``kind`` in force on ``as_of``.

    The holder is the ``organisation`` for ``organisation_grid`` assignments, else the
    ``member``.

    Examples
    --------
    >>> a = pd.DataFrame({"kind": ["cadre_community"] * 2, "member": ["K1", "K1"],
    ...                   "community": ["C1", "C1"], "valid_from": pd.to_datetime(["2026-01-01"] * 2),
    ...                   "valid_to": pd.NaT})
    >>> assignment_pairs(a, "cadre_community", "community", as_of="2026-02-01").values.tolist()
    [['C1', 'K1']]
    """
    a = active_assignments(assignments, as_of=as_of, kind=kind)
    subject = "organisation" if kind == "organisation_grid" else "member"
    out = pd.DataFrame({target: as_str(a[target]), subject: as_str(a[subject])})
    return out.dropna().drop_duplicates().reset_index(drop=True)


def building_community(building_grid: pd.DataFrame, grids: pd.DataFrame) -> pd.Series:
    """Community of each building: the community of the grid holding most of it.

    Parameters
    ----------
    building_grid
        Frame with ``building_id``, ``grid_id`` and ``share`` (as
        ``gridgeo.analysis.coverage.building_grid`` returns it).
    grids
        The ``grids`` layer frame (``code``, ``community``); of a code on several rows,
        the first row's community counts.

    Returns
    -------
    pandas.Series
        Community code indexed by building code, named ``community``.

    Examples
    --------
    >>> bg = pd.DataFrame({"building_id": ["B1", "B1", "B2"], "grid_id": ["G1", "G2", "G2"],
    ...                    "share": [0.3, 0.7, 1.0]})
    >>> g = pd.DataFrame({"code": ["G1", "G2"], "community": ["C1", "C2"]})
    >>> building_community(bg, g).to_dict()
    {'B1': 'C2', 'B2': 'C2'}
    """
    best = building_grid.sort_values(["building_id", "share"], ascending=[True, False])
    best = best.drop_duplicates("building_id")
    grid_comm = pd.Series(as_str(grids["community"]).to_numpy(), index=as_str(grids["code"]))
    grid_comm = grid_comm[~grid_comm.index.duplicated()]  # a code twice: its first row
    out = as_str(best["grid_id"]).map(grid_comm)
    out.index = pd.Index(as_str(best["building_id"]), name="building_id")
    return out.rename("community")
