"""Slack behind the platform seam: the Web API calls delivery makes, and Slack's errors sorted into
refused / rate limited / no answer (bot/platform.py says what delivery does with each)."""

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from bot.platform import Asker, NoAnswer, RateLimited, Refused
from bot.slack.oauth import gone
from bot.slack.render import message, reply_payload
from bot.slack.views import home_view, modal, reading_modal
from commands.results import Audience, Form, Reply, Upload
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

NOT_IN_CHANNEL = ("not_in_channel", "channel_not_found", "is_archived")
# Slack's own trouble, not a "no": the call may have taken effect, so it is tried again (after looking).
TRANSIENT = ("internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org")
INVITE = "/invite @clusterbot"
MARKER_EVENT = "clusterbot_delivery"   # message metadata: lets a timed-out post be found afterwards
HISTORY_LOOKBACK = 100                 # messages searched for a marker
# Seconds a request waits for users.info to say whether its sender is a guest: asked before the ack
# (within Slack's 3 s), so bot/front_door.Roster keeps answers and says None when none came in time.
ROSTER_TIMEOUT = 1.5


class SlackPlatform:
    """Slack's Web API for delivery. One workspace's bot token (`client`), or, with `workspaces`
    ("Add to Slack", bot/slack/oauth.py), the token of the workspace each call is for: named by the
    call (a team id) or found from its channel or person."""

    name = "slack"
    has_home = True

    def __init__(self, client: WebClient, workspaces=None):
        self.client = client
        self.workspaces = workspaces
        self._quick = WebClient(token=client.token, base_url=client.base_url, timeout=ROSTER_TIMEOUT,
                                retry_handlers=[])  # the roster's: on the request's path

    # --- effects --------------------------------------------------------------------------------

    def post(self, channel: str, reply: Reply, *, team_id: str | None = None, marker: str | None = None) -> str:
        extra = {"metadata": {"event_type": MARKER_EVENT, "event_payload": {"marker": marker}}} if marker else {}
        answer = self._call("chat_postMessage", team=team_id, channel=channel, **message(reply), **extra)
        return answer["ts"]

    def update(self, channel: str, ref: str, reply: Reply) -> None:
        self._call("chat_update", channel=channel, ts=ref, **message(reply))

    def direct(self, user_id: str, reply: Reply, *, team_id: str | None = None) -> None:
        self._call("chat_postMessage", team=team_id, channel=user_id, **message(reply))

    def tell(self, asker: Asker, reply: Reply) -> None:
        """Back the way the request came: the response_url, an ephemeral message, a small window on the
        Home tab. If the bot cannot post in the channel, the person gets a DM saying so."""
        self._learn(asker)
        if asker.surface == "home":
            self._tell_on_home(asker, reply)
        elif asker.handle:
            self._respond(asker.handle, reply)
        else:
            self._post_to_asker(asker, reply)

    def upload(self, upload: Upload, *, team_id: str | None = None, user_id: str | None = None) -> None:
        self._call("files_upload_v2", team=team_id, channel=upload.channel, content=upload.content,
                   filename=upload.filename, title=upload.title, initial_comment=message(upload.comment)["text"])

    def show_home(self, user_id: str, team_id: str, home: Reply) -> None:
        self._call("views_publish", team=team_id, user_id=user_id, view=home_view(home))

    def find_post(self, channel: str, marker: str) -> str | None:
        """Did a post that timed out arrive? Its metadata names its outbox row."""
        try:
            history = self._call("conversations_history", channel=channel, limit=HISTORY_LOOKBACK,
                                 include_all_metadata=True)
        except Refused:
            return None
        for item in history.get("messages") or []:
            meta = item.get("metadata") or {}
            if meta.get("event_type") == MARKER_EVENT and (meta.get("event_payload") or {}).get("marker") == marker:
                return item.get("ts")
        return None

    def open_form(self, asker: Asker, form: Form) -> bool:
        if not asker.trigger:
            return False
        try:
            self._call("views_open", team=asker.team_id, trigger_id=asker.trigger,
                       view=modal(form, asker.channel_id))
            return True
        except (Refused, NoAnswer, RateLimited) as error:
            log.warning("could not open a modal: %s", type(error).__name__)
            return False

    def display_name(self, user_id: str) -> str:
        try:
            user = self._client_for(None, user_id).users_info(user=user_id)["user"]
        except (SlackApiError, SlackClientError, OSError, Refused, NoAnswer, DatabaseUnavailable):
            return user_id
        profile = user.get("profile") or {}
        return user.get("real_name") or profile.get("real_name") or profile.get("display_name") or user_id

    def is_guest(self, user_id: str, where: object = None) -> bool:
        """Whether the person has a Slack guest account: users.info's is_restricted (a multi-channel
        guest) or is_ultra_restricted (a single-channel guest). Raises when Slack does not say (an error,
        a timeout, a rate limit): bot/front_door.Roster makes that None and keeps answers per person."""
        quick = self._quick
        if self.workspaces is not None:
            client = self._client_for(where if isinstance(where, str) else None, user_id)
            quick = WebClient(token=client.token, base_url=client.base_url, timeout=ROSTER_TIMEOUT, retry_handlers=[])
        user = quick.users_info(user=user_id)["user"]
        return bool(user.get("is_restricted") or user.get("is_ultra_restricted"))

    def permalink(self, channel: str, ts: str) -> str | None:
        """A link to a message (for an action made from it); None if Slack won't say."""
        try:
            return self._call("chat_getPermalink", channel=channel, message_ts=ts)["permalink"]
        except (Refused, NoAnswer, RateLimited):
            return None

    def form_hint(self, form: Form) -> str:
        return "This takes a form, which opens from a slash command or a button."

    # --- the person who asked ---------------------------------------------------------------------

    def _respond(self, response_url: str, reply: Reply) -> None:
        try:
            answer = WebhookClient(response_url, timeout=self.client.timeout).send(
                replace_original=False, **reply_payload(reply))
        except (SlackClientError, OSError) as error:
            raise NoAnswer(str(type(error).__name__)) from None
        if answer.status_code == 429:
            raise RateLimited(_retry_after(answer.headers), bucket="response_url")
        if answer.status_code >= 400:
            raise Refused(f"response_url {answer.status_code}")

    def _post_to_asker(self, asker: Asker, reply: Reply) -> None:
        try:
            if reply.audience == Audience.CHANNEL:
                self._call("chat_postMessage", team=asker.team_id, channel=asker.channel_id, **message(reply))
            else:
                self._call("chat_postEphemeral", team=asker.team_id, channel=asker.channel_id, user=asker.user_id,
                           **message(reply))
        except Refused as refused:
            if refused.code not in NOT_IN_CHANNEL:
                raise
            note = (f"I couldn't post in <#{asker.channel_id}> ({refused.code}). Your change is saved. "
                    f"Invite me there with `{INVITE}` so the cluster sees updates:")
            self._call("chat_postMessage", team=asker.team_id, channel=asker.user_id, text=note, blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": note}}, *message(reply)["blocks"]])

    def _tell_on_home(self, asker: Asker, reply: Reply) -> None:
        """A button on the Home tab has no message to answer in: announcements go to the cluster's
        channel, anything for the person opens in a small window."""
        if reply.audience == Audience.CHANNEL:
            self._post_to_asker(asker, reply)
        elif asker.trigger:
            self._call("views_open", team=asker.team_id, trigger_id=asker.trigger, view=reading_modal(reply))

    # --- one Web API call, its outcome sorted -------------------------------------------------------

    def _learn(self, asker: Asker) -> None:
        if self.workspaces is not None:
            self.workspaces.learn(asker.channel_id, asker.team_id)
            self.workspaces.learn(asker.user_id, asker.team_id)

    def _client_for(self, team: str | None, where: str | None) -> WebClient:
        """The bot token's client: the one, or the workspace's (Refused when it has none)."""
        if self.workspaces is None:
            return self.client
        team = team or self.workspaces.team_of(where)
        if not team:
            raise Refused("not_installed", "I don't know which Slack workspace this is for.")
        return self.workspaces.client(team)

    def _call(self, method: str, team: str | None = None, **kwargs) -> dict:
        client = self._client_for(team, kwargs.get("channel") or kwargs.get("user_id"))
        try:
            return getattr(client, method)(**kwargs)
        except SlackApiError as error:
            status = error.response.status_code
            if self.workspaces is not None and gone(error):
                self.workspaces.forget(team or self.workspaces.team_of(kwargs.get("channel") or kwargs.get("user_id")))
            if status == 429:
                raise RateLimited(_retry_after(error.response.headers), bucket=method) from None
            code = error.response.get("error") or str(status)
            if status >= 500 or code in TRANSIENT:
                raise NoAnswer(f"{method} {code}") from None
            raise Refused(code, _person_text(method, code)) from None
        except (SlackClientError, OSError) as error:  # a timeout, a broken connection
            raise NoAnswer(f"{method}: {type(error).__name__}") from None


def _retry_after(headers) -> float:
    value = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), "1")
    value = value[0] if isinstance(value, list) else value
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 1.0


def _person_text(method: str, code: str) -> str:
    what = "upload the file" if method.startswith("files") else "post it"
    if code in NOT_IN_CHANNEL:
        return f"I'm not in this channel, so I couldn't {what}. Invite me with `{INVITE}` and try again."
    return f"Slack wouldn't let me {what} ({code})."


def for_delivery(settings, product) -> SlackPlatform:
    """The Slack platform a delivery child (bot/delivery/process.py) or the scheduler makes for itself:
    with "Add to Slack", its own Workspaces over the same database (tokens refreshed there too)."""
    from bot.slack.client import web_client
    from bot.slack.oauth import oauth_configured, workspaces_for

    workspaces = workspaces_for(settings, product.db) if oauth_configured(settings) else None
    platform = SlackPlatform(web_client(settings.bot_token, settings.slack_api_url), workspaces)
    product.directory.serve(platform)  # names in exports the child renders
    return platform
