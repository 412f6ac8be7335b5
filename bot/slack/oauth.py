"""Slack for many workspaces: "Add to Slack" (Bolt's OAuth flow), each workspace's own bot token, token
rotation, and forgetting a workspace that uninstalls the app.

Bolt runs the flow (GET /slack/install, GET /slack/oauth_redirect: bot/server.py routes them) and
authorizes each request with the workspace's installation; the stores it reads and writes are the
product's database (storage/slack_installs.py, tables slack_installation and slack_oauth_state), not
Bolt's files, so every process (the server, its delivery child, the scheduler) sees the same tokens.
Delivery, which sends after the ack and from the scheduler, asks `Workspaces` for the client of the
workspace a message is for: the token is refreshed there too before it expires (rotation on).

Tokens are never logged: nothing here formats one, and the stores log nothing but counts.
"""

import html
import logging
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

from slack_bolt import App, BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_flow import OAuthFlow
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore
from slack_sdk.oauth.token_rotation import TokenRotator

from bot.config import Settings
from bot.platform import NoAnswer, Refused
from bot.slack.client import web_client
from bot.slack.manifest import BOT_SCOPES
from storage import slack_installs
from storage.clock import wall_clock
from storage.db import Database
from storage.models import SlackInstallation

log = logging.getLogger(__name__)

STATE_SECONDS = 600       # an "Add to Slack" link's state is accepted for 10 minutes, once
ROTATE_MINUTES = 120      # a bot token expiring within 2 hours is refreshed before it is used (Bolt's default)
CACHE_SECONDS = 30.0      # a workspace's token is read from the database again after this long
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# Bolt's messages may quote Slack's answers: under its own name, so bot/logs.py withholds them.
BOLT_LOG = logging.getLogger("slack_bolt.oauth")
GONE = ("token_revoked", "invalid_auth", "account_inactive", "not_authed", "token_expired")


def oauth_configured(settings: Settings) -> bool:
    """"Add to Slack" mode: a client id and secret, and no single bot token (which keeps one workspace)."""
    return bool(settings.slack_client_id and settings.slack_client_secret and not settings.bot_token)


# --- the stores Bolt reads and writes ------------------------------------------------------------

def _epoch(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _moment(value: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


class DatabaseInstallationStore(InstallationStore):
    """Bolt's InstallationStore over the slack_installation table: the bot's part of an installation
    only (no user tokens are asked for, and nothing about the installer is kept)."""

    def __init__(self, db: Database, client_id: str):
        self.db, self.client_id = db, client_id

    @property
    def logger(self) -> logging.Logger:
        return log

    def save(self, installation: Installation) -> None:
        self.save_bot(installation.to_bot())

    def save_bot(self, bot: Bot) -> None:
        row = SlackInstallation(
            enterprise_id=bot.enterprise_id, team_id=bot.team_id, team_name=(bot.team_name or "")[:80] or None,
            is_enterprise_install=bool(bot.is_enterprise_install), app_id=bot.app_id, bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id, bot_scopes=",".join(bot.bot_scopes or []), bot_token=bot.bot_token,
            bot_refresh_token=bot.bot_refresh_token, bot_token_expires_at=_moment(bot.bot_token_expires_at),
            installed_at=_moment(bot.installed_at) or wall_clock())
        with self.db.session() as session:
            slack_installs.save_installation(session=session, installation=row)

    def _find(self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None):
        with self.db.session(read_only=True) as session:
            row = slack_installs.find_installation(session=session, enterprise_id=enterprise_id, team_id=team_id,
                                                   is_enterprise_install=bool(is_enterprise_install))
            if row is not None:
                session.expunge(row)
        return row

    def find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                 is_enterprise_install: bool | None = False) -> Bot | None:
        row = self._find(enterprise_id, team_id, is_enterprise_install)
        return None if row is None else Bot(**_bot_fields(row))

    def find_installation(self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
                          is_enterprise_install: bool | None = False) -> Installation | None:
        if user_id is not None:
            return None  # no user tokens are kept
        row = self._find(enterprise_id, team_id, is_enterprise_install)
        return None if row is None else Installation(user_id="", **_bot_fields(row))

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        with self.db.session() as session:
            slack_installs.delete_installation(session=session, enterprise_id=enterprise_id, team_id=team_id)

    def delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                            user_id: str | None = None) -> None:
        if user_id is None:
            self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self.delete_bot(enterprise_id=enterprise_id, team_id=team_id)


