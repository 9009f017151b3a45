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
"""

from gridgeo.synth.district import District, generate
from gridgeo.synth.parameters import METRIC_CRS, SCALES, Progress
from gridgeo.synth.writing import write_gpkg

__all__ = ["METRIC_CRS", "SCALES", "District", "Progress", "generate", "write_gpkg"]
