"""gridgeo: grid-based community governance on PostGIS or an embedded store.

The public API, for notebooks and scripts:

>>> import gridgeo
>>> store = gridgeo.open_store("sqlite:///:memory:")
>>> sorted(store.counts())[:3]
['assignments', 'buildings', 'communities']
>>> store.close()
"""

from gridgeo.errors import (
    ConfigError,
    CRSError,
    FileFormatError,
    GridGeoError,
    NotFound,
    PermissionDenied,
    StoreError,
    ValidationError,
)
from gridgeo.io import read_file, write_file
from gridgeo.layers import LAYER_ORDER, LAYERS
from gridgeo.store import Store, open_store
from gridgeo.validate import prepare_layer

__version__ = "0.1.0"

__all__ = [
    "LAYERS",
    "LAYER_ORDER",
    "CRSError",
    "ConfigError",
    "FileFormatError",
    "GridGeoError",
    "NotFound",
    "PermissionDenied",
    "Store",
    "StoreError",
    "ValidationError",
    "__version__",
    "open_store",
    "prepare_layer",
    "read_file",
    "write_file",
]