def _bot_fields(row: SlackInstallation) -> dict:
    return {"app_id": row.app_id, "enterprise_id": row.enterprise_id, "team_id": row.team_id,
            "team_name": row.team_name, "bot_token": row.bot_token, "bot_id": row.bot_id,
            "bot_user_id": row.bot_user_id, "bot_scopes": row.bot_scopes,
            "bot_refresh_token": row.bot_refresh_token, "bot_token_expires_at": _epoch(row.bot_token_expires_at),
            "is_enterprise_install": row.is_enterprise_install, "installed_at": row.installed_at.timestamp()}


class DatabaseStateStore(OAuthStateStore):
    """Bolt's OAuthStateStore over the slack_oauth_state table: a state is accepted once, before it expires."""

    def __init__(self, db: Database, expiration_seconds: int = STATE_SECONDS, clock=wall_clock):
        self.db, self.expiration_seconds, self.clock = db, expiration_seconds, clock

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args, **kwargs) -> str:
        state = secrets.token_urlsafe(32)
        now = self.clock()
        with self.db.session() as session:
            slack_installs.issue_state(session=session, state=state, now=now,
                                       expires_at=now + timedelta(seconds=self.expiration_seconds))
        return state

    def consume(self, state: str) -> bool:
        if not state or len(state) > 128:
            return False
        with self.db.session() as session:
            return slack_installs.consume_state(session=session, state=state, now=self.clock())


# --- each workspace's client, for delivery ------------------------------------------------------

class Workspaces:
    """The Web API client of each workspace that installed the app, for delivery's calls (and the
    scheduler's): its token read from the database (kept for CACHE_SECONDS), refreshed first when it
    expires within ROTATE_MINUTES. A workspace with no installation (never installed, uninstalled)
    is Refused("not_installed"): delivery gives up or tries later, as for any refusal."""

    def __init__(self, db: Database, client_id: str, client_secret: str, base_url: str):
        self.db, self.base_url = db, base_url
        self.store = DatabaseInstallationStore(db, client_id)
        self.rotator = TokenRotator(client_id=client_id, client_secret=client_secret,
                                    client=web_client(None, base_url))
        self._clients: dict[str, tuple[WebClient, float, float | None]] = {}  # team -> (client, read at, expires)
        self._teams: dict[str, str] = {}  # channel or person -> workspace, learned or looked up
        self._lock = threading.Lock()
        self._rotating: dict[str, threading.Lock] = {}

    def client(self, team_id: str) -> WebClient:
        now = time.monotonic()
        with self._lock:
            cached = self._clients.get(team_id)
        fresh_until = wall_clock().timestamp() + ROTATE_MINUTES * 60  # Slack's expiry is wall-clock time
        if cached and now - cached[1] < CACHE_SECONDS and (cached[2] is None or cached[2] > fresh_until):
            return cached[0]
        with self._lock:
            rotating = self._rotating.setdefault(team_id, threading.Lock())
        with rotating:  # one refresh per workspace at a time in this process
            installation = self.store.find_installation(enterprise_id=None, team_id=team_id)
            if installation is None or not installation.bot_token:
                self.forget(team_id)
                raise Refused("not_installed", "The app is not installed in this Slack workspace any more.")
            try:
                refreshed = self.rotator.perform_token_rotation(installation=installation,
                                                                minutes_before_expiration=ROTATE_MINUTES)
            except SlackTokenRotationError as error:
                code = error.api_error.response.get("error") if error.api_error is not None else "rotation"
                log.warning("could not refresh a workspace's bot token (%s)", code)
                if code in ("invalid_refresh_token", "invalid_client_id", "bad_client_secret", "token_revoked"):
                    raise Refused(code) from None
                raise NoAnswer(f"oauth.v2.access {code}") from None
            if refreshed is not None:
                self.store.save(refreshed)
                installation = refreshed
                log.info("refreshed a workspace's bot token (token rotation)")
            client = web_client(installation.bot_token, self.base_url)
            with self._lock:
                self._clients[team_id] = (client, time.monotonic(), installation.bot_token_expires_at)
            return client

    def forget(self, team_id: str) -> None:
        """Drop the workspace's client from memory (uninstalled, or Slack said its token is no good)."""
        with self._lock:
            self._clients.pop(team_id, None)

    def learn(self, where: str | None, team_id: str | None) -> None:
        """A channel or person seen in a request from this workspace."""
        if where and team_id:
            with self._lock:
                self._teams[where] = team_id

    def team_of(self, where: str | None) -> str | None:
        """The workspace of a channel or person: seen in a request, else a cluster's (its channel, its
        members), else the only installed workspace."""
        if not where:
            return None
        with self._lock:
            known = self._teams.get(where)
        if known:
            return known
        with self.db.session(read_only=True) as session:
            team = slack_installs.team_of_channel(session=session, channel_id=where) \
                or slack_installs.team_of_person(session=session, user_id=where)
            if team is None:
                teams = slack_installs.installed_teams(session=session)
                team = teams[0] if len(teams) == 1 else None
        self.learn(where, team)
        return team


