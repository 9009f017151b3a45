"""The analyses: pure functions from GeoDataFrames to GeoDataFrames or named Series."""

from gridgeo.analysis.findings import FINDING_COLUMNS, RULES, findings

__all__ = ["FINDING_COLUMNS", "RULES", "findings"]
