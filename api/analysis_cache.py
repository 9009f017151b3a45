"""Results of the expensive analyses, computed once per data version and shared.

The coverage map, the finding tiles and the data API (``/findings``) all need
``run_check`` on the whole store; the hotspot map and its tiles need
``hotspot_layers``. Each result is cached per store, keyed on its parameters and on
:meth:`gridgeo.store.Store.data_version`, so a committed write makes the next request
compute new results instead of serving stale ones. Concurrent requests for the same
key wait for one computation instead of running it side by side.

The frames returned are shared between requests: treat them as read-only (copy a
frame before changing it).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from api.cache import Memo, Newest, store_cache
from api.data_stamps import (
    STAMP_SQL,
    VERSION_SQL,
    data_stamp,
    data_stamp_async,
    data_version,
    data_version_async,
    stamp_of_version,
    version_reads,
)
from api.state import settings_of
from gridgeo.store import Store
from gridgeo.store.areas import study_area
from gridgeo.store.versions import DataStamp

__all__ = [
    "STAMP_SQL",
    "VERSION_SQL",
    "Checked",
    "area_of",
    "check_results",
    "checked",
    "data_stamp",
    "data_stamp_async",
    "data_version",
    "data_version_async",
    "hotspot_results",
    "memo",
    "resolve_as_of",
    "stamp_of_version",
    "version_reads",
]

_lock = threading.Lock()


def _cache(store: Store, kind: str, size: int | None = None) -> Memo:
    """The store's memo of one kind (``size``: values kept, set by the first call)."""
    kept = settings_of(store).analysis_cache_entries if size is None else size
    return store_cache(store, f"memo:{kind}", lambda: Memo(kept))


def newest(store: Store, key: Hashable) -> Newest:
    """The store's :class:`~api.cache.Newest` of one computation (the check of a day...)."""
    with _lock:
        per_store = store_cache(store, "newest", dict)
        found = per_store.get(key)
        if found is None:
            found = per_store[key] = Newest()
        return found  # type: ignore[no-any-return]


def memo(
    store: Store, kind: str, key: Hashable, compute: Callable[[], Any], *, size: int | None = None
) -> Any:
    """A value cached for ``store`` under ``(kind, key)``; ``compute()`` makes it once.

    Put the data version in ``key`` for anything derived from the data. ``size`` is how
    many values of this kind are kept (set by the first call; default
    ``GRIDGEO_ANALYSIS_CACHE_ENTRIES``).
    """
    return _cache(store, kind, size).get(key, compute)


def resolve_as_of(as_of: dt.date | None) -> dt.date:
    """The date a check is made for: ``as_of``, or today."""
    return as_of if as_of is not None else dt.date.today()


@dataclass(frozen=True)
class Checked:
    """The check's results and the data version (with its time) they were computed at."""

    stamp: DataStamp
    results: dict[str, pd.DataFrame]


def checked(store: Store, as_of: dt.date | None = None) -> Checked:
    """:func:`check_results` and the stamp whose version is their cache key.

    ``/findings`` answers with this stamp, so the version it reports is the one the
    findings were keyed on, not a later read.
    """
    from gridgeo.check import inputs_from_store, run_check

    day = resolve_as_of(as_of)
    stamp = data_stamp(store)
    memo = _cache(store, "check")
    kept = memo.values.get((day, stamp.version))
    if kept is not None:  # the usual case: this version's results are made
        return kept  # type: ignore[no-any-return]

    def compute() -> tuple[int, Checked]:
        now = data_stamp(store)  # the version when the computation starts
        results = run_check(inputs_from_store(store), as_of=day)
        done = Checked(now, dict(results))
        memo.values.put((day, now.version), done)
        return now.version, done

    return newest(store, ("check", day)).get(stamp.version, compute)[1]


def check_results(store: Store, as_of: dt.date | None = None) -> dict[str, pd.DataFrame]:
    """Every result layer of ``gridgeo check`` on the store, cached per data version.

    Parameters
    ----------
    store
        The store to check.
    as_of
        The date assignments, visits and meetings are judged at (default: today).

    Returns
    -------
    dict of str to (Geo)DataFrame
        As :func:`gridgeo.check.run_check` returns them (findings as GeoDataFrames in
        EPSG:4326). The frames are shared: do not modify them.
    """
    return checked(store, as_of).results


def hotspot_results(store: Store, **params: Any) -> dict[str, pd.DataFrame]:
    """``gridgeo.analysis.hotspots.hotspot_layers`` on the store's problems, cached.

    Parameters
    ----------
    store
        The store whose ``problems`` (and ``communities`` as the area) are analysed.
    **params
        Keyword arguments of ``hotspot_layers`` (``cells``, ``category``, ``start``,
        ``end``...); they are part of the cache key, so they must be hashable.

    Returns
    -------
    dict of str to GeoDataFrame
        The hotspot layers (shared: do not modify them).
    """
    from gridgeo.analysis.hotspots import hotspot_layers
    from gridgeo.settings import get_settings

    options = tuple(sorted(params.items()))
    version = data_version(store)
    memo = _cache(store, "hotspots")
    kept = memo.values.get((options, version))
    if kept is not None:
        return dict(kept)

    def compute() -> tuple[int, dict[str, pd.DataFrame]]:
        now = data_version(store)  # the version when the computation starts
        problems = store.read_layer("problems")
        area = study_area(store, columns=["name"])
        layers = hotspot_layers(problems, area=area, timezone=get_settings().timezone, **params)
        memo.values.put((options, now), layers)
        return now, layers

    return dict(newest(store, ("hotspots", options)).get(version, compute)[1])


def area_of(
    results: dict[str, pd.DataFrame], *, community: str | None = None, grid: str | None = None
) -> Any:
    """The area a map is restricted to: one grid, or the grids of one community.

    Parameters
    ----------
    results
        What :func:`check_results` returned (its ``summary_grids`` is used).
    community, grid
        Codes; None for no restriction.

    Returns
    -------
    shapely.Geometry or None
        The union of the selected grids (None when nothing is selected).

    Raises
    ------
    gridgeo.errors.NotFound
        No grid has that code, or no grid belongs to that community.
    """
    import shapely

    from gridgeo.errors import NotFound

    if community is None and grid is None:
        return None
    grids = results["summary_grids"]
    keep = pd.Series(True, index=grids.index)
    if community is not None:
        keep &= grids["community"].astype(str) == community
        if not keep.any():
            raise NotFound(f"no grid belongs to community {community!r}")
    if grid is not None:
        keep &= grids["code"].astype(str) == grid
        if not keep.any():
            where = f" in community {community!r}" if community is not None else ""
            raise NotFound(f"no grid {grid!r}{where}")
    return shapely.union_all(grids.geometry[keep].to_numpy())
