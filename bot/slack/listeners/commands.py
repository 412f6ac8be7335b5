"""Slash commands: every family in the registry, one handler."""

from slack_bolt import Ack, App

from bot.slack.listeners.payloads import command_caller
from bot.slack.render import reply_payload
from commands import Clusterbot
from commands.registry import FAMILIES


def handle_slash_command(*, ack: Ack, command: dict, product: Clusterbot) -> None:
    """Run the command (committed before we answer) and answer in the ack, within Slack's 3 seconds."""
    caller = command_caller(command)
    reply = product.handle(command["command"], command.get("text") or "", caller)
    ack(**reply_payload(reply))


def register(app: App, product: Clusterbot) -> None:
    def on_command(ack: Ack, command: dict) -> None:
        handle_slash_command(ack=ack, command=command, product=product)

    for name in FAMILIES:
        app.command(name)(on_command)
