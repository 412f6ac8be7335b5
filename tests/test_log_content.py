"""What the log holds (issue 12 #1, #5): ids, lengths and command names — never user text or a body.

Text holding a patient identifier and a forged log line is sent every way a person can send text
(typed, button, form, unsigned and signed requests) while the database is down and while the product
fails unexpectedly with an error that quotes the text. The captured log, written by the production
formatter, is then searched for it."""

import io
import json
import logging
from urllib.parse import urlencode

import pytest
from slack_bolt.request import BoltRequest

from bot import logs
from bot.config import Settings
from bot.slack import build_app, dispatch
from commands import Clusterbot
from commands.registry import BUTTONS, FORMS
from storage.db import Database
from testkit.slack_requests import (
    SIGNING_SECRET,
    button_payload,
    dispatch_command,
    dispatch_payload,
    signed_headers,
    slash_body,
    submission_payload,
)

SECRET = "0101011237"
PLANTED = f"Mrs Planted {SECRET}\n2026-11-26 09:00:00,000 INFO bot: forged line"


@pytest.fixture
def log_text():
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure(stream, level=logging.DEBUG)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def everything_with_planted_text(app, slack_api) -> None:
    for command, words in (("/topic", "propose"), ("/action", "add"), ("/poll", ""), ("/meeting", "schedule"),
                           ("/cluster", "setup")):
        dispatch_command(app, command, f"{words} {PLANTED}".strip())
    dispatch_payload(app, button_payload("poll.vote|0", PLANTED, response_url=slack_api.response_url))
    view = {"type": "modal", "callback_id": "topic.propose", "blocks": [],
            "private_metadata": json.dumps({"channel": "CCLUSTER", "context": {"link": PLANTED}})}
    payload = submission_payload(view)
    payload["view"]["state"] = {"values": {"title": {"value": {"type": "plain_text_input", "value": PLANTED}}}}
    dispatch_payload(app, payload)
    unsigned = slash_body("/topic", f"propose {PLANTED}")
    dispatch(app, unsigned.encode(), {"content-type": "application/x-www-form-urlencoded"})
    broken = urlencode({"payload": "{" + PLANTED})
    dispatch(app, broken.encode(), signed_headers(broken))
    app.dispatch(BoltRequest(body=unsigned, headers={"content-type": "application/x-www-form-urlencoded"}))


def assert_nothing_planted(written: str, caplog) -> None:
    assert written, "the log captured nothing: the test would prove nothing"
    for needle in (SECRET, "Mrs Planted", "forged line"):
        assert needle not in written, needle
    for record in caplog.records:  # our own records carry no user text even before formatting
        if record.name.startswith(("bot", "commands", "storage")):
            assert SECRET not in record.getMessage()
    assert all(line.count(" INFO ") + line.count(" WARNING ") + line.count(" ERROR ") <= 1
               for line in written.splitlines())


def test_a_database_outage_logs_no_user_text(tmp_path, slack_api, log_text, caplog):
    caplog.set_level(logging.DEBUG)
    db = Database(f"sqlite:///{tmp_path / 'not-yet' / 'cluster.db'}")  # its folder does not exist
    app = build_app(Settings(db.url, "Europe/London", slack_api.url, "xoxb-test", SIGNING_SECRET), Clusterbot(db))
    try:
        everything_with_planted_text(app, slack_api)
    finally:
        app.delivery.stop()
    assert "database unavailable during /topic" in log_text.getvalue()
    assert_nothing_planted(log_text.getvalue(), caplog)


def test_unexpected_failures_quoting_the_text_log_no_user_text(app, slack_api, log_text, caplog, monkeypatch):
    """The product fails with exceptions whose messages quote what was typed (a stand-in for any bug)."""
    caplog.set_level(logging.DEBUG)

    def fail(*args):
        raise ValueError(f"could not read {args[-1]!r} or {args[1]!r}")

    monkeypatch.setattr(Clusterbot, "_run", lambda self, fam, text, ctx: fail(ctx, text))
    monkeypatch.setitem(BUTTONS, "poll.vote", fail)
    monkeypatch.setitem(FORMS, "topic.propose", fail)
    everything_with_planted_text(app, slack_api)
    written = log_text.getvalue()
    assert "/topic (" in written and "ValueError at" in written
    assert_nothing_planted(written, caplog)
