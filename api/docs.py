"""The interactive API documentation (Swagger UI and ReDoc), served without the internet.

FastAPI's own ``/docs`` and ``/redoc`` pages load their scripts from a CDN, so on an
intranet they stay blank. These routes give the same pages with the scripts, styles and
icon taken from ``/static/vendor/`` (``swagger-ui-dist`` and ``redoc``, pinned in
``scripts/vendor.sh``) and without ReDoc's Google fonts.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

__all__ = ["DOCS_ASSETS", "router"]

#: The files the two pages load, under /static/vendor/ (packages pinned in scripts/vendor.sh).
DOCS_ASSETS: dict[str, str] = {
    "swagger_js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger_css": "swagger-ui-dist/swagger-ui.css",
    "swagger_icon": "swagger-ui-dist/favicon-32x32.png",
    "redoc_js": "redoc/bundles/redoc.standalone.js",
}

router = APIRouter(include_in_schema=False)


def _asset(request: Request, name: str) -> str:
    return str(request.url_for("static", path="vendor/" + DOCS_ASSETS[name]).path)


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over this service's OpenAPI document."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} API",
        swagger_js_url=_asset(request, "swagger_js"),
        swagger_css_url=_asset(request, "swagger_css"),
        swagger_favicon_url=_asset(request, "swagger_icon"),
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over this service's OpenAPI document."""
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} API",
        redoc_js_url=_asset(request, "redoc_js"),
        redoc_favicon_url=_asset(request, "swagger_icon"),
        with_google_fonts=False,
    )
