"""All listener families, wired in one place."""

from slack_bolt import App

from bot.slack.listeners import commands, events, interactions
from commands import Clusterbot


def register(app: App, product: Clusterbot) -> None:
    commands.register(app, product)
    interactions.register(app, product)
    events.register(app, product)