def workspaces_for(settings: Settings, db: Database) -> Workspaces:
    return Workspaces(db, settings.slack_client_id, settings.slack_client_secret, settings.slack_api_url)


# --- Bolt's OAuth settings, and the pages people see ----------------------------------------------

def oauth_settings(settings: Settings, db: Database, client: WebClient,
                   state_store: OAuthStateStore | None = None) -> OAuthSettings:
    """Bolt's flow with the manifest's scopes, the database's stores, rotation on, and our own pages.
    Token refreshes on the request path go to SLACK_API_URL like every other call."""
    store = DatabaseInstallationStore(db, settings.slack_client_id)
    oauth = OAuthSettings(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret, scopes=BOT_SCOPES,
        user_scopes=[], install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH, installation_store=store,
        state_store=state_store or DatabaseStateStore(db), state_expiration_seconds=STATE_SECONDS,
        token_rotation_expiration_minutes=ROTATE_MINUTES,
        callback_options=CallbackOptions(success=_installed, failure=_not_installed), logger=BOLT_LOG)
    # Bolt's own authorize, told where Slack is (its default client would refresh tokens at slack.com
    # whatever SLACK_API_URL says) and keeping auth.test's answer per token (one call per token, not
    # one per request: a rotated token is a new one).
    oauth.authorize = InstallationStoreAuthorize(
        logger=BOLT_LOG, installation_store=store, client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret, token_rotation_expiration_minutes=ROTATE_MINUTES,
        client=client, cache_enabled=True)
    return oauth


def _page(title: str, body: str, status: int = 200) -> BoltResponse:
    text = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>"
            f"<body style=\"font-family: sans-serif; max-width: 40em; margin: 2em auto\"><h1>{html.escape(title)}</h1>"
            f"{body}</body></html>")
    return BoltResponse(status=status, body=text, headers={"Content-Type": "text/html; charset=utf-8",
                                                           "Cache-Control": "no-store"})


class InstallFlow(OAuthFlow):
    """Bolt's OAuth flow with our own "Add to Slack" page."""

    def build_install_page_html(self, url: str, request) -> str:
        return install_page(url)


def install_flow(settings: Settings, db: Database, client: WebClient) -> InstallFlow:
    return InstallFlow(client=client, logger=BOLT_LOG, settings=oauth_settings(settings, db, client))


