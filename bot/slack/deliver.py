"""Sending what a reply asks for beyond the answer itself: posts, updates, direct messages, files."""

import logging
import threading
from collections import defaultdict

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.render import message
from bot.slack.views import home_view, modal
from commands import Clusterbot
from commands.results import Audience, Code, Direct, HomeChanged, Post, Reply, Update, Upload, line

log = logging.getLogger(__name__)

NOT_IN_CHANNEL = ("not_in_channel", "channel_not_found", "is_archived")
_refreshing: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
INVITE = "/invite @clusterbot"


def carry_out(client: WebClient, product: Clusterbot, reply: Reply) -> Reply | None:
    """Send `reply.effects`. If something the person asked for could not be posted (a poll, an export),
    the person gets the returned problem Reply instead of the usual answer; a poll that could not be
    posted is forgotten, so nothing half-made stays behind."""
    for effect in reply.effects:
        try:
            _send(client, product, effect)
        except (SlackApiError, SlackClientError, OSError) as error:  # refused, rate-limited, timed out
            code = error.response.get("error") if isinstance(error, SlackApiError) else "no answer in time"
            log.warning("could not send %s: %s", type(effect).__name__, code)
            if isinstance(effect, Post) and effect.key:
                product.discard(effect.key)
                return _not_sent(code, "post it, so nothing was saved")
            if isinstance(effect, Upload):
                kind = "the Word file" if effect.filename.endswith(".docx") else "the workbook"
                return _not_sent(code, f"upload {kind} (nothing in the log was changed)")
    return None


def _send(client: WebClient, product: Clusterbot, effect) -> None:
    if isinstance(effect, Post):
        posted = client.chat_postMessage(channel=effect.channel, **message(effect.reply))
        if effect.key:
            product.remember(effect.key, posted["channel"], posted["ts"])
    elif isinstance(effect, Update):
        # One refresh of a message at a time, each reading the latest committed state: the last update
        # sent shows the truth, whatever order concurrent votes committed in (within this process).
        with _refreshing[effect.key]:
            current = product.current(effect.key)
            if current is not None:
                client.chat_update(channel=effect.channel, ts=effect.ref, **message(current))
    elif isinstance(effect, Direct):
        client.chat_postMessage(channel=effect.user_id, **message(effect.reply))
    elif isinstance(effect, HomeChanged):
        publish_home(client, product, effect.user_id, effect.team_id)
    elif isinstance(effect, Upload):
        client.files_upload_v2(channel=effect.channel, content=effect.content, filename=effect.filename,
                               title=effect.title, initial_comment=message(effect.comment)["text"])
    else:
        raise TypeError(effect)


def open_view(client: WebClient, trigger_id: str | None, view: dict) -> bool:
    """Open a modal. False if Slack would not (no or an expired trigger, a timeout)."""
    if not trigger_id:
        return False
    try:
        client.views_open(trigger_id=trigger_id, view=view)
        return True
    except (SlackApiError, SlackClientError, OSError) as error:
        log.warning("could not open a modal: %s", error)
        return False


def open_form(client: WebClient, trigger_id: str | None, form, channel: str) -> bool:
    """Open a form; when that fails the caller shows the reply's text, which says how to type it instead."""
    return open_view(client, trigger_id, modal(form, channel))


def publish_home(client: WebClient, product: Clusterbot, user_id: str, team_id: str) -> None:
    client.views_publish(user_id=user_id, view=home_view(product.home(user_id, team_id)))


def _not_sent(code: str, what: str) -> Reply:
    if code in NOT_IN_CHANNEL:
        return Reply.problem(line(f"I'm not in this channel, so I couldn't {what}. Invite me with ",
                                  Code(INVITE), " and try again."))
    return Reply.problem(line(f"Slack wouldn't let me {what} ({code}). Please try again."))


def post_reply(client: WebClient, reply: Reply, *, channel: str, user: str) -> None:
    """To the channel or, for the person only, ephemerally. If the bot cannot post there, the person
    gets a DM saying so; what was saved stays saved."""
    if not reply.lines:
        return
    try:
        if reply.audience == Audience.CHANNEL:
            client.chat_postMessage(channel=channel, **message(reply))
        else:
            client.chat_postEphemeral(channel=channel, user=user, **message(reply))
    except SlackApiError as error:
        code = error.response.get("error")
        log.warning("could not post to %s: %s", channel, code)
        if code not in NOT_IN_CHANNEL:
            raise
        note = (f"I couldn't post in <#{channel}> ({code}). Your change is saved. "
                f"Invite me there with `{INVITE}` so the cluster sees updates:")
        client.chat_postMessage(channel=user, text=note, blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": note}}, *message(reply)["blocks"]])
