"""Ranked polls (Borda count), dot votes and PICK charts (issue 25): every counting rule worked out by hand,
through the platform-free driver; the PICK picture read back as a PNG; 30 ballots at once on both
databases; a ranked card through Teams. Today is Thu 26 Nov 2026."""

import io
import json
import threading
from datetime import UTC, datetime

import openpyxl
import pytest
from PIL import Image
from sqlmodel import select

from analysis import poll_counts
from analysis.pick_chart import PickPicture, render
from commands.results import Post, plain_text
from storage.models import Ballot, PickRating, Poll
from testkit import factories
from testkit.driver import refused
from testkit.helpers import snapshot
from testkit.slack_requests import button_payload, dispatch_command, dispatch_payload, submission_payload
from testkit.teams_ids import CHANNEL as TEAMS_CHANNEL
from testkit.teams_ids import LEAD, PQL_A, PQL_B
from testkit.teams_standin import BOT_ID, members_added, message, submit

SIX = ("80101", "80102", "80103", "80104", "80105", "80106")


@pytest.fixture
def cluster(driver):
    """Six practices; UGP and UPM share 80101 (Practice 1); U2…U6 are alone in 80102…80106."""
    members = {"UGP": "80101", "UPM": "80101"} | {f"U{n}": code for n, code in enumerate(SIX[1:], start=2)}
    practices = [(code, f"Practice {n}") for n, code in enumerate(SIX, start=1)]
    factories.riverside(driver.say, practices=practices, members=members)
    driver.forget()
    return driver


def vote(driver, text, user):
    return driver.say(f"/poll vote {text}", user=user)


def choices(db):
    with db.session() as session:
        return {b.cast_by: b.choices for b in session.exec(select(Ballot).order_by(Ballot.id))}


FOUR = '"Which topic first?" "Asthma" "Frailty" "Polypharmacy" "Sepsis"'


# --- the counting rules, by hand ---------------------------------------------------------------

def test_borda_with_partial_rankings_by_hand():
    # 4 options: first 3 points, second 2, third 1, fourth 0; unranked 0.
    # (3 1 2): 3 gets 3, 1 gets 2, 2 gets 1.  (1): 1 gets 3.  (2 1) ×2: 2 gets 3, 1 gets 2, twice.
    points = poll_counts.borda(4, [([3, 1, 2], 1), ([1], 1), ([2, 1], 2)])
    assert points == [2 + 3 + 2 * 2, 1 + 2 * 3, 3, 0] == [9, 7, 3, 0]
    assert poll_counts.standings([9, 7, 3, 0]) == [(1, 9, [1]), (2, 7, [2]), (3, 3, [3]), (4, 0, [4])]
    assert poll_counts.standings([5, 5, 2, 5]) == [(1, 5, [1, 2, 4]), (4, 2, [3])]


def test_dots_count_repeats():
    assert poll_counts.dots(3, [([1, 1, 3], 1), ([3, 3, 3, 3, 3], 1), ([2], 3)]) == [2, 3, 6]


@pytest.mark.parametrize("impact, effort, quadrant", [
    (4.5, 1.5, "Implement"), (4.0, 4.0, "Challenge"), (1.0, 1.0, "Possible"), (2.0, 5.0, "Kill"),
    (3.0, 2.9, "Implement"), (2.9, 3.0, "Kill"),  # the middle (3) counts as high impact and as hard
])
def test_pick_quadrants(impact, effort, quadrant):
    assert poll_counts.quadrant(impact, effort) == quadrant


# --- ranked polls ---------------------------------------------------------------------------------

def test_a_ranked_poll_counts_borda_points_with_partial_rankings(cluster, db):
    created = cluster.say(f"/poll {FOUR} ranked")
    card = cluster.posts[-1]
    assert "ranked: a first choice scores 3, a second 2, and so on; an option left unranked scores 0" in card.text
    assert [b.label for b in card.reply.buttons][:4] == ["1. Asthma", "2. Frailty", "3. Polypharmacy", "4. Sepsis"]
    assert created.reply.tone.value != "problem"
    said = vote(cluster, "P1 3 1 2", "UGP")
    assert "Your practice's ranking on P1 now reads: 1st Polypharmacy, 2nd Asthma, 3rd Frailty." in said.text
    assert "Not ranked (0 points): Sepsis." in said.text
    vote(cluster, "P1 1", "U2")
    vote(cluster, "P1 2 1", "U3")
    vote(cluster, "P1 2 1", "U4")
    assert choices(db) == {"UGP": "3,1,2", "U2": "1", "U3": "2,1", "U4": "2,1"}  # the order is kept
    closed = cluster.say("/poll close P1")
    # By hand (test_borda_with_partial_rankings_by_hand): Asthma 9, Frailty 7, Polypharmacy 3, Sepsis 0.
    assert "Result (Borda count): Asthma (9 points)." in closed.text
    assert "1st Asthma — 9 points" in closed.text and "2nd Frailty — 7 points" in closed.text
    assert "3rd Polypharmacy — 3 points" in closed.text and "4th Sepsis — 0 points" in closed.text
    assert "Turnout: 4 of 6 practices took part." in closed.text


