"""A member's browser going through a LinkedIn authorization as a person would: it opens the
link the admin API handed out (the page naming the account), presses Continue (the form's
fields, its cookies kept), is sent to the sandbox's authorization page, which approves at
once, and comes back with the URL of the callback, ready to be opened."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx

_FIELD = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


@dataclass(frozen=True)
class StartPage:
    url: str
    text: str
    fields: dict[str, str]  # what Continue posts


def browser(
    admin_origin: str | None = None, admin: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """A browser with a cookie jar of its own and no token; requests to ``admin_origin`` go
    to ``admin`` (the app in this process), the others (the sandbox) over the network."""
    mounts = {admin_origin: admin} if admin_origin and admin else {}
    return httpx.AsyncClient(mounts=mounts, timeout=60)


async def open_link(http: httpx.AsyncClient, link: str) -> StartPage:
    page = await http.get(link)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    fields = {name: html.unescape(value) for name, value in _FIELD.findall(page.text)}
    assert set(fields) == {"state", "csrf"}, page.text
    return StartPage(link, page.text, fields)


async def press_continue(
    http: httpx.AsyncClient, page: StartPage, **headers: str
) -> httpx.Response:
    """The form's POST (to ``start``, relative to the page)."""
    return await http.post(
        urljoin(page.url, "start"),
        content=urlencode(page.fields),
        headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
    )


async def to_linkedin(http: httpx.AsyncClient, link: str) -> str:
    """Open the link and press Continue: the LinkedIn page the browser is sent to."""
    sent = await press_continue(http, await open_link(http, link))
    assert sent.status_code == 303, sent.text
    return sent.headers["location"]


async def approve(
    http: httpx.AsyncClient, link: str, callback: str, member: str | None = None
) -> str:
    """Through the start page and the sandbox's approval (as ``member``, the demo one unless
    given): the callback URL LinkedIn sends the browser back to, not opened yet."""
    linkedin = await to_linkedin(http, link)
    query = parse_qs(urlsplit(linkedin).query)
    assert urlsplit(linkedin).path == "/oauth/v2/authorization"
    assert query["redirect_uri"] == [callback]
    if member is not None:
        linkedin += "&" + urlencode({"sandbox_member": member})
    answer = await http.get(linkedin)
    assert answer.status_code == 302, answer.text
    back = answer.headers["location"]
    assert back.split("?")[0] == callback
    return back


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
