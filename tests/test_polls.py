"""/poll through signed requests to the real Bolt app and the Slack stand-in, on both databases."""

import json
import re
import threading
from datetime import UTC, datetime

import pytest
from sqlmodel import func, select

from commands import Clusterbot
from commands.context import Caller
from commands.results import Post, plain_text
from storage import polls as poll_store
from storage.models import Ballot, Cluster, Outbox, Poll
from testkit import factories
from testkit.helpers import assert_refused, retry_now, snapshot, unsent_outbox
from testkit.slack_requests import button_payload, dispatch_command, dispatch_payload, submission_payload

QUESTION = '"Which topic should we take on next?" "Asthma reviews" "Frailty register" "Polypharmacy"'


@pytest.fixture
def cluster(app):
    """Riverside: ULEAD leads (no practice); 80123 has UGP and UPM; 80456 has UNURSE; 80789 has nobody."""
    factories.riverside(factories.on_slack(app))
    return app


def poll(app, text=QUESTION, user="ULEAD", **kwargs):
    return dispatch_command(app, "/poll", text, user=user, **kwargs)


def polls(db):
    with db.session() as session:
        return list(session.exec(select(Poll).order_by(Poll.id)))


def ballots(db):
    with db.session() as session:
        return list(session.exec(select(Ballot).order_by(Ballot.id)))


def last_post(slack_api):
    return slack_api.calls_to("chat.postMessage")[-1].args


def last_update(slack_api):
    return slack_api.calls_to("chat.update")[-1].args


