"""What the stores can hold, checked the same way for both: text lengths, integer ranges.

SQLite would keep a 300-character code that PostGIS refuses, and wrap no integer
that PostGIS refuses past int32: both stores take only what
:meth:`~gridgeo.layers.LayerSpec.max_length` and
:meth:`~gridgeo.layers.LayerSpec.int_range` allow, checked here before a write.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridgeo.layers import Field, LayerSpec
from gridgeo.validate.issues import Issues

__all__ = ["check_ints", "check_text", "check_frame"]


def check_text(
    spec: LayerSpec, field: Field, text: pd.Series, issues: Issues, *, thorough: bool = True
) -> None:
    """Text too long for its column, or that no store can hold (NUL; lone surrogates if thorough)."""
    present = text.notna().to_numpy()
    if not present.any():
        return
    values = [
        str(v) if p else "" for v, p in zip(text.to_numpy(dtype=object), present, strict=True)
    ]
    limit = spec.max_length(field) if not field.ref else None
    if limit is not None:
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        issues.each(
            np.flatnonzero(lengths > limit),
            f"text longer than {limit} characters",
            column=field.name,
            values=text,
            hint=f"shorten it to at most {limit} characters",
        )
    unstorable = np.fromiter(("\x00" in v for v in values), dtype=bool, count=len(values))
    if thorough:
        unstorable |= np.fromiter(
            (not (v.isascii() or _encodable(v)) for v in values), dtype=bool, count=len(values)
        )
    issues.each(
        np.flatnonzero(unstorable),
        "text with a NUL character or a lone surrogate",
        column=field.name,
        hint="remove the control character (the file may be damaged)",
    )


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_ints(
    spec: LayerSpec, field: Field, values: list[int | None], text: pd.Series, issues: Issues
) -> None:
    """Whole numbers outside the column's range, or negative."""
    low, high = spec.int_range(field)
    outside = np.array([v is not None and not (low <= v <= high) for v in values], dtype=bool)
    issues.each(
        np.flatnonzero(outside),
        f"number outside {low}…{high}",
        column=field.name,
        values=text,
        hint="check the value (a phone number or an id in a number column?)",
    )
    negative = np.array([v is not None and low <= v < 0 for v in values], dtype=bool)
    issues.each(np.flatnonzero(negative), "must not be negative", column=field.name, values=text)


def check_frame(
    spec: LayerSpec, frame: pd.DataFrame, issues: Issues, *, thorough: bool = True
) -> None:
    """The bounds of every text and integer column present in a layer frame."""
    for f in spec.fields:
        if f.name not in frame.columns:
            continue
        column = frame[f.name].reset_index(drop=True)
        if f.kind == "text":
            check_text(spec, f, column, issues, thorough=thorough)
        elif f.kind == "int":
            numbers = pd.to_numeric(column, errors="coerce")
            low, high = spec.int_range(f)
            if bool(((numbers < low) | (numbers > high)).fillna(False).any()):
                ints = [None if pd.isna(v) else int(v) for v in numbers]
                check_ints(spec, f, ints, column, issues)
