"""Requests as Slack sends them: form-encoded slash commands, signed with v0 HMAC-SHA256."""

import hashlib
import hmac
import itertools
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


_TRIGGERS = itertools.count(1)


def slash_body(command: str, text: str, *, user: str = "ULEAD", channel: str = "CCLUSTER",
               team: str = TEAM, enterprise: str | None = None,
               response_url: str = "http://127.0.0.1:9/respond/never-used") -> str:
    fields = {
        "token": "deprecated-verification-token", "team_id": team, "team_domain": "example",
        "channel_id": channel, "channel_name": "cluster", "user_id": user, "user_name": user.lower(),
        "command": command, "text": text, "api_app_id": "A0001", "is_enterprise_install": "false",
        # Slack gives every request a trigger id of its own, so no two signed requests are alike (a
        # request sent again, byte for byte, is a replay: tests/test_http.py).
        "response_url": response_url, "trigger_id": f"1.2.{next(_TRIGGERS)}",
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
    """Send a signed slash command through the real Bolt app, as the HTTP adapter would. Its
    response_url points at the Slack stand-in the app talks to."""
    kwargs.setdefault("response_url", app.client.base_url.replace("/api/", "/respond/T0001/1/abc"))
    body = slash_body(command, text, **kwargs)
    response = app.dispatch(BoltRequest(body=body, headers=signed_headers(body)))
    settle(app)
    return SlashResponse(response.status, response.body)


def settle(app: App) -> None:
    """Wait until everything the request handed to delivery (after its ack) has been sent, so a test
    can look at what the stand-in received. The ack itself never waits for this (tests/test_delivery.py)."""
    delivery = getattr(app, "delivery", None)
    if delivery is not None:
        assert delivery.drain(), "delivery did not finish within 10 s"


def dispatch_payload(app: App, payload: dict) -> SlashResponse:
    """An interaction (button, form) as Slack posts it: form-encoded `payload=<json>`, signed."""
    body = urlencode({"payload": json.dumps(payload)})
    response = app.dispatch(BoltRequest(body=body, headers=signed_headers(body)))
    settle(app)
    return SlashResponse(response.status, response.body or "")


def _who(user: str, team: str) -> dict:
    return {"team": {"id": team, "domain": "example"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team}}


def button_payload(action_id: str, value: str, *, user: str = "ULEAD", channel: str = "CCLUSTER",
                   team: str = TEAM, response_url: str = "") -> dict:
    return {
        "type": "block_actions", **_who(user, team), "api_app_id": "A0001", "token": "deprecated",
        "trigger_id": "2.3.trigger", "response_url": response_url,
        "container": {"type": "message", "message_ts": "1700000000.000100", "channel_id": channel,
                      "is_ephemeral": False},
        "channel": {"id": channel, "name": "cluster"},
        "message": {"type": "message", "ts": "1700000000.000100", "text": "card"},
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                     "action_ts": "1700000001.000200", "text": {"type": "plain_text", "text": action_id}}],
    }


def fill(view: dict, **values: str) -> dict:
    """Slack's view.state for a modal the bot opened: given values, else what the modal prefilled."""
    state = {}
    for block in view["blocks"]:
        element, name = block["element"], block["block_id"]
        picked = {"datepicker": "selected_date", "timepicker": "selected_time", "users_select": "selected_user"}
        if element["type"] == "static_select":
            chosen = values.get(name, (element.get("initial_option") or {}).get("value"))
            option = next((o for o in element["options"] if o["value"] == chosen), None)
            state[name] = {"value": {"type": "static_select", "selected_option": option}}
        elif element["type"] in picked:
            key = picked[element["type"]]
            chosen = values.get(name, element.get(key.replace("selected", "initial")))
            state[name] = {"value": {"type": element["type"], key: chosen or None}}
        else:
            text = values.get(name, element.get("initial_value"))
            state[name] = {"value": {"type": "plain_text_input", "value": text or None}}
    return state


def submission_payload(view: dict, *, user: str = "ULEAD", team: str = TEAM, view_id: str = "V0001", **values):
    """A view_submission of `view` (as the bot sent it to views.open), filled with `values`."""
    submitted = {**view, "id": view_id, "team_id": team, "state": {"values": fill(view, **values)},
                 "hash": "1700000000.abc"}
    return {"type": "view_submission", **_who(user, team), "api_app_id": "A0001", "token": "deprecated",
            "trigger_id": "3.4.trigger", "view": submitted, "response_urls": []}


def dispatch_event(app: App, event: dict, *, event_id: str = "Ev0001", retry: int | None = None,
                   team: str = TEAM) -> SlashResponse:
    """An Events API delivery, signed; `retry` adds Slack's X-Slack-Retry-Num header."""
    body = json.dumps({"token": "deprecated", "team_id": team, "api_app_id": "A0001", "type": "event_callback",
                       "event": event, "event_id": event_id, "event_time": int(time.time())})
    headers = signed_headers(body, content_type="application/json")
    if retry is not None:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    response = app.dispatch(BoltRequest(body=body, headers=headers))
    settle(app)
    return SlashResponse(response.status, response.body or "")


def home_payload(action_id: str, value: str, *, user: str, team: str = TEAM) -> dict:
    """A button pressed on the App Home tab: no channel, no response_url."""
    payload = button_payload(action_id, value, user=user, team=team)
    for key in ("channel", "response_url", "message"):
        payload.pop(key)
    payload["container"] = {"type": "view", "view_id": "VHOME"}
    payload["view"] = {"id": "VHOME", "type": "home", "blocks": []}
    return payload
