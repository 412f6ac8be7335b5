"""The Teams adapter: Microsoft's Teams SDK for Python (microsoft-teams-apps) serving POST /api/messages,
and GET /files/<token> for files shared with a cluster's channel.

Every inbound activity passes `gate.BotFrameworkGate` before the SDK sees it: a JWT the Bot Framework
signed for this app (issuer, audience = our app id, `exp`, signature against the keys published beside
TEAMS_OPENID_URL, the serviceurl claim equal to the activity's serviceUrl), else 401; from this tenant
(TEAMS_TENANT_ID), else 403. The same gate takes the SDK's own validator slot. Our one handler runs the activity through
`inbound.Turn` on a worker thread (the product and its database are synchronous), answers the HTTP
request as soon as that committed, and hands everything else to the delivery component (bot/delivery/).
"""

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from bot import front_door
from bot.config import Settings
from bot.delivery.lag import Lag
from bot.platform import AfterAck
from bot.teams.auth import ClientCredentialsToken
from bot.teams.gate import BotFrameworkGate, Refused, SigningKeys, take_over_sdk_validator
from bot.teams.inbound import Outcome, Turn
from bot.teams.platform import FILES, TeamsPlatform
from commands import Clusterbot
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

MESSAGES = "/api/messages"
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
NO_STORE = {"Cache-Control": "private, no-store"}
BODY_LIMIT = 256 * 1024  # bytes: the largest activity Teams sends is far smaller
BODY_SECONDS = 10.0  # a body not all sent within this is dropped (408): Bot Framework sends it at once
REFUSED = {401: "Unauthorized", 403: "Forbidden", 503: "Unavailable"}


def make_platform(settings: Settings, product: Clusterbot, *, timeout: float = 10.0) -> TeamsPlatform:
    token = ClientCredentialsToken(settings.teams_token_url, settings.teams_app_id, settings.teams_app_password,
                                   timeout=timeout)
    return TeamsPlatform(db=product.db, app_id=settings.teams_app_id, tenant_id=settings.teams_tenant_id,
                         token=token, timeout=timeout, public_url=settings.teams_public_url, share=product.share,
                         share_days=settings.shared_file_days, targeted=settings.teams_targeted_messages)


def build_app(settings: Settings, product: Clusterbot, platform: TeamsPlatform, delivery: AfterAck):
    """The SDK App (with its FastAPI server) wired to the product. Returns (app, fastapi)."""
    from microsoft_teams.apps import App
    from microsoft_teams.apps.http import FastAPIAdapter

    web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    cloud = gated(web, settings, timeout=platform.timeout)

    lag = Lag(product.outbox(platform.name, "healthz"), settings.delivery_lag_limit)

    @web.get("/healthz")
    async def healthz() -> Response:
        healthy = await asyncio.to_thread(product.db.is_healthy)
        sending = delivery.is_running()
        behind = await asyncio.to_thread(lag.behind) if healthy and sending else None
        ok = healthy and sending and behind is None
        said = {"ok": ok, "database": healthy, "delivery": sending}
        if behind is not None:  # running, but a due message has waited past DELIVERY_LAG_LIMIT
            said["oldest_due_seconds"] = int(behind)
        return JSONResponse(said, status_code=200 if ok else 503)

    @web.api_route(FILES + "{token}", methods=["GET", "HEAD"])
    async def shared_file(token: str) -> Response:
        return await asyncio.to_thread(serve_file, product, token)

    app = App(client_id=settings.teams_app_id, tenant_id=settings.teams_tenant_id, token=platform._token,
              cloud=cloud, http_server_adapter=FastAPIAdapter(app=web), messaging_endpoint=MESSAGES,
              dangerously_allow_unauthenticated_requests=False, telemetry={"agent365": False})
    turn = Turn(product, platform.bot_id, learn_name=platform.learn_name, remember=platform.remember_conversation,
                roster=front_door.Roster(platform.is_guest), name_of=platform.display_name,
                in_team=platform.in_team)
    product.directory.serve(platform)  # names in exports: those Teams has shown us (stored)
    slow = ThreadPoolExecutor(max_workers=2, thread_name_prefix="teams-later")

    def hand_over(outcome: Outcome) -> None:
        """Everything after the ack: the answer and effects, a command's slow part, a file accepted."""
        if outcome.reply is not None:
            front_door.hand_on(delivery, outcome.reply, outcome.asker)
        if outcome.later is not None:
            command, text, caller = outcome.later

            def finish() -> None:
                later = product.finish(command, text, caller)
                if later.effects or not later.is_silent:
                    delivery.after_ack(later, outcome.asker)

            slow.submit(finish)
        if outcome.consent is not None:
            consent = outcome.consent
            platform.background.submit(platform.accept_file, consent["conversation"], consent["service_url"],
                                       consent["value"], consent["user"])

    @app.on_activity
    async def on_activity(ctx):
        activity = ctx.activity.model_dump(by_alias=True, exclude_none=True, mode="json")
        try:
            outcome = await asyncio.to_thread(turn.run, activity)
        except Exception:  # the product answers its own failures; this is the adapter's
            log.exception("teams activity %s failed", activity.get("type"))
            return None
        hand_over(outcome)
        return outcome.body

    return app, web


