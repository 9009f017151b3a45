"""Assignment sheets in the long form: one column says what is assigned, one which one.

Many ledgers list responsibilities as ``党员编号 | 对象类型 | 对象编号`` (member, kind of
object, object's code), with ``对象类型`` one of 社区/网格/楼栋/户, instead of one column per
kind of object. :func:`spread_targets` turns such a sheet into the assignments layer's
columns (``community``, ``grid``, ``building``, ``household``), each row's code in the
column its kind names.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["KIND_COLUMNS", "TARGET_COLUMNS", "TARGET_KINDS", "Spread", "spread_targets"]

#: names of the column saying what kind of object is assigned (compared lower-case)
KIND_COLUMNS = (
    "target_kind",
    "target_type",
    "object_type",
    "对象类型",
    "责任对象类型",
    "包保对象类型",
)
#: names of the column holding the assigned object's code
TARGET_COLUMNS = (
    "target",
    "target_code",
    "object_code",
    "对象编号",
    "责任对象编号",
    "包保对象编号",
)
#: the assignments column each kind fills, and the words a sheet uses for it
TARGET_KINDS: dict[str, tuple[str, ...]] = {
    "community": ("community", "社区"),
    "grid": ("grid", "网格"),
    "building": ("building", "楼栋", "楼", "楼宇"),
    "household": ("household", "户", "住户", "家庭"),
}
_WORDS = {w.lower(): column for column, words in TARGET_KINDS.items() for w in words}


@dataclass
class Spread:
    """The sheet with its target columns spread, and the rows whose kind is not known."""

    frame: pd.DataFrame
    columns: tuple[str, str] | None = None
    unknown: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))
    filled: list[str] = field(default_factory=list)

    @property
    def note(self) -> str | None:
        """The ``note:`` line saying how the two columns were read."""
        if self.columns is None:
            return None
        kind, target = self.columns
        return f"columns read as {kind} + {target} → {', '.join(self.filled)}"


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[n.lower()] for n in names if n.lower() in lower), None)


def spread_targets(frame: pd.DataFrame, mapped: Collection[str] = ()) -> Spread:
    """Spread a long-form assignments sheet; any other frame comes back as it is.

    A sheet is long-form when it has both a kind column (:data:`KIND_COLUMNS`) and a
    target column (:data:`TARGET_COLUMNS`), none of the columns they fill, and neither
    is among the ``mapped`` columns (``--map`` says what they are).

    >>> sheet = pd.DataFrame({"党员编号": ["M1", "M2"], "对象类型": ["网格", "楼栋"],
    ...                       "对象编号": ["G1", "B7"]})
    >>> spread = spread_targets(sheet)
    >>> spread.frame[["grid", "building"]].values.tolist()
    [['G1', None], [None, 'B7']]
    >>> spread.note
    'columns read as 对象类型 + 对象编号 → grid, building'
    """
    columns = [str(c) for c in frame.columns]
    kind_col, target_col = _find(columns, KIND_COLUMNS), _find(columns, TARGET_COLUMNS)
    if (
        kind_col is None
        or target_col is None
        or {kind_col, target_col} & set(mapped)
        or set(TARGET_KINDS) & {c.lower() for c in columns}
    ):
        return Spread(frame)
    kinds = frame[kind_col].map(
        lambda v: _WORDS.get(str(v).strip().lower()) if pd.notna(v) else None
    )
    out = frame.drop(columns=[kind_col, target_col])
    filled = []
    for column in TARGET_KINDS:
        rows = (kinds == column).to_numpy()
        if rows.any():
            out[column] = frame[target_col].where(rows, None).astype(object)
            out.loc[~rows, column] = None
            filled.append(column)
    unknown = np.flatnonzero((kinds.isna() & frame[kind_col].notna()).to_numpy())
    return Spread(out, (kind_col, target_col), unknown, filled)
