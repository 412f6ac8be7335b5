"""Sending what a reply asks for beyond the answer itself: posts, updates and direct messages."""

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.render import message
from commands import Clusterbot
from commands.results import Audience, Code, Direct, Post, Reply, Update, line

log = logging.getLogger(__name__)

NOT_IN_CHANNEL = ("not_in_channel", "channel_not_found", "is_archived")
INVITE = "/invite @clusterbot"


def carry_out(client: WebClient, product: Clusterbot, reply: Reply) -> Reply | None:
    """Send `reply.effects`. If a message the product wanted to keep could not be posted, the product
    forgets it and the person gets the returned problem Reply instead of the usual answer."""
    for effect in reply.effects:
        try:
            if isinstance(effect, Post):
                posted = client.chat_postMessage(channel=effect.channel, **message(effect.reply))
                if effect.key:
                    product.remember(effect.key, posted["channel"], posted["ts"])
            elif isinstance(effect, Update):
                client.chat_update(channel=effect.channel, ts=effect.ref, **message(effect.reply))
            elif isinstance(effect, Direct):
                client.chat_postMessage(channel=effect.user_id, **message(effect.reply))
        except SlackApiError as error:
            code = error.response.get("error")
            log.warning("could not send %s: %s", type(effect).__name__, code)
            if isinstance(effect, Post) and effect.key:
                product.discard(effect.key)
                return _not_posted(code)
    return None


def _not_posted(code: str) -> Reply:
    if code in NOT_IN_CHANNEL:
        return Reply.problem(line("I'm not in this channel, so I couldn't post it and nothing was saved. "
                                  "Invite me with ", Code(INVITE), " and try again."))
    return Reply.problem(line(f"Slack wouldn't let me post it ({code}), so nothing was saved. Please try again."))


def post_reply(client: WebClient, reply: Reply, *, channel: str, user: str) -> None:
    """To the channel or, for the person only, ephemerally. If the bot cannot post there, the person
    gets a DM saying so; what was saved stays saved."""
    if reply.is_silent:
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
