"""Who may reach the bot: activities the Bot Framework signed for this app, from this tenant.

The Teams SDK's own check accepts two kinds of token. Besides the Bot Framework's, it takes Entra
("Agent 365") tokens, for which it fetches the signing keys of whatever tenant the token names, with a
blocking call on the event loop, and then skips the service URL check. PyJWT, under it, accepts a token
without `exp`. A clusterbot deployment serves one tenant through the Bot Framework only, so this gate
narrows it, in the order that costs an outsider nothing of ours:

1. the token's header and claims, read unverified, must be the Bot Framework's shape: RS256 with a
   key id, issuer exactly the Bot Framework's, audience this app, an `exp`, and a `serviceurl` equal
   to the activity's `serviceUrl`. Anything else is 401 at once, with no network call;
2. the signature, against the Bot Framework's published keys: fetched without blocking the event
   loop, kept a day, and fetched again for an unknown key id at most every few minutes (so a made-up
   key id cannot make us call out per request); the key must be endorsed for the activity's channel;
3. the tenant: every tenant id the activity names (channelData.tenant.id, conversation.tenantId) must
   be TEAMS_TENANT_ID, and it must name one. Anything else is 403: nothing is run, stored or sent.

It is used twice: by the FastAPI middleware before the SDK sees a request (all three steps), and in
the SDK's own validator slot (steps 1 and 2 again, with the same keys), so the SDK's validator, with
its Entra path, is never used.
"""

import asyncio
import json
import logging
import time

import httpx
import jwt

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
LEEWAY = 300  # seconds of clock skew allowed on exp and nbf (the SDK's own figure)
KEYS_LIFETIME = 24 * 3600.0  # seconds the published keys are used before they are fetched again
UNKNOWN_KEY_REFETCH = 300.0  # seconds: an unknown key id fetches the keys again at most this often
FAILED_FETCH_PAUSE = 10.0  # seconds after a failed fetch before the next one is tried
KEYS_MAX_BYTES = 256 * 1024


