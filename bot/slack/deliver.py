"""Posting a reply when there is no ack or response_url to carry it (after a form is submitted)."""

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.render import message
from commands.results import Audience, Reply

log = logging.getLogger(__name__)

NOT_IN_CHANNEL = ("not_in_channel", "channel_not_found", "is_archived")


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
                "Invite me there with `/invite @clusterbot` so the cluster sees updates:")
        client.chat_postMessage(channel=user, text=note, blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": note}}, *message(reply)["blocks"]])
