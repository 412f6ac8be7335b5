"""Private answers in Teams without preview features, as deployed (TEAMS_TARGETED_MESSAGES off), through the
real adapter and the stand-ins: a typed command's answer for one person goes to their 1:1 chat (a neutral
line in the channel only when that chat is new), a card button (Action.Execute) answers in its invoke
response to the presser alone, a form opens in one click, the install welcome goes to the chosen channel
with the installer @mentioned, a new member of the team gets the practice picker wherever the cluster's
channel is, and an example never suggests a planned day already past."""

from datetime import date

import pytest
from sqlmodel import select

from commands.text.dates import example_day, future_example, local_today
from storage.models import Ballot, Member, Poll, Topic
from testkit.teams_app import serve_teams
from testkit.teams_ids import CHANNEL, LEAD, NURSE, OTHER_CHANNEL, PQL_A, PQL_B, TEAM
from testkit.teams_standin import BOT_ID, invoke, members_added, message
from tests.test_teams_flows import cluster, say  # noqa: F401  (fixture)

CHAT = "a:1janeschatwiththebotAbCdEfGhIjKlMnOpQrStUvWxYz0123456789zz"
GENERAL = OTHER_CHANNEL  # the team's first channel, where Teams says who joined; the cluster is elsewhere


@pytest.fixture
def teams(db, product, teams_api):
    """The app as deployed: no targeted messages (a developer preview)."""
    yield from serve_teams(db, product, teams_api, targeted=False)


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model)))


def chats_with(teams_api, user):
    return [c["id"] for c in teams_api.conversations if c["members"] == [{"id": user}]]


def actions(card: dict) -> list[dict]:
    return [a for block in card["body"] if block["type"] == "ActionSet" for a in block["actions"]]


def no_targeted_tries(teams_api) -> bool:
    return teams_api.targeted_refused == 0 and not teams_api.targeted()


def execute(teams_api, user, data: dict, *, personal: str | None = None, on: str | None = None) -> dict:
    """An Action.Execute press as Teams sends it: an adaptiveCard/action invoke with the verb and data,
    `on` the message whose card was pressed (replyToId)."""
    pressed = invoke(teams_api, user, "adaptiveCard/action", {"action": {"type": "Action.Execute",
                                                                         "verb": data["action"], "data": data}},
                     personal=personal)
    if on:
        pressed["replyToId"] = on
    return pressed


def test_a_private_answer_lands_in_the_persons_chat_not_the_channel(cluster, teams, teams_api):  # noqa: F811
    say(teams, teams_api, PQL_A, "topic propose Asthma reviews")
    teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Asthma reviews" in p.text])
    say(teams, teams_api, PQL_B, "topic list")
    chat = teams_api.wait_for(lambda s: chats_with(s, PQL_B))[0]  # proactive: a 1:1 chat made in the tenant
    listed = teams_api.wait_for(lambda s: s.posts(chat))[0]
    assert "Asthma reviews" in listed.text
    # The channel's thread says only where the answer went, to the person, once: their chat was new.
    pointer = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "in our chat" in p.text])
    assert len(pointer) == 1 and "T1" not in pointer[0].text and "Asthma" not in pointer[0].text
    assert pointer[0].card["msteams"]["entities"][0]["mentioned"]["id"] == PQL_B
    say(teams, teams_api, PQL_B, "topic frobnicate")  # a second private answer: the same chat, no new line
    teams_api.wait_for(lambda s: len(s.posts(chat)) >= 2)
    assert "isn't a topic command" in teams_api.posts(chat)[1].text
    assert teams.delivery.drain()
    assert len(chats_with(teams_api, PQL_B)) == 1
    assert len([p for p in teams_api.posts(CHANNEL) if "in our chat" in p.text]) == 1
    assert no_targeted_tries(teams_api)


def test_a_private_answer_uses_the_chat_the_person_already_has(cluster, teams, teams_api):  # noqa: F811
    say(teams, teams_api, PQL_A, "home", personal=CHAT)  # the personal app: its conversation is remembered
    teams_api.wait_for(lambda s: s.posts(CHAT))
    say(teams, teams_api, PQL_A, "poll list")
    answer = teams_api.wait_for(lambda s: len(s.posts(CHAT)) >= 2 and s.posts(CHAT))[-1]
    assert "poll" in answer.text.lower()
    assert teams.delivery.drain()
    assert not teams_api.conversations and not teams_api.posts(CHANNEL) and no_targeted_tries(teams_api)


