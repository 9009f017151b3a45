"""What the check found, as files: a GeoPackage layer and a workbook sheet per result."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridgeo.errors import ValidationError
from gridgeo.sheets import write_sheets

__all__ = ["summary_counts", "write_results"]


def summary_counts(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per result layer: how many rows it has, and of which rules.

    Examples
    --------
    >>> r = {"gaps": pd.DataFrame({"rule": ["R1", "R2", "R1"]}), "building_grid": pd.DataFrame()}
    >>> summary_counts(r).values.tolist()
    [['gaps', 3, 'R1, R2'], ['building_grid', 0, '']]
    """
    rows = []
    for name, frame in results.items():
        rule = ""
        if "rule" in frame.columns and len(frame):
            rule = ", ".join(sorted(set(frame["rule"].dropna().astype(str))))
        rows.append({"layer": name, "rows": len(frame), "rules": rule})
    return pd.DataFrame(rows)


def write_results(results: Mapping[str, pd.DataFrame], out: Path) -> tuple[Path, Path]:
    """Write every result as a layer of a GeoPackage and a sheet of an XLSX beside it.

    Layers without geometry become GeoPackage attribute tables; the workbook has a
    ``summary`` sheet (:func:`summary_counts`) and a sheet per result, without
    geometries (the GeoPackage has them) and with times in UTC without their offset
    (Excel has no time zones).

    Parameters
    ----------
    results
        Result layers by name, as :func:`~gridgeo.check.run_check` returns them.
    out
        The ``.gpkg`` to write (replaced if it exists); the ``.xlsx`` goes beside it.

    Returns
    -------
    tuple of Path
        The GeoPackage and the workbook.

    Raises
    ------
    ValidationError
        ``out`` is not a ``.gpkg`` path.
    """
    import pyogrio

    out = Path(out)
    if out.suffix.lower() != ".gpkg":
        raise ValidationError(f"--out {out}: give a .gpkg path (the .xlsx is written beside it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    xlsx = out.with_suffix(".xlsx")
    for name, frame in results.items():
        if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.notna().any():
            pyogrio.write_dataframe(frame, out, layer=name, driver="GPKG", promote_to_multi=False)
        else:
            table = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
            pyogrio.write_dataframe(table, out, layer=name, driver="GPKG")
    write_sheets({"summary": summary_counts(results), **results}, xlsx, geometry="omit")
    return out, xlsx