def install_page(authorize_url: str) -> str:
    """The "Add to Slack" page: what the app asks for, and the one button."""
    scopes = "".join(f"<li><code>{html.escape(scope)}</code></li>" for scope in BOT_SCOPES)
    link = html.escape(authorize_url, quote=True)
    return _page("Add clusterbot to Slack", (
        "<p>clusterbot keeps a GP cluster's topics, polls, actions, meetings and measures in a Slack channel. "
        "Adding it to your workspace asks Slack for these permissions:</p>"
        f"<ul>{scopes}</ul>"
        f"<p><a href=\"{link}\" id=\"add-to-slack\">"
        "<img alt=\"Add to Slack\" height=\"40\" width=\"139\" "
        "src=\"https://platform.slack-edge.com/img/add_to_slack.png\"></a></p>"
        f"<p>The link works once, for {STATE_SECONDS // 60} minutes: reload this page for a new one.</p>")).body


def _installed(args: SuccessArgs) -> BoltResponse:
    team = html.escape(args.installation.team_name or args.installation.team_id or "your workspace")
    log.info("installed in a workspace (team %s)", args.installation.team_id)
    return _page("clusterbot is installed", (
        f"<p>clusterbot is now in <strong>{team}</strong>. What to do next:</p><ol>"
        "<li>In Slack, open the channel your cluster uses (or make one) and invite the bot: "
        "<code>/invite @clusterbot</code>.</li>"
        "<li>In that channel, the cluster's lead types <code>/cluster setup</code> and follows what it says.</li>"
        "<li>Anyone can type <code>/cluster help</code> to see every command.</li></ol>"
        "<p>You can close this page.</p>"))


def _not_installed(args: FailureArgs) -> BoltResponse:
    reasons = {
        "invalid_state": "The link was used already or is more than 10 minutes old.",
        "invalid_browser": "The link was opened in a different browser from the one that started it.",
        "access_denied": "Installation was cancelled in Slack.",
        "invalid_code": "Slack did not accept the installation code.",
        "missing_code": "Slack sent no installation code.",
        "storage_error": "The installation could not be saved.",
    }
    log.warning("installation failed (%s)", args.reason if args.reason in reasons else "other")
    why = reasons.get(args.reason, "Slack did not complete the installation.")
    status = args.suggested_status_code if args.suggested_status_code >= 400 else 400
    return _page("clusterbot was not installed", (
        f"<p>{html.escape(why)} Nothing was installed.</p>"
        f"<p><a href=\"{INSTALL_PATH}\">Start again from the Add to Slack page</a>.</p>"), status=status)


# --- uninstall ------------------------------------------------------------------------------------

def register_uninstall(app: App, db: Database, workspaces: Workspaces | None) -> None:
    """app_uninstalled and tokens_revoked (of the bot): the workspace's tokens are deleted and its
    unsent messages given up; its clusters and their records stay, ready for a reinstall."""

    def forget(body: dict) -> None:
        team_id = body.get("team_id")
        enterprise_id = body.get("enterprise_id")
        if not team_id:
            return
        with db.session() as session:
            slack_installs.delete_installation(session=session, enterprise_id=enterprise_id, team_id=team_id)
            stopped = slack_installs.stop_deliveries(session=session, team_id=team_id, now=wall_clock())
        if workspaces is not None:
            workspaces.forget(team_id)
        log.info("forgot a workspace's tokens (team %s); %d unsent message(s) given up", team_id, stopped)

    def on_uninstalled(ack, body: dict) -> None:
        ack()
        forget(body)

    def on_revoked(ack, body: dict, event: dict) -> None:
        ack()
        if (event.get("tokens") or {}).get("bot"):
            forget(body)

    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_revoked)


def gone(error: SlackApiError | SlackClientError) -> bool:
    """Slack says the token is no good (revoked, expired): drop it from memory and read it again."""
    return isinstance(error, SlackApiError) and error.response.get("error") in GONE
