"""The web shell, the inspector, their assets and each plugin's step pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from workflow.settings import Settings

Client = TestClient[Litestar]


@pytest.fixture
def site(
    make_client: Callable[[Settings], Client], catalog_plan: Path, tmp_path: Path
) -> Client:
    """An app serving a small web root of its own and the catalog plan's plugin pages."""
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<title>shell</title>")
    (web / "inspect.html").write_text("<title>inspector</title>")
    (web / "main.js").write_text("export const shell = true;\n")
    return make_client(Settings(plan=catalog_plan, web_root=web))


def test_root_serves_the_shell_page(site: Client) -> None:
    response = site.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>shell</title>" in response.text


def test_inspect_serves_the_inspector_page(site: Client) -> None:
    response = site.get("/inspect")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "inspector" in response.text


def test_shell_assets_are_served_under_shell(site: Client) -> None:
    response = site.get("/shell/main.js")

    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "shell = true" in response.text


@pytest.mark.parametrize(
    "path", ["/catalog/web/step-catalog.js", "/provision/web/step-provision.js"]
)
def test_plugin_pages_are_served_under_their_route(site: Client, path: str) -> None:
    response = site.get(path)

    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "activate" in response.text


@pytest.mark.parametrize(
    "path", ["/shell/missing.js", "/catalog/web/missing.js", "/catalog/web/../plugin.py",
             "/shell/../inspect.html", "/nowhere/web/x.js"],
)
def test_missing_or_outside_files_are_404(site: Client, path: str) -> None:
    assert site.get(path).status_code == 404


def test_static_routes_stay_out_of_the_openapi_document(site: Client) -> None:
    paths = site.get("/schema/openapi.json").json()["paths"]

    assert not {"/", "/inspect"} & set(paths)
    assert not any(path.startswith(("/shell", "/catalog/web")) for path in paths)


@pytest.mark.parametrize("path", ["/catalog/web", "/catalog/web/", "/provision/web"])
def test_switch_route_target_serves_the_shell(site: Client, path: str) -> None:
    response = site.get(path)

    assert response.status_code == 200
    assert "<title>shell</title>" in response.text
