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

__version__ = "0.1.0"

#: the heavier names, imported when first used: ``gridgeo`` itself (and so the
#: ``gridgeo`` command, a subpackage) starts without pandas, GDAL or SQLAlchemy
_LAZY = {
    "read_file": "gridgeo.io",
    "write_file": "gridgeo.io",
    "LAYER_ORDER": "gridgeo.layers",
    "LAYERS": "gridgeo.layers",
    "Store": "gridgeo.store",
    "open_store": "gridgeo.store",
    "prepare_layer": "gridgeo.validate",
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'gridgeo' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)


def __dir__() -> list[str]:
    return sorted(__all__)


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
