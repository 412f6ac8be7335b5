"""The Slack adapter: a Bolt app whose listeners turn Slack payloads into Clusterbot calls."""

from slack_bolt import App
from slack_sdk import WebClient

from bot.config import Settings
from bot.slack import listeners
from commands import Clusterbot


def build_app(settings: Settings, product: Clusterbot, *, socket_mode: bool = False) -> App:
    """The real Bolt app. Raises slack_sdk errors if Slack rejects the bot token (auth.test)."""
    client = WebClient(token=settings.bot_token, base_url=settings.slack_api_url, timeout=10)
    app = App(
        client=client,
        signing_secret=settings.signing_secret or ("" if socket_mode else None),
        request_verification_enabled=not socket_mode,
        process_before_response=False,
    )
    listeners.register(app, product)
    return app