def test_ranked_ties_are_said_as_ties(cluster):
    cluster.say('/poll "Which first?" "Asthma" "Frailty" "Sepsis" ranked')
    vote(cluster, "P1 1 2 3", "UGP")   # Asthma 2, Frailty 1
    vote(cluster, "P1 2 1 3", "U2")    # Frailty 2, Asthma 1
    closed = cluster.say("/poll close P1")
    assert "Result (Borda count): a tie between “Asthma” and “Frailty” (3 points each)." in closed.text
    assert "1st= “Asthma” and “Frailty” — 3 points each" in closed.text
    assert "3rd Sepsis — 0 points" in closed.text


def test_a_ranking_by_clicks_and_bad_rankings_refused(cluster, db):
    cluster.say('/poll "Which first?" "Asthma" "Frailty" "Sepsis" ranked')
    cluster.click("poll.vote", "P1:3", user="UGP")
    said = cluster.click("poll.vote", "P1:1", user="UGP")
    assert "now reads: 1st Sepsis, 2nd Asthma." in said.text
    said = cluster.click("poll.vote", "P1:3", user="UGP")  # a ranked one clicked again: taken out
    assert "now reads: 1st Asthma." in said.text
    assert "ranking on P1 already reads: 1st Asthma. Nothing changed." in vote(cluster, "P1 1", "UGP").text
    before = snapshot(db)
    refused(vote(cluster, "P1 2 2", "UGP"), "Option 2 is there twice: a ranking names each option once")
    refused(vote(cluster, "P1 4", "UGP"), "P1 has options 1 to 3.")
    assert snapshot(db) == before
    changed = vote(cluster, "P1 2 3", "UPM")  # a colleague in the same practice
    assert "They were 1st Asthma, cast by @UGP, who has been told." in changed.text
    assert any("changed Practice 1's ranking on P1" in dm and "from 1st Asthma to 1st Frailty, 2nd Sepsis" in dm
               for dm in cluster.dms("UGP"))


def test_ranked_per_person(cluster):
    cluster.say('/poll "Which first?" "Asthma" "Frailty" ranked per person')
    vote(cluster, "P1 2 1", "UGP")
    vote(cluster, "P1 2", "UPM")  # the same practice, but each person has a ballot
    closed = cluster.say("/poll close P1")
    assert "Result (Borda count): Frailty (2 points)." in closed.text
    assert "2nd Asthma — 0 points" in closed.text


# --- dot votes ------------------------------------------------------------------------------------

def test_dots_with_repeats_and_each_practices_share(cluster, db):
    cluster.say('/poll "Where should our effort go?" "Asthma" "Frailty" "Sepsis" dots 5')
    card = cluster.posts[-1]
    assert "dot vote: each ballot spends up to 5 dots, several on one option if it likes" in card.text
    assert [b.label for b in card.reply.buttons][:2] == ["+ 1. Asthma", "− 1"]
    said = vote(cluster, "P1 1 1 3", "UGP")
    assert "Your practice's dots on P1 now read: 2 on Asthma, 1 on Sepsis." in said.text
    assert "3 of 5 dots spent; 2 left." in said.text
    vote(cluster, "P1 3 3 3 3 3", "U2")
    vote(cluster, "P1 2", "U3")
    # By hand: Asthma 2, Frailty 1, Sepsis 1 + 5 = 6; 9 dots in all.
    closed = cluster.say("/poll close P1")
    assert "Result (dots): Sepsis (6 dots, 67% of the dots)." in closed.text
    assert "2nd Asthma — 2 dots" in closed.text and "3rd Frailty — 1 dot" in closed.text
    assert "• Practice 1: 3 dots (33% of all): 2 on Asthma, 1 on Sepsis" in closed.text
    assert "• Practice 2: 5 dots (56% of all): 5 on Sepsis" in closed.text
    assert "• Practice 3: 1 dot (11% of all): 1 on Frailty" in closed.text


