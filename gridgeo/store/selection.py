"""Which rows of a layer a read keeps, and the select lists both stores share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gridgeo.errors import ValidationError
from gridgeo.layers import LAYERS, Field, LayerSpec

__all__ = ["RANGE_KINDS", "Selection", "column_sql"]

#: The kinds of column a range can select on.
RANGE_KINDS = ("date", "datetime", "int")


@dataclass(frozen=True)
class Selection:
    """Which rows of a layer a read keeps: bbox, column values, value ranges, one page."""

    bbox: tuple[float, float, float, float] | None = None
    where: tuple[tuple[Field, tuple[Any, ...]], ...] = ()
    limit: int | None = None
    offset: int = 0
    ranges: tuple[tuple[Field, Any, Any], ...] = ()

    @classmethod
    def of(
        cls,
        spec: LayerSpec,
        bbox: tuple[float, float, float, float] | None,
        where: Mapping[str, Iterable[Any]] | None,
        limit: int | None,
        offset: int,
        ranges: Mapping[str, tuple[Any, Any]] | None = None,
    ) -> Selection:
        if bbox is not None and spec.geometry is None:
            raise ValidationError(
                f"layer {spec.name!r} has no geometry: it cannot be filtered by bbox"
            )
        pairs = []
        for column, values in (where or {}).items():
            if column not in spec.field_names:
                raise ValidationError(
                    f"layer {spec.name!r} has no column {column!r} to select on; "
                    f"its columns are {spec.field_names}"
                )
            pairs.append((spec.field(column), tuple(values)))
        if (limit is not None and limit < 0) or offset < 0:
            raise ValidationError(f"limit {limit} and offset {offset} must not be negative")
        bounds = []
        for column, (low, high) in (ranges or {}).items():
            if column not in spec.field_names or spec.field(column).kind not in RANGE_KINDS:
                raise ValidationError(
                    f"layer {spec.name!r} has no date, time or integer column {column!r} "
                    "to select a range on"
                )
            bounds.append((spec.field(column), low, high))
        return cls(bbox, tuple(pairs), limit, offset, tuple(bounds))

    @property
    def whole(self) -> bool:
        """Every row of the layer."""
        return (
            self.bbox is None
            and not self.where
            and not self.ranges
            and self.limit is None
            and not self.offset
        )

    @property
    def selects_rows(self) -> bool:
        """Whether values or ranges leave some rows out (the bbox and the page aside)."""
        return bool(self.where or self.ranges)

    def keep(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The selection's rows of a frame read in id order (the bbox aside)."""
        for f, values in self.where:
            frame = frame.loc[frame[f.name].isin(values).fillna(False).to_numpy(dtype=bool)]
        for f, low, high in self.ranges:
            column = frame[f.name]
            if f.kind in ("date", "datetime"):
                low, high = pd.Timestamp(low), pd.Timestamp(high)
            inside = (column >= low) & (column < high)
            frame = frame.loc[inside.fillna(False).to_numpy(dtype=bool)]
        end = None if self.limit is None else self.offset + self.limit
        return frame.iloc[self.offset : end].reset_index(drop=True)


def column_sql(fields: Sequence[Field]) -> tuple[list[str], list[str]]:
    """Select-list entries for ``fields`` of a table aliased ``t``, and the joins they need.

    A reference column is selected as the referenced row's code (one LEFT JOIN each);
    every entry is named after its field.
    """
    cols, joins = [], []
    for i, f in enumerate(fields):
        if f.ref:
            alias = f"r{i}"
            joins.append(
                f'LEFT JOIN "{LAYERS[f.ref].table}" {alias} ON {alias}.id = t."{f.db_column}"'
            )
            cols.append(f'{alias}.code AS "{f.name}"')
        else:
            cols.append(f't."{f.db_column}" AS "{f.name}"')
    return cols, joins
