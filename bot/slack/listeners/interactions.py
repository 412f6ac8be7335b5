"""Buttons (block_actions), form submissions (view_submission) and the message shortcut. Each is
acknowledged as soon as its change is committed; every Web API call happens after, in delivery."""

import logging
import re

from slack_bolt import Ack, App

from bot.front_door import Roster, hand_on
from bot.platform import AfterAck, Asker
from bot.slack.listeners.payloads import MalformedPayload, required, slack_caller
from bot.slack.render import action_name, read_button_value
from bot.slack.views import origin, submitted_values
from commands import Clusterbot
from commands.context import Caller
from commands.registry import SHORTCUTS
from commands.results import HomeChanged

ANY = re.compile(r".*")  # every action and view: the product says what an unknown one means
log = logging.getLogger(__name__)


def _caller(body: dict, *, here: str | None, named: str | None = None, roster: Roster | None = None) -> Caller:
    user = body.get("user") or {}
    (user_id,) = required(user, "id")
    team_id = (body.get("team") or {}).get("id") or user.get("team_id")
    if not team_id:
        raise MalformedPayload("missing team")
    return slack_caller(user_id=user_id, team_id=team_id, here=here, named=named,
                        enterprise_id=(body.get("enterprise") or {}).get("id"), roster=roster)


def handle_button(*, ack: Ack, body: dict, action: dict, product: Clusterbot, delivery: AfterAck,
                  roster: Roster | None = None) -> None:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    cluster_channel, value = read_button_value(action.get("value", ""))
    caller = _caller(body, here=channel or None, named=cluster_channel, roster=roster)
    reply = product.press(action_name(action.get("action_id", "")), value, caller)
    ack()
    on_home = (body.get("view") or {}).get("type") == "home"
    # A form opened from here belongs to the cluster's channel, even when the button sat in a DM.
    asker = Asker(caller.user_id, caller.channel_id, caller.team_id, handle=body.get("response_url") or None,
                  trigger=body.get("trigger_id"), surface="home" if on_home else "channel")
    if on_home:
        reply.effects.append(HomeChanged(caller.user_id, caller.team_id, opened=True))
    hand_on(delivery, reply, asker)


def handle_submission(*, ack: Ack, body: dict, view: dict, product: Clusterbot, delivery: AfterAck,
                      roster: Roster | None = None) -> None:
    """Committed before the ack; field problems go back in the ack (Slack shows them on the fields
    and keeps the modal open), so they are the one thing not sent later."""
    channel, context = origin(view)
    caller = _caller(body, here=None, named=channel, roster=roster)  # the channel is private_metadata's word only
    reply = product.submit(view.get("callback_id", ""), submitted_values(view), context, caller,
                           submission_key=view.get("id"))
    if reply.field_errors:
        ack(response_action="errors", errors=reply.field_errors)
        return
    ack()
    hand_on(delivery, reply, Asker(caller.user_id, channel, caller.team_id))


def handle_message_shortcut(*, ack: Ack, shortcut: dict, product: Clusterbot, delivery: AfterAck,
                            roster: Roster | None = None) -> None:
    """"Create cluster action" on a message: acknowledged at once; the message's permalink is fetched
    and the prefilled form opened after."""
    ack()
    channel = (shortcut.get("channel") or {}).get("id", "")
    caller = _caller(shortcut, here=channel, roster=roster)
    asker = Asker(caller.user_id, channel, caller.team_id, trigger=shortcut.get("trigger_id"))
    text = (shortcut.get("message") or {}).get("text", "")

    def open_prefilled() -> None:
        link = delivery.platform.permalink(channel, shortcut.get("message_ts", "")) or ""
        hand_on(delivery, product.press(shortcut.get("callback_id", ""), f"{link} {text}", caller), asker)

    delivery.run_now(open_prefilled, bucket=channel)


def register(app: App, product: Clusterbot, delivery: AfterAck, roster: Roster | None = None) -> None:
    def on_button(ack: Ack, body: dict, action: dict) -> None:
        handle_button(ack=ack, body=body, action=action, product=product, delivery=delivery, roster=roster)

    def on_submission(ack: Ack, body: dict, view: dict) -> None:
        handle_submission(ack=ack, body=body, view=view, product=product, delivery=delivery, roster=roster)

    def on_shortcut(ack: Ack, shortcut: dict) -> None:
        handle_message_shortcut(ack=ack, shortcut=shortcut, product=product, delivery=delivery, roster=roster)

    app.action(ANY)(on_button)
    app.view(ANY)(on_submission)
    for _, callback_id, _ in SHORTCUTS:
        app.shortcut(callback_id)(on_shortcut)
