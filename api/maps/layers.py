"""What the map pages draw: their overlays, the colour classes of each, the legends.

Finding layers take their colours from :data:`gridgeo.render.STYLES`, as the raster tiles
and static maps do; the basemap drawn from the service's vector tiles uses the same
colours as the raster basemap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.maps.text import Lang, pattern_label
from gridgeo import render

__all__ = [
    "BASEMAP_STYLES",
    "LayerDef",
    "Legend",
    "coverage_layers",
    "coverage_legend",
    "gi_words",
    "hotspot_layers",
    "hotspot_legend",
    "lisa_words",
]

#: A legend block: its title and its (colour, label) rows.
Legend = tuple[str, list[tuple[str, str]]]
#: the colour of a problem's point on the hotspot map
PROBLEM_COLOUR = "#e6550d"

COVERAGE_CLASSES = [[90, "#d7191c"], [95, "#fdae61"], [99, "#a6d96a"], [None, "#1a9641"]]
COVERAGE_LEGEND = ["< 90%", "90–95%", "95–99%", "≥ 99%"]
AGE_CLASSES = [[8, "#1a9641"], [31, "#ffffbf"], [91, "#fdae61"], [None, "#d7191c"]]
AGE_LEGEND = ["≤ 7", "8–30", "31–90", "> 90"]
_NEVER = "#7b3294"
_GREY = "#bdbdbd"


def _fixed(layer: str) -> dict[str, Any]:
    """A finding layer drawn as the raster tiles and static maps draw it (``render.STYLES``)."""
    style = render.STYLES[layer]
    return {
        "base": {
            "color": style.stroke,
            "weight": style.width,
            "fillColor": style.fill,
            "fillOpacity": style.fill_opacity,
        }
    }


@dataclass
class LayerDef:
    """One overlay of a coverage or hotspot page.

    ``pane``: ``areas`` (grids, gaps, cells), ``visits`` (buildings by last visit) or
    ``buildings`` (building findings), each drawn over the one before and clicked first
    (map.js). ``title_field``: the property that titles a feature's popup
    (its name), with its code beside it; without it the popup is titled by the layer.
    A popup row ``"a|b"`` shows property ``a``, or ``b`` where a feature has no ``a``
    (vector tiles carry codes, the page's own GeoJSON names too).
    """

    name: str
    spec: dict[str, Any]
    popup: list[str]
    show: bool = True
    pane: str = "areas"
    title_field: str | None = None


def coverage_layers() -> list[LayerDef]:
    """The coverage page's overlays: grids by score, the findings, last visits (off)."""
    finding = ["code", "explanation", "rule"]
    return [
        LayerDef(
            "grid_coverage",
            {
                "base": {"color": "#333333", "weight": 1, "fillOpacity": 0.45},
                "field": "coverage_score",
                "classes": COVERAGE_CLASSES,
                "missing": _GREY,
            },
            [
                "community_name|community",
                "coverage_score",
                "buildings",
                "unassigned",
                "multi_assigned",
                "straddling",
            ],
            title_field="name",
        ),
        LayerDef("gaps", _fixed("gaps"), [*finding, "kind", "area_m2"]),
        LayerDef("overlaps", _fixed("overlaps"), [*finding, "grid_a", "grid_b"]),
        LayerDef(
            "straddling_buildings",
            _fixed("straddling_buildings"),
            [*finding, "grid_ids"],
            pane="buildings",
        ),
        LayerDef("buildings_outside", _fixed("buildings_outside"), finding, pane="buildings"),
        LayerDef(
            "unassigned_buildings",
            _fixed("unassigned_buildings"),
            [*finding, "households", "households_assigned"],
            pane="buildings",
        ),
        LayerDef(
            "multi_assigned_buildings",
            _fixed("multi_assigned_buildings"),
            [*finding, "members_names|members", "n_members"],
            pane="buildings",
        ),
        LayerDef(
            "last_visits",
            {
                "base": {"color": "#555555", "weight": 0.5, "fillOpacity": 0.8},
                "field": "days_since",
                "classes": AGE_CLASSES,
                "missing": _NEVER,
            },
            ["building_id", "last_visit", "days_since"],
            show=False,
            pane="visits",
        ),
    ]


BASEMAP_STYLES = {
    "communities": {
        "base": {
            "color": "#4d4d4d",
            "weight": 2.5,
            "fill": True,
            "fillColor": "#f7f4ee",
            "fillOpacity": 1.0,
        },
    },
    "grids": {"base": {"color": "#8c8c8c", "weight": 0.8, "fill": False, "dashArray": "3 3"}},
    "buildings": {
        "base": {
            "color": "#a0a0a0",
            "weight": 0.5,
            "fill": True,
            "fillColor": "#d9d9d9",
            "fillOpacity": 1.0,
        },
    },
}


_GI_CLASSES = [
    [3, "#b2182b"],
    [2, "#ef8a62"],
    [1, "#fddbc7"],
    [0, "#f7f7f7"],
    [-1, "#d1e5f0"],
    [-2, "#67a9cf"],
    [-3, "#2166ac"],
]
_LISA_CLASSES = [
    ["HH", "#d7191c"],
    ["HL", "#fdae61"],
    ["LH", "#abd9e9"],
    ["LL", "#2c7bb6"],
    ["not significant", "#eeeeee"],
]
_DENSITY_COLOURS = ["#fee5d9", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15"]
_HOT = {
    "new": "#fcbba1",
    "consecutive": "#fc9272",
    "intensifying": "#a50f15",
    "persistent": "#de2d26",
    "diminishing": "#fb6a4a",
    "sporadic": "#fdd0a2",
    "oscillating": "#f16913",
    "historical": "#bdbdbd",
}
_COLD = {
    "new": "#c6dbef",
    "consecutive": "#9ecae1",
    "intensifying": "#08519c",
    "persistent": "#3182bd",
    "diminishing": "#6baed6",
    "sporadic": "#deebf7",
    "oscillating": "#4292c6",
    "historical": "#d9d9d9",
}


#: a hotspot cell's popup is titled by its grid and community (api.tiles.hotspot_places)
_PLACE = ["grid_name", "community_name"]


def gi_words(t: dict[str, str]) -> dict[str, str]:
    """A Gi* bin (−3…3, as text) → its words, e.g. ``热点（99% 置信）``."""
    return {str(v): t[f"gi_{'m' if v < 0 else ''}{abs(v)}"] for v, _ in _GI_CLASSES}


def lisa_words(t: dict[str, str]) -> dict[str, str]:
    """A Local Moran cluster (``HH``…) → its words, e.g. ``高-高聚集（热点区）``."""
    return {v: t.get(f"lisa_{v}", t["not_significant"]) for v, _ in _LISA_CLASSES}


def hotspot_layers() -> list[LayerDef]:
    """The hotspot page's overlays: Gi* bins, then LISA, density and emerging (off)."""
    cell = {"color": "#666666", "weight": 0.5, "fillOpacity": 0.65}
    emerging = [[f"{p} hot spot", c] for p, c in _HOT.items()]
    emerging += [[f"{p} cold spot", c] for p, c in _COLD.items()]
    return [
        LayerDef(
            "hotspot_cells",
            {"base": cell, "field": "gi_bin", "classes": _GI_CLASSES, "categorical": True},
            [*_PLACE, "gi_bin", "count", "cell_size", "cell_id"],
        ),
        LayerDef(
            "hotspot_lisa",
            {"base": cell, "field": "lisa_cluster", "classes": _LISA_CLASSES, "categorical": True},
            [*_PLACE, "lisa_cluster", "count", "cell_size", "cell_id"],
            show=False,
        ),
        LayerDef(
            "hotspot_density",
            {
                "base": {"color": "#a50f15", "weight": 0.5, "fillOpacity": 0.5},
                "field": "level",
                "classes": [[i + 2, c] for i, c in enumerate(_DENSITY_COLOURS[:-1])]
                + [[None, _DENSITY_COLOURS[-1]]],
            },
            ["level", "density_from", "density_to"],
            show=False,
        ),
        LayerDef(
            "hotspot_emerging",
            {
                "base": cell,
                "field": "label",
                "classes": emerging,
                "categorical": True,
                "missing": "#ffffff00",
            },
            [*_PLACE, "pattern_label", "count", "cell_size", "cell_id"],
            show=False,
        ),
        LayerDef(
            "hotspot_problems",
            {
                "base": {
                    "radius": 5,
                    "color": "#ffffff",
                    "weight": 1,
                    "fillColor": PROBLEM_COLOUR,
                    "fillOpacity": 0.9,
                },
                "cluster": {"until": 17},
            },
            ["code", "category", "reported_on", "status", "grid_name"],
            show=False,
        ),
    ]


def coverage_legend(t: dict[str, str], lang: Lang) -> list[Legend]:
    """The coverage page's legend: score classes, findings, last-visit ages."""
    days = (
        f"{t['last_visits']}（{t['days']}）"
        if lang == "zh"
        else f"{t['last_visits']} ({t['days']})"
    )
    scores = [(c, label) for (_, c), label in zip(COVERAGE_CLASSES, COVERAGE_LEGEND, strict=True)]
    ages = [(c, label) for (_, c), label in zip(AGE_CLASSES, AGE_LEGEND, strict=True)]
    findings = [
        (layer.spec["base"]["fillColor"], t[layer.name])
        for layer in coverage_layers()
        if "field" not in layer.spec
    ]
    return [
        (t["grid_coverage"], [*scores, (_GREY, t["no_buildings"])]),
        (t["findings"], findings),
        (days, [*ages, (_NEVER, t["never"])]),
    ]


def hotspot_legend(t: dict[str, str], lang: Lang, cells: str = "") -> list[Legend]:
    """The hotspot page's legend: Gi* bins, LISA clusters, emerging patterns.

    ``cells``: the cells in words (their size), shown with the Gi* bins.
    """
    gi = [(c, gi_words(t)[str(v)]) for v, c in _GI_CLASSES]
    lisa = [(c, lisa_words(t)[v]) for v, c in _LISA_CLASSES]
    emerging = [(c, pattern_label(p, "hot", lang)) for p, c in _HOT.items()]
    emerging += [(c, pattern_label(p, "cold", lang)) for p, c in _COLD.items()]
    return [
        (f"{t['hotspot_cells']} · {cells}" if cells else t["hotspot_cells"], gi),
        (t["hotspot_lisa"], lisa),
        (t["hotspot_emerging"], emerging),
        (t["hotspot_problems"], [(PROBLEM_COLOUR, t["hotspot_problem_point"])]),
    ]
