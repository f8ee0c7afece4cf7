"""Bearer-token authentication of the admin API.

Every ``/api`` route requires ``Authorization: Bearer <LEADSYNC_ADMIN_TOKEN>``. The token is
compared in constant time so its content cannot be guessed byte by byte from response
times; a missing or wrong token gets 401 with ``WWW-Authenticate: Bearer`` and the same
message either way.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from admin.error_responses import ApiError

# auto_error=False: the 401 is ours (JSON error shape and WWW-Authenticate), not FastAPI's.
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="The value of LEADSYNC_ADMIN_TOKEN.",
    scheme_name="AdminToken",
)


def token_matches(expected: SecretStr, presented: str) -> bool:
    return hmac.compare_digest(expected.get_secret_value().encode(), presented.encode())


async def require_admin_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """The dependency every ``/api`` route carries."""
    expected: SecretStr = request.app.state.settings.admin_token
    if credentials is None or not token_matches(expected, credentials.credentials):
        raise ApiError(
            401,
            "unauthorized",
            "a valid admin token is required: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": 'Bearer realm="leadsync-admin"'},
        )
