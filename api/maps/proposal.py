"""The map of a proposal beside the current state, ``/maps/proposal/{id}`` (planners only).

A grid repair shows the current grids, the repaired outline of each grid it changes,
each moved piece (coloured by kind: overlap, gap, snap, outside the community) and
what is left to decide; an assignment proposal shows the current grids, the buildings
given a member, those whose surplus assignment ends, and those left to the cadres.
The proposal's layers go into the page as GeoJSON; a layer too large for the page
keeps its largest pieces (the panel says how many of how many), the rest is in the
proposal's GeoPackage. The current grids come from the store's tiles when they are
too many.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api import analysis_cache, tiles
from api.auth import REFUSALS, ReaderDep, tile_key_for
from api.maps import inline
from api.maps.layers import LayerDef, Legend
from api.maps.page import MapPage
from api.maps.responses import ROUTE_DEPENDENCIES, StoreDep, page_query, page_response
from api.maps.text import TEXT, Lang, LangQ, other_lang
from api.proposals import Proposal, find_proposal
from gridgeo.errors import PermissionDenied
from gridgeo.principal import Principal
from gridgeo.store import Store

__all__ = ["CHANGE_COLOURS", "proposal_page", "router"]

router = APIRouter()

#: the colour of each kind of grid edit
CHANGE_COLOURS = {
    "overlap": "#d7191c",
    "gap": "#2c7bb6",
    "snap": "#fdae61",
    "outside_community": "#7b3294",
}
_ADDED, _ENDED, _CADRES, _LEFT, _REPAIRED = "#1a9641", "#d7191c", "#7b3294", "#e31a1c", "#2b83ba"


def _fixed(colour: str, fill: float = 0.5, weight: float = 1.5) -> dict[str, Any]:
    return {"base": {"color": colour, "weight": weight, "fillColor": colour, "fillOpacity": fill}}


def _layers(kind: str) -> list[LayerDef]:
    """The proposal's overlays (the current grids are added first, see :func:`proposal_page`)."""
    if kind == "grids":
        return [
            LayerDef(
                "repaired_grids",
                {"base": {"color": _REPAIRED, "weight": 2.5, "fillOpacity": 0.08}},
                ["code", "name"],
            ),
            LayerDef(
                "grid_changes",
                {
                    "base": {"weight": 1, "fillOpacity": 0.7},
                    "field": "kind",
                    "classes": [[k, c] for k, c in CHANGE_COLOURS.items()],
                    "categorical": True,
                },
                ["grid", "kind", "from_grid", "to_grid", "area_m2", "reason"],
            ),
            LayerDef("grids_left", _fixed(_LEFT, 0.35), ["code", "kind", "area_m2", "width_m"]),
        ]
    shown = ["assignment", "kind", "member", "member_name", "building", "household", "grid",
             "tier", "distance_m", "reason"]  # fmt: skip
    return [
        LayerDef("assignments_added", _fixed(_ADDED, 0.6), shown),
        LayerDef("assignments_ended", _fixed(_ENDED, 0.6), shown),
        LayerDef(
            "cadre_buildings",
            _fixed(_CADRES, 0.7),
            ["building", "households", "grid", "cadre_names", "reason"],
        ),
    ]


def _frames(kept: Proposal, lang: Lang) -> dict[str, Any]:
    """The frame of each overlay, with ``reason`` in the page's language."""
    layers = kept.layers
    if kept.kind == "grids":
        changes = layers["changes"]
        moved = set(changes["from_grid"].dropna()) | set(changes["to_grid"].dropna())
        grids = layers["grids"]
        frames = {
            "repaired_grids": grids[grids["code"].isin(moved)],
            "grid_changes": changes,
            "grids_left": layers["left"],
        }
    else:
        actions = layers["actions"]
        frames = {
            "assignments_added": actions[actions["action"].eq("add")],
            "assignments_ended": actions[actions["action"].eq("end")],
            "cadre_buildings": layers["cadres"],
        }
    reason = f"reason_{lang}"
    return {
        name: frame.assign(reason=frame[reason]) if reason in frame.columns else frame
        for name, frame in frames.items()
    }


def _largest(frame: Any, budget: int, columns: list[str]) -> Any:
    """The largest pieces of ``frame`` that fit in the page (all of them when they fit)."""
    size = shapely.area(np.asarray(frame.geometry.values, dtype=object))
    order = frame.assign(_size=size).sort_values("_size", ascending=False)
    keep = min(len(order), inline.INLINE_MAX_FEATURES)
    while keep > 0:
        data = inline.geojson(order.iloc[:keep], columns)
        if data is not None and len(data.encode()) <= budget:
            break
        keep //= 2
    return order.iloc[:keep].drop(columns="_size")


