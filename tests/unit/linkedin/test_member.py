"""Who connected: OpenID Connect's userinfo, outside ``/rest``, with the bearer token."""

from __future__ import annotations

import pytest

from linkedin import MalformedResponse, ReconnectRequired

from .fakes import ACCESS, Script, error, make_client, ok


async def test_the_member_is_named_by_userinfo_at_the_api_origin() -> None:
    script = Script(ok({"sub": "SEiBQaUKQY", "name": "Demo Member", "given_name": "Demo"}))
    async with make_client(script) as linkedin:
        member = await linkedin.member()
    assert (member.urn, member.name) == ("urn:li:person:SEiBQaUKQY", "Demo Member")
    [request] = script.requests
    assert (request.method, str(request.url)) == ("GET", "https://api.linkedin.com/v2/userinfo")
    assert request.headers["Authorization"] == f"Bearer {ACCESS}"


async def test_an_answer_without_sub_is_malformed() -> None:
    async with make_client(Script(ok({"name": "Nobody"}))) as linkedin:
        with pytest.raises(MalformedResponse, match="sub"):
            await linkedin.member()


async def test_a_refused_token_means_reconnecting() -> None:
    # 401 once, refreshed, 401 again: the member must connect again.
    script = Script(error(401, "Invalid access token", 65600))
    async with make_client(script) as linkedin:
        script.add(
            ok({"access_token": "AQV-new" + "n" * 40, "expires_in": 5_184_000}),
            error(401, "Invalid access token", 65600),
        )
        with pytest.raises(ReconnectRequired):
            await linkedin.member()
