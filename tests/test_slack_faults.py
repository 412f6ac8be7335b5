"""When Slack's Web API misbehaves: rate limits, refusals, timeouts. A clear word to the person, and
nothing stored is lost or half-written."""

import pytest
from sqlmodel import select

from storage.models import Ballot, Poll, Topic
from tests.slack_requests import dispatch_command

QUESTION = '"Which topic next?" "Asthma reviews" "Frailty register"'


@pytest.fixture
def cluster(app):
    dispatch_command(app, "/cluster", "setup Riverside Cluster")
    dispatch_command(app, "/cluster", "practice add 80123 Riverside Medical Practice")
    dispatch_command(app, "/cluster", "join 80123", user="UGP")
    return app


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model)))


def test_a_short_rate_limit_is_waited_out_and_retried(cluster, db, slack_api):
    slack_api.throttle("chat.postMessage", times=1, retry_after=1)
    response = dispatch_command(cluster, "/poll", QUESTION)
    assert response.body == ""  # posted, on the second try
    assert len(slack_api.calls_to("chat.postMessage")) == 2
    [poll] = rows(db, Poll)
    assert poll.posted_ref is not None


def test_a_long_rate_limit_is_told_and_nothing_is_kept(cluster, db, slack_api):
    slack_api.throttle("chat.postMessage", times=5, retry_after=30)
    response = dispatch_command(cluster, "/poll", QUESTION)
    assert response.json["response_type"] == "ephemeral"
    assert "Slack wouldn't let me post it" in response.text and "Please try again" in response.text
    assert len(slack_api.calls_to("chat.postMessage")) == 1  # not waited for: it would break the 3 s window
    assert rows(db, Poll) == []


@pytest.mark.parametrize("error, says", [
    ("not_in_channel", "I'm not in this channel, so I couldn't post it, so nothing was saved"),
    ("channel_not_found", "/invite @clusterbot"),
    ("invalid_auth", "Slack wouldn't let me post it, so nothing was saved (invalid_auth)"),
])
def test_slack_refusing_a_post_is_told_and_nothing_is_kept(cluster, db, slack_api, error, says):
    slack_api.fail("chat.postMessage", error)
    response = dispatch_command(cluster, "/poll", QUESTION)
    assert response.status == 200 and says in response.text
    assert rows(db, Poll) == []


def test_slack_not_answering_in_time_is_told_and_nothing_is_kept(cluster, db, slack_api):
    cluster.client.timeout = 0.5
    slack_api.delay("chat.postMessage", 1.5)
    response = dispatch_command(cluster, "/poll", QUESTION)
    assert response.status == 200 and "(no answer in time)" in response.text
    assert rows(db, Poll) == []


def test_a_failed_message_update_keeps_the_vote(cluster, db, slack_api):
    dispatch_command(cluster, "/poll", QUESTION)
    slack_api.fail("chat.update", "message_not_found")
    response = dispatch_command(cluster, "/poll", "vote P1 2", user="UGP")
    assert "Your practice's ballot on `P1` is now: 2. Frailty register." in response.text
    assert [b.choices for b in rows(db, Ballot)] == ["2"]


def test_a_form_that_will_not_open_offers_the_typed_command(cluster, db, slack_api):
    slack_api.fail("views.open", "expired_trigger_id")
    response = dispatch_command(cluster, "/topic", "")
    assert response.status == 200 and "/topic propose" in response.text
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
