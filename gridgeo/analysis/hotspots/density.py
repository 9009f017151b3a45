"""Kernel density: a Gaussian density raster of the problem points and its contour bands."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from gridgeo.analysis.hotspots.geometry import point_locations, study_area, working_crs
from gridgeo.policy import Policy

__all__ = ["DensitySurface", "density_contours", "kernel_bandwidth", "kernel_density"]


@dataclass(frozen=True)
class DensitySurface:
    """A kernel density raster.

    Attributes
    ----------
    values
        Problems per square kilometre, ``(rows, cols)``, row 0 at the north.
    transform
        Affine transform in rasterio's order ``(a, b, c, d, e, f)``: the centre of
        no pixel but the top-left corner of pixel (row, col) is
        ``x = a * col + b * row + c``, ``y = d * col + e * row + f``.
    crs
        The (metric) CRS of the raster.
    bandwidth_m
        The Gaussian kernel's standard deviation, metres.
    """

    values: np.ndarray
    transform: tuple[float, float, float, float, float, float]
    crs: pyproj.CRS
    bandwidth_m: float

    @property
    def cell_size_m(self) -> float:
        """Pixel size in metres."""
        return float(self.transform[0])

    def total(self) -> float:
        """The integral of the surface: about the number of points."""
        return float(self.values.sum() * (self.cell_size_m / 1000) ** 2)


def kernel_bandwidth(xy: np.ndarray, rule: str | float) -> float:
    """The kernel's standard deviation in metres: ``rule`` itself, or by a rule of thumb.

    ``"silverman"`` is Esri's spatial variant of Silverman's rule, ``"scott"`` Scott's
    (see :func:`kernel_density`); fewer than two points give 100 m.

    Raises
    ------
    ValueError
        An unknown rule.

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0], [100.0, 100.0]])
    >>> round(kernel_bandwidth(xy, "scott"), 2), kernel_bandwidth(xy, 60)
    (45.82, 60.0)
    """
    if not isinstance(rule, str):
        return float(rule)
    n = len(xy)
    if n < 2:
        return 100.0
    if rule == "scott":
        sigma = math.sqrt((xy[:, 0].var(ddof=1) + xy[:, 1].var(ddof=1)) / 2)
        return sigma * n ** (-1 / 6)
    if rule == "silverman":  # Esri's spatial variant of Silverman's rule of thumb
        centre = xy.mean(axis=0)
        dist = np.hypot(*(xy - centre).T)
        sd = math.sqrt(((xy - centre) ** 2).sum(axis=1).mean())
        dm = float(np.median(dist))
        return 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * n ** (-0.2)
    raise ValueError(f"bandwidth must be metres, 'scott' or 'silverman', not {rule!r}")


def kernel_density(
    problems: gpd.GeoDataFrame,
    *,
    bandwidth: float | str = "silverman",
    cell_size: float | None = None,
    area: gpd.GeoDataFrame | shapely.Geometry | None = None,
    levels: int | Sequence[float] = 5,
    policy: Policy | None = None,
) -> tuple[DensitySurface, gpd.GeoDataFrame]:
    """Gaussian kernel density of the points: a raster and its contour polygons.

    Parameters
    ----------
    problems
        Points (any CRS).
    bandwidth
        Standard deviation of the Gaussian kernel in metres, or a rule:
        ``"silverman"`` (default; Esri's spatial Silverman rule
        ``0.9 · min(SD, √(1/ln 2) · Dm) · n^-0.2``, SD the standard distance, Dm the
        median distance to the mean centre) or ``"scott"`` (``σ · n^(-1/6)``, σ the
        mean of the two coordinate standard deviations).
    cell_size
        Pixel size in metres; default a quarter of the bandwidth.
    area
        Extent of the raster (default: the points), padded by three bandwidths so the
        surface integrates to about the number of points.
    levels
        Number of contour bands between 0 and the maximum (the lowest band starts at
        the first level above 0), or explicit breaks (problems/km²).
    policy
        ``metric_crs``.

    Returns
    -------
    (DensitySurface, geopandas.GeoDataFrame)
        The raster (problems/km²) and the contours: ``level``, ``density_from``,
        ``density_to`` and (Multi)Polygon ``geometry`` in EPSG:4326.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.normal(0, 100, (500, 2)) + (350_000, 3_450_000)
    >>> pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=32651)
    >>> surface, contours = kernel_density(pts, bandwidth=50)
    >>> round(surface.total()), len(contours)
    (500, 5)
    """
    from scipy import ndimage

    crs = working_crs(problems, policy)
    present, xy = point_locations(problems, crs)
    xy = xy[present]
    h = kernel_bandwidth(xy, bandwidth)
    if not h > 0:
        raise ValueError(f"bandwidth must be positive, not {h}")
    size = float(cell_size or h / 4)
    region = study_area(area, crs)
    x0, y0, x1, y1 = region.bounds if region is not None else (*xy.min(0), *xy.max(0))
    pad = 3 * h
    x0, y0 = math.floor((x0 - pad) / size) * size, math.floor((y0 - pad) / size) * size
    ncol = max(1, math.ceil((x1 + pad - x0) / size))
    nrow = max(1, math.ceil((y1 + pad - y0) / size))
    top = y0 + nrow * size
    col = np.floor((xy[:, 0] - x0) / size).astype(np.int64)
    row = np.floor((top - xy[:, 1]) / size).astype(np.int64)
    ok = (col >= 0) & (col < ncol) & (row >= 0) & (row < nrow)
    counts = np.bincount(row[ok] * ncol + col[ok], minlength=nrow * ncol).reshape(nrow, ncol)
    smooth = ndimage.gaussian_filter(counts.astype(np.float64), sigma=h / size, mode="constant")
    values = smooth / (size / 1000) ** 2  # problems per km²
    surface = DensitySurface(values, (size, 0.0, x0, 0.0, -size, top), crs, h)
    return surface, density_contours(surface, levels)


def density_contours(
    surface: DensitySurface, levels: int | Sequence[float] = 5
) -> gpd.GeoDataFrame:
    """Filled contour bands of a density surface, as polygons in EPSG:4326.

    ``levels`` is the number of bands between 0 and the maximum or explicit breaks;
    the last band reaches up to the maximum.

    Examples
    --------
    >>> values = np.zeros((5, 5))
    >>> values[2, 2] = 8.0
    >>> surface = DensitySurface(values, (10.0, 0.0, 350_000.0, 0.0, -10.0, 3_450_050.0),
    ...                          pyproj.CRS(32651), 10.0)
    >>> density_contours(surface, [1, 4, 8])[["level", "density_from", "density_to"]].values.tolist()
    [[1.0, 1.0, 4.0], [2.0, 4.0, 8.0]]
    """
    import contourpy

    values = surface.values
    vmax = float(values.max()) if values.size else 0.0
    if isinstance(levels, int):
        edges = np.linspace(0, vmax, levels + 2)[1:] if vmax > 0 else np.empty(0)
    else:
        edges = np.asarray(sorted(levels), dtype=float)
    a, _, c, _, e, f = surface.transform
    xs = c + a * (np.arange(values.shape[1]) + 0.5)
    ys = f + e * (np.arange(values.shape[0]) + 0.5)
    gen = contourpy.contour_generator(
        xs, ys, values, fill_type=contourpy.FillType.OuterOffset, name="serial"
    )
    rows = []
    for k in range(len(edges) - 1 if len(edges) > 1 else 0):
        lo, hi = edges[k], edges[k + 1]
        if k == len(edges) - 2:
            hi = max(hi, vmax) + 1e-9
        points, offsets = gen.filled(lo, hi)
        polys = []
        for pts, offs in zip(points, offsets, strict=True):
            rings = [pts[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]
            if rings and len(rings[0]) >= 4:
                polys.append(shapely.Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4]))
        if polys:
            rows.append((k + 1, float(lo), float(edges[k + 1]), shapely.MultiPolygon(polys)))
    frame = pd.DataFrame(rows, columns=["level", "density_from", "density_to", "geometry"])
    geometry = gpd.GeoSeries(frame.pop("geometry").to_numpy(dtype=object), crs=surface.crs)
    return gpd.GeoDataFrame(frame, geometry=geometry.to_crs(4326).array, crs=4326)
