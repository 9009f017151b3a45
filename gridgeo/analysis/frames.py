"""What the analyses share to handle frames: codes as text, comma-joined groups, geometries.

These are building blocks of the analysis modules (public so that any of them can use
them), not analyses themselves; :mod:`gridgeo.analysis` does not re-export them.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["as_str", "join_groups", "join_runs", "join_sorted", "rows_geometry", "rows_with"]


def as_str(values: pd.Series) -> pd.Series:
    """Codes as pandas strings (missing stays missing), whatever type they were read as.

    Examples
    --------
    >>> as_str(pd.Series([1, None, "B2"])).tolist()
    ['1', nan, 'B2']
    """
    return values.astype("str")


def rows_with(frame: pd.DataFrame, column: str, value: str) -> pd.DataFrame:
    """The rows whose ``column``, read as text, is ``value`` (missing values never are).

    Examples
    --------
    >>> m = pd.DataFrame({"code": ["M1", "K1", "X"], "role": ["member", "cadre", None]})
    >>> rows_with(m, "role", "member")["code"].tolist()
    ['M1']
    """
    return frame[as_str(frame[column]).eq(value).fillna(False).to_numpy(dtype=bool)]


def join_groups(frame: pd.DataFrame, keys: list[str], value: str) -> pd.Series:
    """``value`` of each group of ``keys``, comma-joined in the frame's order.

    Done by Arrow (a list per group, then one join), not by a Python call per group.

    Examples
    --------
    >>> f = pd.DataFrame({"k": ["a", "b", "a"], "v": ["x", "y", "z"]})
    >>> join_groups(f, ["k"], "v").to_dict()
    {'a': 'x,z', 'b': 'y'}
    """
    if frame.empty:
        index = (
            pd.MultiIndex.from_tuples([], names=keys)
            if len(keys) > 1
            else pd.Index([], dtype="str", name=keys[0])
        )
        return pd.Series([], index=index, dtype="str", name=value)
    table = pa.Table.from_pandas(frame[[*keys, value]], preserve_index=False)
    grouped = table.group_by(keys, use_threads=False).aggregate([(value, "list")])
    lists = grouped.column(f"{value}_list")
    joined = pc.binary_join(lists, pa.scalar(",", type=lists.type.value_type))
    index_frame = grouped.select(keys).to_pandas()
    index = (
        pd.MultiIndex.from_frame(index_frame)
        if len(keys) > 1
        else pd.Index(index_frame[keys[0]], name=keys[0])
    )
    return pd.Series(joined.to_numpy(zero_copy_only=False), index=index, dtype="str", name=value)


def join_sorted(frame: pd.DataFrame, key: str, value: str) -> pd.Series:
    """Sorted, distinct ``value`` per ``key``, comma-joined (a ``string`` Series by key).

    Examples
    --------
    >>> f = pd.DataFrame({"k": ["a", "a", "b", "a"], "v": ["z", "x", "y", "x"]})
    >>> join_sorted(f, "k", "v").to_dict()
    {'a': 'x,z', 'b': 'y'}
    """
    pairs = frame[[key, value]].dropna().drop_duplicates().sort_values([key, value])
    if pairs.empty:
        return pd.Series([], index=pd.Index([], dtype="str", name=key), dtype="string", name=value)
    # most keys have one value: only the others need a (slow, per group) string join
    shared = pairs[key].duplicated(keep=False).to_numpy()
    single = pd.Series(
        pairs[value].to_numpy()[~shared], index=pd.Index(pairs[key].to_numpy()[~shared], name=key)
    )
    joined = join_groups(pairs[shared], [key], value)
    return pd.concat([single, joined]).sort_index().astype("string").rename(value)


def join_runs(values: list[str], starts: np.ndarray, n: int) -> np.ndarray:
    """Comma-join ``values`` in runs beginning at ``starts`` (``n`` values in all), with Arrow.

    Examples
    --------
    >>> join_runs(["a", "b", "c"], np.array([0, 2]), 3).tolist()
    ['a,b', 'c']
    """
    offsets = pa.array(np.r_[starts, n].astype(np.int32))
    lists = pa.ListArray.from_arrays(offsets, pa.array(values, type=pa.string()))
    return np.asarray(pc.binary_join(lists, ",").to_pylist(), dtype=object)


def rows_geometry(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> tuple[object, object]:
    """The geometries of the selected rows and their CRS; ``(None, 4326)`` without geometry.

    Examples
    --------
    >>> rows_geometry(pd.DataFrame({"code": ["A"]}), np.array([True]))
    (None, 4326)
    """
    if isinstance(frame, gpd.GeoDataFrame):
        return frame.geometry[mask].to_numpy(), frame.crs
    return None, 4326
