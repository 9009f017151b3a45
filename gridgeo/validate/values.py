"""Column values converted to their layer's types, and checked against its bounds."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from gridgeo.io.dates import parse_times
from gridgeo.layers import Field, LayerSpec
from gridgeo.validate.bounds import check_ints, check_text
from gridgeo.validate.issues import Issues

__all__ = ["as_text", "convert", "empty"]

_WHOLE = re.compile(r"^[+-]?\d+(?:\.0*)?$")


def as_text(values: pd.Series) -> pd.Series:
    """Values as trimmed strings; empty → None. Whole floats lose their '.0'."""

    def conv(v: object) -> object:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        text = str(v).strip()
        return text or None

    return pd.Series([conv(v) for v in values], index=values.index, dtype=object)


def empty(f: Field, n: int) -> pd.Series:
    """A column of ``n`` missing values of the field's type."""
    if f.kind == "int":
        return pd.Series(pd.array([pd.NA] * n, dtype="Int64"))
    if f.kind == "date":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    if f.kind == "datetime":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
    return pd.Series([None] * n, dtype=object)


def _whole_numbers(text: pd.Series) -> tuple[list[int | None], np.ndarray]:
    """Python ints (no wrap-around past int64) and which present values are not whole."""
    out: list[int | None] = []
    bad = np.zeros(len(text), dtype=bool)
    for i, v in enumerate(text):
        if v is None:
            out.append(None)
        elif _WHOLE.match(v):
            out.append(int(v.split(".")[0]))
        else:
            out.append(None)
            bad[i] = True
    return out, bad


def _ints(spec: LayerSpec, f: Field, text: pd.Series, issues: Issues) -> pd.Series:
    values, bad = _whole_numbers(text)
    issues.each(np.flatnonzero(bad), "not a whole number", column=f.name, values=text)
    check_ints(spec, f, values, text, issues)
    low, high = spec.int_range(f)
    kept = [v if v is not None and low <= v <= high else None for v in values]
    return pd.Series(pd.array(kept, dtype="Int64"))


def _times(
    values: pd.Series, f: Field, issues: Issues, timezone: str, date_format: str | None
) -> pd.Series:
    parsed = parse_times(values, timezone=timezone, date_format=date_format)
    text = as_text(values.reset_index(drop=True))
    what = "date" if f.kind == "date" else "time"
    example = "2026-03-09" if f.kind == "date" else "2026-03-09 14:30 or 2026-03-09T14:30:00+08:00"
    issues.each(
        np.flatnonzero(parsed.bad),
        f"unparseable {what}",
        column=f.name,
        values=text,
        hint=f"write it like {example}",
    )
    issues.each(
        np.flatnonzero(parsed.ambiguous),
        "ambiguous date: day/month or month/day",
        column=f.name,
        values=text,
        hint="write it as YYYY-MM-DD, or give --date-format (e.g. %d/%m/%Y)",
    )
    utc = parsed.utc
    if f.kind == "date":
        return (
            utc.dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize().astype("datetime64[ns]")
        )
    return utc


def convert(
    spec: LayerSpec,
    values: pd.Series,
    f: Field,
    issues: Issues,
    *,
    timezone: str,
    date_format: str | None = None,
) -> pd.Series:
    """A file column as the field's type; every bad value named in ``issues``."""
    text = as_text(values.reset_index(drop=True))
    present = text.notna().to_numpy()
    if f.required:
        issues.each(
            np.flatnonzero(~present),
            "empty value in a required column",
            column=f.name,
            hint="fill it in",
        )
    if f.kind == "int":
        return _ints(spec, f, text, issues)
    if f.kind in ("date", "datetime"):
        return _times(values, f, issues, timezone, date_format)
    check_text(spec, f, text, issues)
    if f.choices:
        bad = present & ~text.isin(f.choices).to_numpy()
        issues.each(
            np.flatnonzero(bad),
            "unknown value",
            column=f.name,
            values=text,
            hint=f"use one of {', '.join(f.choices)}",
        )
    return text
