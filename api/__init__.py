"""gridgeo's HTTP service (FastAPI). It depends on :mod:`gridgeo`, never the other way."""
