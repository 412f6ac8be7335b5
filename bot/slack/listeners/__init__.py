"""All listener families, wired in one place."""

from slack_bolt import App

from bot.platform import Delivery
from bot.slack.listeners import commands, events, interactions
from commands import Clusterbot


def register(app: App, product: Clusterbot, delivery: Delivery) -> None:
    commands.register(app, product, delivery)
    interactions.register(app, product, delivery)
    events.register(app, product, delivery)
