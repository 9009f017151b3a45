"""The campaign's rules as numbers: every threshold the checks use, in one place.

Defaults are the plan's own numbers (rules R1–R12). A district can change any of them
with a TOML file (``gridgeo check --policy FILE``)::

    min_member_households = 8
    sliver_width_m = 0.5
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from gridgeo.errors import ConfigError

__all__ = ["Policy", "load_policy"]


class Policy(BaseModel):
    """Thresholds of the rules (R1–R12); each can be overridden in a policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # R1, R2: grid topology
    sliver_width_m: float = Field(
        1.0,
        gt=0,
        description="gaps narrower than this are seam slivers (R2), wider ones uncovered areas (R1)",
    )
    min_gap_area_m2: float = Field(
        0.01, ge=0, description="gaps and overlaps smaller than this are ignored (numerical noise)"
    )
    # buildings to grids
    straddle_min_share: float = Field(
        0.05,
        ge=0,
        lt=0.5,
        description="a building straddles when a second grid holds at least this share of it",
    )
    # R4, R5: quotas
    min_organisation_grids: int = Field(
        1, ge=0, description="grids each party organisation is linked to (R4)"
    )
    min_member_households: int = Field(
        10, ge=0, description="households each member is responsible for (R5)"
    )
    max_member_households: int = Field(
        30, gt=0, description="households a proposal may give one member at most (gridgeo fix)"
    )
    # R8, R9, R12: visit and meeting frequency
    visit_interval_days: int = Field(
        7, gt=0, description="members visit at least once in this many days (R8)"
    )
    meetings_per_month: int = Field(
        1, ge=0, description="council meetings each grid holds a month (R9)"
    )
    leader_visits_per_quarter: int = Field(
        1, ge=0, description="visits of a linked leader to the community a quarter (R12)"
    )
    review_weeks: int = Field(
        12,
        gt=0,
        description="weeks before the check date that visits and meetings are checked over",
    )
    # R11: the monthly joint meeting
    joint_meeting_day: int = Field(
        9,
        ge=1,
        le=28,
        description="day of the month of the joint meeting that reviews the problem list (R11)",
    )
    repeat_window_days: int = Field(
        90,
        gt=0,
        description="a problem is a repeat when its building had one of the same category "
        "reported within this many days before it",
    )
    # gridgeo fix grids
    fix_snap_distance_m: float = Field(
        0.1, ge=0, description="vertices and edges this close are snapped together (gridgeo fix)"
    )
    # where metres are needed
    metric_crs: str | None = Field(
        None, description="CRS for areas and distances; default: the data's UTM zone"
    )


def load_policy(path: str | Path | None = None) -> Policy:
    """Read a policy file (TOML); without one, the plan's defaults.

    Raises
    ------
    ConfigError
        The file cannot be read, or names an unknown rule or a bad value.

    Examples
    --------
    >>> load_policy().min_member_households
    10
    """
    if path is None:
        return Policy()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such policy file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not a valid TOML file: {exc}") from exc
    try:
        return Policy(**data)
    except PydanticError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from exc
