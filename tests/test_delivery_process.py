"""Delivery in its own process (bot/delivery/process.py), as `python -m bot slack` runs it: the real
Bolt app acknowledges in this process and a spawned child sends everything after the ack, through the
Slack stand-in, on both databases."""

import os
import signal
import threading
import time

import pytest

from bot.slack import build_app
from testkit.helpers import unsent_outbox
from testkit.slack_requests import dispatch_command
from tests.test_delivery import card_text, click, poll_cluster


@pytest.fixture
def papp(settings, product):
    app = build_app(settings, product, delivery_process=True)
    yield app
    app.delivery.stop()


@pytest.fixture
def cluster(papp):
    return poll_cluster(papp)


def test_clicks_are_answered_here_and_everything_after_them_is_sent_by_the_child(cluster, slack_api):
    child = cluster.delivery.pid
    assert child is not None and child != os.getpid()
    held = slack_api.hold("chat.update")
    assert click(cluster, "UGP", 1)[0].status == 200
    slack_api.wait_for("chat.update")  # the child's first update is in flight, and held
    assert [click(cluster, user, 2)[0].status for user in ("UNURSE", "UPM")] == [200, 200]
    assert not held.is_set()  # both answered while Slack sat on the update
    held.set()
    assert cluster.delivery.drain()
    assert "3 of 3 practices have voted" in card_text(slack_api)
    answers = [c.args["text"] for c in slack_api.calls_to("response_url")]
    assert sum("Your practice's ballot on `P1` is now" in a for a in answers) == 3
    # No delivery worker runs in this process: nothing here competes with the acks for the interpreter.
    assert not [t.name for t in threading.enumerate() if t.name.startswith(("delivery-outbox", "delivery-1"))]


@pytest.mark.database
def test_a_killed_delivery_process_is_replaced_and_what_was_committed_is_sent_once(cluster, slack_api, db):
    first = cluster.delivery.pid
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while cluster.delivery._child.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    before = len(slack_api.calls_to("chat.postMessage"))
    dispatch_command(cluster, "/poll", '"Second question?" "Yes" "No"')  # committed, then handed over: a new child
    assert cluster.delivery.pid not in (None, first)
    posts = [c.args for c in slack_api.calls_to("chat.postMessage")[before:]]
    assert sum("Second question?" in p.get("text", "") for p in posts) == 1
    assert unsent_outbox(db) == 0


def test_stopping_ends_the_child(papp):
    child = papp.delivery._child
    assert child.is_alive()
    papp.delivery.stop()
    assert not child.is_alive() and child.exitcode is not None
