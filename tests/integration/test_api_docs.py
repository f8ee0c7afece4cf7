"""``/docs`` and ``/openapi.json`` as a browser and a client generator see them: Swagger UI
whose every script, stylesheet and icon comes from this origin (npm's swagger-ui-dist, not a
CDN), under a Content-Security-Policy that allows no other origin and no inline script;
no ReDoc, no OAuth2 redirect page; the document lists the API, not the console's pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest

from leadsync.settings import Settings
from tests.integration.admin_client import admin_client


class _Page(HTMLParser):
    """The URLs a page makes the browser load, and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[tuple[str, str]] = []  # (tag, URL)
        self.inline_scripts: list[str] = []
        self.openapi_url: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.loaded.append((tag, str(found[name])))
        if found.get("data-openapi-url"):
            self.openapi_url = found["data-openapi-url"]
        self._in_script = tag == "script"
        if tag == "script" and not found.get("src"):
            self.inline_scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def _policy(header: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_client(settings) as http:
        yield http


async def test_docs_is_swagger_ui_loaded_from_this_origin_only(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    page = _Page()
    page.feed(docs.text)
    assert page.inline_scripts == []
    scripts = [url for tag, url in page.loaded if tag == "script"]
    assert any(url.endswith("/swagger-ui-bundle.js") for url in scripts)
    assert page.openapi_url == "/openapi.json"
    for _tag, url in page.loaded:
        parts = urlsplit(url)
        # A path on this origin: no scheme, no host, not protocol-relative ("//cdn...").
        assert (parts.scheme, parts.netloc) == ("", ""), url
        assert url.startswith("/"), url
        assert not url.startswith("//"), url
        served = await client.get(url)
        assert served.status_code == 200, url
        assert served.content, url
    for url in scripts:
        assert "javascript" in (await client.get(url)).headers["content-type"], url


async def test_docs_policy_allows_this_origin_only(client: httpx.AsyncClient) -> None:
    docs = await client.get("/docs")
    policy = _policy(docs.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    # Scripts fall back to default-src: this origin, nothing inline, no eval.
    assert "script-src" not in policy
    assert policy["frame-ancestors"] == ["'none'"]
    for directive, sources in policy.items():
        allowed = {"'self'", "'none'"} | ({"data:"} if directive == "img-src" else set())
        assert set(sources) <= allowed, (directive, sources)
    assert docs.headers["x-frame-options"] == "DENY"
    assert docs.headers["x-content-type-options"] == "nosniff"


async def test_redoc_and_the_oauth2_redirect_page_are_gone(client: httpx.AsyncClient) -> None:
    for path in ("/redoc", "/docs/oauth2-redirect"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"


async def test_the_openapi_document_lists_the_api_and_no_console_page(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = set(document["paths"])
    assert {"/api/forms", "/api/contacts", "/api/audiences", "/api/accounts"} <= paths
    assert sorted(p for p in paths if p.startswith("/console")) == []
    assert "/docs" not in paths