def test_overspending_dots_is_refused_with_an_example(cluster, db):
    cluster.say('/poll "Where?" "Asthma" "Frailty" "Sepsis" dots 3')
    vote(cluster, "P1 1 2", "UGP")
    before = snapshot(db)
    refused(vote(cluster, "P1 1 1 2 3", "UGP"), "A ballot on P1 spends up to 3 dots; you typed 4. Nothing was "
            "changed: your practice's dots still read 1 on Asthma, 1 on Frailty.")
    assert "/poll vote P1 1 1 3" in vote(cluster, "P1 1 1 2 3", "UGP").text  # a working example
    cluster.click("poll.vote", "P1:1", user="UGP")  # the third dot
    refused(cluster.click("poll.vote", "P1:3", user="UPM"), "Nothing was changed: your practice's 3 dots on P1 "
            "are all spent (2 on Asthma, 1 on Frailty).")
    taken = cluster.click("poll.dot_take", "P1:1", user="UPM")
    assert "now read: 1 on Asthma, 1 on Frailty." in taken.text
    refused(cluster.click("poll.dot_take", "P1:3", user="UPM"), "have none on 3. Sepsis to take back")
    assert choices(db) == {"UPM": "2,1"}
    assert before != snapshot(db)


@pytest.mark.parametrize("text, says", [
    ('"Where?" "A" "B" dots', "Say how many dots each ballot spends, 1 to 20"),
    ('"Where?" "A" "B" dots 0', "A dot vote gives each ballot 1 to 20 dots; you gave 0."),
    ('"Where?" "A" "B" dots 21', "you gave 21"),
    ('"Where?" "A" "B" ranked anonymous', "A ranked poll can't be anonymous"),
    ('"Where?" "A" "B" "C" ranked pick 2', "A ranked poll takes no pick <n>"),
])
def test_bad_kinds_are_refused_and_nothing_is_written(cluster, db, text, says):
    before = snapshot(db)
    refused(cluster.say(f"/poll {text}"), says)
    assert snapshot(db) == before


def test_the_poll_form_makes_a_dot_vote(cluster, db):
    form = cluster.say("/poll", user="UGP").form
    assert {"kind", "dots"} <= {f.name for f in form.fields}
    cluster.submit(form, {"question": "Where?", "options": "Asthma\nFrailty", "ballots": "practice", "pick": "1",
                          "anonymous": "no", "hidden": "no", "kind": "dots", "dots": "4"}, user="UGP")
    with db.session() as session:
        poll = session.exec(select(Poll)).one()
    assert (poll.kind, poll.dots) == ("dots", 4)


# --- PICK charts ----------------------------------------------------------------------------------

PICK = '/poll pick-chart "Which change ideas?" "Recall letters" "Pharmacist clinic" "Text reminders" "Audit"'


def test_a_pick_chart_rates_and_places_each_option(cluster, db):
    cluster.say(PICK)
    card = cluster.posts[-1]
    assert "P1 · Which change ideas? (PICK chart)" in card.text
    assert [b.action for b in card.reply.buttons] == ["poll.rate", "poll.chart", "poll.results", "poll.close"]
    said = cluster.say("/poll rate P1 1 impact 5 effort 1 2 effort 4 impact 4", user="UGP")
    assert "• 1. Recall letters — impact 5, effort 1" in said.text
    assert "• 2. Pharmacist clinic — impact 4, effort 4" in said.text
    assert "still to rate: “Text reminders” and “Audit”" in said.text
    cluster.say("/poll rate P1 1 impact 4 effort 2 2 impact 4 effort 5 3 impact 2 effort 2", user="U2")
    cluster.say("/poll rate P1 3 impact 1 effort 1 4 impact 1 effort 5", user="U3")
    again = cluster.say("/poll rate P1 4 impact 2 effort 5", user="U3")
    assert "impact 2, effort 5 (was impact 1, effort 5)" in again.text
    with db.session() as session:
        assert len(session.exec(select(PickRating)).all()) == 7
    assert "3 of 6 practices have rated" in cluster.updates[-1].text  # a PICK chart is rated, not voted on
    closed = cluster.say("/poll close P1")
    # By hand: 1: impact (5+4)/2 = 4.5, effort (1+2)/2 = 1.5 -> Implement.
    # 2: impact 4, effort 4.5 -> Challenge. 3: impact 1.5, effort 1.5 -> Possible. 4: impact 2, effort 5 -> Kill.
    text = closed.text
    assert ("• Implement (high impact, easy): 1. Recall letters — impact 4.5 (4–5), effort 1.5 (1–2), 2 ratings"
            in text)
    assert "• Challenge (high impact, hard): 2. Pharmacist clinic — impact 4.0, effort 4.5 (4–5), 2 ratings" in text
    assert "• Possible (low impact, easy): 3. Text reminders — impact 1.5 (1–2), effort 1.5 (1–2), 2 ratings" in text
    assert "• Kill (low impact, hard): 4. Audit — impact 2.0, effort 5.0, 1 rating" in text
    assert "Turnout: 3 of 6 practices took part." in text
    [upload] = cluster.uploads
    assert upload.filename.endswith(".png")
    picture = Image.open(io.BytesIO(upload.content))
    assert picture.format == "PNG" and picture.size[0] == 1000 and picture.size[1] > 750


