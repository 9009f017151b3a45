"""Problem hotspots of a partitioned exchange folder, in one process or on a Dask cluster.

A folder written by ``gridgeo export --format geoparquet`` (or ``gridgeo synth --scale
province``) holds each community's problems in a partition of their own. The hotspot
statistics cannot be split the same way: a cell on a community border has neighbours in
both, Gi*'s false-discovery-rate correction runs over every cell of the study area, and
the emerging hot spots compare each cell's time slices with its neighbours'. So the work
is split where it is exact:

* **per partition** (one ``dask.distributed`` task each, :func:`selected_problems`): read
  the partition's problems file, check it, and keep the problems the selection
  (categories, statuses, period, a location) names;
* **once, over the whole area** (in the calling process): the selected problems of all
  partitions, in the order the folder lists them, go through
  :func:`~gridgeo.analysis.hotspots.hotspot_layers` like the problems of a store.

Selecting is row by row, so the problems the statistics see are the same rows, in the
same order, as when one process reads the whole folder: the layers are the same numbers.
``dask-geopandas`` is not used here: the work is a row filter per file and one
whole-area step, which plain tasks over the partition files do without its spatial
partitioning.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gridgeo.io.partitions import CRS, MANIFEST
from gridgeo.progress import Progress

__all__ = ["folder_area", "is_exchange_folder", "selected_problems"]

_STEP = "selecting problems per partition"


def is_exchange_folder(path: Path | None) -> bool:
    """Whether ``path`` is a partitioned exchange folder (it holds the manifest)."""
    return path is not None and Path(path).is_dir() and (Path(path) / MANIFEST).is_file()


def folder_area(folder: Path, *, grids_as_cells: bool) -> tuple[Any, Any]:
    """(study area, grids as cells) of an exchange folder, as a store gives them.

    The area is the communities that have a polygon, else the grids
    (:func:`gridgeo.store.areas.study_area`); with ``grids_as_cells`` the grids are the
    cells and their extent the area (area None).
    """
    from gridgeo.io.geoparquet import read_geoparquet

    if not grids_as_cells:
        communities = read_geoparquet(folder, layers=("communities",)).frames.get("communities")
        if isinstance(communities, gpd.GeoDataFrame) and communities.geometry.notna().any():
            return communities[communities.geometry.notna()].reset_index(drop=True), None
    grids = read_geoparquet(folder, layers=("grids",)).frames.get("grids")
    return (None, grids) if grids_as_cells else (grids, None)


def _select_file(
    path: str, folder: str, selection: Mapping[str, Any], timezone: str
) -> tuple[int, gpd.GeoDataFrame]:
    """One partition's task: its problems file read and checked, then the selected rows."""
    from gridgeo.analysis.hotspots import select_problems
    from gridgeo.io.geoparquet import read_layer_file

    frame = read_layer_file(Path(path), Path(folder), "problems")
    return len(frame), select_problems(frame, **selection, timezone=timezone)


def selected_problems(
    folder: Path,
    client: Any,
    selection: Mapping[str, Any],
    *,
    timezone: str,
    progress: Progress | None = None,
) -> gpd.GeoDataFrame:
    """The selected problems of every partition, each selected in a task on ``client``.

    Parameters
    ----------
    folder
        The exchange folder.
    client
        A ``distributed.Client`` (:func:`gridgeo.cluster.dask_client`).
    selection
        ``category``, ``status``, ``start``, ``end`` of
        :func:`~gridgeo.analysis.hotspots.select_problems`.
    timezone
        The district's time zone.
    progress
        ``progress(description, done, total)``, as partitions finish.

    Returns
    -------
    geopandas.GeoDataFrame
        The selected problems in the order of the folder's partitions (EPSG:4326).

    Raises
    ------
    FileFormatError
        A broken manifest or file, or partitions holding another number of problems
        than the manifest says.
    ValidationError
        A selection on a column the problems do not have.
    """
    from distributed import as_completed

    from gridgeo.cluster import gather
    from gridgeo.io.geoparquet import check_rows, layer_files, read_manifest

    folder = Path(folder)
    manifest = read_manifest(folder)
    files = layer_files(folder, manifest, "problems")
    report = progress or (lambda *_: None)
    report(_STEP, 0, len(files))
    futures = [
        client.submit(_select_file, str(path), str(folder), dict(selection), timezone, pure=False)
        for _, path in files
    ]
    for done, _ in enumerate(as_completed(futures), start=1):
        report(_STEP, done, len(files))
    results = gather(client, futures)
    check_rows(folder, manifest, "problems", sum(n for n, _ in results))
    parts = [frame for _, frame in results]
    if not parts:
        return gpd.GeoDataFrame({"reported_at": []}, geometry=gpd.GeoSeries([], crs=CRS))
    frame = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(frame, geometry=parts[0].geometry.name, crs=CRS)
