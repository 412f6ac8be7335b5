"""App Home and onboarding: signed Events API and interaction requests, on both databases."""

import json

import pytest
from sqlmodel import select

from storage.models import Action, Ballot, Member
from testkit import factories
from testkit.slack_requests import dispatch_command, dispatch_event, dispatch_payload, home_payload
from testkit.slack_standin import BOT_USER


@pytest.fixture
def cluster(app):
    """Riverside (CCLUSTER): ULEAD leads; UGP in 80123, UNURSE in 80456."""
    factories.riverside(factories.on_slack(app), practices=2, members={"UGP": "80123", "UNURSE": "80456"})
    return app


def open_home(app, slack_api, user, event_id="EvHome1"):
    before = len(slack_api.calls_to("views.publish"))
    response = dispatch_event(app, {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home",
                                    "event_ts": "1700000000.1"}, event_id=event_id)
    assert response.status == 200
    return latest_home(slack_api, user, before)


def latest_home(slack_api, user, before=0):
    calls = slack_api.calls_to("views.publish")
    assert len(calls) > before, "no views.publish"
    call = calls[-1]
    assert call.args["user_id"] == user
    view = call.args["view"] if isinstance(call.args["view"], dict) else json.loads(call.args["view"])
    assert view["type"] == "home"
    return view


def texts(view):
    return "\n".join(b["text"]["text"] for b in view["blocks"] if b["type"] == "section")


def accessories(view):
    return [(b["accessory"]["action_id"].split("|")[0], json.loads(b["accessory"]["value"]))
            for b in view["blocks"] if "accessory" in b]


def test_a_person_in_no_cluster_gets_a_friendly_explanation_and_help(app, slack_api):
    view = open_home(app, slack_api, "UNEW")
    text = texts(view)
    assert "You're not in a cluster yet." in text and "`/cluster setup Riverside Cluster`" in text
    for command in ("/cluster", "/topic", "/poll", "/action", "/meeting"):
        assert f"`{command}` — " in text


def test_the_home_shows_what_is_theirs_to_do(cluster, slack_api):
    dispatch_command(cluster, "/action", "add Later thing <@UGP> due 20/12/2026")
    dispatch_command(cluster, "/action", "add Overdue thing <@UGP> due 20/11/2026")
    dispatch_command(cluster, "/action", "add Not mine <@UNURSE>")
    dispatch_command(cluster, "/poll", '"Which first?" "Asthma" "Frailty"')
    dispatch_command(cluster, "/poll", '"Already voted?" "Yes" "No"')
    dispatch_command(cluster, "/poll", "vote P2 1", user="UGP")
    dispatch_command(cluster, "/meeting", "schedule 3/12/2026 12:30 Cluster QI meeting at Riverside MP")
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    dispatch_command(cluster, "/topic", "move T1 agreed")
    view = open_home(cluster, slack_api, "UGP")
    text = texts(view)
    assert "*Riverside Cluster* (Riverside Medical Practice)" in text
    assert text.index("Overdue thing") < text.index("Later thing")  # overdue first
    assert "⚠️ overdue · due Fri 20 Nov 2026" in text and "Not mine" not in text
    assert "`P1` Which first?" in text and "Already voted?" not in text
    assert "`M1` Cluster QI meeting — Thu 3 Dec 2026 12:30 · Riverside MP" in text
    assert "`T1` Asthma reviews (agreed)" in text
    assert "For leads" not in text
    assert accessories(view)[:4] == [
        ("action.done", ["CCLUSTER", "A2"]), ("action.done", ["CCLUSTER", "A1"]),
        ("poll.vote", ["CCLUSTER", "P1:1"]), ("poll.vote", ["CCLUSTER", "P1:2"])]
    assert ("meeting.agenda", ["CCLUSTER", "M1"]) in accessories(view)


