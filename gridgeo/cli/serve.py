"""``gridgeo serve``: the web API on the embedded store or PostGIS."""

from __future__ import annotations

from typing import Annotated

import typer

from gridgeo.cli.common import DbOption, fails_cleanly, out

__all__ = ["serve"]


@fails_cleanly
def serve(
    db: DbOption = None,
    port: Annotated[int, typer.Option("--port")] = 8000,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    workers: Annotated[int, typer.Option("--workers", min=1)] = 1,
) -> None:
    """Start the web API (OpenAPI documentation at /docs) on the embedded store or PostGIS."""
    import os

    import sqlalchemy as sa
    import uvicorn

    from gridgeo.settings import Settings

    if db:
        os.environ["GRIDGEO_DATABASE_URL"] = db
    settings = Settings()  # the app reads the same environment
    url = sa.make_url(settings.database_url).render_as_string(hide_password=True)
    auth = settings.auth
    processes = f", {workers} processes" if workers > 1 else ""
    out.print(
        f"serving {url} on http://{host}:{port} (docs at /docs, auth {auth}{processes})",
        highlight=False,
    )
    if workers > 1 and settings.tile_key_secret is None:
        out.print(
            "note: GRIDGEO_TILE_KEY_SECRET is not set, so each process signs tile keys with "
            "a secret of its own and map pages may get tiles refused: set it",
            highlight=False,
        )
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers)
