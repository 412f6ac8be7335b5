"""Events: the App Home tab, and people (or the bot) joining channels. A retried event is handled once."""

import contextlib

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.deliver import post_reply, publish_home
from bot.slack.listeners.payloads import MalformedPayload
from commands import Clusterbot
from commands.context import Caller


def _first_time(body: dict, product: Clusterbot) -> bool:
    """Slack retries an event it thinks we missed (X-Slack-Retry-Num); its event_id stays the same."""
    event_id = body.get("event_id")
    return not event_id or product.first_delivery(event_id)


def handle_home_opened(*, body: dict, event: dict, client: WebClient, product: Clusterbot) -> None:
    if event.get("tab", "home") != "home" or not event.get("user") or not _first_time(body, product):
        return
    publish_home(client, product, event["user"], body.get("team_id") or event.get("team") or "")


def handle_member_joined(*, body: dict, event: dict, context: BoltContext, client: WebClient,
                         product: Clusterbot) -> None:
    """A new member of a cluster channel gets a practice picker; the bot, added to a channel that is
    not a cluster, says how to make it one."""
    if not event.get("user") or not event.get("channel"):
        raise MalformedPayload("member_joined_channel without user or channel")
    if not _first_time(body, product):
        return
    caller = Caller(event["user"], event["channel"], body.get("team_id") or event.get("team") or "")
    reply = product.joined(caller, bot_joined=event["user"] == context.bot_user_id)
    with contextlib.suppress(SlackApiError):  # an undeliverable welcome is no error: /cluster join still works
        post_reply(client, reply, channel=caller.channel_id, user=caller.user_id)


def register(app: App, product: Clusterbot) -> None:
    def on_home_opened(body: dict, event: dict, client: WebClient) -> None:
        handle_home_opened(body=body, event=event, client=client, product=product)

    def on_member_joined(body: dict, event: dict, context: BoltContext, client: WebClient) -> None:
        handle_member_joined(body=body, event=event, context=context, client=client, product=product)

    app.event("app_home_opened")(on_home_opened)
    app.event("member_joined_channel")(on_member_joined)
