"""Requests as Slack sends them: form-encoded slash commands, signed with v0 HMAC-SHA256."""

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

from slack_bolt import App
from slack_bolt.request import BoltRequest

SIGNING_SECRET = "test-signing-secret-8f2a"
TEAM = "T0001"


def signature_headers(body: str | bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict:
    """The two headers Slack adds: X-Slack-Request-Timestamp and X-Slack-Signature (v0=hex)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def slash_body(command: str, text: str, *, user: str = "ULEAD", channel: str = "CCLUSTER",
               team: str = TEAM, enterprise: str | None = None) -> str:
    fields = {
        "token": "deprecated-verification-token", "team_id": team, "team_domain": "example",
        "channel_id": channel, "channel_name": "cluster", "user_id": user, "user_name": user.lower(),
        "command": command, "text": text, "api_app_id": "A0001", "is_enterprise_install": "false",
        "response_url": "https://hooks.slack.com/commands/T0001/1/abc", "trigger_id": "1.2.abc",
    }
    if enterprise:
        fields["enterprise_id"] = enterprise
    return urlencode(fields)


def signed_headers(body: str | bytes, content_type: str = "application/x-www-form-urlencoded", **kwargs) -> dict:
    return {"Content-Type": content_type, **signature_headers(body, **kwargs)}


class SlashResponse:
    def __init__(self, status: int, body: str):
        self.status = status
        self.body = body
        self.json = json.loads(body) if body.startswith("{") else {}

    @property
    def text(self) -> str:
        return self.json.get("text", "")

    @property
    def in_channel(self) -> bool:
        return self.json.get("response_type") == "in_channel"


def dispatch_command(app: App, command: str, text: str = "", **kwargs) -> SlashResponse:
    """Send a signed slash command through the real Bolt app, as the HTTP adapter would."""
    body = slash_body(command, text, **kwargs)
    response = app.dispatch(BoltRequest(body=body, headers=signed_headers(body)))
    return SlashResponse(response.status, response.body)
