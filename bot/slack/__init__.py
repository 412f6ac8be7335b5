"""The Slack adapter: a Bolt app whose listeners turn Slack payloads into Clusterbot calls."""

import hashlib
import hmac
import logging

from slack_bolt import App, BoltResponse
from slack_bolt.middleware import Middleware
from slack_bolt.request import BoltRequest

from bot import front_door
from bot.config import Settings
from bot.delivery import Delivery
from bot.delivery.lag import Lag
from bot.slack import listeners
from bot.slack.client import web_client
from bot.slack.listeners.payloads import MalformedPayload
from bot.slack.oauth import install_flow, oauth_configured, register_uninstall, workspaces_for
from bot.slack.platform import SlackPlatform, for_delivery
from commands import Clusterbot
from storage.clock import wall_clock

log = logging.getLogger(__name__)


def build_app(settings: Settings, product: Clusterbot, *, socket_mode: bool = False,
              delivery: Delivery | None = None, delivery_process: bool = False) -> App:
    """The real Bolt app, and the delivery component that sends everything after each ack (started
    here unless one is given; `app.delivery` names it): in this process's threads, or with
    `delivery_process` in a child process (bot/delivery/process.py), as the servers run it."""
    client = web_client(settings.bot_token, settings.slack_api_url)
    multi = oauth_configured(settings) and not socket_mode
    workspaces = workspaces_for(settings, product.db) if multi else None
    app = App(
        client=client,
        signing_secret=settings.signing_secret or ("" if socket_mode else None),
        request_verification_enabled=not socket_mode,
        process_before_response=True,  # listeners only commit and ack: the response leaves when they return
        # "Add to Slack": each request authorized with its workspace's installation (bot/slack/oauth.py)
        oauth_flow=install_flow(settings, product.db, client) if multi else None,
    )
    platform = SlackPlatform(client, workspaces)
    if delivery is None and delivery_process:
        from bot.delivery.process import DeliveryProcess

        delivery = DeliveryProcess(settings, platform, for_delivery, ballot_key=product.ballot_key).start(wait=False)
    delivery = delivery or Delivery(platform, product).start()
    app.error(_on_listener_error)
    app.middleware(RefuseUnrecognised())
    if multi:
        register_uninstall(app, product.db, workspaces)
    listeners.register(app, product, delivery, front_door.Roster(platform.is_guest))
    product.directory.serve(platform)  # names in exports: Slack looks them up
    app.delivery = delivery
    app.lag = Lag(product.outbox(platform.name, "healthz"), settings.delivery_lag_limit)  # for /healthz
    return app


class RefuseUnrecognised(Middleware):
    """A signed body that is neither a command nor a typed payload is malformed: 400, not Bolt's 404.
    A Middleware subclass, not a function: Bolt builds a function's arguments (every payload view)
    on every request."""

    def process(self, *, req: BoltRequest, resp: BoltResponse, next) -> BoltResponse | None:
        if not (req.body.get("command") or req.body.get("type")):
            log.warning("signed request with no command or type")
            return BoltResponse(status=400, body='{"error": "malformed body"}')
        return next()


def _on_listener_error(error: Exception, response: BoltResponse | None, logger: logging.Logger) -> None:
    """A payload missing what Slack always sends is the sender's fault (400), not ours (500)."""
    if isinstance(error, MalformedPayload) and response is not None:
        response.status, response.body = 400, '{"error": "malformed payload"}'
        logger.warning("malformed payload: %s", error)
    else:
        logger.exception("listener failed", exc_info=error)


def dispatch(app: App, raw: bytes, headers: dict, query: str = "") -> BoltResponse:
    """Hand a raw HTTP request to Bolt. A body Bolt cannot even parse (not UTF-8, broken JSON, JSON that
    is not an object, nested too deep) is refused as 400. An unsigned request (or one whose timestamp is not
    a number) gets 401 before anything reads its body, so it is never parsed or logged."""
    if not _is_signed(app._signing_secret or "", raw, {k.lower(): v for k, v in headers.items()}):
        log.warning("refused an unsigned request (%d bytes)", len(raw))
        return BoltResponse(status=401, body='{"error": "invalid request"}')
    try:
        request = BoltRequest(body=raw.decode("utf-8"), query=query, headers=headers)
    except (ValueError, AttributeError, TypeError, KeyError, RecursionError):  # not UTF-8, not an object …
        return BoltResponse(status=400, body='{"error": "malformed body"}')
    return app.dispatch(request)


def _is_signed(secret: str, raw: bytes, headers: dict) -> bool:
    """Slack's v0 signature over the raw bytes (slack_sdk's verifier needs UTF-8, which a broken body may not be)."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    if not secret or not (timestamp.isascii() and timestamp.isdecimal() and len(timestamp) <= 12) \
            or abs(wall_clock().timestamp() - int(timestamp)) > 300:
        return False
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), headers.get("x-slack-signature", "").encode("utf-8", "replace"))
