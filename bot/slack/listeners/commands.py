"""Slash commands: every family in the registry, one handler; slow parts (exports) run lazily."""

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.slack.deliver import carry_out, open_form
from bot.slack.listeners.payloads import command_caller
from bot.slack.render import reply_payload
from commands import Clusterbot
from commands.registry import FAMILIES


def handle_slash_command(*, ack: Ack, command: dict, client: WebClient, product: Clusterbot) -> None:
    """Run the command (committed before we answer) and answer in the ack, within Slack's 3 seconds.
    A reply that opens a form opens it as a modal instead; posts it asks for are made first, so a
    failure can still be told to the person."""
    caller = command_caller(command)
    reply = product.handle(command["command"], command.get("text") or "", caller)
    reply = carry_out(client, product, reply) or reply
    if reply.form and command.get("trigger_id") and open_form(client, command["trigger_id"], reply.form,
                                                              caller.channel_id) or reply.is_silent:
        ack()
    else:
        ack(**reply_payload(reply))


def finish_slash_command(*, command: dict, client: WebClient, respond: Respond, product: Clusterbot) -> None:
    """After the ack: the slow part (an export), its file sent; a failure told to the person."""
    reply = product.finish(command["command"], command.get("text") or "", command_caller(command))
    problem = carry_out(client, product, reply)
    if problem or not reply.is_silent:
        respond(**reply_payload(problem or reply))


def register(app: App, product: Clusterbot) -> None:
    def on_command(ack: Ack, command: dict, client: WebClient) -> None:
        handle_slash_command(ack=ack, command=command, client=client, product=product)

    def later(command: dict, client: WebClient, respond: Respond) -> None:
        finish_slash_command(command=command, client=client, respond=respond, product=product)

    for name, fam in FAMILIES.items():
        if any(sub.later for sub in fam.subcommands):
            app.command(name)(ack=on_command, lazy=[later])
        else:
            app.command(name)(on_command)
