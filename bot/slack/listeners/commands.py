"""Slash commands: every family in the registry, one handler."""

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack.listeners.payloads import command_caller
from bot.slack.render import reply_payload
from bot.slack.views import modal
from commands import Clusterbot
from commands.registry import FAMILIES


def handle_slash_command(*, ack: Ack, command: dict, client: WebClient, product: Clusterbot) -> None:
    """Run the command (committed before we answer) and answer in the ack, within Slack's 3 seconds.
    A reply that opens a form opens it as a modal instead."""
    caller = command_caller(command)
    reply = product.handle(command["command"], command.get("text") or "", caller)
    if reply.form and command.get("trigger_id"):
        client.views_open(trigger_id=command["trigger_id"], view=modal(reply.form, caller.channel_id))
        ack()
        return
    ack(**reply_payload(reply))


def register(app: App, product: Clusterbot) -> None:
    def on_command(ack: Ack, command: dict, client: WebClient) -> None:
        handle_slash_command(ack=ack, command=command, client=client, product=product)

    for name in FAMILIES:
        app.command(name)(on_command)