def test_leads_see_the_cluster_summary(cluster, slack_api):
    dispatch_command(cluster, "/poll", '"Which first?" "Asthma" "Frailty"')
    dispatch_command(cluster, "/poll", "vote P1 1", user="UGP")
    dispatch_command(cluster, "/action", "add Overdue thing <@UGP> due 20/11/2026")
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    text = texts(open_home(cluster, slack_api, "ULEAD"))
    assert "(no practice yet, you lead this cluster)" in text
    assert "• Poll `P1` Which first?: 1 of 2 practices has voted" in text
    assert "• Overdue actions: 1 (Riverside Medical Practice 1)" in text
    assert "• Topics by source: our practices 1" in text


def test_someone_in_two_clusters_sees_each(cluster, slack_api):
    dispatch_command(cluster, "/cluster", "setup Hill Cluster", user="UOTHER", channel="CHILL")
    dispatch_command(cluster, "/cluster", "practice add 81000 Hill Practice", user="UOTHER", channel="CHILL")
    dispatch_command(cluster, "/cluster", "join 81000", user="UGP", channel="CHILL")
    text = texts(open_home(cluster, slack_api, "UGP"))
    assert "*Riverside Cluster* (Riverside Medical Practice)" in text and "*Hill Cluster* (Hill Practice)" in text


def test_done_on_the_home_tab_works_like_in_the_channel(cluster, db, slack_api):
    dispatch_command(cluster, "/action", "add Ring the Board <@UGP>")
    open_home(cluster, slack_api, "UGP")
    before = len(slack_api.calls_to("views.publish"))
    dispatch_payload(cluster, home_payload("action.done|3", json.dumps(["CCLUSTER", "A1"]), user="UGP"))
    with db.session() as session:
        assert session.exec(select(Action.status)).one() == "done"
    announced = [c.args for c in slack_api.calls_to("chat.postMessage") if c.args["channel"] == "CCLUSTER"]
    assert "✅ <@UGP> completed `A1` Ring the Board." in announced[-1]["text"]
    assert "Ring the Board" not in texts(latest_home(slack_api, "UGP", before))  # shown again, without it


def test_voting_on_the_home_tab_confirms_in_a_window_and_refreshes(cluster, db, slack_api):
    dispatch_command(cluster, "/poll", '"Which first?" "Asthma" "Frailty"')
    before = len(slack_api.calls_to("views.publish"))
    dispatch_payload(cluster, home_payload("poll.vote|1", json.dumps(["CCLUSTER", "P1:2"]), user="UNURSE"))
    with db.session() as session:
        assert session.exec(select(Ballot.choices)).one() == "2"
    window = slack_api.calls_to("views.open")[-1].args["view"]
    assert window["type"] == "modal"
    assert "Your practice's ballot on `P1` is now: 2. Frailty." in texts(window)
    assert "Which first?" not in texts(latest_home(slack_api, "UNURSE", before))


def test_stale_buttons_answer_with_the_current_state(cluster, slack_api):
    dispatch_command(cluster, "/action", "add Ring the Board <@UGP>")
    dispatch_command(cluster, "/poll", '"Which first?" "Asthma" "Frailty"')
    dispatch_command(cluster, "/poll", "vote P1 1", user="UGP")
    dispatch_command(cluster, "/action", "done A1", user="UGP")
    dispatch_command(cluster, "/poll", "close P1")
    dispatch_payload(cluster, home_payload("action.done|0", json.dumps(["CCLUSTER", "A1"]), user="UGP"))
    assert "`A1` was already done by <@UGP>" in texts(slack_api.calls_to("views.open")[-1].args["view"])
    dispatch_payload(cluster, home_payload("poll.vote|0", json.dumps(["CCLUSTER", "P1:2"]), user="UGP"))
    window = texts(slack_api.calls_to("views.open")[-1].args["view"])
    assert "P1 closed on" in window and "*Result:* Asthma (1 ballot)." in window
    assert ":warning:" not in window


