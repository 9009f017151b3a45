"""A province: many generated cities side by side, streamed to partitioned GeoParquet.

A province is ``cities`` districts, each generated like one city (:func:`generate` at
``city_scale``) from its own seed, :func:`city_seed` ``(seed, index)``. The cities are laid
out west to east in rows running north, with :data:`CITY_MARGIN_M` metres between
the extents of their streets and points, so no two cities share a grid, a building or a
point. Every code is prefixed with the city's prefix (``S01-`` for the first city, see
:func:`city_prefix`), so codes are unique across the province.

:func:`write_province` generates one city at a time and writes it before the next one
starts: the generator hands over each layer's frame as soon as it is built, and the
writer writes it community by community and drops it, keeping only the codes and
partitions later layers follow. What it holds is one city at most, whatever the number
of cities. The directory it writes::

    DIR/gridgeo-parquet.json                       the manifest (:data:`MANIFEST`)
    DIR/<layer>/part=<community code>/part-0.parquet   a partitioned layer, per community
    DIR/<layer>/part-<city index>.parquet          a global layer, one file per city

Partitioned layers are :data:`PARTITIONED`; the partition of a row is the community
:data:`RULE` gives it. Spatial layers are GeoParquet 1.1 (WKB, EPSG:4326, a bbox
covering column); columns are the layer's fields (:data:`gridgeo.layers.LAYERS`) typed
as :func:`gridgeo.synth.writing.arrow_table` types them, then ``geometry``. The
``part`` column is not stored in the files: it is the Hive directory name.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from pyproj import Transformer

from gridgeo.errors import ValidationError
from gridgeo.io.partitions import (
    FORMAT,
    MANIFEST,
    PARTITION_KEY,
    PARTITIONED,
    RULE,
    VERSION,
    folder_name,
)
from gridgeo.layers import LAYER_ORDER, LAYERS, LayerSpec
from gridgeo.synth.district import _generate
from gridgeo.synth.parameters import DEFAULTS, METRIC_CRS, SCALES, Progress, resolve_parameters
from gridgeo.synth.province_parts import FOLLOWS, building_parts, following, grid_parts
from gridgeo.synth.vocabulary import load_vocabulary
from gridgeo.synth.writing import arrow_table

__all__ = [
    "CITY_MARGIN_M",
    "DEFAULT_CITIES",
    "FORMAT",
    "MANIFEST",
    "PARTITIONED",
    "PARTITION_KEY",
    "RULE",
    "Province",
    "city_prefix",
    "city_seed",
    "write_province",
]

#: Cities in a province when ``--cities`` is not given.
DEFAULT_CITIES = 10
#: Metres between the extents of two neighbouring cities.
CITY_MARGIN_M = 2000.0
#: Shanghai's districts: the names of the first cities (then numbered).
CITY_NAMES = (
    "长宁区", "徐汇区", "静安区", "普陀区", "虹口区", "杨浦区", "黄浦区", "闵行区",
    "宝山区", "嘉定区", "浦东新区", "松江区", "青浦区", "奉贤区", "金山区", "崇明区",
)  # fmt: skip


@dataclass(frozen=True)
class Province:
    """What :func:`write_province` wrote.

    Attributes
    ----------
    directory
        The directory holding the manifest and the layers.
    cities
        Number of cities.
    partitions
        Community codes, the partitions, in the order written.
    rows
        Rows written per layer.
    """

    directory: Path
    cities: int
    partitions: tuple[str, ...]
    rows: dict[str, int]


def city_seed(seed: int, index: int) -> int:
    """The seed of city ``index`` of the province generated from ``seed``.

    Examples
    --------
    >>> city_seed(0, 0) == city_seed(0, 0) != city_seed(0, 1)
    True
    """
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def city_prefix(index: int) -> str:
    """The prefix of every code of city ``index`` (from 0).

    Examples
    --------
    >>> city_prefix(0), city_prefix(11)
    ('S01-', 'S12-')
    """
    return f"S{index + 1:02d}-"


def city_name(index: int) -> str:
    """The ``district`` of city ``index``'s communities.

    Examples
    --------
    >>> city_name(0), city_name(16)
    ('长宁区', '长宁区2')
    """
    base = CITY_NAMES[index % len(CITY_NAMES)]
    return base if index < len(CITY_NAMES) else f"{base}{index // len(CITY_NAMES) + 1}"


@dataclass
class _Rows:
    """Cities in rows of ``columns``, west to east, rows running north (UTM 51N metres)."""

    west: float
    south: float
    columns: int
    margin: float = CITY_MARGIN_M
    x: float = math.nan
    y: float = math.nan
    height: float = 0.0
    placed: int = 0
    extents: list[tuple[float, float, float, float]] = field(default_factory=list)

    def __call__(self, extent: tuple[float, ...]) -> tuple[float, float]:
        low_x, low_y, high_x, high_y = extent
        if self.placed == 0:
            self.x, self.y = self.west, self.south
        elif self.placed % self.columns == 0:
            self.x, self.y = self.west, self.y + self.height + self.margin
            self.height = 0.0
        origin = (self.x - low_x, self.y - low_y)
        self.extents.append((self.x, self.y, self.x + high_x - low_x, self.y + high_y - low_y))
        self.x += high_x - low_x + self.margin
        self.height = max(self.height, high_y - low_y)
        self.placed += 1
        return origin


def write_province(
    directory: str | Path,
    *,
    cities: int = DEFAULT_CITIES,
    city_scale: str | dict[str, Any] = "city",
    seed: int = 0,
    progress: Progress | None = None,
) -> Province:
    """Generate a province city by city into a partitioned GeoParquet directory.

    Parameters
    ----------
    directory
        Where to write; created if missing. An existing directory must be empty or hold
        an earlier province (its manifest and layers are replaced).
    cities
        Number of cities, at least 1.
    city_scale
        The preset each city is generated at (``tiny``, ``sample`` or ``city``), or a
        dict of parameters on top of ``sample``, as :func:`~gridgeo.synth.generate` takes.
    seed
        The province's seed; city ``i`` is generated from ``city_seed(seed, i)``.
    progress
        Called as ``progress("province: city i of n", i - 1, n)`` per city, with each
        city's generation stages and ``progress("writing <layer>", done, total)``.

    Returns
    -------
    Province
        The directory, partitions and rows per layer.

    Raises
    ------
    ValidationError
        ``cities`` below 1, an unknown ``city_scale``, or a directory that is neither
        empty nor a province.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write_province(tmp, cities=2, city_scale="tiny")
    >>> p.cities, len(p.partitions), p.partitions[0]
    (2, 4, 'S01-C01')
    """
    if int(cities) < 1:
        raise ValidationError(f"cities must be at least 1, got {cities!r}")
    if isinstance(city_scale, str) and city_scale not in SCALES:
        raise ValidationError(f"unknown city scale {city_scale!r}; known: {', '.join(SCALES)}")
    directory = _prepare(Path(directory))
    to_metric = Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    west, south = to_metric.transform(DEFAULTS["lon"], DEFAULTS["lat"])
    place = _Rows(west, south, columns=math.ceil(math.sqrt(int(cities))))
    vocabulary = load_vocabulary()
    partitions: list[str] = []
    rows = dict.fromkeys(LAYER_ORDER, 0)
    for index in range(int(cities)):
        if progress is not None:
            progress(f"province: city {index + 1} of {cities}", index, int(cities))
        params, _ = resolve_parameters(
            city_scale, {"district": city_name(index)}, seed=city_seed(seed, index)
        )
        writer = _CityWriter(directory, index, progress)
        _generate(params, vocabulary, progress, place, sink=writer)
        partitions += writer.partitions
        for name, count in writer.rows.items():
            rows[name] += count
    if progress is not None:
        progress(f"province: city {cities} of {cities}", int(cities), int(cities))
    _write_manifest(directory, partitions, rows)
    return Province(directory, int(cities), tuple(partitions), rows)


def _prepare(directory: Path) -> Path:
    """The directory, empty: created, or cleared of an earlier province."""
    if directory.exists() and not directory.is_dir():
        raise ValidationError(f"{directory}: not a directory; give --out a directory")
    if directory.is_dir() and any(directory.iterdir()):
        manifest = directory / MANIFEST
        if not manifest.is_file():
            raise ValidationError(
                f"{directory}: the directory is not empty and holds no {MANIFEST}; "
                "give an empty or new directory"
            )
        for name in LAYER_ORDER:
            if (directory / name).is_dir():
                shutil.rmtree(directory / name)
        manifest.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _write_manifest(directory: Path, partitions: list[str], rows: dict[str, int]) -> None:
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "partition_key": PARTITION_KEY,
        "partitions": partitions,
        "layers": {
            name: {"partitioned": name in PARTITIONED, "rows": int(rows[name])}
            for name in LAYER_ORDER
        },
        "crs": "EPSG:4326",
        "rule": RULE,
    }
    temporary = directory / f".{MANIFEST}.tmp"
    temporary.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    temporary.replace(directory / MANIFEST)


def _prefixed(frame: pd.DataFrame, spec: LayerSpec, prefix: str) -> pd.DataFrame:
    """The frame with its code and references prefixed (missing references stay missing)."""
    for name in ["code", *(f.name for f in spec.refs)]:
        column = frame[name].astype("string[pyarrow]")
        frame[name] = prefix + column
    return frame


@dataclass
class _CityWriter:
    """Writes one city's layers as the generator builds them (a ``sink`` of ``_generate``).

    Each frame is written and dropped as soon as it arrives; what stays is what later
    layers follow: the codes and partitions of communities, grids, buildings, households
    and visits, and the grids' and communities' polygons.
    """

    directory: Path
    index: int
    progress: Progress | None
    communities: gpd.GeoDataFrame | None = None
    grids: gpd.GeoDataFrame | None = None
    codes: dict[str, pa.Array] = field(default_factory=dict)
    parts: dict[str, np.ndarray] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def partitions(self) -> list[str]:
        """The city's community codes: its partitions."""
        return self.codes["communities"].to_pylist()

    def _located(self, points: gpd.GeoSeries) -> np.ndarray:
        """Partition of the grid nearest each point (-1 for a missing point)."""
        assert self.grids is not None
        result = np.full(len(points), -1, dtype=np.int64)
        has = np.flatnonzero(points.notna().to_numpy() & ~points.is_empty.to_numpy())
        if len(has):
            tree = shapely.STRtree(np.asarray(self.grids.geometry.to_crs(METRIC_CRS).array))
            metric = np.asarray(points.iloc[has].to_crs(METRIC_CRS).array)
            result[has] = self.parts["grids"][tree.nearest(metric)]
        return result

    def __call__(self, name: str, frame: pd.DataFrame) -> None:
        frame = _prefixed(frame, LAYERS[name], city_prefix(self.index))
        self.rows[name] = len(frame)
        if name == "communities":
            self.communities = frame[["code", "geometry"]]
        if name in ("communities", "grids", "buildings", "households", "visits"):
            self.codes[name] = pa.array(frame["code"], type=pa.string())
        if name == "grids":
            self.grids = frame[["code", "geometry"]]
            self.parts[name] = grid_parts(frame, self.communities, self.codes["communities"])
        elif name == "buildings":
            self.parts[name] = building_parts(frame, self.grids, self.parts["grids"])
        elif name in FOLLOWS:
            self.parts[name] = following(name, frame, self.codes, self.parts, self._located)
        if name in PARTITIONED:
            communities = self.codes["communities"].to_numpy(zero_copy_only=False)
            parts = self.parts[name]
            _write_partitioned(self.directory, name, frame, parts, communities, self.progress)
        else:
            if self.progress is not None:
                self.progress(f"writing {name}", 0, 1)
            path = self.directory / name / f"part-{self.index}.parquet"
            _write_file(_typed(frame, LAYERS[name]), path)
            if self.progress is not None:
                self.progress(f"writing {name}", 1, 1)
        if name not in ("households", "visits", "buildings", "grids", "communities"):
            self.parts.pop(name, None)
        del frame
        pa.default_memory_pool().release_unused()


