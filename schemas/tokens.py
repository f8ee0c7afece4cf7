"""A LinkedIn member's OAuth token pair: what the LinkedIn client refreshes and the
connection store keeps (encrypted) between processes."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr


@dataclass(frozen=True)
class TokenPair:
    """Tokens as ``SecretStr`` so a repr or a log line shows asterisks; times are epoch s."""

    access_token: SecretStr
    access_expires_at: float
    refresh_token: SecretStr | None = None
    refresh_expires_at: float | None = None
    scope: str = ""

    def secrets(self) -> list[str]:
        tokens = [self.access_token, self.refresh_token]
        return [t.get_secret_value() for t in tokens if t is not None]

    def can_refresh(self, now: float) -> bool:
        if self.refresh_token is None or not self.refresh_token.get_secret_value():
            return False
        return self.refresh_expires_at is None or now < self.refresh_expires_at
