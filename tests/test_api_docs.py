"""/docs and /redoc work on an intranet: every script, stylesheet and icon is served here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import need
from fastapi.testclient import TestClient

from api.docs import DOCS_ASSETS
from api.main import create_app
from api.maps import STATIC_DIR
from gridgeo.settings import Settings

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*["']([^"']+)["']""")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    if not all((STATIC_DIR / "vendor" / path).is_file() for path in DOCS_ASSETS.values()):
        need("api/static/vendor (swagger-ui-dist, redoc)", "run scripts/vendor.sh")
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('docs')) / 'docs.sqlite'}"
    with TestClient(create_app(Settings(database_url=url, auth="off"))) as c:
        yield c


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_documentation_pages_load_only_from_this_service(client, page):
    answer = client.get(page)
    assert answer.status_code == 200
    html = answer.text
    assert "gridgeo" in html
    links = [a or b for a, b in ASSET.findall(html)]
    scripts = [link for link in links if link.endswith((".js", ".css", ".png"))]
    assert scripts, html
    for link in links:
        assert not re.match(r"(https?:)?//", link), f"{page} loads {link} from outside"
        if link == "/openapi.json":
            continue
        fetched = client.get(link)
        assert fetched.status_code == 200, link
        assert len(fetched.content) > 500, link
    assert "fonts.googleapis" not in html


def test_the_openapi_document_the_pages_read_is_served(client):
    document = client.get("/openapi.json").json()
    assert document["info"]["title"] == "gridgeo"
    assert "/docs" not in document["paths"]
