"""A seeded generator of a realistic synthetic district, with planted defects.

The district lies in Shanghai (around 121.44 E, 31.22 N). It is built in a metric
CRS (EPSG:32651, UTM 51N) and converted to EPSG:4326 at the end:

* streets form a jittered, slightly rotated lattice; each street has a class (main,
  secondary, branch road) and a width;
* grids (网格) follow street blocks: one block, two or four adjacent blocks, or half a
  block (a block split along its internal lane, 弄); their boundaries run along street
  centre lines, so the grids tile the district exactly (every shared edge has the same
  vertices on both sides) except at the planted defects;
* communities (社区) are rectangles of blocks; a community's polygon is the union of
  its grids' ideal polygons;
* buildings are rectangles set back from the streets and aligned with them, in rows:
  lane houses (里弄), garden houses, six-storey slabs (新村) and towers;
* households are units × floors × doors per floor of each building, each with a point
  inside its building;
* party organisations, members, cadres, grid workers and county-level leaders, and
  who is responsible for what (assignments);
* weekly visits, monthly grid council meetings and a problem list with a realistic
  lifecycle, clustered in space and time around planted hotspots.

Everything is vectorised (numpy, shapely 2, pyarrow strings); no Python loop runs per
building, household, visit or problem. The same seed gives the same district.

The deliberate defects are listed in ``District.defects``; see :func:`generate`.

How the package is laid out
---------------------------
:func:`generate` (``district.py``) runs the stages one after the other; each stage is
a function of the parameters and of earlier stages' outputs, and returns small frozen
dataclasses of numpy arrays, one row per record, each field named for what it holds.
Each stage draws from its own random stream (``Parameters.rng``), so the same seed
gives the same district as long as each stage draws in the same order.

* ``parameters.py``: presets (:data:`SCALES`), overrides, checks: ``Parameters``;
* ``vocabulary.toml``, ``vocabulary.py``: the names and texts (package data) and their loader;
* ``layout.py``: communities and grids on the block lattice: ``GridPlan``;
* ``streets.py``: the street lattice, widths and names: ``Streets``;
* ``buildings.py``: rows of buildings in the blocks: ``Buildings``;
* ``calibration.py``: block size and building mix to meet the targets: ``Layout``;
* ``defects.py``: gap, overlap, sliver, straddlers: ``GeometryDefects``;
* ``households.py``: households and their points: ``Households``, ``Positions``;
* ``people.py``: organisations, leaders, cadres, grid workers: ``People``;
* ``assignments.py``: partner members and assignment rows: ``Responsibility``;
* ``visits.py``: visits and weekly compliance: ``Visits``;
* ``meetings.py``: grid council meetings: ``Meetings``;
* ``problems.py``: the problem list and its hotspots: ``Problems``, ``Hotspots``;
* ``lifecycle.py``: what happens to a problem after it is reported: ``Lifecycle``;
* ``projection.py``: rotation into UTM, then EPSG:4326: ``Geometries``;
* ``frames.py``: the frame of a layer from arrow and numpy columns;
* ``place_frames.py``: frames of communities, grids, buildings, households;
* ``people_frames.py``: frames of organisations, members, assignments;
* ``activity_frames.py``: frames of visits, meetings, problems;
* ``truth.py``: the record of planted defects (``District.defects``);
* ``writing.py``: :func:`write_gpkg`;
* ``arrays.py``, ``columns.py``, ``names.py``: numpy helpers, arrow columns, names and phones.

A new kind of record is a stage module with its dataclass, called from
``district.py``, and a frame function; a new word list goes into ``vocabulary.toml``
(at the end of a list, so that existing seeds keep their names).
"""

from gridgeo.synth.district import District, generate
from gridgeo.synth.parameters import METRIC_CRS, SCALES, Progress
from gridgeo.synth.writing import write_gpkg

__all__ = ["METRIC_CRS", "SCALES", "District", "Progress", "generate", "write_gpkg"]
