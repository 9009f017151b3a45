"""gridgeo: grid-based community governance on PostGIS or an embedded store."""

__version__ = "0.1.0"