def test_an_action_execute_press_answers_only_the_presser(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, LEAD, 'poll "Which topic first?" "Asthma" "Frailty"')
    card = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Which topic first?" in p.text])[0]
    assert teams.delivery.drain()
    vote = [a for a in actions(card.card) if a.get("verb") == "poll.vote"][1]
    assert vote["type"] == "Action.Execute"
    poll = teams_api.wait_for(lambda s: [p for p in rows(db, Poll) if p.posted_ref])[0]
    answered = teams.send(execute(teams_api, PQL_A, vote["data"], on=poll.posted_ref), teams_api.headers())
    assert answered.status_code == 200
    body = answered.json()
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    said = "\n".join(b["text"] for b in body["value"]["body"] if b.get("type") == "TextBlock")
    # The answer, in the invoke response: Teams shows it to Jane alone, under the poll's card as it is now
    # (its count and its buttons), in place of the card she pressed.
    assert "Your practice's ballot" in said and "Frailty" in said
    assert said.startswith("**P1 · Which topic first?**") and "1 of 2 practices" in said
    assert [a["verb"] for a in actions(body["value"]) if a.get("verb") == "poll.vote"] == ["poll.vote"] * 2
    assert {b.cast_by: b.choices for b in rows(db, Ballot)} == {PQL_A: "2"}
    # Everyone's card is updated with the count; nobody else is told what Jane's practice chose.
    update = teams_api.wait_for(lambda s: [u for u in s.updates() if "1 of 2 practices have voted" in u.text
                                           or "1 of 2 practices has voted" in u.text])
    assert "Your practice's ballot" not in update[-1].text
    assert teams.delivery.drain()
    assert not any("Your practice's ballot" in p.text for p in teams_api.posts()) and not teams_api.conversations
    assert no_targeted_tries(teams_api)


def test_a_press_whose_answer_is_for_everyone_leaves_the_card_and_posts(cluster, teams, teams_api):  # noqa: F811
    say(teams, teams_api, PQL_A, "topic propose Frailty register")
    card = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Frailty register" in p.text])[0]
    agree = [a for a in actions(card.card) if a.get("verb") == "topic.agree"][0]
    answered = teams.send(execute(teams_api, LEAD, agree["data"]), teams_api.headers()).json()
    assert answered == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": ""}
    teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "agreed" in p.text.lower()])


def test_a_form_button_opens_its_dialog_in_one_click(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, PQL_A, "topic propose Asthma reviews")
    card = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Asthma reviews" in p.text])[0]
    drop = [a for a in actions(card.card) if a["title"] == "Drop (leads)"][0]
    assert drop["type"] == "Action.Submit" and drop["data"]["msteams"] == {"type": "task/fetch"}
    dialog = teams.send(invoke(teams_api, LEAD, "task/fetch", {"data": drop["data"]}), teams_api.headers()).json()
    assert dialog["task"]["type"] == "continue" and dialog["task"]["value"]["title"] == "Drop T1"
    form = dialog["task"]["value"]["card"]["content"]
    data = dict(form["actions"][0]["data"], reason="Covered by the Board's audit")
    done = teams.send(invoke(teams_api, LEAD, "task/submit", {"data": data}), teams_api.headers())
    assert done.status_code == 200
    assert rows(db, Topic)[0].status == "dropped"
    # A practice lead pressing it is told why in the dialog itself; nothing changes.
    refused = teams.send(invoke(teams_api, PQL_B, "task/fetch", {"data": drop["data"]}), teams_api.headers()).json()
    assert refused["task"]["type"] == "message" and "lead" in refused["task"]["value"].lower()


def test_a_typed_command_that_takes_a_form_has_one_button_named_after_it(cluster, teams, teams_api):  # noqa: F811
    say(teams, teams_api, PQL_A, "poll")
    chat = teams_api.wait_for(lambda s: chats_with(s, PQL_A))[0]
    answer = teams_api.wait_for(lambda s: s.posts(chat))[0]
    first = answer.card["body"][0]["actions"][0]  # the card opens with it
    assert first["title"] == "New poll" and first["data"]["msteams"] == {"type": "task/fetch"}
    assert first["data"]["channel"] == CHANNEL  # the dialog acts on the cluster, though shown in the chat
    assert "Open form" not in [a["title"] for a in actions(answer.card)]
    dialog = teams.send(invoke(teams_api, PQL_A, "task/fetch", {"data": first["data"]}, personal=chat),
                        teams_api.headers()).json()
    assert dialog["task"]["value"]["title"] == "New poll"


def test_an_example_never_suggests_a_planned_day_already_past(cluster, teams, teams_api, clock, product):  # noqa: F811
    clock.advance(days=20)  # 16 December 2026: the examples' 3/12/2026 is past
    say(teams, teams_api, PQL_A, "poll")
    chat = teams_api.wait_for(lambda s: chats_with(s, PQL_A))[0]
    text = teams_api.wait_for(lambda s: s.posts(chat))[0].text
    ahead = example_day(local_today(clock(), "Europe/London"))
    assert "3/12/2026" not in text and f"closes {ahead.day}/{ahead.month}/{ahead.year}" in text
    assert ahead > local_today(clock(), "Europe/London") and ahead.weekday() < 5


