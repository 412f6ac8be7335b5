"""/topic's forms and buttons: signed block_actions and view_submission payloads to the real Bolt app."""

import json

import pytest
from sqlmodel import select

from storage.models import Topic, TopicMove
from testkit import factories
from testkit.slack_requests import button_payload, dispatch_command, dispatch_payload, submission_payload


@pytest.fixture
def cluster(app, slack_api):
    """Riverside with two practices; UGP in 80456."""
    factories.riverside(factories.on_slack(app), practices=2, members={"UGP": "80456"})
    return app


def topics(db):
    with db.session() as session:
        return list(session.exec(select(Topic).order_by(Topic.id)))


def open_form(app, slack_api, text="", user="UGP"):
    """Run a command that opens a modal; return the modal the bot sent to views.open."""
    before = len(slack_api.calls_to("views.open"))
    response = dispatch_command(app, "/topic", text, user=user)
    assert response.status == 200 and response.body in ("", "{}"), response.body
    calls = slack_api.calls_to("views.open")
    assert len(calls) == before + 1
    assert calls[-1].args["trigger_id"].startswith("1.2.")  # the request's own trigger
    return json.loads(calls[-1].args["view"]) if isinstance(calls[-1].args["view"], str) else calls[-1].args["view"]


def click(app, slack_api, action, value, user="ULEAD"):
    return dispatch_payload(app, button_payload(action, value, user=user, response_url=slack_api.response_url))


def responses(slack_api):
    return [c.args for c in slack_api.calls_to("response_url")]


def test_the_propose_form_has_the_fields_and_defaults_to_the_persons_practice(cluster, slack_api):
    view = open_form(cluster, slack_api)
    assert view["title"]["text"] == "Propose a QI topic" and view["callback_id"] == "topic.form"
    assert [b["block_id"] for b in view["blocks"]] == ["title", "why", "aim", "measure", "source", "practice"]
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert blocks["title"]["element"]["max_length"] == 150 and not blocks["title"]["optional"]
    assert [o["value"] for o in blocks["source"]["element"]["options"]] == [
        "practices", "board", "hscp", "national", "other"]
    assert blocks["practice"]["element"]["initial_option"]["value"] == "80456"
    assert json.loads(view["private_metadata"]) == {"channel": "CCLUSTER", "context": {}}


def test_submitting_the_form_creates_and_announces_the_topic(cluster, slack_api, db):
    view = open_form(cluster, slack_api)
    response = dispatch_payload(cluster, submission_payload(
        view, user="UGP", title="Frailty register accuracy", why="Registers vary 3-fold between practices",
        aim="Every practice's register within 10% of expected by June 2027", measure="Register size / expected",
        source="hscp"))
    assert response.status == 200 and response.body == ""
    [stored] = topics(db)
    assert (stored.title, stored.source, stored.proposed_by) == ("Frailty register accuracy", "hscp", "UGP")
    assert stored.aim.startswith("Every practice") and stored.practice_id is not None
    [post] = slack_api.calls_to("chat.postMessage")
    assert post.args["channel"] == "CCLUSTER"
    assert "<@UGP> proposed a QI topic:" in post.args["text"] and "Source: HSCP" in post.args["text"]


