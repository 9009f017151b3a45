"""Online basemap providers: Tianditu (天地图) and AMap (高德), fetched by the service.

The service fetches the providers' tiles itself, so a provider's key never reaches a
browser: :func:`tianditu_url` fills the key into the URL on the server, and
:func:`fetch_tile` names the provider, layer and tile in its errors, never the URL.

Tianditu's ``_w`` layers are Web Mercator tiles of CGCS2000 coordinates, which agree
with WGS-84 to better than a metre: they are drawn as they are. AMap's tiles are drawn
in GCJ-02, offset by hundreds of metres; :func:`gcj02_tile` re-projects them into
the WGS-84 tile Leaflet asks for (see its docstring), so every overlay stays where it
is whatever the basemap.
"""

from __future__ import annotations

import io
import math
import urllib.error
import urllib.request
from collections.abc import Callable

import numpy as np

from gridgeo.chinacrs import wgs84_to_gcj02
from gridgeo.errors import NotFound, UpstreamError

__all__ = [
    "TIANDITU_LAYERS",
    "TILE_PX",
    "USER_AGENT",
    "amap_url",
    "fetch_tile",
    "gcj02_source_pixels",
    "gcj02_tile",
    "tianditu_url",
]

#: Tianditu's Web Mercator layers: vector, its labels, imagery, its labels.
TIANDITU_LAYERS = ("vec_w", "cva_w", "img_w", "cia_w")
TILE_PX = 256
USER_AGENT = "gridgeo basemap proxy"
#: What a tile's first bytes are: PNG, JPEG, WebP (RIFF).
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"RIFF")


def tianditu_url(template: str, key: str, layer: str, z: int, x: int, y: int) -> str:
    """The URL of one Tianditu tile, on one of the servers t0–t7 (``{s}``).

    Examples
    --------
    >>> tianditu_url("https://t{s}.example/{layer}/{z}/{x}/{y}?tk={key}", "K", "vec_w", 3, 6, 3)
    'https://t1.example/vec_w/3/6/3?tk=K'
    """
    if layer not in TIANDITU_LAYERS:
        raise NotFound(f"no Tianditu layer {layer!r}; the layers are {', '.join(TIANDITU_LAYERS)}")
    return template.format(s=(x + y) % 8, layer=layer, z=z, x=x, y=y, key=key)


def amap_url(template: str, z: int, x: int, y: int) -> str:
    """The URL of one AMap tile, on one of the servers webrd01–04 (``{s}``)."""
    return template.format(s=(x + y) % 4 + 1, z=z, x=x, y=y)


def fetch_tile(url: str, what: str, timeout: float) -> bytes | None:
    """The image at ``url`` (None: the provider has no tile there, a 404).

    ``what`` names the tile in errors (``"Tianditu vec_w 14/13722/6693"``): the URL,
    which may hold a key, is never put in a message.

    Raises
    ------
    UpstreamError
        The provider did not answer within ``timeout`` seconds, answered another error
        status, or answered something that is not an image (an error page).
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = bytes(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise UpstreamError(f"{what}: the provider answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UpstreamError(f"{what}: the provider did not answer ({reason})") from None
    if not data.startswith(_IMAGE_MAGIC):
        raise UpstreamError(f"{what}: the provider answered something that is not an image")
    return data


def gcj02_source_pixels(z: int, x: int, y: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each pixel of WGS-84 tile ``z/x/y`` lies in GCJ-02 tiles, as global pixels.

    Returns ``(px, py)``, each ``(256, 256)`` (row, column): the global Web Mercator
    pixel coordinates at zoom ``z`` of the pixel centres' GCJ-02 positions.

    Examples
    --------
    >>> px, py = gcj02_source_pixels(17, 109785, 53538)  # Shanghai: 403 px (410 m) east
    >>> round(float(px[0, 0] - (109785 * 256 + 0.5)))
    403
    """
    scale = TILE_PX * (1 << z)
    cols = (x * TILE_PX + np.arange(TILE_PX) + 0.5) / scale
    rows = (y * TILE_PX + np.arange(TILE_PX) + 0.5) / scale
    lon = np.broadcast_to(cols[None, :] * 360.0 - 180.0, (TILE_PX, TILE_PX))
    lat = np.broadcast_to(
        np.degrees(np.arctan(np.sinh(math.pi * (1 - 2 * rows))))[:, None], (TILE_PX, TILE_PX)
    )
    glon, glat = wgs84_to_gcj02(lon, lat)
    px = (glon + 180.0) / 360.0 * scale
    sin = np.sin(np.radians(glat))
    py = (0.5 - np.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * scale
    return px, py


def gcj02_tile(z: int, x: int, y: int, fetch: Callable[[int, int, int], bytes | None]) -> bytes:
    """The WGS-84 tile ``z/x/y`` re-projected from a provider's GCJ-02 tiles (PNG).

    Each output pixel takes the colour of the GCJ-02 tile pixel at its own GCJ-02
    position (:func:`gcj02_source_pixels`, nearest pixel: off by at most half a pixel,
    0.6 m at zoom 17). The offset changes little across a tile, so the pixels come
    from the two to four GCJ-02 tiles ``fetch(z, x, y)`` answers (None: none there,
    transparent).
    """
    from PIL import Image

    px, py = gcj02_source_pixels(z, x, y)
    col, row = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
    tx0, ty0 = int(col.min()) // TILE_PX, int(row.min()) // TILE_PX
    tx1, ty1 = int(col.max()) // TILE_PX, int(row.max()) // TILE_PX
    mosaic = np.zeros(((ty1 - ty0 + 1) * TILE_PX, (tx1 - tx0 + 1) * TILE_PX, 4), np.uint8)
    n = 1 << z
    for ty in range(ty0, ty1 + 1):
        for tx in range(tx0, tx1 + 1):
            data = fetch(z, tx % n, ty) if 0 <= ty < n else None
            if data is None:
                continue
            image = Image.open(io.BytesIO(data)).convert("RGBA").resize((TILE_PX, TILE_PX))
            r, c = (ty - ty0) * TILE_PX, (tx - tx0) * TILE_PX
            mosaic[r : r + TILE_PX, c : c + TILE_PX] = np.asarray(image)
    out = mosaic[row - ty0 * TILE_PX, col - tx0 * TILE_PX]
    buffer = io.BytesIO()
    Image.fromarray(out, "RGBA").save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
