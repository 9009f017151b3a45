"""A local stand-in for the basemap providers, for the proxy tests (no internet needed).

``/tianditu/{layer}/{z}/{x}/{y}?tk=KEY`` answers real PNG tiles drawn by
:func:`gridgeo.render.tile_png` from the sample district (``vec_w``/``img_w``: the
basemap, ``cva_w``/``cia_w``: the district's outline); ``/amap/{z}/{x}/{y}`` answers
GCJ-02 tiles with a landmark drawn as a magenta disc at its GCJ-02 position;
``/broken/...`` answers 500. Every request is recorded.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from gridgeo import render
from gridgeo.chinacrs import wgs84_to_gcj02
from gridgeo.store import open_store

__all__ = ["LANDMARK_COLOUR", "Upstream", "amap_tile", "global_pixel", "upstream"]

LANDMARK_COLOUR = (255, 0, 255)
LANDMARK_RADIUS_PX = 5


def global_pixel(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Web Mercator global pixel coordinates of a lon/lat at zoom ``z`` (256 px tiles)."""
    scale = 256 * (1 << z)
    sin = math.sin(math.radians(lat))
    return (lon + 180) / 360 * scale, (
        0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)
    ) * scale


@dataclass
class Upstream:
    """The running stand-in: its base URL, the requests it got, the landmark it draws."""

    base: str
    landmark: tuple[float, float]
    requests: list[str] = field(default_factory=list)


def amap_tile(landmark: tuple[float, float], z: int, x: int, y: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (256, 256), (245, 242, 235))
    draw = ImageDraw.Draw(image)
    for i in range(0, 256, 32):  # a faint lattice, so the tile is not one colour
        draw.line([(i, 0), (i, 255)], fill=(220, 220, 220))
        draw.line([(0, i), (255, i)], fill=(220, 220, 220))
    glon, glat = (float(v) for v in wgs84_to_gcj02(*landmark))
    px, py = global_pixel(glon, glat, z)
    cx, cy = px - x * 256, py - y * 256
    r = LANDMARK_RADIUS_PX
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=LANDMARK_COLOUR)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@contextmanager
def upstream(store_url: str, landmark: tuple[float, float]) -> Iterator[Upstream]:
    """Serve the stand-in on a free port of 127.0.0.1 while the block runs."""
    store = open_store(store_url)
    lock = threading.Lock()
    state = Upstream("", landmark)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append(self.path)
            parts = urlsplit(self.path).path.strip("/").split("/")
            try:
                body = self._tile(parts, parse_qs(urlsplit(self.path).query))
            except LookupError:
                body = None
            if body is None:
                self.send_response(500 if parts[0] == "broken" else 404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _tile(self, parts: list[str], query: dict[str, list[str]]) -> bytes | None:
            if parts[0] == "tianditu" and len(parts) == 5:
                layer = "basemap" if parts[1] in ("vec_w", "img_w") else "district"
                z, x, y = (int(v) for v in parts[2:])
                with lock:
                    return render.tile_png(store, layer, z, x, y)
            if parts[0] == "amap" and len(parts) == 4:
                z, x, y = (int(v) for v in parts[1:])
                return amap_tile(landmark, z, x, y)
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        store.close()
