"""/action: what the product decides through the platform-free driver (testkit/driver.py); cards, buttons,
forms and the message shortcut through signed requests to the real Bolt app. Both databases."""

import json
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from commands import Clusterbot
from commands.results import Direct, plain_text
from storage.models import Action, DigestSent
from testkit import factories
from testkit.driver import refused
from testkit.helpers import snapshot
from testkit.slack_requests import button_payload, dispatch_command, dispatch_payload, submission_payload


@pytest.fixture
def cluster(app):
    """Riverside with two practices: ULEAD leads; UGP and UPM in 80123; UNURSE in 80456. Today is Thu 26 Nov 2026."""
    factories.riverside(factories.on_slack(app), practices=2)
    return app


@pytest.fixture
def driven(driver):
    """The same cluster through the platform-free driver."""
    factories.riverside(driver.say, practices=2)
    return driver


def act(app, text, user="ULEAD", **kwargs):
    return dispatch_command(app, "/action", text, user=user, **kwargs)


def do(driver, text, user="ULEAD", **kwargs):
    return driver.say(f"/action {text}", user=user, **kwargs)


def actions(db):
    with db.session() as session:
        return list(session.exec(select(Action).order_by(Action.id)))


def dms(slack_api, user):
    return [c.args for c in slack_api.calls_to("chat.postMessage") if c.args["channel"] == user]


def test_add_with_owner_due_date_and_topic(cluster, db, slack_api):
    dispatch_command(cluster, "/topic", "propose Asthma reviews", user="UGP")
    response = act(cluster, "add Audit asthma discharges <@UNURSE|nurse> due 3/12/2026 topic T1")
    assert response.in_channel
    assert "<@ULEAD> added an action:" in response.text and "*A1 · Audit asthma discharges*" in response.text
    assert "Owner: <@UNURSE> · Practice: Hillview Surgery · due Thu 3 Dec 2026 · Topic: `T1`" in response.text
    [stored] = actions(db)
    assert (stored.owner, stored.due_on, stored.status, stored.created_by) == ("UNURSE", date(2026, 12, 3),
                                                                                "open", "ULEAD")
    [dm] = dms(slack_api, "UNURSE")
    assert "<@ULEAD> gave you a cluster action in Riverside Cluster:" in dm["text"]
    done = [e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]][0]
    assert json.loads(done["value"]) == ["CCLUSTER", "A1"]  # the DM's button knows its cluster


def test_owner_defaults_to_you_and_practice_to_the_owners(driven, db):
    do(driven, "add Book the room for March", user="UGP")
    [stored] = actions(db)
    assert stored.owner == "UGP" and stored.practice_id is not None and stored.due_on is None
    assert driven.dms("UGP") == []  # nobody DMs you about your own action


def test_quoted_description_may_use_option_words(driven, db):
    do(driven, 'add "Review due dates in practice 80123 protocols" due friday practice 80456')
    [stored] = actions(db)
    assert stored.description == "Review due dates in practice 80123 protocols"
    assert stored.due_on == date(2026, 11, 27)


def test_a_past_due_date_is_accepted_with_a_warning(driven, db):
    response = do(driven, "add Send the audit due 1/11/2026")
    assert response.in_channel
    assert "Note: the due date (Sun 1 Nov 2026) has already passed, so it shows as overdue." in response.text
    assert actions(db)[0].due_on == date(2026, 11, 1)


def test_list_is_sorted_by_due_date_marks_overdue_and_has_done_buttons(cluster, db):
    act(cluster, "add Later thing due 10/12/2026")
    act(cluster, "add Overdue thing due 20/11/2026")
    act(cluster, "add Undated thing")
    act(cluster, "add Soon thing due tomorrow <@UGP>")
    listing = act(cluster, "list")
    assert listing.json["response_type"] == "ephemeral"
    sections = [b for b in listing.json["blocks"] if b["type"] == "section"]
    texts = [s["text"]["text"] for s in sections]
    order = [t.split("`")[1] for t in texts if t.startswith("• ")]
    assert order == ["A2", "A4", "A1", "A3"]
    assert "⚠️ OVERDUE · <@ULEAD>" in texts[1]
    assert all(s["accessory"]["action_id"].startswith("action.done|") for s in sections[1:])
    mine = act(cluster, "list mine", user="UGP").text
    assert "Soon thing" in mine and "Later thing" not in mine
    overdue = act(cluster, "list overdue").text
    assert "Overdue thing" in overdue and "Soon thing" not in overdue
    assert "Soon thing" in act(cluster, "list <@UGP>").text
    assert "Soon thing" in act(cluster, "list practice 80123").text
    assert "Later thing" not in act(cluster, "list practice 80123").text


