"""Rules across columns: unique codes, the shape of assignments, a problem's lifecycle."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridgeo.schema import ASSIGNMENT_KINDS
from gridgeo.validate.issues import MAX_ISSUES_PER_CHECK, Issues

__all__ = [
    "check_assignment_shape",
    "check_codes",
    "check_problem_lifecycle",
    "infer_assignment_kind",
]


def check_codes(codes: pd.Series, issues: Issues) -> None:
    """Name every code that appears in more than one row."""
    dup = codes.duplicated(keep=False) & codes.notna()
    if not dup.any():
        return
    for code, group in codes[dup].groupby(codes[dup], sort=False):
        where = ", ".join(str(int(issues.rows[p])) for p in group.index[:10])
        more = f" and {len(group) - 10} more" if len(group) > 10 else ""
        issues.add(
            f"duplicate code {code!r} in rows {where}{more}",
            column="code",
            hint="codes must be unique: keep one row per code, or fix the codes",
        )
        if len(issues.items) > MAX_ISSUES_PER_CHECK * 2:
            break


def infer_assignment_kind(out: pd.DataFrame, issues: Issues) -> pd.Series:
    """The kind of each assignment, told by which columns are filled."""
    filled = {
        c: out[c].notna() if c in out else pd.Series(False, index=out.index)
        for c in ("member", "organisation", "community", "grid", "building", "household")
    }
    kind = pd.Series([None] * len(out), dtype=object)
    kind[filled["member"] & filled["household"]] = "member_household"
    kind[filled["member"] & filled["building"] & kind.isna()] = "member_building"
    kind[filled["organisation"] & filled["grid"] & kind.isna()] = "organisation_grid"
    kind[filled["member"] & filled["grid"] & kind.isna()] = "worker_grid"
    kind[filled["member"] & filled["community"] & kind.isna()] = "leader_community"
    issues.each(
        np.flatnonzero(kind.isna().to_numpy()),
        "cannot tell what is assigned to whom",
        column="kind",
        hint="give a kind column (" + ", ".join(ASSIGNMENT_KINDS) + ") or fill member and "
        "building/household/grid/community, or organisation and grid",
    )
    return kind


def check_assignment_shape(out: pd.DataFrame, issues: Issues) -> None:
    """Each assignment fills the columns of its kind and leaves the others empty."""
    refs = ("member", "organisation", "community", "grid", "building", "household")
    for kind, (subject, target) in ASSIGNMENT_KINDS.items():
        rows = (out["kind"] == kind).to_numpy()
        if not rows.any():
            continue
        need = {subject.removesuffix("_id"), target.removesuffix("_id")}
        for col in refs:
            filled = out[col].notna().to_numpy()
            if col in need:
                issues.each(
                    np.flatnonzero(rows & ~filled), f"a {kind} assignment needs a {col}", column=col
                )
            else:
                issues.each(
                    np.flatnonzero(rows & filled),
                    f"a {kind} assignment must leave {col} empty",
                    column=col,
                    values=out[col],
                    hint="use one row per assignment",
                )
    vf, vt = out["valid_from"], out["valid_to"]
    bad = (vt.notna() & vf.notna() & (vt < vf)).to_numpy()
    issues.each(
        np.flatnonzero(bad),
        "valid_to is before valid_from",
        column="valid_to",
        values=vt.dt.strftime("%Y-%m-%d"),
    )


def check_problem_lifecycle(out: pd.DataFrame, issues: Issues) -> None:
    """A problem's status has the times it needs, none before it was reported."""
    status = out["status"].where(out["status"].notna(), "open")
    out["status"] = status
    need = {"resolved_on_site": "resolved_at", "escalated": "escalated_at", "closed": "closed_at"}
    for state, col in need.items():
        bad = ((status == state) & out[col].isna()).to_numpy()
        issues.each(np.flatnonzero(bad), f"status {state} needs {col}", column=col)
    closed = (status == "closed").to_numpy()
    neither = closed & (out["resolved_at"].isna() & out["escalated_at"].isna()).to_numpy()
    issues.each(
        np.flatnonzero(neither),
        "a closed problem needs resolved_at (solved on the spot) or escalated_at",
        column="status",
    )
    for col in ("closed_at", "feedback_at", "resolved_at", "escalated_at"):
        bad = (
            out[col].notna() & out["reported_at"].notna() & (out[col] < out["reported_at"])
        ).to_numpy()
        issues.each(np.flatnonzero(bad), f"{col} is before reported_at", column=col)
