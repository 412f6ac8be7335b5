"""The committed manifest is what the code generates, and it declares what the bot needs."""

from pathlib import Path

import yaml

from bot.slack.manifest import manifest, manifest_yaml
from commands.registry import FAMILIES

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"


def test_committed_manifest_is_generated_from_the_registry():
    assert MANIFEST.read_text() == manifest_yaml(), "run: python -m bot manifest > manifest.yml"
    assert yaml.safe_load(MANIFEST.read_text()) == manifest()


def test_manifest_declares_the_five_commands_and_the_features():
    data = yaml.safe_load(MANIFEST.read_text())
    commands = [c["command"] for c in data["features"]["slash_commands"]]
    assert commands == list(FAMILIES) == ["/cluster", "/topic", "/poll", "/action", "/meeting", "/measure", "/checkin"]
    assert all(c["should_escape"] for c in data["features"]["slash_commands"])  # mentions arrive as <@U…>
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert data["features"]["bot_user"]["display_name"] == "clusterbot"
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["socket_mode_enabled"] is True
    assert {"commands", "chat:write"} <= set(data["oauth_config"]["scopes"]["bot"])
    for command in data["features"]["slash_commands"]:
        assert len(command["description"]) <= 100 and len(command["usage_hint"]) <= 100
