"""What the check found, as files: a GeoPackage layer and a workbook sheet per result."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gridgeo.analysis.summary import finding_count
from gridgeo.errors import ValidationError
from gridgeo.sheets import write_sheets

__all__ = ["summary_counts", "write_results"]


def summary_counts(results: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per result layer: how many findings it has, and of which rules.

    The count is :func:`gridgeo.analysis.summary.finding_count`: the district's figure
    for the layers it counts (each building once), else the layer's rows.

    Examples
    --------
    >>> r = {"gaps": pd.DataFrame({"rule": ["R1", "R2", "R1"]}), "building_grid": pd.DataFrame()}
    >>> summary_counts(r).values.tolist()
    [['gaps', 3, 'R1, R2', ''], ['building_grid', 0, '', '']]

    Layers the inputs did not allow (``results.not_computed``) follow, with no count
    and why (e.g. ``no assignments in the inputs``), never a 0.
    """
    rows = []
    for name, frame in results.items():
        rule = ""
        if "rule" in frame.columns and len(frame):
            rule = ", ".join(sorted(set(frame["rule"].dropna().astype(str))))
        count = int(finding_count(results, name))
        rows.append({"layer": name, "rows": count, "rules": rule, "not_computed": ""})
    for name, reason in getattr(results, "not_computed", {}).items():
        rows.append({"layer": name, "rows": None, "rules": "", "not_computed": reason})
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