def blocks_of(args):
    blocks = args["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def test_creating_posts_the_poll_with_a_button_per_option(cluster, db, slack_api):
    response = poll(cluster)
    assert response.status == 200 and response.body == ""
    post = last_post(slack_api)
    assert post["channel"] == "CCLUSTER"
    assert "*P1 · Which topic should we take on next?*" in post["text"]
    assert "0 of 3 practices have voted · one ballot per practice" in post["text"]
    actions = [e for b in blocks_of(post) if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"].split("|")[0], e["value"]) for e in actions] == [
        ("poll.vote", "P1:1"), ("poll.vote", "P1:2"), ("poll.vote", "P1:3"),
        ("poll.results", "P1"), ("poll.close", "P1")]
    assert len({e["action_id"] for e in actions}) == len(actions)  # Slack requires unique action ids
    [stored] = polls(db)
    assert stored.options == ["Asthma reviews", "Frailty register", "Polypharmacy"]
    # The message Slack (the stand-in) posted: its channel and the ts it answered with (17000NNNNNN.000100).
    assert stored.posted_channel == "CCLUSTER" and re.fullmatch(r"17000\d{6}\.000100", stored.posted_ref or "")
    assert stored.per_practice and not stored.anonymous


def test_curly_quotes_and_settings(cluster, db, slack_api):
    poll(cluster, "“Which day suits?” “Tuesday” “Wednesday” closes friday 12:30 per person anonymous pick 2 hidden")
    [stored] = polls(db)
    assert stored.question == "Which day suits?" and stored.options == ["Tuesday", "Wednesday"]
    assert (stored.per_practice, stored.anonymous, stored.hidden, stored.pick) == (False, True, True, 2)
    assert stored.closes_at == datetime(2026, 11, 27, 12, 30, tzinfo=UTC)  # Friday, GMT
    text = last_post(slack_api)["text"]
    assert "one ballot per person · pick up to 2 · anonymous · results shown when it closes · " \
           "closes Fri 27 Nov 2026 12:30" in text
    assert "█" not in text and "░" not in text  # hidden: no bars until it closes


def test_a_practice_has_one_ballot_and_the_latest_wins(cluster, db, slack_api):
    poll(cluster)
    first = dispatch_command(cluster, "/poll", "vote P1 1", user="UGP")
    assert first.json["response_type"] == "ephemeral"
    assert "Your practice's ballot on `P1` is now: 1. Asthma reviews." in first.text
    assert "1 of 3 practices has voted" in last_update(slack_api)["text"]
    changed = dispatch_command(cluster, "/poll", "vote P1 2", user="UPM")  # same practice
    assert "now: 2. Frailty register" in changed.text
    [ballot] = ballots(db)
    assert (ballot.choices, ballot.cast_by) == ("2", "UPM")
    update = last_update(slack_api)
    assert update["channel"] == "CCLUSTER" and update["ts"] == polls(db)[0].posted_ref
    assert "2. Frailty register  ██████████ 1" in update["text"]
    assert "1. Asthma reviews  ░░░░░░░░░░ 0" in update["text"]


def test_button_clicks_vote_like_typing(cluster, db, slack_api):
    poll(cluster)
    response = dispatch_payload(cluster, button_payload("poll.vote|2", "P1:3", user="UNURSE",
                                                        response_url=slack_api.response_url))
    assert response.status == 200
    [answer] = [c.args for c in slack_api.calls_to("response_url")]
    assert answer["response_type"] == "ephemeral" and "now: 3. Polypharmacy" in answer["text"]
    assert [(b.choices, b.practice_id is not None) for b in ballots(db)] == [("3", True)]


@pytest.mark.database
def test_double_click_is_harmless(cluster, db, slack_api):
    poll(cluster)
    for _ in range(2):
        dispatch_payload(cluster, button_payload("poll.vote|0", "P1:1", user="UGP",
                                                 response_url=slack_api.response_url))
    assert [b.choices for b in ballots(db)] == ["1"]


def test_per_person_polls_give_everyone_a_ballot(cluster, db):
    poll(cluster, '"Lunch or evening?" "Lunch" "Evening" per person')
    for user in ("UGP", "UPM", "UNURSE", "ULEAD"):
        dispatch_command(cluster, "/poll", "vote P1 1", user=user)
    assert sorted(b.voter_key for b in ballots(db)) == ["person:UGP", "person:ULEAD", "person:UNURSE", "person:UPM"]
    assert "4 people have voted" in dispatch_command(cluster, "/poll", "results P1").text


def test_pick_n_clicks_toggle(cluster, db, product):
    poll(cluster, QUESTION + " pick 2")
    caller = Caller("UGP", "CCLUSTER", "T0001")
    click = lambda n: plain_text(product.press("poll.vote", f"P1:{n}", caller))  # noqa: E731
    assert "now: 1. Asthma reviews." in click(1)
    assert "now: 1. Asthma reviews, 3. Polypharmacy." in click(3)
    assert "already chooses 1. Asthma reviews, 3. Polypharmacy, the most it may (2)" in click(2)
    assert "now: 3. Polypharmacy." in click(1)  # clicking a chosen option takes it back
    assert [b.choices for b in ballots(db)] == ["3"]


def test_anonymous_polls_hide_who_chose_what_but_show_turnout(cluster, db, slack_api):
    poll(cluster, QUESTION + " anonymous")
    dispatch_command(cluster, "/poll", "vote P1 1", user="UGP")
    results = dispatch_command(cluster, "/poll", "results P1")  # asked by the lead
    assert "1 of 3 practices has voted" in results.text
    assert "Not voted yet: Hillview Surgery, Burnside Health Centre." in results.text
    assert "cast by" not in results.text and "<@UGP>" not in results.text
    assert "<@UGP>" not in last_update(slack_api)["text"]
    assert ballots(db)[0].cast_by == ""
    with db.session() as session:
        assert list(poll_store.ballot_rows(session=session, cluster=session.exec(select(Cluster)).one())) == []


def test_results_name_each_practice_ballot_unless_anonymous(cluster, db):
    poll(cluster)
    dispatch_command(cluster, "/poll", "vote P1 2", user="UGP")
    results = dispatch_command(cluster, "/poll", "results P1", user="UNURSE")
    assert results.json["response_type"] == "ephemeral"
    assert "• Riverside Medical Practice — 2 (cast by <@UGP>)" in results.text
    with db.session() as session:
        [row] = poll_store.ballot_rows(session=session, cluster=session.exec(select(Cluster)).one())
    assert (row.poll_short_id, row.practice_code, row.cast_by, row.choices) == ("P1", "80123", "UGP",
                                                                              ["Frailty register"])


def test_closing_states_the_result_and_refuses_later_votes(cluster, db, slack_api):
    poll(cluster, QUESTION, user="UGP")
    dispatch_command(cluster, "/poll", "vote P1 1", user="UGP")
    dispatch_command(cluster, "/poll", "vote P1 1", user="UNURSE")
    refused = dispatch_command(cluster, "/poll", "close P1", user="UNURSE")
    assert "or one of the cluster's leads (<@ULEAD>) can use `/poll close`" in refused.text
    closed = dispatch_command(cluster, "/poll", "close P1", user="UGP")  # the creator
    assert closed.in_channel and "*Result:* Asthma reviews (2 ballots)." in closed.text
    assert not any(b["type"] == "actions" for b in blocks_of(last_update(slack_api)))  # no more buttons
    late = dispatch_command(cluster, "/poll", "vote P1 2", user="UPM")
    assert "P1 closed on" in late.text and "takes no more votes" in late.text
    assert [b.choices for b in ballots(db)] == ["1", "1"]
    assert "already closed" in dispatch_command(cluster, "/poll", "close P1").text


def test_ties_are_said_plainly(cluster):
    poll(cluster)
    dispatch_command(cluster, "/poll", "vote P1 1", user="UGP")
    dispatch_command(cluster, "/poll", "vote P1 3", user="UNURSE")
    closed = dispatch_command(cluster, "/poll", "close P1")
    assert "*Result:* a tie between “Asthma reviews” and “Polypharmacy” (1 ballot each)." in closed.text


def test_hidden_results_appear_when_closed(cluster, slack_api):
    poll(cluster, QUESTION + " hidden")
    dispatch_command(cluster, "/poll", "vote P1 1", user="UGP")
    assert "█" not in last_update(slack_api)["text"]
    dispatch_command(cluster, "/poll", "close P1")
    assert "1. Asthma reviews  ██████████ 1" in last_update(slack_api)["text"]


@pytest.mark.database
def test_the_deadline_closes_the_poll_once_across_two_processes(cluster, db, slack_api, clock):
    poll(cluster, QUESTION + " closes tomorrow 09:00")
    dispatch_command(cluster, "/poll", "vote P1 2", user="UGP")
    one, two = Clusterbot(db, clock=clock), Clusterbot(db, clock=clock)
    assert one.tick() == [] and two.tick() == []  # not yet
    clock.advance(days=1)
    results = []
    threads = [threading.Thread(target=lambda p=p: results.append(p.tick())) for p in (one, two, one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    effects = [e for r in results for e in r]
    posts = [e for e in effects if isinstance(e, Post)]
    assert len(posts) == 1
    assert plain_text(posts[0].reply).startswith("P1 closed at its deadline: Which topic should we take on next?")
    assert "Result: Frailty register (1 ballot)." in plain_text(posts[0].reply)
    [stored] = polls(db)
    assert stored.closed_by == "deadline" and stored.closed_at == clock()
    assert one.tick() == []


def test_the_scheduler_delivers_the_closing_message(cluster, db, slack_api, clock, product):
    from bot.scheduler import tick

    poll(cluster, QUESTION + " closes tomorrow")
    dispatch_command(cluster, "/poll", "vote P1 3", user="UNURSE")
    clock.advance(days=2)
    tick(product, [cluster.delivery])
    cluster.delivery.drain()
    assert "*Result:* Polypharmacy (1 ballot)." in last_post(slack_api)["text"]
    assert "closed Sat 28 Nov 2026 10:00" in last_update(slack_api)["text"]


def test_list_shows_open_and_recently_closed(cluster, clock):
    poll(cluster)
    poll(cluster, '"Second?" "Yes" "No"')
    dispatch_command(cluster, "/poll", "close P2")
    listing = dispatch_command(cluster, "/poll", "list")
    assert "• `P1` Which topic should we take on next? — open, 0 of 3 practices have voted" in listing.text
    assert "• `P2` Second? — closed Thu 26 Nov 2026 10:00" in listing.text
    assert listing.json["response_type"] == "ephemeral"


def test_remind_dms_the_people_whose_practice_has_not_voted(cluster, slack_api):
    poll(cluster, QUESTION + " closes friday")
    dispatch_command(cluster, "/poll", "vote P1 1", user="UGP")
    reply = dispatch_command(cluster, "/poll", "remind P1")
    assert "Reminded <@UNURSE>." in reply.text
    dms = [c.args for c in slack_api.calls_to("chat.postMessage") if c.args["channel"].startswith("U")]
    assert [d["channel"] for d in dms] == ["UNURSE"]
    assert "your practice hasn't voted on `P1`" in dms[0]["text"] and "closes Fri 27 Nov 2026 17:00" in dms[0]["text"]
    assert "Only whoever created P1 (<@ULEAD>) or one of the cluster's leads" in dispatch_command(
        cluster, "/poll", "remind P1", user="UNURSE").text


def test_a_poll_of_the_proposed_topics(cluster, db):
    for title in ("Asthma reviews", "Frailty register"):
        dispatch_command(cluster, "/topic", f"propose {title}", user="UGP")
    dispatch_command(cluster, "/topic", "propose Already agreed", user="UGP")
    dispatch_command(cluster, "/topic", "move T3 agreed")
    poll(cluster, "topics closes next tuesday")
    [stored] = polls(db)
    assert stored.options == ["T1 Asthma reviews", "T2 Frailty register"]
    assert stored.closes_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def test_not_in_the_channel_means_nothing_is_saved_and_how_to_invite(cluster, db, slack_api):
    slack_api.fail("chat.postMessage", "not_in_channel")
    assert poll(cluster).body == ""  # acknowledged; the refusal comes after
    [told] = [c.args["text"] for c in slack_api.calls_to("response_url")]
    assert "I'm not in this channel" in told and "/invite @clusterbot" in told
    assert polls(db) == []


def test_the_form_posts_a_poll(cluster, db, slack_api):
    assert poll(cluster, "").body == ""
    view = slack_api.calls_to("views.open")[-1].args["view"]
    kinds = {b["block_id"]: b["element"]["type"] for b in view["blocks"]}
    assert kinds["closes_on"] == "datepicker" and kinds["closes_at"] == "timepicker"
    payload = submission_payload(view, question="Which day?", options="Tuesday\nWednesday\n\nThursday",
                                 ballots="person", closes_on="2026-12-04")
    assert dispatch_payload(cluster, payload).body == ""
    [stored] = polls(db)
    assert stored.options == ["Tuesday", "Wednesday", "Thursday"] and not stored.per_practice
    assert stored.closes_at == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    assert "*P1 · Which day?*" in last_post(slack_api)["text"]


@pytest.mark.parametrize("values, field, says", [
    ({"question": "Which day?", "options": "Only one"}, "options", "A poll needs 2 to 10 options; this has 1."),
    ({"question": "Which day?", "options": "A\na"}, "options", "“a” is there twice"),
    ({"question": "Which day?", "options": "A\nB", "pick": "x"}, "pick", "Give a number"),
])
def test_form_problems_show_on_the_field(cluster, db, slack_api, values, field, says):
    poll(cluster, "")
    view = slack_api.calls_to("views.open")[-1].args["view"]
    body = json.loads(dispatch_payload(cluster, submission_payload(view, **values)).body)
    assert body["response_action"] == "errors" and says in body["errors"][field]
    assert polls(db) == []


@pytest.mark.database
def test_many_members_of_several_practices_clicking_at_once(app, db, slack_api):
    """8 practices × 6 members, all clicking different options at the same moment."""
    dispatch_command(app, "/cluster", "setup Big Cluster")
    people = []
    for p in range(8):
        dispatch_command(app, "/cluster", f"practice add 8100{p} Practice {p}")
        for m in range(6):
            dispatch_command(app, "/cluster", f"join 8100{p}", user=f"U{p}{m}")
            people.append((f"U{p}{m}", 1 + (p + m) % 3))
    poll(app)
    start = threading.Barrier(len(people))
    statuses = []

    def click(user, option):
        start.wait()
        response = dispatch_payload(app, button_payload(f"poll.vote|{option - 1}", f"P1:{option}", user=user,
                                                        response_url=slack_api.response_url))
        statuses.append(response.status)

    threads = [threading.Thread(target=click, args=person) for person in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * len(people)
    cast = ballots(db)
    assert len(cast) == 8 and len({b.voter_key for b in cast}) == 8
    assert sum(poll_store.tally(polls(db)[0], cast)) == 8
    answers = [c.args["text"] for c in slack_api.calls_to("response_url")]
    assert len(answers) == len(people)
    assert all("ballot on `P1` is now" in a or "ballot on `P1` already reads" in a for a in answers)


# --- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, user, says", [
    ('"Only one option?" "Yes"', "ULEAD", "A poll needs 2 to 10 options; this has 1."),
    ('"Too many?" ' + " ".join(f'"{n}"' for n in range(11)), "ULEAD", "this has 11"),
    ('"Dupes?" "Yes" "yes"', "ULEAD", "“yes” is there twice"),
    ('"" "A" "B"', "ULEAD", "Give the question."),
    ('"Unclosed?" "A" "B', "ULEAD", "A quote is never closed"),
    (QUESTION + " closes yesterday", "ULEAD", "has already passed"),
    (QUESTION + " closes 31/02/2027", "ULEAD", "February has 28 days in 2027."),
    (QUESTION + " closes friday 25:61", "ULEAD", "“25:61” isn't a time"),
    (QUESTION + " whenever", "ULEAD", "“whenever” isn't a poll setting"),
    (QUESTION + " pick 4", "ULEAD", "pick must be from 1 to 3"),
    ('"Review pt 0101011237?" "A" "B"', "ULEAD", "looks like a CHI or NHS number"),
    ("vote P1 4", "UGP", "P1 has options 1 to 3."),
    ("vote P1 0", "UGP", "P1 has options 1 to 3."),
    ("vote P1 two", "UGP", "Give the option's number, from 1 to 3."),
    ("vote P9 1", "UGP", "There's no poll P9 in this cluster."),
    ("vote 1", "UGP", "“1” isn't a poll id"),
    ("vote P1 1", "ULEAD", "you're in no practice yet"),
    ("vote P1 1", "USTRANGER", "Only members of this cluster can vote"),
    ("topics", "ULEAD", "There are 0 proposed topics; a poll needs at least 2."),
])
def test_bad_input_is_refused_privately_and_changes_nothing(cluster, db, text, user, says):
    poll(cluster)
    before = snapshot(db)
    response = dispatch_command(cluster, "/poll", text, user=user)
    assert_refused(response, says)
    assert snapshot(db) == before


def test_a_poll_id_from_another_cluster_behaves_as_unknown(cluster, db):
    poll(cluster, '"Secret question of cluster one?" "A" "B"')
    dispatch_command(cluster, "/cluster", "setup Other", user="UOTHER", channel="COTHER")
    for text in ("vote P1 1", "results P1", "close P1", "remind P1"):
        response = dispatch_command(cluster, "/poll", text, user="UOTHER", channel="COTHER")
        assert "There's no poll P1 in this cluster." in response.text and "Secret" not in response.text
    assert polls(db)[0].closed_at is None and ballots(db) == []


def test_a_click_from_a_guest_outside_the_cluster_is_refused(cluster, db, slack_api):
    poll(cluster)
    dispatch_payload(cluster, button_payload("poll.vote|0", "P1:1", user="UGUEST", team="TOTHERORG",
                                             response_url=slack_api.response_url))
    [answer] = [c.args for c in slack_api.calls_to("response_url")]
    assert answer["response_type"] == "ephemeral" and ballots(db) == []
    assert "a cluster of another organisation's workspace" in answer["text"]


def test_a_result_slack_could_not_take_at_the_deadline_is_announced_later_and_once(cluster, db, slack_api, clock,
                                                                                  product):
    from bot.scheduler import tick

    poll(cluster, QUESTION + " closes tomorrow")
    dispatch_command(cluster, "/poll", "vote P1 3", user="UNURSE")
    clock.advance(days=2)
    slack_api.fail("chat.postMessage", "internal_error")
    tick(product, [cluster.delivery])
    cluster.delivery.drain()
    assert polls(db)[0].closed_at is not None and unsent_outbox(db) == 1  # closed; the result waits to go out
    slack_api.failures.clear()
    retry_now(db)
    cluster.delivery.drain()
    tries = [c for c in slack_api.calls_to("chat.postMessage") if "Result:" in c.args["text"]]
    arrived = [m for m in slack_api.messages["CCLUSTER"] if "Result:" in m["text"]]
    assert len(tries) >= 2 and len(arrived) == 1 and "*Result:* Polypharmacy (1 ballot)." in arrived[0]["text"]
    assert polls(db)[0].announced_at is not None and unsent_outbox(db) == 0
    tick(product, [cluster.delivery])
    cluster.delivery.drain()
    assert len([m for m in slack_api.messages["CCLUSTER"] if "Result:" in m["text"]]) == 1


@pytest.mark.database
def outbox_rows(db) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(Outbox)).one()


def test_a_result_claimed_by_a_process_that_died_is_still_announced_once(cluster, db, clock, slack_api):
    poll(cluster, QUESTION + " closes tomorrow")
    clock.advance(days=2)
    crashed, survivor = Clusterbot(db, clock=clock), Clusterbot(db, clock=clock)
    before = outbox_rows(db)
    assert len([e for e in crashed.tick() if isinstance(e, Post)]) == 1  # claimed and queued, then died
    assert [e for e in survivor.tick() if isinstance(e, Post)] == []
    # the result, and the closed card's update, for Slack to send (the app's delivery may have sent them)
    assert outbox_rows(db) - before == 2
    cluster.delivery.drain()  # another process's delivery sends it
    assert len([c for c in slack_api.calls_to("chat.postMessage") if "Result:" in c.args["text"]]) == 1
    clock.advance(minutes=6)
    assert [e for e in survivor.tick() if isinstance(e, Post)] == []


def test_unusual_digits_are_not_option_numbers(cluster, db):
    poll(cluster)
    for number in ("²", "1.5", "½"):
        response = dispatch_command(cluster, "/poll", f"vote P1 {number}", user="UGP")
        assert_refused(response, "Give the option's number, from 1 to 3.")
    assert ballots(db) == []