def test_done_reopen_by_owner_creator_or_lead_only(driven, db):
    do(driven, "add Ring the Board <@UGP>", user="UPM")  # created by UPM, owned by UGP
    refused(do(driven, "done A1", user="UNURSE"),
            "Only A1's owner (@UGP), whoever created it (@UPM) or a lead can change it.")
    assert actions(db)[0].status == "open"
    done = do(driven, "done A1", user="UGP")
    assert done.in_channel and "✅ @UGP completed A1 Ring the Board." in done.text
    assert actions(db)[0].done_by == "UGP"
    again = do(driven, "done A1", user="UPM")
    assert "A1 was already done by @UGP" in again.text
    assert do(driven, "reopen A1", user="UPM").in_channel  # the creator
    assert actions(db)[0].status == "open" and actions(db)[0].done_at is None


def test_done_button_and_a_stale_button(cluster, db, slack_api):
    act(cluster, "add Ring the Board <@UGP>")
    click = button_payload("action.done|3", "A1", user="UGP", response_url=slack_api.response_url)
    dispatch_payload(cluster, click)
    dispatch_payload(cluster, click)  # the same button again, after it was done
    first, second = [c.args for c in slack_api.calls_to("response_url")]
    assert first["response_type"] == "in_channel" and "completed `A1`" in first["text"]
    assert second["response_type"] == "ephemeral" and "was already done by <@UGP>" in second["text"]


def test_done_button_from_a_direct_message_finds_its_cluster(cluster, db, slack_api):
    act(cluster, "add Ring the Board <@UGP>")
    payload = button_payload("action.done|2", json.dumps(["CCLUSTER", "A1"]), user="UGP", channel="DUGP",
                             response_url=slack_api.response_url)
    dispatch_payload(cluster, payload)
    assert actions(db)[0].status == "done"


def test_assign_due_and_note(driven, db):
    do(driven, "add Ring the Board")
    assigned = do(driven, "assign A1 <@UNURSE>")
    assert "@ULEAD gave A1 Ring the Board to @UNURSE." in assigned.text
    assert len(driven.dms("UNURSE")) == 1
    assert actions(db)[0].owner == "UNURSE"
    moved = do(driven, "due A1 next tuesday", user="UNURSE")
    assert "to due Tue 1 Dec 2026." in moved.text
    late = do(driven, "due A1 2/11/2026", user="UNURSE")
    assert "has already passed, so it shows as overdue" in late.text
    noted = do(driven, "note A1 Left a message with the PA", user="UNURSE")
    assert noted.in_channel
    card = do(driven, "show A1").text
    assert "@UNURSE: Left a message with the PA" in card and "Notes" in card.splitlines()


def test_the_form_and_a_double_submit(cluster, db, slack_api):
    assert act(cluster, "").body == ""
    view = slack_api.calls_to("views.open")[-1].args["view"]
    assert [b["block_id"] for b in view["blocks"]] == ["description", "owner", "due", "practice"]
    assert view["blocks"][1]["element"]["type"] == "users_select"
    payload = submission_payload(view, description="Write to the HSCP", owner="UGP", due="2026-12-04",
                                 view_id="VACT")
    for _ in range(2):
        assert dispatch_payload(cluster, payload).body == ""
    [stored] = actions(db)
    assert (stored.description, stored.owner, stored.due_on) == ("Write to the HSCP", "UGP", date(2026, 12, 4))
    assert len([c for c in slack_api.calls_to("chat.postMessage") if c.args["channel"] == "CCLUSTER"]) == 1


def test_the_message_shortcut_prefills_the_form_and_keeps_the_link(cluster, db, slack_api):
    shortcut = {
        "type": "message_action", "callback_id": "action.from_message", "trigger_id": "9.9.trigger",
        "team": {"id": "T0001"}, "user": {"id": "UGP", "team_id": "T0001"}, "channel": {"id": "CCLUSTER"},
        "message_ts": "1700000000.000900", "response_url": slack_api.response_url,
        "message": {"type": "message", "text": "Can someone chase the frailty data?", "ts": "1700000000.000900"},
    }
    assert dispatch_payload(cluster, shortcut).status == 200
    view = slack_api.wait_for("views.open")[-1].args["view"]
    assert view["blocks"][0]["element"]["initial_value"] == "Can someone chase the frailty data?"
    dispatch_payload(cluster, submission_payload(view, user="UGP"))
    [stored] = actions(db)
    assert stored.source_link == "https://example.slack.com/archives/CCLUSTER/p1700000000.000900"
    assert stored.description == "Can someone chase the frailty data?"


