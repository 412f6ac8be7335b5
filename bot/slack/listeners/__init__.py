"""All listener families, wired in one place."""

from slack_bolt import App

from bot.platform import AfterAck
from bot.slack.listeners import commands, events, interactions
from commands import Clusterbot


def register(app: App, product: Clusterbot, delivery: AfterAck) -> None:
    # Bolt tries each listener's matcher in the order registered, building its arguments (every view
    # of the payload) each time: the one listener for every command first, then buttons (a meeting's
    # votes come in bursts), forms and shortcuts, then events.
    commands.register(app, product, delivery)
    interactions.register(app, product, delivery)
    events.register(app, product, delivery)