def serve_file(product: Clusterbot, token: str) -> Response:
    """GET /files/<token>: a file shared with a cluster's channel, to whoever holds the link (it is the
    only key: 256 random bits, looked up by its hash, until it expires). Unknown, malformed and expired
    tokens look alike (404). Never cached by a browser or a proxy, and never logged."""
    if not TOKEN.fullmatch(token):
        return Response(status_code=404, headers=NO_STORE)
    try:
        found = product.shared_file(token)
    except DatabaseUnavailable:
        return Response(status_code=503, headers={**NO_STORE, "Retry-After": "30"})
    if found is None:
        return Response(status_code=404, headers=NO_STORE)
    how = "inline" if found.content_type.startswith("image/") else "attachment"
    name = quote(found.file_name, safe="")
    return Response(found.content, media_type=found.content_type, headers={
        **NO_STORE, "Content-Disposition": f"{how}; filename=\"{name}\"; filename*=UTF-8''{name}",
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
        "Referrer-Policy": "no-referrer"})


def check_credentials(platform: TeamsPlatform) -> str | None:
    """Ask the token endpoint for the bot's token once at start: a wrong password or tenant is then one
    clear line, not a failure on the first message. Returns the problem, or None."""
    from bot.teams.auth import TokenUnavailable

    try:
        asyncio.run(platform._token())
    except TokenUnavailable as error:
        return str(error)
    return None


def gated(web: FastAPI, settings: Settings, *, timeout: float):
    """Put the gate in front of `web`'s messaging endpoint (`_guard`) and return the SDK's cloud settings
    for an App served by `web` (bench/teams.py's floor is gated the same way)."""
    from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides

    cloud = with_overrides(PUBLIC, openid_metadata_url=settings.teams_openid_url)
    keys = SigningKeys(settings.teams_openid_url, timeout=timeout)
    gate = BotFrameworkGate(app_id=settings.teams_app_id, tenant_id=settings.teams_tenant_id,
                            issuer=cloud.token_issuer, keys=keys)
    web.state.gate = gate  # TeamsServer puts it in the SDK's validator slot once the SDK has made its own
    _guard(web, gate)
    return cloud


def _guard(web: FastAPI, gate: BotFrameworkGate) -> None:
    """Before the SDK sees a request: no token → 401 without reading the body; a body too big → 413, or
    not all sent within BODY_SECONDS → 408 (the connection closed);
    not a JSON object, or one nested deeper than front_door.JSON_DEPTH → 400 (the SDK, or our own parse,
    would answer such a body with a 500); then the gate (gate.py):
    not the Bot Framework's token for this app → 401, another tenant → 403; then a signed activity the
    SDK's model cannot read → 400, not the SDK's 500. One log line each."""

    @web.middleware("http")
    async def check(request: Request, call_next):
        if request.method != "POST" or request.url.path != MESSAGES:
            return await call_next(request)
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return JSONResponse({"error": "Unauthorized"}, status_code=401)
        size = request.headers.get("content-length")
        if size is not None and (not size.isdecimal() or int(size) > BODY_LIMIT):
            return JSONResponse({"error": "Too large"}, status_code=413)
        try:  # uvicorn waits for a half-sent body for ever: held open, thousands would hold the server
            body = await asyncio.wait_for(request.body(), timeout=BODY_SECONDS)
        except TimeoutError:
            log.warning("teams request refused (408): its body did not arrive in %.0f s", BODY_SECONDS)
            return JSONResponse({"error": "Too slow"}, status_code=408, headers={"Connection": "close"})
        except ClientDisconnect:
            return Response(status_code=400)
        if len(body) > BODY_LIMIT:
            return JSONResponse({"error": "Too large"}, status_code=413)
        parsed = front_door.json_object(body)  # not JSON, not an object, nested too deep: None
        if parsed is None:
            return JSONResponse({"error": "Not an activity"}, status_code=400)
        try:
            await gate.check(request.headers["authorization"].removeprefix("Bearer "), parsed)
        except Refused as refused:
            log.warning("teams activity refused (%d): %s", refused.status, refused.reason)
            return JSONResponse({"error": REFUSED.get(refused.status, "Refused")}, status_code=refused.status)
        if not _is_activity(parsed):
            log.warning("teams activity refused (400): not an activity the SDK can read")
            return JSONResponse({"error": "Not an activity"}, status_code=400)
        return await call_next(request)


def _is_activity(parsed: dict) -> bool:
    """The SDK reads the body with its own activity model and answers a 500 when it cannot (an
    uploadInfo that is not an object, say); a signed but malformed activity is the sender's fault: 400."""
    from microsoft_teams.api.activities import ActivityTypeAdapter
    from pydantic import ValidationError

    try:
        ActivityTypeAdapter.validate_python(parsed)
    except ValidationError:
        return False
    return True


class TeamsServer:
    """uvicorn serving the SDK's FastAPI app: in the foreground (`python -m bot teams`) or on a thread."""

    def __init__(self, app, web: FastAPI, host: str, port: int):
        import socket

        import uvicorn

        self.app, self.gate = app, web.state.gate
        self.socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))  # here, so a busy port is the caller's one clear line
        self.port = self.socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(web, log_level="warning", access_log=False, lifespan="off",
                                                    timeout_keep_alive=30, backlog=256))
        self._thread = None

    async def _serve(self) -> None:
        await self.app.initialize()
        take_over_sdk_validator(self.app, self.gate)
        await self.server.serve(sockets=[self.socket])

    def run(self) -> None:
        asyncio.run(self._serve())

    def start_in_thread(self) -> "TeamsServer":
        import threading
        import time

        self._thread = threading.Thread(target=self.run, name="teams-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.socket.close()
