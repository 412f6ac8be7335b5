"""Slash commands: every family in the registry, one handler."""

from slack_bolt import Ack, App

from bot.slack.render import reply_payload
from commands import Clusterbot
from commands.context import Caller
from commands.registry import FAMILIES


def caller_from(command: dict) -> Caller:
    return Caller(
        user_id=command["user_id"],
        channel_id=command["channel_id"],
        team_id=command.get("team_id") or "",
        enterprise_id=command.get("enterprise_id") or None,
    )


def handle_slash_command(*, ack: Ack, command: dict, product: Clusterbot) -> None:
    """Run the command (committed before we answer) and answer in the ack, within Slack's 3 seconds."""
    reply = product.handle(command["command"], command.get("text") or "", caller_from(command))
    ack(**reply_payload(reply))


def register(app: App, product: Clusterbot) -> None:
    def on_command(ack: Ack, command: dict) -> None:
        handle_slash_command(ack=ack, command=command, product=product)

    for name in FAMILIES:
        app.command(name)(on_command)
