"""What a caller restricted to an area may see: the store, the check and the hot spots.

A caller restricted to an area (:func:`gridgeo.access.area_for`) gets tiles, maps and
reports drawn from its area only: the store is read through :class:`AreaStore`, which
keeps the rows of the area (and never personal columns), the check's results through
:meth:`gridgeo.access.Area.keep_findings`, and hot spots are computed from the area's
own problems. ``area=None`` is the whole district.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from api import analysis_cache
from gridgeo.access import Area
from gridgeo.store import Store

__all__ = ["AreaStore", "area_hotspots", "area_results", "area_summary", "view_of"]


#: Columns a layer's rows are placed in an area by (see ``Area.keep``).
_PLACE_COLUMNS: dict[str, tuple[str, ...]] = {
    "visits": ("household", "building"),
    "problems": ("household", "building"),
    "meetings": ("grid",),
    "organisations": ("community",),
    "members": ("community",),
    "assignments": ("community", "grid", "building", "household"),
}


class AreaStore:
    """A read-only view of a store that holds only the rows of one area.

    ``read_layer`` keeps the rows :meth:`gridgeo.access.Area.keep` keeps and never
    returns personal columns; everything else is the store's own. The drawing code
    (:mod:`gridgeo.render`, :mod:`gridgeo.report`) reads through it unchanged.
    """

    def __init__(self, store: Store, area: Area) -> None:
        self._store = store
        self._area = area

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def read_layer(self, layer: str, *, columns: Any = None, **kwargs: Any) -> Any:
        kwargs["include_personal"] = False
        extra = _PLACE_COLUMNS.get(layer, ())
        wanted = None if columns is None else list(columns)
        read = None if wanted is None else list(dict.fromkeys([*wanted, *extra]))
        frame = self._store.read_layer(layer, columns=read, **kwargs)
        frame = self._area.keep(layer, frame)
        if wanted is not None:
            frame = frame.drop(columns=[c for c in extra if c not in wanted], errors="ignore")
        return frame


def view_of(store: Store, area: Area | None) -> Any:
    """The store as a caller of ``area`` may read it."""
    return store if area is None else AreaStore(store, area)


def area_summary(results: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """An area's results with the area's figures where the report has the district's.

    The figures are :func:`gridgeo.analysis.summary.district_figures` of the area's
    findings: the same definition as the district's, each finding counted once.
    """
    from gridgeo.analysis.summary import district_figures

    figures = district_figures(results).assign(area="area")
    return {**results, "summary_district": figures}


def area_hotspots(store: Store, area: Area | None, **params: Any) -> dict[str, pd.DataFrame]:
    """The hotspot layers of the problems in ``area`` over its grids (None: the district).

    An area's hot spots are computed from its own problems only: cells, counts and
    clusters of the whole district would tell what other areas hold. Each cell carries
    the names of its grid and community (:func:`~api.tiles.hotspot_places.with_places`);
    ``problems`` are the problems counted, as points
    (:func:`~api.tiles.hotspot_places.problem_points`, read as the caller may read them).
    """
    from api.tiles.hotspot_places import problem_points, with_places
    from gridgeo.settings import get_settings

    version = analysis_cache.data_version(store)
    key = (tuple(sorted(params.items())), version, area)

    def compute() -> dict[str, pd.DataFrame]:
        if area is None:
            layers = with_places(analysis_cache.hotspot_results(store, **params), store)
        else:
            layers = with_places(_own_hotspots(store, area, **params), store, area)
        if "cells" in layers:
            timezone = get_settings().timezone
            view = view_of(store, area)
            layers["problems"] = problem_points(view, layers["cells"], timezone, **params)
        return layers

    return dict(analysis_cache.memo(store, "area-hotspots", key, compute))


def _own_hotspots(store: Store, area: Area, **params: Any) -> dict[str, pd.DataFrame]:
    """The hotspot layers of an area's own problems over its own grids."""
    from gridgeo.analysis.hotspots import hotspot_layers
    from gridgeo.settings import get_settings

    problems = area.keep("problems", store.read_layer("problems"))
    grids = store.read_layer("grids", columns=["name"])
    region = grids[grids["code"].isin(area.grids)]
    if not len(region):
        return {}
    return hotspot_layers(problems, area=region, timezone=get_settings().timezone, **params)


def area_results(
    store: Store, area: Area | None, as_of: Any, checked: analysis_cache.Checked | None = None
) -> dict[str, pd.DataFrame]:
    """The check's results (:func:`api.analysis_cache.check_results`) within ``area``.

    District totals (``summary_district``) are left out for an area. ``checked``: the
    results of :func:`api.analysis_cache.checked` to restrict (default: read them now).
    """
    done = checked if checked is not None else analysis_cache.checked(store, as_of=as_of)
    results = done.results
    if area is None:
        return results
    version = done.stamp.version

    def compute() -> dict[str, pd.DataFrame]:
        return {
            name: area.keep_findings(name, frame)
            for name, frame in results.items()
            if name != "summary_district"
        }

    key = (analysis_cache.resolve_as_of(as_of), version, area)
    return dict(analysis_cache.memo(store, "area-results", key, compute))
