"""``GET /v2/userinfo``: OpenID Connect's answer to "who connected?".

LinkedIn names the member behind an access token through Sign In with LinkedIn using
OpenID Connect: ``{"sub": <member id>}`` for a token with the ``openid`` scope, plus
``name``, ``given_name``, ``family_name``, ``locale`` (and ``picture`` when the member has
one) with ``profile``, and ``email``, ``email_verified`` with ``email``. ``sub`` is the id
part of the member's person URN (``urn:li:person:<sub>``), the ``user`` of
``adAccountUsers``. Unversioned: no ``LinkedIn-Version`` or Rest.li header is needed. A
missing, unknown, expired or revoked token answers 401 and a token without ``openid`` 403,
in LinkedIn's JSON shape.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sandbox.errors import INVALID_TOKEN, RestliError
from sandbox.guard import admit_unversioned
from sandbox.members import OPENID_SCOPE
from sandbox.paging import json_response
from sandbox.state import SandboxState

RESOURCE = "userinfo.GET.NO_VERSION"  # how LinkedIn's 403 names this resource


async def userinfo(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    grant = await admit_unversioned(request, state, OPENID_SCOPE, RESOURCE)
    member = state.catalog.members.get(grant.member_urn)
    if member is None:  # a grant loaded from a state file of another world
        raise RestliError(401, "Invalid access token", INVALID_TOKEN)
    return json_response(member.userinfo(grant.scopes))
