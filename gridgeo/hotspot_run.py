"""Problem hotspots as one job: choose and read the inputs, run the analysis, write the layers.

What ``gridgeo hotspots`` does, as library functions. The problems come from a file
(:func:`gridgeo.hotspot_inputs.read_problems`) or from a store; the study area from a
file or, from a store, :func:`gridgeo.store.areas.study_area` (the communities, else the grids); the cells
may be a store's or a file's grids. :func:`gridgeo.analysis.hotspots.hotspot_layers`
does the analysis, without reading anything itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gridgeo.errors import Issue, ValidationError
from gridgeo.store.areas import study_area
from gridgeo.store.base import Progress

__all__ = [
    "HotspotInputs",
    "HotspotRun",
    "HotspotSource",
    "counted_problems",
    "LISA_WORDS",
    "hotspot_inputs",
    "hotspot_summary",
    "run_hotspots",
]


@dataclass(frozen=True)
class HotspotSource:
    """Where the inputs of a hotspot analysis come from.

    ``problems`` None: the store at ``db`` (default ``GRIDGEO_DATABASE_URL``) has them.
    ``cells`` is ``auto`` (chosen from the problems,
    :func:`~gridgeo.analysis.hotspots.resolution.auto_cells`), ``h3:RES``,
    ``square:METRES``, ``grids`` (the store's grids) or ``grids:FILE``. ``layer``, ``x``, ``y``, ``time_column`` and ``category_column`` say
    how to read the problems file; ``crs`` is what the input files' coordinates are in
    (``--crs``: an EPSG code for files without one, or ``gcj02``/``bd09``; see
    :mod:`gridgeo.io.crs`).
    """

    db: str | None = None
    problems: Path | None = None
    layer: str | None = None
    area: Path | None = None
    cells: str = "auto"
    x: str | None = None
    y: str | None = None
    time_column: str | None = None
    category_column: str | None = None
    crs: str | None = None


@dataclass
class HotspotInputs:
    """The frames a hotspot analysis runs on, and notes about how they were read."""

    points: gpd.GeoDataFrame
    #: the study area (None: the extent of the problems)
    area: gpd.GeoDataFrame | None
    #: grids as cells (None: the cells named by ``HotspotSource.cells``)
    grids: gpd.GeoDataFrame | None
    notes: list[str] = field(default_factory=list)


@dataclass
class HotspotRun:
    """What :func:`run_hotspots` computed and wrote."""

    layers: dict[str, gpd.GeoDataFrame]
    notes: list[str]
    path: Path

    @property
    def outside(self) -> int:
        """How many problems lay outside the study area (not counted)."""
        return int(self.layers["cells"].attrs.get("outside", 0))


def hotspot_inputs(
    source: HotspotSource, *, timezone: str, points_too: bool = True
) -> HotspotInputs:
    """Read what ``source`` names: problem points, study area and grids as cells.

    ``source.problems`` may be a partitioned exchange folder
    (:mod:`gridgeo.hotspot_partitions`): its problems, and its communities (else grids)
    as the area. ``points_too=False`` reads the area and cells only (the problems of a
    folder are then read per partition).

    A study area read from a store is :func:`~gridgeo.store.areas.study_area`, unless grids are the cells
    (their extent is then the area). Grids without a ``code`` column are numbered by
    row, with a note.

    Raises
    ------
    ValidationError
        ``cells="grids"`` with a problems file (name the grids' file: ``grids:FILE``).
    """
    from gridgeo.hotspot_inputs import read_problems
    from gridgeo.hotspot_partitions import folder_area, is_exchange_folder
    from gridgeo.io import read_file

    cells = source.cells.lower()
    folder = is_exchange_folder(source.problems)
    if cells == "grids" and source.problems is not None and not folder:
        raise ValidationError("--cells grids: give grids:FILE with --problems")
    crs = source.crs
    area = read_file(source.area, target="communities", crs=crs).frame if source.area else None
    grids = None
    if cells.startswith("grids:"):
        grids = read_file(Path(source.cells[6:]), target="grids", crs=crs).frame
    notes: list[str] = []
    if folder:
        from gridgeo.io.geoparquet import read_geoparquet

        assert source.problems is not None
        if points_too:
            points = read_geoparquet(source.problems, layers=("problems",)).frames.get("problems")
        else:
            points = None
        if points is None:
            points = gpd.GeoDataFrame({"reported_at": []}, geometry=gpd.GeoSeries([], crs=4326))
        if cells == "grids":
            grids = folder_area(source.problems, grids_as_cells=True)[1]
        if area is None and grids is None:
            area = folder_area(source.problems, grids_as_cells=False)[0]
    elif source.problems is not None:
        points, notes = read_problems(
            source.problems,
            layer=source.layer,
            x=source.x,
            y=source.y,
            time_column=source.time_column,
            category_column=source.category_column,
            crs=crs,
            timezone=timezone,
        )
    else:
        from gridgeo.store import open_store

        store = open_store(source.db)
        try:
            points = store.read_layer("problems")
            if cells == "grids":
                grids = store.read_layer("grids")
            if area is None and grids is None:
                area = study_area(store)
        finally:
            store.close()
    if grids is not None and "code" not in grids.columns:
        grids = grids.assign(code=[str(i + 1) for i in range(len(grids))])
        notes.append("the grids have no 'code' column: cells are numbered by row")
    return HotspotInputs(points, area, grids, notes)


def run_hotspots(
    source: HotspotSource,
    out: Path,
    *,
    category: Sequence[str] | None = None,
    status: Sequence[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    permutations: int = 999,
    seed: int = 0,
    weights: str = "queen",
    bandwidth: float | str = "silverman",
    interval: str = "month",
    timezone: str | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> HotspotRun:
    """Read the inputs, compute every hotspot layer and write them to a GeoPackage.

    Parameters
    ----------
    source
        Where the problems, the study area and the cells come from.
    out
        The GeoPackage to write (replaced if it exists), with the layers ``cells``,
        ``lisa``, ``density`` and ``emerging``; from a problems file also ``problems``
        (:func:`counted_problems`: what was counted, in WGS-84).
    category, status, start, end, permutations, seed, weights, bandwidth, interval
        As :func:`~gridgeo.analysis.hotspots.hotspot_layers` takes them.
    timezone
        The district's time zone; default the ``GRIDGEO_TIMEZONE`` setting.
    engine, scheduler
        ``"local"`` (one process) or ``"dask"``: the problems of a partitioned exchange
        folder are read and selected one task per partition on the Dask cluster at
        ``scheduler`` (None: a local cluster), the statistics then run over the whole
        area (:mod:`gridgeo.hotspot_partitions`); the layers are the same.
    progress
        ``progress(description, done, total)``.

    Returns
    -------
    HotspotRun
        The layers, notes about the inputs, and ``out``.
    """
    from gridgeo.analysis.hotspots import hotspot_layers
    from gridgeo.hotspot_partitions import is_exchange_folder
    from gridgeo.io import write_file

    if timezone is None:
        from gridgeo.settings import get_settings

        timezone = get_settings().timezone
    report = progress or _quiet
    selection = {"category": category, "status": status, "start": start, "end": end}
    dask = _check_engine(engine, source)
    report("reading inputs", 0, 1)
    inputs = hotspot_inputs(source, timezone=timezone, points_too=not dask)
    report("reading inputs", 1, 1)
    if dask:
        from gridgeo.cluster import dask_client
        from gridgeo.hotspot_partitions import selected_problems

        assert source.problems is not None
        report("starting the Dask cluster" if scheduler is None else "connecting to Dask", 0, 1)
        with dask_client(scheduler) as client:
            report("starting the Dask cluster" if scheduler is None else "connecting to Dask", 1, 1)
            inputs.points = selected_problems(
                source.problems, client, selection, timezone=timezone, progress=progress
            )
    layers = hotspot_layers(
        inputs.points,
        area=inputs.area,
        cells=inputs.grids if inputs.grids is not None else source.cells,
        **({} if dask else {k: v or None for k, v in selection.items()}),  # Dask: selected
        permutations=permutations,
        seed=seed,
        weights=weights,
        bandwidth=bandwidth,
        interval=interval,
        timezone=timezone,
        progress=progress,
    )
    written = dict(layers)
    if source.problems is not None and not is_exchange_folder(source.problems):
        written["problems"] = counted_problems(inputs.points, selection, timezone)
    out = Path(out)
    out.unlink(missing_ok=True)
    for i, (name, frame) in enumerate(written.items()):
        report("writing", i, len(written))
        write_file(frame, out, layer=name)
    report("writing", len(written), len(written))
    return HotspotRun(layers, inputs.notes, out)


def _check_engine(engine: str, source: HotspotSource) -> bool:
    """Whether the run is on Dask; refuse an unknown engine, or Dask without a folder."""
    from gridgeo.cluster import ENGINES
    from gridgeo.hotspot_partitions import is_exchange_folder

    if engine not in ENGINES:
        raise ValidationError(f"--engine {engine!r}: give one of {', '.join(ENGINES)}")
    if engine == "dask" and not is_exchange_folder(source.problems):
        raise ValidationError(
            Issue(
                "--engine dask reads the problems of a partitioned folder",
                hint="give --problems DIR, a folder written by gridgeo export --format "
                "geoparquet DIR (or gridgeo synth --scale province)",
            )
        )
    return engine == "dask"


def counted_problems(
    points: gpd.GeoDataFrame, selection: dict[str, Any], timezone: str
) -> gpd.GeoDataFrame:
    """The problems of a file that the analysis counts: codes and WGS-84 points.

    The rows :func:`~gridgeo.analysis.hotspots.select_problems` keeps (``selection``:
    its ``category``, ``status``, ``start``, ``end``), as read and converted to WGS-84
    at the file boundary, with their ``code`` (the file's code column: ``code``, ``id``,
    ``编号``..., else empty), ``category``, ``status`` and ``reported_at`` as far as the
    file has them. Problems outside the study area are among them (the cells layer
    counts them as ``outside``).
    """
    from gridgeo.analysis.hotspots import select_problems
    from gridgeo.hotspot_inputs import find_column
    from gridgeo.validate.columns import ALIASES

    chosen = select_problems(
        points, **{k: v or None for k, v in selection.items()}, timezone=timezone
    )
    code = find_column(list(chosen.columns), None, ("code", *ALIASES["code"]), "problems")
    columns = {"code": chosen[code].astype(str) if code else pd.Series(None, index=chosen.index)}
    for name in ("category", "status", "reported_at"):
        if name in chosen.columns:
            columns[name] = chosen[name]
    frame = pd.DataFrame(columns, index=chosen.index).reset_index(drop=True)
    geometry = gpd.GeoSeries(chosen.geometry.to_crs(4326).to_numpy(), crs=4326)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=4326)


#: the Local Moran clusters in words, as the CLI's summary shows them (the map's are in
#: api/maps/messages.toml)
LISA_WORDS = {
    "HH": "high among high (hot area, HH)",
    "LL": "low among low (cold area, LL)",
    "HL": "high among low (unusually high, HL)",
    "LH": "low among high (unusually low, LH)",
}


def hotspot_summary(layers: dict[str, gpd.GeoDataFrame]) -> list[tuple[str, str, int]]:
    """What the hotspot layers found: ``(layer, result, cells)`` rows, as the CLI shows them.

    The first row counts the problems over all cells; then the hot spots at each
    confidence, the cold spots, the cells per LISA cluster, the density bands and
    the cells per emerging pattern.
    """
    gi, lisa, emerging = layers["cells"], layers["lisa"], layers["emerging"]
    rows = [("cells", f"{gi.attrs.get('problems', 0):,} problems", len(gi))]
    for level, name in ((3, "99 %"), (2, "95 %"), (1, "90 %")):
        rows.append(("", f"hot spots ({name} confidence)", int((gi["gi_bin"] == level).sum())))
    rows.append(("", "cold spots (90–99 % confidence)", int((gi["gi_bin"] < 0).sum())))
    rows.append(("", "not significant", int((gi["gi_bin"] == 0).sum())))
    for label, n in lisa["lisa_cluster"].value_counts().items():
        rows.append(("lisa", LISA_WORDS.get(str(label), str(label)), int(n)))
    rows.append(("density", "contour bands", len(layers["density"])))
    if "label" in emerging.columns:
        for label, n in emerging.loc[emerging["label"] != "", "label"].value_counts().items():
            rows.append(("emerging", str(label), int(n)))
    return rows


def _quiet(description: str, done: int, total: int) -> None:
    """A progress callback that shows nothing."""
