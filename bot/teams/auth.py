"""The bot's own token for calling the Bot Connector: client credentials from TEAMS_TOKEN_URL.

The SDK would ask Microsoft's login through MSAL, which first discovers its authority on the
public internet; taking the token endpoint from a setting instead lets a sovereign cloud or the
tests' stand-in serve it. The token is cached until a minute before it expires.
"""

import threading
import time

import httpx

BOT_SCOPE = "https://api.botframework.com/.default"
EARLY = 60.0  # seconds: fetch a new token this long before the old one expires


class TokenUnavailable(Exception):
    """The token endpoint refused the bot's credentials or did not answer."""


class ClientCredentialsToken:
    def __init__(self, token_url: str, app_id: str, password: str, *, timeout: float = 10.0):
        self.token_url, self.app_id, self._password, self.timeout = token_url, app_id, password, timeout
        self._cached: dict[str, tuple[str, float]] = {}  # scope -> (token, good until, monotonic)
        self._lock = threading.Lock()

    async def __call__(self, scope: str | None = None, tenant_id: str | None = None) -> str:
        scope = scope or BOT_SCOPE
        with self._lock:
            cached = self._cached.get(scope)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.post(self.token_url, data={
                    "grant_type": "client_credentials", "client_id": self.app_id,
                    "client_secret": self._password, "scope": scope})
        except httpx.HTTPError as error:
            raise TokenUnavailable(f"no answer from the token endpoint ({type(error).__name__})") from None
        if answer.status_code != 200:
            raise TokenUnavailable(f"the token endpoint answered {answer.status_code}")
        body = answer.json()
        token, lifetime = body["access_token"], float(body.get("expires_in", 3600))
        with self._lock:
            self._cached[scope] = (token, time.monotonic() + max(lifetime - EARLY, 0.0))
        return token