def test_only_planned_dates_already_past_move_in_examples():
    today = date(2026, 12, 16)
    assert future_example("/action add Audit @Jane due 3/12/2026 topic T3", today) == \
        "/action add Audit @Jane due 30/12/2026 topic T3"  # two weeks on, a working day
    assert future_example("/cluster decisions since 1/4/2026", today) == "/cluster decisions since 1/4/2026"
    assert future_example('/poll "Q" "a" "b" closes 3/1/2027', today) == '/poll "Q" "a" "b" closes 3/1/2027'
    assert example_day(date(2026, 12, 11)) == date(2026, 12, 29)  # not Christmas, nor its holidays


def test_the_install_welcome_goes_to_the_chosen_channel_and_mentions_the_installer(teams, teams_api):
    installed = members_added(teams_api, BOT_ID, by=LEAD, channel=GENERAL)
    installed["channelData"]["settings"] = {"selectedChannel": {"id": CHANNEL}}
    assert teams.send(installed, teams_api.headers()).status_code == 200
    hello = teams_api.wait_for(lambda s: s.posts(CHANNEL))[0]
    assert "Thanks for adding me" in hello.text and "@clusterbot cluster setup" in hello.text
    assert [e["mentioned"]["id"] for e in hello.card["msteams"]["entities"]] == [LEAD]
    assert "/cluster" not in hello.text
    assert teams.delivery.drain()
    assert not teams_api.posts(GENERAL)
    # Set up there, the cluster is that channel.
    say(teams, teams_api, LEAD, "cluster setup Riverside Cluster")
    teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Riverside Cluster" in p.text])


def test_without_a_chosen_channel_the_welcome_goes_to_the_first(teams, teams_api):
    installed = members_added(teams_api, BOT_ID, by=LEAD, channel=GENERAL)
    assert teams.send(installed, teams_api.headers()).status_code == 200
    hello = teams_api.wait_for(lambda s: s.posts(GENERAL))[0]
    assert "Thanks for adding me" in hello.text
    assert LEAD in [e["mentioned"]["id"] for e in hello.card["msteams"]["entities"]]


def test_a_new_member_of_the_team_gets_the_picker_though_the_cluster_is_not_general(cluster, teams, teams_api,  # noqa: F811
                                                                                   db):
    assert teams.send(members_added(teams_api, NURSE, by=LEAD, channel=GENERAL), teams_api.headers()).status_code == 200
    chat = teams_api.wait_for(lambda s: chats_with(s, NURSE))[0]
    welcome = teams_api.wait_for(lambda s: s.posts(chat))[0]
    assert "Welcome to Riverside Cluster" in welcome.text and "Which practice" in welcome.text
    joins = [a for a in actions(welcome.card) if a.get("verb") == "cluster.join"]
    assert [a["data"]["value"] for a in joins] == ["80123", "80456"]
    assert all(a["data"]["channel"] == CHANNEL for a in joins)  # the picker acts on the cluster's channel
    pressed = teams.send(execute(teams_api, NURSE, joins[1]["data"], personal=chat), teams_api.headers())
    assert pressed.status_code == 200
    teams_api.wait_for(lambda s: [m for m in rows(db, Member) if m.user_id == NURSE and m.practice_id])
    # Nothing about it in General; in the cluster's channel only what joining announces.
    assert teams.delivery.drain()
    assert not [p for p in teams_api.posts(GENERAL) if "Which practice" in p.text]


def test_a_picker_button_pressed_by_someone_outside_the_team_is_refused(cluster, teams, teams_api,  # noqa: F811
                                                                       db):
    join = {"action": "cluster.join", "value": "80123", "channel": CHANNEL}
    teams_api.outsiders.add(NURSE)  # the tenant's, but not in the cluster's team
    answered = teams.send(execute(teams_api, NURSE, join, personal=CHAT), teams_api.headers())
    assert answered.status_code == 200
    refused = teams_api.wait_for(lambda s: s.posts(CHAT))[0]
    assert "not a member" in refused.text
    assert NURSE not in {m.user_id for m in rows(db, Member)}
    assert (TEAM, NURSE) in teams_api.roster_asks


def test_a_new_member_of_a_team_without_a_cluster_gets_nothing(teams, teams_api):
    assert teams.send(members_added(teams_api, NURSE, by=LEAD, channel=GENERAL), teams_api.headers()).status_code == 200
    assert teams.delivery.drain()
    assert not teams_api.posts() and not teams_api.conversations


def test_a_message_in_a_channel_is_never_answered_by_a_targeted_message(cluster, teams, teams_api):  # noqa: F811
    teams.send(message(teams_api, NURSE, "action list mine"), teams_api.headers())
    chat = teams_api.wait_for(lambda s: chats_with(s, NURSE))[0]
    teams_api.wait_for(lambda s: s.posts(chat))
    assert no_targeted_tries(teams_api)