def test_pick_ratings_by_form_and_bad_ratings(cluster, db):
    cluster.say(PICK)
    opened = cluster.click("poll.rate", "P1", user="UGP")
    form = opened.form
    assert form.name == "poll.rate_form" and len(form.fields) == 8
    problem = cluster.submit(form, {"impact_1": "4"}, user="UGP")
    assert "Rate both impact and effort" in problem.field_errors["effort_1"]
    cluster.submit(form, {"impact_1": "4", "effort_1": "2", "impact_3": "3", "effort_3": "3"}, user="UGP")
    with db.session() as session:
        assert {(r.option, r.impact, r.effort) for r in session.exec(select(PickRating))} == {(1, 4, 2), (3, 3, 3)}
    assert [f.initial for f in cluster.click("poll.rate", "P1", user="UPM").form.fields][:2] == ["4", "2"]
    before = snapshot(db)
    refused(cluster.say("/poll rate P1 1 impact 6 effort 2", user="U2"), "Impact is a whole number from 1 to 5")
    refused(cluster.say("/poll rate P1 1 impact 3", user="U2"), "Rate option 1 on both")
    refused(cluster.say("/poll rate P1 9 impact 3 effort 3", user="U2"), "the option's number, 1 to 4")
    refused(cluster.say("/poll vote P1 1", user="U2"), "P1 is a PICK chart")
    assert snapshot(db) == before
    refused(cluster.say('/poll pick-chart T3'), "There's no topic T3 in this cluster")


def test_a_pick_chart_of_a_topics_change_ideas(cluster, db):
    """`/poll pick-chart T1` takes the topic's change ideas, with their ids, as the options to rate."""
    cluster.say("/topic propose Asthma reviews after discharge", user="UGP")
    cluster.say("/topic driver T1 Reliable follow-up", user="UGP")
    cluster.say("/topic idea T1 1 Ward clerk emails the discharge list", user="UGP")
    refused(cluster.say("/poll pick-chart T1"), "T1 has 1 change idea; a PICK chart needs at least 2")
    cluster.say("/topic idea T1 1 Text reminder the day before", user="UGP")
    cluster.say("/topic idea T1 1 Pharmacist review slot", user="UGP")
    cluster.say("/poll pick-chart T1 closes friday")
    assert "Which of T1's change ideas should we try?" in cluster.posts[-1].text
    with db.session() as session:
        poll = session.exec(select(Poll)).one()
    assert poll.kind == "pick" and poll.closes_at is not None
    assert poll.options == ["C1 Ward clerk emails the discharge list", "C2 Text reminder the day before",
                            "C3 Pharmacist review slot"]


def test_the_pick_chart_picture_is_a_png():
    rated = poll_counts.rated([(1, 5, 1), (1, 4, 2), (2, 2, 5)])
    png = render(PickPicture("P1 · Which $ideas$?", ["Recall letters", "Clinic", "Audit"], rated, "caption"))
    picture = Image.open(io.BytesIO(png))
    assert picture.format == "PNG" and picture.size[0] == 1000
    assert len(picture.convert("RGB").getcolors(maxcolors=1 << 20)) > 20  # drawn, not blank


