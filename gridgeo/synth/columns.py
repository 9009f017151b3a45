"""Columns of the generated frames from numpy arrays: codes, texts, integers, dates, times."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "codes_at",
    "concat_text",
    "date_column",
    "decimal_text",
    "int_column",
    "sequential_codes",
    "take_words",
    "text_column",
    "utc_column",
]


def decimal_text(values: np.ndarray, width: int = 0) -> pa.Array:
    """Integers as decimal strings, left-padded with zeros to ``width`` if given."""
    text = pa.array(np.asarray(values, np.int64)).cast(pa.large_string())
    return pc.utf8_lpad(text, width, "0") if width else text


def concat_text(*parts: pa.Array | str) -> pa.Array:
    """Concatenate string arrays and str scalars element-wise (null if any is null).

    Examples
    --------
    >>> concat_text("B", decimal_text(np.array([7, 12]), 3)).to_pylist()
    ['B007', 'B012']
    """
    arrays = tuple(
        pa.scalar(part, pa.large_string())
        if isinstance(part, str)
        else part.cast(pa.large_string())
        for part in parts
    )
    return pc.binary_join_element_wise(*arrays, pa.scalar("", pa.large_string()))


def take_words(words: Iterable[str], index: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """The words at ``index`` (null where ``mask`` is true)."""
    return pa.array(list(words), pa.large_string()).take(
        pa.array(np.asarray(index, np.int64), type=pa.int64(), mask=mask)
    )


def sequential_codes(prefix: str, count: int, width: int) -> pa.Array:
    """Codes ``prefix`` + 1..count, zero-padded to ``width`` digits (more if needed)."""
    digits = max(width, len(str(count)))
    return concat_text(prefix, decimal_text(np.arange(1, count + 1), digits))


def codes_at(codes: pa.Array, index: np.ndarray) -> pa.Array:
    """Codes at ``index``; null where ``index < 0``."""
    index = np.asarray(index, np.int64)
    mask = index < 0
    return codes.take(pa.array(np.where(mask, 0, index), mask=mask if mask.any() else None))


def text_column(array: pa.Array | pa.ChunkedArray) -> pd.arrays.ArrowStringArray:
    """A pandas string column backed by the arrow strings."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return pd.arrays.ArrowStringArray(array.cast(pa.large_string()))


def int_column(values: np.ndarray, mask: np.ndarray | None = None) -> pd.arrays.IntegerArray:
    """A nullable ``Int64`` column (missing where ``mask`` is true)."""
    values = np.asarray(values, np.int64)
    if mask is None:
        mask = np.zeros(len(values), bool)
    return pd.arrays.IntegerArray(values, np.asarray(mask, bool))


def utc_column(
    seconds: np.ndarray, mask: np.ndarray | None = None
) -> pd.api.extensions.ExtensionArray:
    """UTC timestamps from integer seconds since the epoch (``NaT`` where ``mask``)."""
    times = np.asarray(seconds, np.int64).astype("datetime64[s]").astype("datetime64[us]")
    if mask is not None:
        times[mask] = np.datetime64("NaT")
    return pd.Series(times).dt.tz_localize("UTC").array


def date_column(days: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Naive midnight datetimes from integer days since the epoch (``NaT`` where ``mask``)."""
    dates = np.asarray(days, np.int64).astype("datetime64[D]").astype("datetime64[us]")
    if mask is not None:
        dates[mask] = np.datetime64("NaT")
    return dates
