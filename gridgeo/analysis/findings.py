"""The shape every finding takes, whichever analysis produced it.

A finding is one row: which rule it breaks, how bad it is, which entities are
involved, where it is, and a short explanation in Chinese and English, so a leader's
map, a planner's spreadsheet and an analyst's notebook all read the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["FINDING_COLUMNS", "SEVERITIES", "RULES", "findings"]

#: columns every findings frame starts with (the analysis may add its own after them)
FINDING_COLUMNS = ("rule", "severity", "entity", "code", "explanation_zh", "explanation_en")
SEVERITIES = ("error", "warning", "info")
#: rule id -> (Chinese source phrase, English summary)
RULES: dict[str, tuple[str, str]] = {
    "R1": ("全覆盖", "grids cover the district without gaps"),
    "R2": ("无缝对接", "grids do not overlap; neighbours share edges exactly"),
    "R3": ("依托现有的网格管理", "every grid lies in exactly one community"),
    "R4": ("每个党组织至少联系1个网格区", "every party organisation has at least one grid"),
    "R5": ("每名党员至少联系10户", "every member is responsible for at least 10 households"),
    "R6": ("其余由社区党员干部包干", "every building/household has a responsible member"),
    "R7": ("一对一结对", "each building/household has one responsible member, not several"),
    "R8": ("每周至少入户1次以上", "members visit at least once a week"),
    "R9": ("每月至少召开1次网格议事会", "each grid holds a council meeting every month"),
    "R10": ("定人定事定时定责", "every problem has a responsible person and a deadline"),
    "R11": ("每月9日 … 销号管理", "problems are reviewed monthly and closed with feedback"),
    "R12": ("每季度至少调度一次", "each community has a linked leader who visits quarterly"),
}


def findings(
    rule: str,
    severity: str,
    entity: str,
    codes: Sequence[str] | pd.Series,
    explanation_zh: Sequence[str] | pd.Series | str,
    explanation_en: Sequence[str] | pd.Series | str,
    *,
    geometry: Sequence[object] | gpd.GeoSeries | None = None,
    crs: object = 4326,
    extra: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Build a findings frame: one row per entity that breaks ``rule``.

    Parameters
    ----------
    rule
        Rule id, ``R1`` … ``R12`` (see :data:`RULES`).
    severity
        ``error``, ``warning`` or ``info``.
    entity
        The layer the codes belong to (``grids``, ``buildings``, ``members``...).
    codes
        The entity codes, one per row.
    explanation_zh, explanation_en
        One text per row, or one text for all.
    geometry
        Where each finding is (None where it has no place).
    extra
        Further columns (same length), appended after the common ones.

    Examples
    --------
    >>> f = findings("R5", "warning", "members", ["M1"], "联系户数不足10户", "fewer than 10 households")
    >>> f[["rule", "code", "explanation_en"]].iloc[0].tolist()
    ['R5', 'M1', 'fewer than 10 households']
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    codes = pd.Series(list(codes), dtype=object)
    n = len(codes)
    frame = pd.DataFrame(
        {
            "rule": [rule] * n,
            "severity": [severity] * n,
            "entity": [entity] * n,
            "code": codes,
            "explanation_zh": _per_row(explanation_zh, n),
            "explanation_en": _per_row(explanation_en, n),
        }
    )
    if extra is not None:
        extra = extra.reset_index(drop=True)
        frame = pd.concat([frame, extra], axis=1)
    geoms = (
        np.full(n, None, dtype=object) if geometry is None else np.asarray(geometry, dtype=object)
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


def _per_row(value: Sequence[str] | pd.Series | str, n: int) -> list[str]:
    if isinstance(value, str):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise ValueError(f"{len(values)} explanations for {n} findings")
    return values
