"""When Slack's Web API misbehaves: rate limits, refusals, timeouts. The request is acknowledged
before any of it; then a clear word to the person, and nothing stored is lost or half-written."""

import pytest
from sqlmodel import select

from storage.models import Ballot, Poll, Topic
from testkit import factories
from testkit.helpers import retry_now, unsent_outbox
from testkit.slack_requests import dispatch_command

QUESTION = '"Which topic next?" "Asthma reviews" "Frailty register"'


@pytest.fixture
def cluster(app):
    """Riverside with one practice, 80123, and UGP in it."""
    factories.riverside(factories.on_slack(app), practices=1, members={"UGP": "80123"})
    return app


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model)))


def told(slack_api) -> str:
    """What the person was told after the ack (through the response_url)."""
    return "\n".join(c.args.get("text", "") for c in slack_api.calls_to("response_url"))


def test_a_short_rate_limit_is_waited_out_and_retried(cluster, db, slack_api):
    slack_api.throttle("chat.postMessage", times=1, retry_after=1)
    response = dispatch_command(cluster, "/poll", QUESTION)
    assert response.body == ""  # acknowledged at once; posted on the second try
    assert len(slack_api.calls_to("chat.postMessage")) == 2
    [poll] = rows(db, Poll)
    assert poll.posted_ref == slack_api.messages["CCLUSTER"][-1]["ts"]


def test_a_long_rate_limit_keeps_the_poll_and_posts_it_when_allowed(cluster, db, slack_api):
    slack_api.throttle("chat.postMessage", times=1, retry_after=30)
    assert dispatch_command(cluster, "/poll", QUESTION).body == ""  # acknowledged; the post waits its 30 s
    [poll] = rows(db, Poll)
    assert poll.posted_ref is None and unsent_outbox(db) == 1 and told(slack_api) == ""
    assert len(slack_api.calls_to("chat.postMessage")) == 1  # no thread sat waiting to try again
    retry_now(db)  # as if the 30 seconds had passed
    cluster.delivery.jobs.clear_pauses()
    assert cluster.delivery.drain()
    [poll] = rows(db, Poll)
    assert poll.posted_ref is not None and unsent_outbox(db) == 0


@pytest.mark.parametrize("error, says", [
    ("not_in_channel", "I'm not in this channel, so I couldn't post it. Invite me with `/invite @clusterbot`"),
    ("channel_not_found", "/invite @clusterbot"),
    ("invalid_auth", "Slack wouldn't let me post it (invalid_auth)."),
])
def test_slack_refusing_a_post_is_told_and_nothing_is_kept(cluster, db, slack_api, error, says):
    slack_api.fail("chat.postMessage", error)
    response = dispatch_command(cluster, "/poll", QUESTION)
    assert response.status == 200 and response.body == ""
    assert says in told(slack_api) and "nothing half-made is left behind" in told(slack_api)
    assert rows(db, Poll) == [] and unsent_outbox(db) == 0


def test_slack_not_answering_in_time_keeps_the_poll_and_does_not_post_it_twice(cluster, db, slack_api):
    cluster.delivery.platform.client.timeout = 0.5
    slack_api.delay("chat.postMessage", 1.0)  # Slack posts it, but answers too late
    dispatch_command(cluster, "/poll", QUESTION)  # waits for delivery to settle: a retry 2 s later
    [poll] = rows(db, Poll)
    [message] = slack_api.messages["CCLUSTER"]
    assert poll.posted_ref == message["ts"]  # found where it arrived (conversations.history), not reposted
    assert len(slack_api.calls_to("chat.postMessage")) == 1 and slack_api.calls_to("conversations.history")
    assert "nothing" not in told(slack_api) and unsent_outbox(db) == 0
    slack_api.delays.clear()
    dispatch_command(cluster, "/poll", "vote P1 2", user="UGP")
    assert slack_api.calls_to("chat.update")[-1].args["ts"] == message["ts"]  # its buttons work


def test_a_failed_message_update_keeps_the_vote(cluster, db, slack_api):
    dispatch_command(cluster, "/poll", QUESTION)
    slack_api.fail("chat.update", "message_not_found")
    response = dispatch_command(cluster, "/poll", "vote P1 2", user="UGP")
    assert "Your practice's ballot on `P1` is now: 2. Frailty register." in response.text
    assert [b.choices for b in rows(db, Ballot)] == ["2"]


def test_a_form_that_will_not_open_offers_the_typed_command(cluster, db, slack_api):
    slack_api.fail("views.open", "expired_trigger_id")
    response = dispatch_command(cluster, "/topic", "")
    assert response.status == 200 and response.body == ""  # the ack leaves before the form is tried
    assert "/topic propose" in told(slack_api)
    assert rows(db, Topic) == []


def test_names_slack_cannot_give_fall_back_to_ids_in_exports(cluster, slack_api):
    import io

    from openpyxl import load_workbook

    dispatch_command(cluster, "/action", "add Ring the Board <@UGP>")
    slack_api.fail("users.info", "user_not_found")
    dispatch_command(cluster, "/action", "export")
    slack_api.wait_for("files.completeUploadExternal")
    [content] = slack_api.uploads.values()
    assert load_workbook(io.BytesIO(content))["Actions"]["C2"].value == "UGP"
