"""Raster tiles, static maps and Chinese text, drawn from the sample district.

The library functions run on the embedded store holding shapes/sample_district.gpkg
(loaded once per module with ``gridgeo load``); the same drawing served over HTTP
from PostGIS is tested in test_reports.py.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import mercantile
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from gridgeo import render
from gridgeo.check import inputs_from_store, run_check
from gridgeo.cli import app
from gridgeo.errors import ConfigError, NotFound, ValidationError
from gridgeo.render import fonts, styles
from gridgeo.store import Store, open_store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "shapes" / "sample_district.gpkg"
AS_OF = dt.date(2026, 3, 9)
#: A point inside the sample district (community C02), and one far from it.
INSIDE = (121.440, 31.222)
OUTSIDE = (121.60, 31.10)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path_factory.mktemp('render') / 'sample.sqlite'}"
    result = CliRunner().invoke(app, ["load", str(SAMPLE), "--db", url])
    assert result.exit_code == 0, result.output
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="module")
def results(sample: Store) -> dict:
    return run_check(inputs_from_store(sample), as_of=AS_OF)


def _png(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# -- Chinese text ----------------------------------------------------------------------


def _glyph(text: str) -> np.ndarray:
    """``text`` drawn by matplotlib with gridgeo's font settings, as a grey array."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with rc_context(fonts.rc_params()):
        fig = Figure(figsize=(1.2, 0.8), dpi=100)
        canvas = FigureCanvasAgg(fig)
        fig.text(0.1, 0.2, text, fontsize=40)
        canvas.draw()
        pixels = np.asarray(canvas.buffer_rgba())[:, :, :3].mean(axis=2)
    return pixels


def test_chinese_labels_are_drawn_with_real_glyphs() -> None:
    assert "CJK" in render.cjk_font() or "Hei" in render.cjk_font()
    chars = ["社", "区", "网", "格"]
    glyphs = [_glyph(c) for c in chars]
    for c, g in zip(chars, glyphs, strict=True):
        ink = (g < 128).sum()
        assert ink > 40, f"{c!r} drew almost nothing"
    # a missing glyph is drawn as the same box for every character: real glyphs differ
    for i in range(len(glyphs)):
        for j in range(i + 1, len(glyphs)):
            differing = (np.abs(glyphs[i] - glyphs[j]) > 64).sum()
            assert differing > 50, f"{chars[i]!r} and {chars[j]!r} look the same (empty boxes?)"
    # and two different words give different images
    assert (np.abs(_glyph("社区") - _glyph("网格")) > 64).sum() > 100


