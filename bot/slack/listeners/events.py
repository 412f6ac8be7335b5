"""Events: the App Home tab, and people (or the bot) joining channels. A retried event is handled once;
every event is acknowledged before anything is sent."""

from slack_bolt import App, BoltContext

from bot.front_door import hand_on
from bot.platform import AfterAck, Asker
from bot.slack.listeners.payloads import MalformedPayload, slack_caller
from commands import Clusterbot
from commands.results import HomeChanged, Reply


def _first_time(body: dict, product: Clusterbot) -> bool:
    """Slack retries an event it thinks we missed (X-Slack-Retry-Num); its event_id stays the same."""
    event_id = body.get("event_id")
    return not event_id or product.first_delivery(event_id)


def handle_home_opened(*, body: dict, event: dict, product: Clusterbot, delivery: AfterAck) -> None:
    if event.get("tab", "home") != "home" or not event.get("user") or not _first_time(body, product):
        return
    team_id = body.get("team_id") or event.get("team") or ""
    delivery.after_ack(Reply(effects=[HomeChanged(event["user"], team_id, opened=True)]))


def handle_member_joined(*, body: dict, event: dict, context: BoltContext, product: Clusterbot,
                         delivery: AfterAck) -> None:
    """A new member of a cluster channel gets a practice picker; the bot, added to a channel that is
    not a cluster, says how to make it one."""
    if not event.get("user") or not event.get("channel"):
        raise MalformedPayload("member_joined_channel without user or channel")
    if not _first_time(body, product):
        return
    caller = slack_caller(user_id=event["user"], team_id=body.get("team_id") or event.get("team") or "",
                          here=event["channel"])
    reply = product.joined(caller, bot_joined=event["user"] == context.bot_user_id,
                           added_by=event.get("inviter") if isinstance(event.get("inviter"), str) else None)
    # An undeliverable welcome is no error: /cluster join still works (delivery logs and drops it).
    hand_on(delivery, reply, Asker(caller.user_id, caller.channel_id, caller.team_id))


def register(app: App, product: Clusterbot, delivery: AfterAck) -> None:
    def on_home_opened(body: dict, event: dict) -> None:
        handle_home_opened(body=body, event=event, product=product, delivery=delivery)

    def on_member_joined(body: dict, event: dict, context: BoltContext) -> None:
        handle_member_joined(body=body, event=event, context=context, product=product, delivery=delivery)

    app.event("app_home_opened")(on_home_opened)
    app.event("member_joined_channel")(on_member_joined)
