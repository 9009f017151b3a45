"""`gridgeo check`: gather the inputs, run the analyses, write what they found.

The inputs come from a store, or straight from a planner's files (two shapefiles and
an Excel sheet are enough). Files are read leniently: a duplicate code or an invalid
polygon is not a reason to refuse the check, it is one of the things the check reports.

Modules
-------
inputs
    :class:`Inputs` and :func:`inputs_from_store`.
files
    :func:`read_inputs`: the files, mapped and selected as ``gridgeo import`` does.
steps
    Every step of the check, declared once with the layers it needs and writes
    (:data:`~gridgeo.check.steps.STEPS`); a new finding goes here.
engine
    :class:`~gridgeo.check.engine.Step` and the runner: dependency order, steps that
    cannot run and why.
run
    :func:`run_check`.
output
    :func:`summary_counts` and :func:`write_results` (GeoPackage and XLSX).
"""

from gridgeo.check.engine import CheckResults, Step
from gridgeo.check.files import FileOptions, read_inputs
from gridgeo.check.inputs import CHECK_READS, Inputs, inputs_from_store
from gridgeo.check.output import summary_counts, write_results
from gridgeo.check.run import run_check
from gridgeo.check.steps import STEPS

__all__ = [
    "CHECK_READS",
    "STEPS",
    "CheckResults",
    "FileOptions",
    "Inputs",
    "Step",
    "inputs_from_store",
    "read_inputs",
    "run_check",
    "summary_counts",
    "write_results",
]
