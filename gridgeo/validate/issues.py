"""The problems found in one input, each named by file, layer, row, code and column."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridgeo.errors import Issue

__all__ = ["MAX_ISSUES_PER_CHECK", "Issues"]

MAX_ISSUES_PER_CHECK = 200


class Issues:
    """Collects :class:`~gridgeo.errors.Issue` s for the rows of one frame."""

    def __init__(self, source: str | None, layer: str, rows: np.ndarray, codes: pd.Series | None):
        self.items: list[Issue] = []
        self.source, self.layer, self.rows, self.codes = source, layer, rows, codes

    def add(
        self,
        message: str,
        *,
        pos: int | None = None,
        column: str | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        """One problem, at row position ``pos`` (or of the whole input)."""
        key = None
        if pos is not None and self.codes is not None:
            code = self.codes.iloc[pos]
            key = None if pd.isna(code) else str(code)
        self.items.append(
            Issue(
                message,
                file=self.source,
                layer=self.layer,
                row=None if pos is None else int(self.rows[pos]),
                column=column,
                value=value,
                hint=hint,
                key=key,
            )
        )

    def each(
        self,
        positions: np.ndarray,
        message: str,
        *,
        column: str | None,
        values: pd.Series | None = None,
        hint: str | None = None,
    ) -> None:
        """The same problem at several row positions (the first few hundred named)."""
        for pos in positions[:MAX_ISSUES_PER_CHECK]:
            self.add(
                message,
                pos=int(pos),
                column=column,
                value=None if values is None else values.iloc[pos],
                hint=hint,
            )
        if len(positions) > MAX_ISSUES_PER_CHECK:
            self.items.append(
                Issue(
                    f"... {len(positions) - MAX_ISSUES_PER_CHECK} more rows: {message}",
                    file=self.source,
                    layer=self.layer,
                    column=column,
                )
            )