def _legend(kind: str, t: dict[str, str]) -> list[Legend]:
    if kind == "grids":
        edits = [(c, t.get(f"change_{k}", k)) for k, c in CHANGE_COLOURS.items()]
        return [(t["grid_changes"], edits),
                (t["proposal"], [(_REPAIRED, t["repaired_grids"]), (_LEFT, t["grids_left"])])]  # fmt: skip
    rows = [(_ADDED, t["assignments_added"]), (_ENDED, t["assignments_ended"]),
            (_CADRES, t["cadre_buildings"])]  # fmt: skip
    return [(t["proposal"], rows)]


def _panel(request: Request, kept: Proposal, lang: Lang) -> dict[str, Any]:
    """The panel's lines (what the proposal does) and links."""
    t, s = TEXT[lang], kept.summary
    if kept.kind == "grids":
        lines = [
            f"{t['edits']}: {s['edits']:,} · {t['area_moved']}: {s['area_moved_m2']:,.1f} m²",
            f"{t['grids_edited']}: {s['grids_edited']:,} / {s['grids']:,}",
            f"{t['grids_left']}: {sum(v['areas'] for v in s['left'].values()):,}",
        ]
    else:
        label = "label_zh" if lang == "zh" else "label_en"
        lines = [
            f"{t['assignments_added']}: {s['added']:,} · {t['assignments_ended']}: {s['ended']:,}",
            *(f"{f[label]}: {'–' if f['before'] is None else f['before']} → {f['after']}"
              for f in s["figures"]),
            f"{t['cadre_buildings']}: {s['cadres']['buildings']:,} "
            f"({s['cadres']['households']:,} {t['households']})",
        ]  # fmt: skip
    base = f"{request.scope.get('root_path', '')}/proposals/{kept.id}"
    return {"lines": lines, "gpkg": f"{base}.gpkg", "xlsx": f"{base}.xlsx",
            "geojson": f"{base}.geojson", "other_lang_query": page_query(lang=other_lang(lang))}  # fmt: skip


def proposal_page(request: Request, store: Store, kept: Proposal, *, lang: Lang = "zh",
                  user: Principal | None = None) -> str:  # fmt: skip
    """The page's HTML: the current grids, then the proposal's layers."""
    t = TEXT[lang]
    stamp = analysis_cache.data_stamp(store)  # the current grids' version and its time
    version = stamp.version
    grids = store.read_layer("grids", columns=["name"])
    frames = _frames(kept, lang)
    shown = [f for f in frames.values() if len(f)]
    bounds_of = shown[0] if shown else grids
    bounds = tuple(float(b) for b in bounds_of.total_bounds) if len(bounds_of) else None
    title = f"{t[f'proposal_{kept.kind}_title']} · {kept.id} · {kept.as_of.isoformat()}"
    if version != kept.version:
        title += f" · {t['proposal_stale']}"
    tile_key = tile_key_for(request, user)
    page = MapPage(request, lang, title, bounds, version, tile_key=tile_key, stamp=stamp)
    page.add_basemaps()
    current = LayerDef("grids", {"base": {"color": "#333333", "weight": 1.2, "dashArray": "4 3",
                                          "fillOpacity": 0.0}}, ["code", "name"])  # fmt: skip
    url = tiles.tile_url(page.base(), "grids", version=version, tile_key=tile_key)
    page.add_frame(current, grids, url, 0)
    cut = []
    for layer in _layers(kept.kind):
        frame = frames[layer.name]
        columns = [f[0] for f in page.popup_fields(layer.popup)] + [layer.spec.get("field", "code")]
        part = _largest(frame, page.budget, columns)
        if len(part) < len(frame):
            cut.append(f"{t[layer.name]}: {t['largest_shown']} {len(part):,} / {len(frame):,}")
        page.add_frame(layer, part, url, 0)
    page.legend = _legend(kept.kind, t)
    page.filters = "proposal_filters.html.j2"
    page.panel_label = t["proposal"]
    page.form = _panel(request, kept, lang)
    page.form["lines"] += cut
    return page.render()


@router.get(
    "/maps/proposal/{proposal_id}",
    response_class=HTMLResponse,
    dependencies=ROUTE_DEPENDENCIES,
    responses={404: {"description": "no such proposal (or no longer kept)"}, **REFUSALS},
)
def proposal_map(
    request: Request, store: StoreDep, user: ReaderDep, proposal_id: str, lang: LangQ = "zh"
) -> HTMLResponse:
    """A proposal of ``gridgeo fix`` beside the current grids (planners only)."""
    if user.role != "planner":
        raise PermissionDenied(f"role {user.role} may not do this; it needs one of: planner")
    kept = find_proposal(store, proposal_id)
    return page_response(request, proposal_page(request, store, kept, lang=lang, user=user))