def test_a_new_member_of_a_cluster_channel_is_welcomed_with_a_practice_picker(cluster, db, slack_api):
    event = {"type": "member_joined_channel", "user": "UNEWBIE", "channel": "CCLUSTER", "team": "T0001"}
    assert dispatch_event(cluster, event, event_id="EvJoin1").status == 200
    [welcome] = [c.args for c in slack_api.calls_to("chat.postEphemeral")]
    assert welcome["user"] == "UNEWBIE" and welcome["channel"] == "CCLUSTER"
    assert "*Welcome to Riverside Cluster!* Which practice are you from?" in welcome["text"]
    picker = [e for b in welcome["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"].split("|")[0], e["value"]) for e in picker] == [
        ("cluster.join", "80123"), ("cluster.join", "80456")]
    from testkit.slack_requests import button_payload
    dispatch_payload(cluster, button_payload("cluster.join|2", "80456", user="UNEWBIE",
                                             response_url=slack_api.response_url))
    with db.session() as session:
        member = session.exec(select(Member).where(Member.user_id == "UNEWBIE")).one()
    assert member.practice_id is not None
    assert "<@UNEWBIE> joined *Hillview Surgery*" in slack_api.calls_to("response_url")[-1].args["text"]


@pytest.mark.database
def test_a_retried_event_is_handled_once(cluster, slack_api):
    event = {"type": "member_joined_channel", "user": "UNEWBIE", "channel": "CCLUSTER", "team": "T0001"}
    dispatch_event(cluster, event, event_id="EvJoin2")
    dispatch_event(cluster, event, event_id="EvJoin2", retry=1)
    dispatch_event(cluster, event, event_id="EvJoin2", retry=2)
    assert len(slack_api.calls_to("chat.postEphemeral")) == 1


def test_people_already_in_a_practice_and_the_bot_in_a_cluster_get_no_welcome(cluster, slack_api):
    dispatch_event(cluster, {"type": "member_joined_channel", "user": "UGP", "channel": "CCLUSTER"}, event_id="E1")
    dispatch_event(cluster, {"type": "member_joined_channel", "user": BOT_USER, "channel": "CCLUSTER"},
                   event_id="E2")
    assert slack_api.calls_to("chat.postEphemeral") == [] and slack_api.calls_to("chat.postMessage") == []


def test_the_bot_added_to_a_channel_that_is_not_a_cluster_says_how_to_make_one(app, slack_api):
    dispatch_event(app, {"type": "member_joined_channel", "user": BOT_USER, "channel": "CNEW", "inviter": "UJANE"},
                   event_id="E3")
    [hello] = [c.args for c in slack_api.calls_to("chat.postMessage")]
    assert hello["channel"] == "CNEW" and "`/cluster setup Riverside Cluster`" in hello["text"]
    assert "Thanks for adding me, <@UJANE>" in hello["text"]  # whoever added the bot is thanked by name
    dispatch_event(app, {"type": "member_joined_channel", "user": "USOMEONE", "channel": "CNEW"}, event_id="E4")
    assert len(slack_api.calls_to("chat.postMessage")) == 1  # people joining a non-cluster: nothing


def test_an_event_missing_its_user_is_a_bad_request(app):
    assert dispatch_event(app, {"type": "member_joined_channel", "channel": "CNEW"}, event_id="E5").status == 400


@pytest.mark.database
def test_old_event_ids_are_forgotten_after_a_day(cluster, db, clock, product):
    from storage.models import HandledEvent

    dispatch_event(cluster, {"type": "member_joined_channel", "user": "UNEWBIE", "channel": "CCLUSTER"},
                   event_id="EvOld")
    product.tick()
    with db.session() as session:
        assert [e.event_id for e in session.exec(select(HandledEvent)) if e.event_id.startswith("Ev")] == ["EvOld"]
    clock.advance(days=2)
    product.tick()
    with db.session() as session:
        assert session.exec(select(HandledEvent)).all() == []