class Refused(Exception):
    """The activity is not let in: the HTTP status to answer, and a fixed reason for the log (never a
    value from the request: those are the sender's words)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _unauthorised(reason: str) -> Refused:
    return Refused(401, reason)


class SigningKeys:
    """The Bot Framework's published signing keys (OpenID metadata → jwks_uri), fetched with httpx's
    asynchronous client on the serving loop, one fetch at a time."""

    def __init__(self, openid_url: str, *, timeout: float = 10.0):
        self.openid_url, self.timeout = openid_url, timeout
        self._keys: dict[str, dict] = {}  # kid -> the published JWK
        self._fetched = float("-inf")  # monotonic time of the last good fetch
        self._failed = float("-inf")   # … and of the last failed one
        self._lock: asyncio.Lock | None = None

    async def find(self, kid: str) -> dict | None:
        """The published key with this id, or None. Raises Refused(503) when there are no keys at all
        and they cannot be fetched (an outage of ours, not the sender's fault)."""
        if kid in self._keys and time.monotonic() - self._fetched < KEYS_LIFETIME:
            return self._keys[kid]
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            now = time.monotonic()
            stale = now - self._fetched >= KEYS_LIFETIME
            unknown = kid not in self._keys and now - self._fetched >= UNKNOWN_KEY_REFETCH
            if (stale or unknown) and now - self._failed >= FAILED_FETCH_PAUSE:
                await self._fetch()
        if not self._keys:
            raise Refused(503, "the Bot Framework's signing keys could not be fetched")
        return self._keys.get(kid)

    async def _fetch(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                metadata = await self._json(client, self.openid_url)
                published = await self._json(client, str(metadata["jwks_uri"]))
            keys = {str(k["kid"]): k for k in published["keys"] if isinstance(k, dict) and k.get("kid")}
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            self._failed = time.monotonic()
            log.warning("the Bot Framework's signing keys could not be fetched (%s)", type(error).__name__)
            return
        self._keys, self._fetched = keys, time.monotonic()

    @staticmethod
    async def _json(client: httpx.AsyncClient, url: str) -> dict:
        answer = await client.get(url)
        answer.raise_for_status()
        if len(answer.content) > KEYS_MAX_BYTES:
            raise ValueError("too large")
        body = json.loads(answer.content)
        if not isinstance(body, dict):
            raise ValueError("not an object")
        return body


class BotFrameworkGate:
    """The three steps above, for one app in one tenant."""

    def __init__(self, *, app_id: str, tenant_id: str, issuer: str, keys: SigningKeys):
        self.app_id, self.issuer, self.keys = app_id, issuer, keys
        self.tenant_id = tenant_id.lower()

    async def check(self, raw_token: str, activity: dict) -> None:
        """Raises Refused unless the activity may be run."""
        kid = self.shape(raw_token, activity.get("serviceUrl"))
        await self.signed(raw_token, kid, channel=activity.get("channelId"))
        self.tenant(activity)

    async def validate_token(self, raw_token: str, service_url: str | None = None) -> dict:
        """The SDK's validator interface (HttpServer answers 401 to any exception): steps 1 and 2."""
        try:
            kid = self.shape(raw_token, service_url)
            return await self.signed(raw_token, kid)
        except Refused as refused:
            raise jwt.InvalidTokenError(refused.reason) from None

    def shape(self, raw_token: str, service_url) -> str:
        """Step 1, no network: the token must look like one the Bot Framework issued for this app and
        this activity's service URL. Returns its key id."""
        try:
            header = jwt.get_unverified_header(raw_token)
            claims = jwt.decode(raw_token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _unauthorised("not a JWT") from None
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid:
            raise _unauthorised("not signed with RS256 and a key id")
        if claims.get("iss") != self.issuer:
            raise _unauthorised("not issued by the Bot Framework")
        audience = claims.get("aud")
        if audience != self.app_id and not (isinstance(audience, list) and self.app_id in audience):
            raise _unauthorised("not issued for this app")
        expires = claims.get("exp")
        if isinstance(expires, bool) or not isinstance(expires, (int, float)):
            raise _unauthorised("no expiry")
        claimed = claims.get("serviceurl")
        if not isinstance(claimed, str) or not isinstance(service_url, str) or not service_url:
            raise _unauthorised("no service URL in the token or the activity")
        if claimed.rstrip("/") != service_url.rstrip("/"):
            raise _unauthorised("the activity's service URL is not the token's")
        return kid

    async def signed(self, raw_token: str, kid: str, *, channel=None) -> dict:
        """Step 2: the signature and the claims again, now verified."""
        published = await self.keys.find(kid)
        if published is None:
            raise _unauthorised("signed with a key the Bot Framework does not publish")
        endorsements = published.get("endorsements")
        if channel is not None and isinstance(endorsements, list) and channel not in endorsements:
            raise _unauthorised("the signing key is not endorsed for this channel")
        try:
            key = jwt.PyJWK(published, algorithm=ALGORITHM)
            return jwt.decode(raw_token, key.key, algorithms=[ALGORITHM], audience=self.app_id, issuer=self.issuer,
                              leeway=LEEWAY, options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise _unauthorised("expired") from None
        except jwt.PyJWTError:
            raise _unauthorised("signature or claims do not verify") from None

    def tenant(self, activity: dict) -> None:
        """Step 3: an activity from this tenant only. Every tenant id it names must be ours."""
        named = [_tenant_in(activity, "channelData", "tenant", "id"), _tenant_in(activity, "conversation", "tenantId")]
        named = [t for t in named if t is not None]
        if not named:
            raise Refused(403, "the activity names no tenant")
        if any(not isinstance(t, str) or t.lower() != self.tenant_id for t in named):
            raise Refused(403, "the activity is from another tenant")


def _tenant_in(activity: dict, *path: str):
    value = activity
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def take_over_sdk_validator(app, gate: BotFrameworkGate) -> None:
    """Put the gate in the SDK's validator slot, once the SDK has made its own (App.initialize). The slot
    is the SDK's private attribute: if a new SDK version moves it, starting fails here, loudly, rather
    than run with the SDK's wider check."""
    from microsoft_teams.apps.auth import InboundActivityTokenValidator

    server = app.server
    if not isinstance(getattr(server, "_token_validator", None), InboundActivityTokenValidator):
        raise RuntimeError("the Teams SDK's inbound token validator was not where expected: check this SDK version")
    server._token_validator = gate