@pytest.mark.database
def test_the_daily_digest_goes_once_per_person_per_weekday_morning(driven, db, clock):
    do(driven, "add Overdue thing due 20/11/2026 <@UGP>")
    do(driven, "add This week thing due 30/11/2026 <@UGP>")
    do(driven, "add Far thing due 30/12/2026 <@UGP>")
    do(driven, "add Nurse thing due tomorrow <@UNURSE>")
    one, two = Clusterbot(db, clock=clock), Clusterbot(db, clock=clock)
    clock.set(datetime(2026, 11, 27, 7, 30, tzinfo=UTC))  # Friday 07:30: too early
    assert one.tick() == []
    clock.set(datetime(2026, 11, 27, 8, 5, tzinfo=UTC))
    sent = [e for e in one.tick() + two.tick() + one.tick() if isinstance(e, Direct)]
    assert sorted(e.user_id for e in sent) == ["UGP", "UNURSE"]
    gp = plain_text(next(e for e in sent if e.user_id == "UGP").reply)
    assert "Overdue (1)\n• A1 Overdue thing" in gp and "Due this week (1)\n• A2 This week thing" in gp
    assert "Far thing" not in gp
    clock.set(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))  # Saturday: no digest
    assert one.tick() == []
    do(driven, "done A4", user="UNURSE")
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # Monday, but St Andrew's Day: a Scottish bank holiday
    assert one.tick() == []
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # Tuesday: a new day; the nurse has nothing due
    assert sorted(e.user_id for e in one.tick() if isinstance(e, Direct)) == ["UGP"]
    with db.session() as session:
        assert len(list(session.exec(select(DigestSent)))) == 3


def test_the_digest_never_comes_after_ten_or_in_the_afternoon(driven, db, clock):
    do(driven, "add Chase the data due tomorrow <@UGP>")
    bot = Clusterbot(db, clock=clock)
    for hour, minute in ((10, 0), (14, 40), (7, 59)):  # 14:40 is when one used to arrive after a DM
        clock.set(datetime(2026, 11, 27, hour, minute, tzinfo=UTC))
        assert bot.tick() == [], f"{hour}:{minute}"
    clock.set(datetime(2026, 11, 27, 9, 59, tzinfo=UTC))
    assert [e.user_id for e in bot.tick() if isinstance(e, Direct)] == ["UGP"]


def test_the_digest_keeps_local_time_in_summer_and_skips_bank_holidays(driven, db, clock):
    do(driven, "add Chase the data due 5/6/2027 <@UGP>")
    bot = Clusterbot(db, clock=clock)
    clock.set(datetime(2027, 6, 1, 9, 5, tzinfo=UTC))  # 10:05 BST: past the window
    assert bot.tick() == []
    clock.set(datetime(2027, 5, 31, 7, 30, tzinfo=UTC))  # 08:30 BST on the Spring Bank Holiday
    assert bot.tick() == []
    clock.set(datetime(2027, 6, 1, 7, 30, tzinfo=UTC))  # 08:30 BST on the Tuesday after
    assert [e.user_id for e in bot.tick() if isinstance(e, Direct)] == ["UGP"]


# --- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, user, says", [
    ("add", "ULEAD", "Say what the action is."),
    ("add <@UGP> due friday", "ULEAD", "Say what the action is."),
    ("add Send letters due 31/02/2027", "ULEAD", "February has 28 days in 2027."),
    ("add " + "x" * 501, "ULEAD", "the limit is 500"),
    ("add Call pt 0101011237 back", "ULEAD", "looks like a CHI or NHS number"),
    ("add Send letters practice 99999", "ULEAD", "No practice with code 99999"),
    ("add Send letters topic T9", "ULEAD", "There's no topic T9 in this cluster."),
    ("add Send letters meeting M1", "ULEAD", "There's no meeting M1 in this cluster."),
    ("assign A1 Jane", "ULEAD", "“Jane” isn't a mention"),
    ("assign A1", "ULEAD", "Say who: mention the person with @"),
    ("done A99", "ULEAD", "There's no action A99 in this cluster."),
    ("done 7", "ULEAD", "“7” isn't an action id"),
    ("due A1 31/02/2027", "ULEAD", "February has 28 days in 2027."),
    ("done A1", "UNURSE", "Only A1's owner"),
    ("note A1 sneaky", "UNURSE", "Only A1's owner"),
    ("note A1", "UGP", "Write the note after the action id."),
    ("list everything", "ULEAD", "“everything” isn't a list I know"),
    ("export sometime", "ULEAD", "“sometime” isn't an export setting"),
])
def test_bad_input_is_refused_privately_and_changes_nothing(driven, db, text, user, says):
    do(driven, "add Existing action <@UGP>")
    before = snapshot(db)
    response = do(driven, text, user=user)
    refused(response, says)
    assert snapshot(db) == before


def test_an_action_id_from_another_cluster_behaves_as_unknown(driven, db):
    do(driven, "add Secret action of cluster one")
    driven.say("/cluster setup Other", user="UOTHER", channel="COTHER")
    for text in ("show A1", "done A1", "note A1 x", "assign A1 <@UOTHER>", "due A1 friday"):
        response = do(driven, text, user="UOTHER", channel="COTHER")
        assert "There's no action A1 in this cluster." in response.text and "Secret" not in response.text
    assert actions(db)[0].status == "open"