def _typed(frame: pd.DataFrame, spec: LayerSpec) -> pd.DataFrame:
    """The layer's fields with fixed arrow types (and geometry): every file has one schema."""
    table = arrow_table(frame, dataclasses.replace(spec, geometry=None))
    typed = table.to_pandas(types_mapper=pd.ArrowDtype)
    if not spec.geometry:
        return typed
    return gpd.GeoDataFrame(typed, geometry=np.asarray(frame.geometry.array), crs="EPSG:4326")


def _write_file(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_parquet(path, index=False, schema_version="1.1.0", write_covering_bbox=True)
    else:
        frame.to_parquet(path, index=False)


def _write_partitioned(
    directory: Path,
    name: str,
    frame: pd.DataFrame,
    parts: np.ndarray,
    communities: np.ndarray,
    progress: Progress | None,
) -> None:
    """One file per community that has rows, rows in their generated order."""
    order = np.argsort(parts, kind="stable")
    bounds = np.searchsorted(parts[order], np.arange(len(communities) + 1))
    total = len(communities)
    for community, code in enumerate(communities):
        if progress is not None:
            progress(f"writing {name}", community, total)
        rows = order[bounds[community] : bounds[community + 1]]
        if not len(rows):
            continue
        chunk = _typed(frame.iloc[rows], LAYERS[name])
        _write_file(chunk, directory / name / folder_name(code) / "part-0.parquet")
    if progress is not None:
        progress(f"writing {name}", total, total)