def test_the_chart_command_shares_the_picture(cluster):
    cluster.say(PICK)
    refused(cluster.say("/poll chart P1"), "Nobody has rated P1's options yet")
    cluster.say("/poll rate P1 1 impact 5 effort 1", user="UGP")
    cluster.say("/poll chart P1")
    [upload] = cluster.uploads
    assert "@ULEAD shared the PICK chart of P1 Which change ideas?." in plain_text(upload.comment)
    assert Image.open(io.BytesIO(upload.content)).format == "PNG"


# --- many at once, both databases ---------------------------------------------------------------

@pytest.mark.database
@pytest.mark.parametrize("kind, ballot, expected", [
    ("ranked", "3 1 2", [30 * 1, 30 * 0, 30 * 2]),   # 3 first (2 points), 1 second (1), 2 third (0)
    ("dots 5", "1 1 3", [60, 0, 30]),
])
def test_thirty_ballots_at_once_give_the_exact_result(app, db, kind, ballot, expected):
    dispatch_command(app, "/cluster", "setup Big Cluster")
    people = []
    for p in range(6):
        dispatch_command(app, "/cluster", f"practice add 8100{p} Practice {p}")
        for m in range(5):
            dispatch_command(app, "/cluster", f"join 8100{p}", user=f"U{p}{m}")
            people.append(f"U{p}{m}")
    dispatch_command(app, "/poll", f'"Which?" "Asthma" "Frailty" "Sepsis" {kind} per person')
    start = threading.Barrier(len(people))
    statuses = []

    def cast(user):
        start.wait()
        statuses.append(dispatch_command(app, "/poll", f"vote P1 {ballot}", user=user).status)

    threads = [threading.Thread(target=cast, args=(person,)) for person in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 30
    with db.session() as session:
        cast_ = session.exec(select(Ballot)).all()
        poll = session.exec(select(Poll)).one()
    assert len(cast_) == 30 and {b.choices for b in cast_} == {ballot.replace(" ", ",")}
    pairs = [(list(map(int, b.choices.split(","))), 1) for b in cast_]
    counted = poll_counts.borda(3, pairs) if poll.kind == "ranked" else poll_counts.dots(3, pairs)
    assert counted == expected


@pytest.mark.database
def test_thirty_dot_clicks_on_one_practice_ballot_spend_exactly_its_dots(app, db, slack_api):
    """30 members of one practice each click + at the same moment: exactly 5 dots are spent, none lost."""
    dispatch_command(app, "/cluster", "setup Big Cluster")
    dispatch_command(app, "/cluster", "practice add 81000 Practice 0")
    people = [f"U{m:02}" for m in range(30)]
    for user in people:
        dispatch_command(app, "/cluster", "join 81000", user=user)
    dispatch_command(app, "/poll", '"Where?" "Asthma" "Frailty" "Sepsis" dots 5')
    start = threading.Barrier(len(people))
    statuses = []

    def click(user, option):
        start.wait()
        statuses.append(dispatch_payload(app, button_payload(f"poll.vote|{option - 1}", f"P1:{option}", user=user,
                                                             response_url=slack_api.response_url)).status)

    threads = [threading.Thread(target=click, args=(u, 1 + n % 3)) for n, u in enumerate(people)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 30
    with db.session() as session:
        [ballot] = session.exec(select(Ballot)).all()
    assert len(ballot.choices.split(",")) == 5


# --- both platforms: the card's buttons -----------------------------------------------------------

def test_a_dot_vote_card_on_slack_has_plus_and_minus_buttons(app, db, slack_api):
    factories.riverside(factories.on_slack(app))
    dispatch_command(app, "/poll", '"Where?" "Asthma" "Frailty" dots 3')
    blocks = slack_api.calls_to("chat.postMessage")[-1].args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["text"]["text"] for b in buttons] == ["+ 1. Asthma", "− 1", "+ 2. Frailty", "− 2", "Results",
                                                   "Close (creator or leads)"]
    take = buttons[1]
    dispatch_payload(app, button_payload(f"poll.vote|{0}", "P1:1", user="UGP", response_url=slack_api.response_url))
    dispatch_payload(app, button_payload(f"poll.vote|{0}", "P1:1", user="UGP", response_url=slack_api.response_url))
    dispatch_payload(app, button_payload(take["action_id"], take["value"], user="UGP",
                                         response_url=slack_api.response_url))
    assert choices(db) == {"UGP": "1"}


def test_a_ranked_card_works_in_teams(teams, teams_api, db):
    assert teams.send(members_added(teams_api, BOT_ID, by=LEAD), teams_api.headers()).status_code == 200
    for text, mentions in (("cluster setup Riverside Cluster", None),
                           ("cluster practice add 80123 Riverside Medical Practice", None),
                           ("cluster practice add 80456 Hillview Surgery", None),
                           ("cluster member add @Jane 80123", {"Jane": PQL_A}),
                           ("cluster member add @Sam Ng 80456", {"Sam Ng": PQL_B})):
        answer = teams.send(message(teams_api, LEAD, text, **({"mentions": mentions} if mentions else {})),
                            teams_api.headers())
        assert answer.status_code == 200
    assert teams.delivery.drain()
    teams_api.reset()
    teams.send(message(teams_api, LEAD, 'poll "Which topic first?" "Asthma" "Frailty" "Sepsis" ranked'),
               teams_api.headers())
    card = teams_api.wait_for(lambda s: [p for p in s.posts(TEAMS_CHANNEL) if "Which topic first?" in p.text])[0]
    assert "/poll" not in card.text  # Teams words: no slash commands on a Teams card
    votes = [a for s in card.card["body"] if s["type"] == "ActionSet" for a in s["actions"]
             if a["data"]["action"] == "poll.vote"]
    assert [v["title"] for v in votes] == ["1. Asthma", "2. Frailty", "3. Sepsis"]
    teams_api.wait_for(lambda s: [p for p in rows(db, Poll) if p.posted_ref])
    for user, choice in [(PQL_A, 2), (PQL_A, 0), (PQL_B, 1)]:  # Jane ranks Sepsis then Asthma; Sam Frailty
        assert teams.send(submit(teams_api, user, votes[choice]["data"]), teams_api.headers()).status_code == 200
    # Borda of 3: Sepsis 2, Asthma 1 + 0, Frailty 2: a tie at 2 points.
    update = teams_api.wait_for(lambda s: [u for u in s.updates() if "2 of 2 practices have voted" in u.text
                                           and "2 points" in u.text])
    assert "1. Asthma" in update[-1].text and "1 point" in update[-1].text
    assert {b.cast_by: b.choices for b in rows(db, Ballot)} == {PQL_A: "3,1", PQL_B: "2"}
    # A dot vote's card: + and − per option.
    teams.send(message(teams_api, LEAD, 'poll "Where?" "Asthma" "Frailty" dots 2'), teams_api.headers())
    card = teams_api.wait_for(lambda s: [p for p in s.posts(TEAMS_CHANNEL) if "Where?" in p.text])[0]
    buttons = [a for s in card.card["body"] if s["type"] == "ActionSet" for a in s["actions"]]
    assert [b["title"] for b in buttons][:4] == ["+ 1. Asthma", "− 1", "+ 2. Frailty", "− 2"]
    for button in (buttons[0], buttons[0], buttons[2], buttons[1]):  # the third dot is refused: 2 to spend
        assert teams.send(submit(teams_api, PQL_B, button["data"]), teams_api.headers()).status_code == 200
    assert teams.delivery.drain()
    assert [b.choices for b in rows(db, Ballot) if b.poll_id == 2] == ["1"]


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model)))


