"""Issue 12 #4, #9, #12, #13 through signed requests to the real Bolt app, on both databases: the
patient-identifier guard on every path, characters XML cannot hold, dates beyond the horizon, and
channels named by buttons and forms."""

import io
import json

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from storage.models import Action
from testkit import factories
from testkit.helpers import assert_refused, snapshot
from testkit.slack_requests import button_payload, dispatch_command, dispatch_payload, submission_payload

HIDDEN = ["010.101.1237", "010/101/1237", "010_101_1237", "010\u2212101\u22121237", "010\u2013101\u20141237",
          "010\u00a0101\u20091237", "010\u200b101\u200b1237", "010\n101\n\n1237", "010     101   1237",
          "０１０１０１１２３７", "CHI 0101011238", "nhs no. 010 101 1238",
          # issue 26: look-alike separators, an invisible filler, dingbat digits, the word spelt out
          "010101ー1237", "010ㅡ101一1237", "010ǀ101ː1237", "010ـ101ˍ1237", "010ꓸ101ꓸ1237", "0101\u316401 1237",
          "⓿❶⓿❶⓿❶❶❷❸❼", "N H S 010 101 1238"]


@pytest.fixture
def world(app):
    """Riverside with one practice, 80123, and UGP in it."""
    factories.riverside(factories.on_slack(app), practices=1, members={"UGP": "80123"})
    return app


def form(callback_id: str, values: dict, channel: str = "CCLUSTER", context: dict | None = None, user="ULEAD"):
    view = {"type": "modal", "callback_id": callback_id, "blocks": [],
            "private_metadata": json.dumps({"channel": channel, "context": context or {}})}
    payload = submission_payload(view, user=user)
    payload["view"]["state"] = {"values": {name: {"value": {"type": "plain_text_input", "value": value}}
                                           for name, value in values.items()}}
    return payload


@pytest.mark.parametrize("number", HIDDEN)
def test_identifiers_behind_any_separator_are_refused_typed_and_in_forms(world, db, number):
    before = snapshot(db)
    for command, text in (("/topic", f"propose Asthma -- why: patient {number}"),
                          ("/action", f"add Ring re {number}"),
                          ("/meeting", f"schedule 3/12/2026 12:30 Review {number}"),
                          ("/cluster", f"practice add 80456 Clinic {number}")):
        assert_refused(dispatch_command(world, command, text), "CHI or NHS number")
    response = dispatch_payload(world, form("topic.form", {"title": "Asthma", "why": f"see {number}"}))
    assert "CHI or NHS number" in json.loads(response.body)["errors"]["why"]
    assert snapshot(db) == before


def test_a_cluster_named_with_an_identifier_is_refused(app, db):
    assert_refused(dispatch_command(app, "/cluster", "setup Clinic 010\u2011101\u20111237"), "CHI or NHS number")
    assert snapshot(db)["cluster"] == []


def test_the_message_link_from_private_metadata_is_guarded(world, db):
    link = "https://example.slack.com/archives/CCLUSTER/p0101011237"
    response = dispatch_payload(world, form("action.form", {"description": "Ring the Board"}, context={"link": link}))
    assert response.status == 200
    with db.session() as session:
        assert [a.source_link for a in session.exec(select(Action))] == []
    ok = "https://example.slack.com/archives/CCLUSTER/p1700000000000100"
    dispatch_payload(world, form("action.form", {"description": "Ring the Board"}, context={"link": ok}))
    with db.session() as session:
        assert [a.source_link for a in session.exec(select(Action))] == [ok]


@pytest.mark.database
def test_characters_xml_cannot_hold_are_dropped_and_the_workbook_opens(world, db, slack_api):
    dispatch_command(world, "/action", "add Fix the \ufffe rota\uffff \x0b now")
    with db.session() as session:
        assert [a.description for a in session.exec(select(Action))] == ["Fix the rota now"]
    dispatch_command(world, "/action", "export")
    slack_api.wait_for("files.completeUploadExternal")
    [upload] = slack_api.uploads.values()
    book = load_workbook(io.BytesIO(upload))
    cells = [c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert "Fix the rota now" in cells


@pytest.mark.parametrize("values, field", [
    ({"title": "Review", "date": "9999-12-31", "time": "12:30"}, "date"),
    ({"title": "Review", "date": "0001-01-01", "time": "12:30"}, "date"),
])
def test_meeting_dates_beyond_the_horizon_are_refused_from_forms(world, db, values, field):
    before = snapshot(db)
    response = dispatch_payload(world, form("meeting.form", values))
    assert "years away" in json.loads(response.body)["errors"][field]
    assert snapshot(db) == before


def test_action_due_dates_beyond_the_horizon_are_refused(world, db):
    before = snapshot(db)
    response = dispatch_payload(world, form("action.form", {"description": "Ring", "due": "9999-01-01"}))
    assert "years away" in json.loads(response.body)["errors"]["due"]
    assert_refused(dispatch_command(world, "/action", "add Ring the Board due 1/1/2099"), "2099")
    assert snapshot(db) == before
    assert dispatch_command(world, "/meeting", "list").status == 200


def test_a_button_naming_another_cluster_needs_membership_there(world, app, db, slack_api):
    dispatch_command(app, "/cluster", "setup Hillside Cluster", channel="COTHER", user="UOTHER")
    dispatch_command(app, "/poll", '"Which first?" "A" "B"', channel="COTHER", user="UOTHER")
    before = snapshot(db)
    forged = json.dumps(["COTHER", "P1:1"])
    dispatch_payload(world, button_payload("poll.vote|0", forged, user="UGP", response_url=slack_api.response_url))
    [answer] = [c.args for c in slack_api.calls_to("response_url")]
    assert "not a member of the cluster “Hillside Cluster”" in answer["text"]
    response = dispatch_payload(world, form("topic.form", {"title": "Asthma"}, channel="COTHER", user="UGP"))
    assert response.status == 200
    assert snapshot(db) == before
    # the same button from the person's own cluster works
    dispatch_command(world, "/poll", '"Which first?" "A" "B"')
    own = json.dumps(["CCLUSTER", "P1:1"])
    dispatch_payload(world, button_payload("poll.vote|0", own, user="UGP", channel="DUGP",
                                           response_url=slack_api.response_url))
    assert "is now: 1. A" in slack_api.calls_to("response_url")[-1].args["text"]