def test_a_double_submitted_form_creates_one_topic(cluster, slack_api, db):
    view = open_form(cluster, slack_api)
    payload = submission_payload(view, user="UGP", title="Asthma reviews", view_id="VSAME")
    assert dispatch_payload(cluster, payload).status == 200
    assert dispatch_payload(cluster, payload).status == 200  # Slack retry or a second click
    assert len(topics(db)) == 1
    assert len(slack_api.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize("values, field, says", [
    ({"title": ""}, "title", "Give the topic a title."),
    ({"title": "x" * 151}, "title", "The title is 151 characters; the limit is 150."),
    ({"title": "Asthma", "why": "pt 0101011237 again"}, "why", "looks like a CHI or NHS number"),
    ({"title": "Asthma", "measure": "m" * 2001}, "measure", "limit is 2000"),
])
def test_form_problems_are_shown_on_the_field_and_nothing_is_saved(cluster, slack_api, db, values, field, says):
    view = open_form(cluster, slack_api)
    response = dispatch_payload(cluster, submission_payload(view, user="UGP", **values))
    body = json.loads(response.body)
    assert body["response_action"] == "errors" and says in body["errors"][field]
    assert topics(db) == [] and slack_api.calls_to("chat.postMessage") == []


def test_lead_agrees_with_the_button_and_the_move_is_recorded(cluster, slack_api, db):
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    assert click(cluster, slack_api, "topic.agree", "T1").status == 200
    assert topics(db)[0].status == "agreed"
    [answer] = responses(slack_api)
    assert answer["response_type"] == "in_channel" and answer["replace_original"] is False
    assert "<@ULEAD> moved `T1` Asthma reviews from proposed to *agreed*" in answer["text"]


def test_a_member_pressing_a_leads_button_is_refused_privately(cluster, slack_api, db):
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    click(cluster, slack_api, "topic.agree", "T1", user="UGP")
    [answer] = responses(slack_api)
    assert answer["response_type"] == "ephemeral" and "Only the cluster's leads" in answer["text"]
    assert topics(db)[0].status == "proposed"


def test_drop_button_asks_for_a_reason_in_a_form(cluster, slack_api, db):
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    click(cluster, slack_api, "topic.drop", "T1")
    view = slack_api.calls_to("views.open")[-1].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "topic.drop" and view["title"]["text"] == "Drop T1"
    empty = dispatch_payload(cluster, submission_payload(view, reason=""))
    assert json.loads(empty.body)["errors"]["reason"] == "Say why it's dropped."
    assert dispatch_payload(cluster, submission_payload(view, reason="The Board runs this")).body == ""
    assert topics(db)[0].status == "dropped"
    with db.session() as session:
        assert session.exec(select(TopicMove.reason).order_by(TopicMove.id.desc())).first() == "The Board runs this"
    assert "from proposed to *dropped*: The Board runs this" in slack_api.calls_to("chat.postMessage")[-1].args["text"]


def test_show_button_answers_privately_with_the_full_card(cluster, slack_api):
    dispatch_command(cluster, "/topic", "propose Asthma reviews -- 1 in 3 missed", user="UGP")
    click(cluster, slack_api, "topic.show", "T1", user="UNURSE")
    [answer] = responses(slack_api)
    assert answer["response_type"] == "ephemeral"
    assert "*T1 · Asthma reviews*" in answer["text"] and "*History*" in answer["text"]


def test_edit_button_opens_a_prefilled_form_and_saves_changes(cluster, slack_api, db):
    dispatch_command(cluster, "/topic", "propose Asthma reviews -- 1 in 3 missed", user="UGP")
    click(cluster, slack_api, "topic.edit", "T1", user="UGP")
    view = slack_api.calls_to("views.open")[-1].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert view["title"]["text"] == "Edit T1"
    assert blocks["title"]["element"]["initial_value"] == "Asthma reviews"
    assert blocks["why"]["element"]["initial_value"] == "1 in 3 missed"
    dispatch_payload(cluster, submission_payload(view, user="UGP", title="Asthma reviews within 2 weeks",
                                                 source="board"))
    [stored] = topics(db)
    assert (stored.title, stored.source, stored.why) == ("Asthma reviews within 2 weeks", "board", "1 in 3 missed")
    assert "<@UGP> updated `T1`" in slack_api.calls_to("chat.postMessage")[-1].args["text"]


def test_only_the_proposer_or_a_lead_may_edit_and_only_while_proposed(cluster, slack_api, db):
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    other = dispatch_command(cluster, "/topic", "edit T1", user="UNURSE")
    assert "Only whoever proposed T1, or a lead, can edit it." in other.text
    dispatch_command(cluster, "/topic", "move T1 agreed")
    late = dispatch_command(cluster, "/topic", "edit T1", user="UGP")
    assert "T1 is agreed: only leads can edit it now." in late.text
    assert slack_api.calls_to("views.open") == []


def test_a_form_opened_for_editing_then_refused_keeps_the_topic(cluster, slack_api, db):
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    click(cluster, slack_api, "topic.edit", "T1", user="UGP")
    view = slack_api.calls_to("views.open")[-1].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    dispatch_command(cluster, "/topic", "move T1 agreed")  # the lead moves it while the form is open
    response = dispatch_payload(cluster, submission_payload(view, user="UGP", title="Changed"))
    assert "only leads can edit it now" in json.loads(response.body)["errors"]["title"]
    assert topics(db)[0].title == "Asthma reviews"


def test_form_submitted_where_the_bot_cannot_post_dms_the_person(cluster, slack_api, db):
    view = open_form(cluster, slack_api)
    slack_api.fail("chat.postMessage", "not_in_channel")
    dispatch_payload(cluster, submission_payload(view, user="UGP", title="Asthma reviews"))
    assert len(topics(db)) == 1  # saved all the same
    attempts = slack_api.calls_to("chat.postMessage")
    assert [a.args["channel"] for a in attempts] == ["CCLUSTER", "UGP"]
    assert "/invite @clusterbot" in attempts[-1].args["text"]