def test_the_cluster_workbook_gives_borda_points_and_dots(cluster):
    cluster.say(f"/poll {FOUR} ranked")
    vote(cluster, "P1 3 1 2", "UGP")
    vote(cluster, "P1 1", "U2")
    cluster.say('/poll "Where?" "Asthma" "Frailty" dots 3')
    vote(cluster, "P2 2 2 1", "UGP")
    cluster.say("/poll close P1")
    cluster.say("/poll close P2")
    cluster.say("/cluster export")
    book = openpyxl.load_workbook(io.BytesIO(cluster.uploads[-1].content))
    cells = {str(c.value) for row in book["Polls"].iter_rows() for c in row}
    # By hand: Asthma 2 + 3 = 5, Frailty 1, Polypharmacy 3, Sepsis 0: Asthma wins on points (Polypharmacy was
    # ranked by one ballot, Asthma by two: counting mentions would have tied them).
    assert "Asthma: 5 points; Frailty: 1 point; Polypharmacy: 3 points; Sepsis: 0 points" in cells
    assert "Asthma: 1 dot; Frailty: 2 dots" in cells and "Frailty" in cells


def test_forgetting_a_person_keeps_their_ratings_but_not_them(cluster, db):
    cluster.say(PICK.replace('"Audit"', '"Audit" per person'))
    cluster.say("/poll rate P1 1 impact 5 effort 1 2 impact 4 effort 4", user="UGP")
    cluster.say("/poll rate P1 1 impact 3 effort 3", user="U2")
    said = cluster.say("/cluster forget <@UGP> confirm")
    assert said.reply.tone.value != "problem", said.text
    with db.session() as session:
        kept = session.exec(select(PickRating).order_by(PickRating.id)).all()
    assert [(r.option, r.impact, r.effort) for r in kept] == [(1, 5, 1), (2, 4, 4), (1, 3, 3)]
    assert not any("UGP" in (r.rated_by + r.voter_key) for r in kept)
    assert [r.voter_key for r in kept][2] == "person:U2"
    closed = cluster.say("/poll close P1")
    assert "1. Recall letters — impact 4.0 (3–5), effort 2.0 (1–3), 2 ratings" in closed.text


