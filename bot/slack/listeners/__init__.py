"""All listener families, wired in one place."""

from slack_bolt import App

from bot.front_door import Roster
from bot.platform import AfterAck
from bot.slack.listeners import commands, events, interactions
from commands import Clusterbot


def register(app: App, product: Clusterbot, delivery: AfterAck, roster: Roster | None = None) -> None:
    # Bolt tries each listener's matcher in the order registered, building its arguments (every view
    # of the payload) each time: the one listener for every command first, then buttons (a meeting's
    # votes come in bursts), forms and shortcuts, then events.
    # `roster`: who has a guest account, asked of Slack for commands, buttons and forms (a join event
    # needs no answer: what a guest may not do is asked for by a command).
    commands.register(app, product, delivery, roster)
    interactions.register(app, product, delivery, roster)
    events.register(app, product, delivery)
