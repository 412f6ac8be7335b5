"""Slash commands: every family in the registry, one handler. The answer is in the ack; everything
else (a form to open, posts, updates, an export's file) goes to delivery after it.

The slow part of an export runs on a delivery worker rather than as a Bolt lazy listener: Bolt deep-copies
every request for a lazy listener and hands it to a thread pool, which cost /cluster who about a sixth
of its time though only `export` has a slow part (docs/benchmarks.md, the profile)."""

import re

from slack_bolt import Ack, App
from slack_bolt.request import BoltRequest

from bot.front_door import Roster, hand_on
from bot.platform import AfterAck, Asker
from bot.slack.listeners.payloads import command_caller
from bot.slack.render import reply_payload
from commands import Clusterbot
from commands.registry import FAMILIES
from storage.db import DatabaseUnavailable


def handle_slash_command(*, ack: Ack, command: dict, product: Clusterbot, delivery: AfterAck,
                         replay_key: str | None = None, roster: Roster | None = None) -> None:
    """Run the command (committed before we answer) and answer in the ack, with no Web API call first.
    A reply that opens a form is acknowledged empty; the form opens just after (its trigger lasts 3 s),
    and if it cannot, the person gets the reply's text, which says how to type it instead.
    `replay_key`: the request's signature; the same signed request sent again (within Slack's five
    minutes it still verifies) is acknowledged and not run twice."""
    caller = command_caller(command, roster)
    if replay_key and not product.only_reads(command["command"], command.get("text") or "") \
            and not _first_time(product, replay_key):  # a read repeated changes nothing: no write for it
        ack()
        return
    reply = product.handle(command["command"], command.get("text") or "", caller)
    asker = Asker(caller.user_id, caller.channel_id, caller.team_id, handle=command.get("response_url"),
                  trigger=command.get("trigger_id"))
    opens_form = reply.form is not None and asker.trigger
    if reply.is_silent or opens_form:
        ack()
    else:
        ack(**reply_payload(reply))
    hand_on(delivery, reply, asker, answered=True)
    if product.has_later(command["command"], command.get("text") or ""):
        delivery.run_now(lambda: finish_slash_command(command=command, product=product, delivery=delivery,
                                                      roster=roster), bucket=caller.channel_id)


def _first_time(product: Clusterbot, key: str) -> bool:
    try:
        return product.first_delivery(key)
    except DatabaseUnavailable:
        return True  # the command itself will say the database is unavailable


def replay_key(request: BoltRequest) -> str | None:
    """The signed request's identity: its timestamp and signature (HTTP only; Socket Mode has none)."""
    headers = request.headers or {}
    signature = (headers.get("x-slack-signature") or [""])[0]
    timestamp = (headers.get("x-slack-request-timestamp") or [""])[0]
    return f"slack:{timestamp[:12]}:{signature[-48:]}" if signature and timestamp else None


def finish_slash_command(*, command: dict, product: Clusterbot, delivery: AfterAck,
                         roster: Roster | None = None) -> None:
    """After the ack, on a delivery worker: the slow part (an export), its file handed to delivery."""
    caller = command_caller(command, roster)
    reply = product.finish(command["command"], command.get("text") or "", caller)
    delivery.after_ack(reply, Asker(caller.user_id, caller.channel_id, caller.team_id,
                                    handle=command.get("response_url")))


def register(app: App, product: Clusterbot, delivery: AfterAck, roster: Roster | None = None) -> None:
    def on_command(ack: Ack, command: dict, request: BoltRequest) -> None:
        handle_slash_command(ack=ack, command=command, product=product, delivery=delivery,
                             replay_key=replay_key(request), roster=roster)

    # One listener for every family (a listener each cost every request a matcher call per family).
    app.command(re.compile("^(?:" + "|".join(re.escape(name) for name in FAMILIES) + ")$"))(on_command)