def test_reminders_say_how_each_kind_is_voted(cluster):
    cluster.say(PICK)
    cluster.say('/poll "Where?" "Asthma" "Frailty" "Sepsis" dots 5')
    cluster.say("/poll remind P1")
    cluster.say("/poll remind P2")
    pick, dots = (next(d for d in cluster.directs if d.to == "U2" and f"P{n}" in d.text) for n in (1, 2))
    assert "Click Rate to rate each option's impact and effort, or type /poll rate P1 1 impact 4 effort 2." in pick.text
    assert [(b.label, b.action, b.value) for b in pick.reply.buttons] == [("Rate", "poll.rate", "P1")]
    assert ("Each click puts a dot on an option (5 dots to spend), or type where they go: /poll vote P2 1 1 3."
            in dots.text)
    assert cluster.press(pick.reply.buttons[0], user="U2").form.name == "poll.rate_form"


def test_a_pick_chart_rated_through_a_slack_modal(app, db, slack_api):
    factories.riverside(factories.on_slack(app))
    dispatch_command(app, "/poll", PICK.removeprefix("/poll "))
    blocks = slack_api.calls_to("chat.postMessage")[-1].args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    rate = next(e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == "Rate")
    dispatch_payload(app, button_payload(rate["action_id"], rate["value"], user="UGP",
                                         response_url=slack_api.response_url))
    view = slack_api.calls_to("views.open")[-1].args["view"]
    selects = [b["element"] for b in view["blocks"] if b["type"] == "input"]
    assert len(selects) == 8 and all(s["type"] == "static_select" for s in selects)
    assert [o["value"] for o in selects[0]["options"]] == ["1", "2", "3", "4", "5"]
    answer = dispatch_payload(app, submission_payload(view, user="UGP", impact_2="5", effort_2="1"))
    assert answer.status == 200
    with db.session() as session:
        assert [(r.option, r.impact, r.effort, r.rated_by) for r in session.exec(select(PickRating))] == [
            (2, 5, 1, "UGP")]


@pytest.mark.parametrize("typed", [PICK, '/poll "Which?" "A" "B" ranked', "/poll rate P1 1 impact 3 effort 3",
                                   "/poll vote P2 1"])
def test_only_members_make_rate_and_vote(cluster, db, typed):
    cluster.say(PICK, user="UGP")
    cluster.say('/poll "Where?" "A" "B" dots 2', user="UGP")
    before = snapshot(db)
    refused(cluster.say(typed, user="USTRANGER"), "member")
    assert snapshot(db) == before
    assert cluster.say(typed, user="U2").reply.tone.value != "problem"


def test_a_pick_chart_closed_at_its_deadline_says_the_quadrants(cluster, clock, product):
    cluster.say(PICK + " closes friday")
    cluster.say("/poll rate P1 1 impact 5 effort 1 2 impact 1 effort 5", user="UGP")
    clock.set(datetime(2026, 11, 27, 17, 1, tzinfo=UTC))
    [post] = [plain_text(e.reply) for e in product.tick() if isinstance(e, Post)]
    assert post.startswith("P1 closed at its deadline: Which change ideas?")
    assert "• Implement (high impact, easy): 1. Recall letters — impact 5.0, effort 1.0, 1 rating" in post
    assert "• Kill (low impact, hard): 2. Pharmacist clinic — impact 1.0, effort 5.0, 1 rating" in post
    assert "Not rated: “Text reminders” and “Audit”." in post and "The picture: /poll chart P1." in post
