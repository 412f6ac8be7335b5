"""Buttons (block_actions) and form submissions (view_submission), for every command family."""

import logging
import re

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.deliver import carry_out, open_form, open_view, post_reply, publish_home
from bot.slack.listeners.payloads import MalformedPayload, required
from bot.slack.render import action_name, read_button_value, reply_payload
from bot.slack.views import origin, reading_modal, submitted_values
from commands import Clusterbot
from commands.context import Caller
from commands.registry import SHORTCUTS
from commands.results import Audience, Reply

ANY = re.compile(r".*")  # every action and view: the product says what an unknown one means
log = logging.getLogger(__name__)


def _caller(body: dict, channel_id: str, claimed: bool = False) -> Caller:
    user = body.get("user") or {}
    (user_id,) = required(user, "id")
    team_id = (body.get("team") or {}).get("id") or user.get("team_id")
    if not team_id or not channel_id:
        raise MalformedPayload("missing team or channel")
    return Caller(user_id=user_id, channel_id=channel_id, team_id=team_id,
                  enterprise_id=(body.get("enterprise") or {}).get("id"), claimed=claimed)


def open_or_respond(reply: Reply, *, client: WebClient, trigger_id: str | None, channel: str, respond) -> None:
    """A reply that opens a form opens it; anything else goes back the way the request came."""
    if reply.form and trigger_id and open_form(client, trigger_id, reply.form, channel):
        return
    if not reply.is_silent:
        try:
            respond(**reply_payload(reply))
        except (SlackClientError, OSError) as error:  # the response_url expired or Slack did not answer
            log.warning("could not answer through response_url: %s", error)


def handle_button(*, ack: Ack, body: dict, action: dict, respond: Respond, client: WebClient,
                  product: Clusterbot) -> None:
    ack()
    if not body.get("response_url") and (body.get("view") or {}).get("type") != "home":
        raise MalformedPayload("a message button without response_url")  # nowhere to answer: 400, nothing run
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    cluster_channel, value = read_button_value(action.get("value", ""))
    caller = _caller(body, cluster_channel or channel, claimed=bool(cluster_channel) and cluster_channel != channel)
    reply = product.press(action_name(action.get("action_id", "")), value, caller)
    reply = carry_out(client, product, reply) or reply
    if (body.get("view") or {}).get("type") == "home":
        _answer_on_home(reply, client=client, product=product, body=body, caller=caller)
        return
    # A form opened from here belongs to the cluster's channel, even when the button sat in a DM.
    open_or_respond(reply, client=client, trigger_id=body.get("trigger_id"), channel=caller.channel_id,
                    respond=lambda **payload: respond(replace_original=False, **payload))


def _answer_on_home(reply: Reply, *, client: WebClient, product: Clusterbot, body: dict, caller: Caller) -> None:
    """A button on the Home tab has no message to answer in: announcements go to the cluster's
    channel, anything for the person opens in a small window, and the Home is shown again."""
    trigger_id = body.get("trigger_id")
    if reply.form and open_form(client, trigger_id, reply.form, caller.channel_id):
        pass
    elif reply.audience == Audience.CHANNEL and not reply.is_silent:
        post_reply(client, reply, channel=caller.channel_id, user=caller.user_id)
    elif not reply.is_silent:
        open_view(client, trigger_id, reading_modal(reply))
    publish_home(client, product, caller.user_id, caller.team_id)


def handle_submission(*, ack: Ack, body: dict, view: dict, client: WebClient, product: Clusterbot) -> None:
    """Committed before the ack; field problems are shown on the fields and the modal stays open."""
    channel, context = origin(view)
    caller = _caller(body, channel, claimed=True)  # the channel is private_metadata's word only
    reply = product.submit(view.get("callback_id", ""), submitted_values(view), context, caller,
                           submission_key=view.get("id"))
    if reply.field_errors:
        ack(response_action="errors", errors=reply.field_errors)
        return
    ack()
    post_reply(client, carry_out(client, product, reply) or reply, channel=channel, user=caller.user_id)


def handle_message_shortcut(*, ack: Ack, shortcut: dict, client: WebClient, product: Clusterbot) -> None:
    """"Create cluster action" on a message: the form opens prefilled, keeping a link to the message."""
    ack()
    channel = (shortcut.get("channel") or {}).get("id", "")
    caller = _caller(shortcut, channel)
    text = (shortcut.get("message") or {}).get("text", "")
    try:
        link = client.chat_getPermalink(channel=channel, message_ts=shortcut.get("message_ts", ""))["permalink"]
    except (SlackApiError, SlackClientError, OSError):
        link = ""
    reply = product.press(shortcut.get("callback_id", ""), f"{link} {text}", caller)
    if not (reply.form and open_form(client, shortcut.get("trigger_id"), reply.form, channel)):
        post_reply(client, reply, channel=channel, user=caller.user_id)


def register(app: App, product: Clusterbot) -> None:
    def on_button(ack: Ack, body: dict, action: dict, respond: Respond, client: WebClient) -> None:
        handle_button(ack=ack, body=body, action=action, respond=respond, client=client, product=product)

    def on_submission(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        handle_submission(ack=ack, body=body, view=view, client=client, product=product)

    def on_shortcut(ack: Ack, shortcut: dict, client: WebClient) -> None:
        handle_message_shortcut(ack=ack, shortcut=shortcut, client=client, product=product)

    app.action(ANY)(on_button)
    app.view(ANY)(on_submission)
    for _, callback_id, _ in SHORTCUTS:
        app.shortcut(callback_id)(on_shortcut)