def test_tofu_box_is_detected_by_the_same_check() -> None:
    """The check above would fail with a Latin-only font (every Chinese glyph the same)."""
    import warnings

    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def latin(text: str) -> np.ndarray:
        with (
            rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")  # "Glyph ... missing from font(s) DejaVu Sans"
            fig = Figure(figsize=(1.2, 0.8), dpi=100)
            canvas = FigureCanvasAgg(fig)
            fig.text(0.1, 0.2, text, fontsize=40)
            canvas.draw()
            return np.asarray(canvas.buffer_rgba())[:, :, :3].mean(axis=2)

    assert (np.abs(latin("社") - latin("网")) > 64).sum() == 0


def test_missing_cjk_font_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    render.cjk_font.cache_clear()
    monkeypatch.setattr(fonts, "CJK_FAMILIES", ("No Such Font",))
    monkeypatch.setattr(fonts, "CJK_FILES", ())
    try:
        with pytest.raises(ConfigError, match="apt-get install fonts-noto-cjk"):
            render.cjk_font()
    finally:
        render.cjk_font.cache_clear()


# -- tiles -----------------------------------------------------------------------------


def test_basemap_tile_has_the_district(sample: Store) -> None:
    t = mercantile.tile(*INSIDE, 16)
    image = _png(render.tile_png(sample, "basemap", t.z, t.x, t.y))
    assert image.size == (256, 256)
    assert image.mode == "RGBA"
    rgba = np.asarray(image)
    assert (rgba[:, :, 3] == 255).all(), "the basemap is opaque by default"
    colour = styles.rgba(render.STYLES["buildings"].fill, 1.0)[:3]
    building = np.all(np.abs(rgba[:, :, :3].astype(int) - colour) < 12, axis=2)
    assert building.mean() > 0.05, "buildings are drawn in their colour"
    assert len(np.unique(rgba.reshape(-1, 4), axis=0)) > 50


def test_buildings_tile_transparent_where_nothing_is(sample: Store) -> None:
    t = mercantile.tile(*INSIDE, 16)
    inside = np.asarray(_png(render.tile_png(sample, "buildings", t.z, t.x, t.y)))
    covered = (inside[:, :, 3] > 0).mean()
    assert 0.05 < covered < 0.95, covered
    far = mercantile.tile(*OUTSIDE, 16)
    outside = np.asarray(_png(render.tile_png(sample, "buildings", far.z, far.x, far.y)))
    assert outside.shape == (256, 256, 4)
    assert (outside[:, :, 3] == 0).all()
    opaque = np.asarray(
        _png(render.tile_png(sample, "basemap", far.z, far.x, far.y, transparent=False))
    )
    assert (opaque[:, :, 3] == 255).all()
    assert len(np.unique(opaque.reshape(-1, 4), axis=0)) == 1, "only the background"


def test_buildings_are_not_drawn_below_their_zoom(sample: Store) -> None:
    t = mercantile.tile(*INSIDE, render.BUILDINGS_MIN_ZOOM - 1)
    image = np.asarray(_png(render.tile_png(sample, "buildings", t.z, t.x, t.y)))
    assert (image[:, :, 3] == 0).all()


def test_coverage_tile_colours_grids_by_score(sample: Store, results: dict) -> None:
    t = mercantile.tile(*INSIDE, 15)
    image = np.asarray(
        _png(render.tile_png(sample, "grid_coverage", t.z, t.x, t.y, results=results))
    )
    colours = {styles.rgba(c, 1.0)[:3] for _, c, _ in render.COVERAGE_CLASSES}
    # the fills are translucent over transparency: compare the colour only
    opaque = image[image[:, :, 3] > 80][:, :3].astype(int)
    near = [np.all(np.abs(opaque - c) < 10, axis=1).sum() for c in colours]
    assert sum(near) > 0.3 * len(opaque)
    with pytest.raises(ValidationError, match="results"):
        render.tile_png(sample, "grid_coverage", t.z, t.x, t.y)


def test_unknown_tile_layer_and_tile(sample: Store) -> None:
    with pytest.raises(NotFound, match="basemap"):
        render.tile_png(sample, "nope", 1, 0, 0)
    with pytest.raises(NotFound, match="does not exist"):
        render.tile_png(sample, "basemap", 2, 4, 0)


# -- static maps ---------------------------------------------------------------------------


def test_static_map_has_legend_scale_bar_and_map(sample: Store, results: dict) -> None:
    width, height = 900, 600
    data = render.static_map(
        sample,
        community="C01",
        layers=["communities", "grid_coverage", "buildings", "grids", "unassigned_buildings"],
        results=results,
        width=width,
        height=height,
    )
    image = np.asarray(_png(data).convert("RGB")).astype(int)
    assert image.shape == (height, width, 3)
    dark = image.sum(axis=2) < 200
    legend = dark[:, width - 230 :]
    assert legend[: height // 2].sum() > 500, "the legend panel holds text and swatches"
    map_panel = image[:, : width - 230]
    assert len(np.unique(map_panel.reshape(-1, 3), axis=0)) > 50
    # the scale bar: black segments at the lower left
    scale = dark[int(height * 0.85) :, : int(width * 0.25)]
    assert scale.sum() > 100
    # the coverage classes appear in the map panel
    coloured = [
        np.all(np.abs(map_panel - styles.rgba(c, 1.0)[:3]) < 60, axis=2).sum()
        for _, c, _ in render.COVERAGE_CLASSES
    ]
    assert sum(coloured) > 0.05 * map_panel.shape[0] * map_panel.shape[1]


def test_static_map_of_grid_bbox_and_district(sample: Store) -> None:
    grid = _png(render.static_map(sample, grid="C02-G003", lang="en", width=600, height=400))
    assert grid.size == (600, 400)
    area = (121.435, 31.215, 121.440, 31.220)
    assert _png(render.static_map(sample, bbox=area, width=400, height=400)).size == (400, 400)
    assert _png(render.static_map(sample, width=500, height=300)).size == (500, 300)


def test_static_map_errors(sample: Store) -> None:
    with pytest.raises(NotFound, match="C99"):
        render.static_map(sample, community="C99")
    with pytest.raises(ValidationError, match="unknown map layer"):
        render.static_map(sample, layers=["roads"])
    with pytest.raises(ValidationError, match="results"):
        render.static_map(sample, layers=["gaps"])
    with pytest.raises(ValidationError, match="one of"):
        render.static_map(sample, community="C01", grid="C01-G001")
    with pytest.raises(ValidationError, match="lang"):
        render.static_map(sample, lang="fr")
