"""One set of numbers: the CLI summary, the XLSX, the report and the API count alike."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from gridgeo.cli import app
from gridgeo.settings import Settings
from gridgeo.store import open_store
from gridgeo.synth import generate
from gridgeo.tokens import create_token

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parent.parent / "shapes" / "sample_district.gpkg"
AS_OF = {"sample": "2025-06-01", "tiny": None}
LAYERS = {"gaps": "gaps", "overlaps": "overlaps", "unassigned_buildings": "unassigned",
          "multi_assigned_buildings": "multi_assigned", "straddling_buildings": "straddling",
          "buildings_outside": "outside_grids"}  # fmt: skip


def gridgeo(*args: str | Path) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module", params=["sample", "tiny"])
def district(request, tmp_path_factory, sample_frames) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path_factory.mktemp(request.param) / 'd.sqlite'}"
    store = open_store(url)
    t = generate("tiny", seed=0) if request.param == "tiny" else None
    store.write_layers(sample_frames if t is None else t.layers)
    store.close()
    as_of = AS_OF[request.param] or str(t.defects["period"]["start"])[:10]
    return url, as_of


def test_every_output_counts_the_findings_alike(district, tmp_path: Path) -> None:
    url, as_of = district
    out = tmp_path / "check.gpkg"
    text = gridgeo("check", "--db", url, "--as-of", as_of, "--out", out, "--lang", "en")
    district_row = pd.read_excel(out.with_suffix(".xlsx"), sheet_name="summary_district").iloc[0]
    sheet = pd.read_excel(out.with_suffix(".xlsx"), sheet_name="summary").set_index("layer")
    cli = {m[1]: int(m[2].replace(",", "")) for m in re.finditer(r"│ (\w+) +│ +([\d,]+) │", text)}
    gridgeo(
        "report", "--db", url, "--as-of", as_of, "--out", tmp_path / "r", "--no-pdf", "--lang", "en"
    )
    html = (tmp_path / "r" / "coverage-report.en.html").read_text(encoding="utf-8")
    cards = {m[1]: int(m[2].replace(",", ""))
             for m in re.finditer(r'id="district-(\w+)">([\d,]+)<', html)}  # fmt: skip
    store = open_store(url)
    token = create_token(store, "planner")
    store.close()
    token = token[0]
    with TestClient(create_app(Settings(database_url=url, auth="on"))) as client:
        body = client.get(f"/findings?as_of={as_of}&limit=10000",
                          headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    api = pd.Series([f["properties"]["layer"] for f in body["features"]]).value_counts()
    for layer, figure in LAYERS.items():
        expected = int(district_row[figure])
        assert int(sheet.loc[layer, "rows"]) == expected, layer
        assert cli[layer] == expected, layer
        assert cards[figure] == expected, layer
        assert int(api.get(layer, 0)) == expected, layer
    score = re.search(r"coverage score: ([\d.]+)% of ([\d,]+) buildings", text)
    assert float(score[1]) == pytest.approx(district_row["coverage_score"])
    assert int(score[2].replace(",", "")) == district_row["buildings"] == cards["buildings"]


def test_without_assignments_responsibility_is_not_computed_anywhere(tmp_path: Path) -> None:
    t = generate("tiny", seed=0)
    t.layers["grids"].to_file(tmp_path / "g.gpkg")
    t.layers["buildings"].to_file(tmp_path / "b.gpkg")
    out = tmp_path / "o.gpkg"
    text = gridgeo("check", "--grids", tmp_path / "g.gpkg", "--buildings", tmp_path / "b.gpkg",
                   "--out", out, "--lang", "en")  # fmt: skip
    assert "coverage score: not computed (no assignments given)" in text and "%" not in text
    book = out.with_suffix(".xlsx")
    d = pd.read_excel(book, sheet_name="summary_district").iloc[0]
    assert pd.isna(d["coverage_score"]) and pd.isna(d["unassigned"])
    assert d["not_computed"] == "no assignments given"
    for name in ("summary_grids", "summary_communities"):
        frame = pd.read_excel(book, sheet_name=name)
        assert frame["coverage_score"].isna().all() and frame["unassigned"].isna().all()
    summary = pd.read_excel(book, sheet_name="summary").set_index("layer")
    assert summary.loc["unassigned_buildings", "not_computed"] == "no assignments in the inputs"
    assert pd.isna(summary.loc["unassigned_buildings", "rows"])
