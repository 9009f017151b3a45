r"""The partitioned exchange format: every layer as GeoParquet, one folder per community.

A store (or a province) too big for one file is written as a folder that
``pyarrow.dataset``, ``dask.dataframe.read_parquet`` and ``dask_geopandas.read_parquet``
read as Hive-partitioned datasets::

    DIR/gridgeo-parquet.json                           the manifest (:data:`MANIFEST`)
    DIR/<layer>/part=<community code>/part-0.parquet   grids, buildings, households,
                                                       assignments, visits, meetings, problems
    DIR/<layer>/part-0.parquet                         communities, organisations, members

Files with a geometry are GeoParquet 1.1 (WKB, EPSG:4326, a ``bbox`` covering column);
the others plain Parquet. Their columns are the layer's frame as ``Store.read_layer``
gives it (the columns every export writes); the ``part`` column is the folder's name,
never a column of a file. A code that cannot be a folder name as it is has ``/ \ % = :
* ? " < > |``, control characters and a leading dot percent-encoded (the Hive reading of
pyarrow and Dask decodes them). A layer without rows has no file.

Each object is written exactly once, in the partition :func:`partition_keys` gives it
(:data:`RULE`): a building across two communities' grids goes where the check's own
building → grid step (:func:`gridgeo.analysis.coverage.building_grid`) puts it, so a
gap or an overlap on a community border never duplicates a row.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from gridgeo.errors import FileFormatError, Issue
from gridgeo.io.partitions import (
    CRS,
    FILE,
    FORMAT,
    MANIFEST,
    NONE,
    PARTITION_KEY,
    PARTITIONED,
    RULE,
    VERSION,
    code_of,
    folder_name,
    partition_keys,
)
from gridgeo.layers import LAYER_ORDER, LAYERS
from gridgeo.progress import Progress

__all__ = [
    "FORMAT",
    "MANIFEST",
    "NONE",
    "PARTITIONED",
    "PARTITION_KEY",
    "RULE",
    "VERSION",
    "ParquetRead",
    "check_rows",
    "concat_parts",
    "folder_name",
    "layer_files",
    "read_layer_file",
    "read_manifest",
    "partition_keys",
    "read_geoparquet",
    "write_geoparquet",
]


def _write_file(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = frame.reset_index(drop=True)
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_parquet(
            path, index=False, geometry_encoding="WKB", schema_version="1.1.0",
            write_covering_bbox=True,
        )  # fmt: skip
    else:
        pd.DataFrame(frame).to_parquet(path, index=False)


def write_geoparquet(
    frames: Mapping[str, pd.DataFrame], folder: str | Path, *, progress: Progress | None = None
) -> dict[str, Any]:
    """Write layer frames as the partitioned exchange format; return the manifest.

    Parameters
    ----------
    frames
        Layer → frame as ``Store.read_layer`` gives it (geometries in EPSG:4326).
    folder
        The folder to write; it must not hold files other than an earlier export.

    Raises
    ------
    FileFormatError
        ``folder`` is a file, or a folder holding something else than an export.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FileFormatError(Issue("is a file; give a folder to write", file=str(folder)))
    ours = {MANIFEST, *LAYERS}  # an earlier export, finished or not
    if folder.is_dir() and any(p.name not in ours for p in folder.iterdir()):
        raise FileFormatError(
            Issue(
                "is a folder holding other files",
                file=str(folder),
                hint="give a new or empty folder (or one an earlier export wrote)",
            )
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # a half-written folder has no manifest
    keys = partition_keys(frames)
    layers: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for name in LAYER_ORDER:
        if name not in frames:
            continue
        frame = frames[name]
        _clear(folder / name)
        partitioned = name in PARTITIONED
        layers[name] = {"partitioned": partitioned, "rows": len(frame)}
        description = f"writing {name}"
        if not partitioned:
            if progress:
                progress(description, 0, 1)
            if len(frame):
                _write_file(frame, folder / name / FILE)
            if progress:
                progress(description, 1, 1)
            continue
        key = keys[name]
        groups = frame.groupby(key.to_numpy(), sort=True).indices if len(frame) else {}
        for i, (code, rows) in enumerate(groups.items()):
            if progress:
                progress(description, i, len(groups))
            used.add(str(code))
            _write_file(frame.iloc[rows], folder / name / folder_name(str(code)) / FILE)
        if progress:
            progress(description, len(groups), len(groups))
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "partition_key": PARTITION_KEY,
        "partitions": sorted(used),
        "layers": layers,
        "crs": CRS,
        "rule": RULE,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    (folder / MANIFEST).write_text(text, encoding="utf-8")
    return manifest


def _clear(layer_folder: Path) -> None:
    """Remove what an earlier export wrote for a layer (its Parquet files and folders)."""
    if not layer_folder.is_dir():
        return
    for path in sorted(layer_folder.rglob("*.parquet")):
        path.unlink()
    for path in sorted(layer_folder.rglob("*"), reverse=True):
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()


# -- reading --------------------------------------------------------------------------


@dataclass
class ParquetRead:
    """What :func:`read_geoparquet` read: the manifest and each layer's frame and source."""

    manifest: dict[str, Any]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def _refuse(message: str, where: Path | str, hint: str | None = None) -> FileFormatError:
    return FileFormatError(Issue(message, file=str(where), hint=hint))


def read_manifest(folder: Path) -> dict[str, Any]:
    """The checked manifest of an exchange folder.

    Raises
    ------
    FileFormatError
        No manifest, not JSON, another format or version, an unknown layer, a layer
        without its ``partitioned``/``rows``, or a CRS other than EPSG:4326.
    """
    path = folder / MANIFEST
    if not path.is_file():
        raise _refuse(
            f"no {MANIFEST}: not a folder written by gridgeo export --format geoparquet",
            folder,
            "give the folder holding gridgeo-parquet.json, or import one layer with "
            "gridgeo import LAYER FILE",
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(f"the manifest is not JSON ({exc})", path) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else None
        raise _refuse(f"the manifest's format is {got!r}, not {FORMAT!r}", path)
    if manifest.get("version") != VERSION:
        raise _refuse(
            f"format version {manifest.get('version')!r} is not read by this gridgeo "
            f"(it reads version {VERSION})",
            path,
            "export it again with this gridgeo, or upgrade gridgeo",
        )
    if manifest.get("partition_key", PARTITION_KEY) != PARTITION_KEY:
        raise _refuse(f"partition key {manifest['partition_key']!r} is not {PARTITION_KEY!r}", path)
    crs = manifest.get("crs", CRS)
    try:
        same = pyproj.CRS(crs).equals(pyproj.CRS(CRS), ignore_axis_order=True)
    except pyproj.exceptions.CRSError:
        same = False
    if not same:
        raise _refuse(f"the manifest's CRS {crs!r} is not {CRS}", path)
    layers = manifest.get("layers")
    if not isinstance(layers, dict) or not layers:
        raise _refuse("the manifest names no layers", path)
    for name, info in layers.items():
        if name not in LAYERS:
            raise _refuse(
                f"the manifest names an unknown layer {name!r}",
                path,
                f"known layers: {', '.join(LAYER_ORDER)}",
            )
        rows = info.get("rows") if isinstance(info, dict) else None
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
            raise _refuse(f"layer {name!r} has no row count", path)
        if not isinstance(info.get("partitioned"), bool):
            raise _refuse(f"layer {name!r} does not say whether it is partitioned", path)
    return manifest


def _files(folder: Path, name: str, partitioned: bool) -> list[tuple[str | None, Path]]:
    """(partition, file) of a layer: ``part=*/*.parquet`` or ``*.parquet``, sorted."""
    where = folder / name
    if not partitioned:
        return [(None, p) for p in sorted(where.glob("*.parquet"))]
    found = []
    for sub in sorted(where.iterdir()) if where.is_dir() else []:
        if sub.is_dir() and sub.name.startswith(f"{PARTITION_KEY}="):
            found += [(code_of(sub.name), p) for p in sorted(sub.glob("*.parquet"))]
    return found


def layer_files(folder: Path, manifest: dict[str, Any], name: str) -> list[tuple[str | None, Path]]:
    """(partition, file) of each file of layer ``name``, in the order :func:`read_geoparquet` reads.

    Raises
    ------
    FileFormatError
        A partition that the manifest does not list.
    """
    info = manifest["layers"].get(name)
    if info is None:
        return []
    partitions = set(map(str, manifest.get("partitions") or []))
    files = _files(folder, name, info["partitioned"])
    for code, path in files:
        if code is not None and partitions and code not in partitions:
            raise _refuse(f"partition {code!r} is not in the manifest", path.parent)
    return files


def check_rows(folder: Path, manifest: dict[str, Any], name: str, rows: int) -> None:
    """Refuse a layer whose files hold another number of rows than the manifest says.

    Raises
    ------
    FileFormatError
        ``rows`` is not the manifest's count of layer ``name``.
    """
    expected = int(manifest["layers"].get(name, {}).get("rows", 0))
    if rows != expected:
        raise _refuse(
            f"layer {name!r} holds {rows:,} rows, the manifest says {expected:,}",
            folder / name,
            "the folder is incomplete or was changed: export it again",
        )


def read_layer_file(path: Path, folder: Path, name: str) -> pd.DataFrame:
    """One file of layer ``name`` of the exchange folder ``folder``, checked (see :func:`_read_file`)."""
    return _read_file(Path(path), Path(folder), name)


@functools.lru_cache(maxsize=64)
def _crs(text: str) -> pyproj.CRS:
    """The CRS of a GeoParquet column's ``crs`` (JSON text), parsed once per distinct value.

    Parsing PROJJSON costs about 6 ms; a province's folder has thousands of files with
    the same CRS.
    """
    value = json.loads(text)
    if isinstance(value, dict):
        _drop_member_ids(value)
    return pyproj.CRS.from_user_input(value)


def _drop_member_ids(projjson: dict[str, Any]) -> None:
    """Datum ensemble members without ``id`` (older PROJ databases lack some; as geopandas)."""
    for key, value in projjson.items():
        if isinstance(value, dict):
            _drop_member_ids(value)
        elif key == "members" and isinstance(value, list):
            for member in value:
                if isinstance(member, dict):
                    member.pop("id", None)


@functools.lru_cache(maxsize=64)
def _is_wgs84(crs: pyproj.CRS) -> bool:
    return crs.equals(pyproj.CRS(CRS), ignore_axis_order=True)


def _read_geoparquet(path: Path, schema: Any) -> gpd.GeoDataFrame:
    """A GeoParquet file as ``geopandas.read_parquet`` reads it, the CRS parsed once per value.

    Files of one WKB geometry column (what gridgeo writes) are decoded here; any other
    (several geometry columns, GeoArrow encodings) by geopandas.
    """
    import pyarrow.parquet as pq

    metadata = schema.metadata
    geo = json.loads(metadata[b"geo"])
    columns = geo.get("columns") or {}
    primary = geo.get("primary_column")
    if len(columns) != 1 or primary not in columns or columns[primary].get("encoding") != "WKB":
        return gpd.read_parquet(path)
    covering = (columns[primary].get("covering") or {}).get("bbox") or {}
    boxes = {v[0] for v in covering.values() if isinstance(v, list) and v}
    wanted = [n for n in schema.names if n not in boxes]  # as geopandas reads
    if primary not in wanted:
        return gpd.read_parquet(path)
    table = pq.read_table(path, columns=wanted)
    crs = _crs(json.dumps(columns[primary].get("crs", "OGC:CRS84"), sort_keys=True))
    names = list(table.slice(0, 0).to_pandas().columns)
    frame = table.drop([primary]).to_pandas()
    geometry = gpd.array.from_wkb(np.array(table[primary]), crs=crs)
    frame.insert(names.index(primary), primary, geometry)
    out = gpd.GeoDataFrame(frame, geometry=primary)
    if b"PANDAS_ATTRS" in metadata:
        out.attrs = json.loads(metadata[b"PANDAS_ATTRS"])
    return out


def _read_file(path: Path, folder: Path, name: str) -> pd.DataFrame:
    """One Parquet file as a frame (a GeoDataFrame when it is GeoParquet)."""
    import pyarrow.parquet as pq

    shown = path.relative_to(folder.parent)
    try:
        schema = pq.read_schema(path)
        if b"geo" in (schema.metadata or {}):
            frame: pd.DataFrame = _read_geoparquet(path, schema)
        else:
            frame = pq.read_table(path).to_pandas()
    except Exception as exc:  # pyarrow's and geopandas' errors are many and unnamed
        raise _refuse(
            f"cannot read it as Parquet ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            shown,
            "export the folder again",
        ) from None
    if PARTITION_KEY in frame.columns:
        frame = frame.drop(columns=PARTITION_KEY)
    if isinstance(frame, gpd.GeoDataFrame):
        crs = frame.crs
        if crs is not None and not _is_wgs84(crs):
            raise _refuse(f"its geometries are in {crs.to_string()}, not {CRS}", shown)
        frame = frame.set_crs(CRS, allow_override=True)
    elif LAYERS[name].geometry and "geometry" in frame.columns:
        raise _refuse("has a geometry column but no GeoParquet metadata", shown)
    return frame


def read_geoparquet(
    folder: str | Path,
    *,
    layers: tuple[str, ...] | None = None,
    progress: Progress | None = None,
) -> ParquetRead:
    """Read an exchange folder: every layer of its manifest (or ``layers``), checked against it.

    Raises
    ------
    FileFormatError
        A broken manifest (:func:`read_manifest`), a layer with rows and no files, a
        file that is not Parquet, a partition outside the manifest, or a layer whose
        files hold another number of rows than the manifest says.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    out = ParquetRead(manifest)
    listed = manifest["layers"]
    for name in [n for n in LAYER_ORDER if n in listed and (layers is None or n in layers)]:
        info = listed[name]
        files = layer_files(folder, manifest, name)
        if info["rows"] and not files:
            raise _refuse(
                f"the manifest gives layer {name!r} {info['rows']:,} rows, but it has no files",
                folder / name,
                "the folder is incomplete: export it again",
            )
        parts = []
        description = f"reading {name}"
        for i, (_, path) in enumerate(files):
            if progress:
                progress(description, i, len(files))
            parts.append(_read_file(path, folder, name))
        if progress:
            progress(description, len(files), len(files))
        if not parts:
            continue
        frame = concat_parts(parts)
        check_rows(folder, manifest, name, len(frame))
        out.frames[name] = frame
        out.sources[name] = f"{folder.name}/{name}"
    return out


def concat_parts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The files of one layer as one frame, in order (a GeoDataFrame in EPSG:4326 for GeoParquet)."""
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    frame = pd.concat(parts, ignore_index=True)
    if isinstance(parts[0], gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=parts[0].geometry.name, crs=CRS)
    return frame
