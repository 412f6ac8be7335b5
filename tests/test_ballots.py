"""Ballots as people mean them, and results that say what happened: typed votes set the ballot, a
colleague's change is told to them, top N with ties at the cut-off, turnout, /poll extend, reminders with
buttons. Through the platform-free driver (testkit/driver.py), the console and the scheduler, on both
databases. Today is Thu 26 Nov 2026."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.console import run_line
from commands.context import Caller
from commands.results import Post, plain_text
from storage.models import Ballot, Poll
from testkit import factories
from testkit.driver import refused
from testkit.helpers import snapshot

SIX = ("80101", "80102", "80103", "80104", "80105", "80106")


@pytest.fixture
def cluster(driver):
    """Six practices; UGP and UPM share 80101; U2…U6 are alone in 80102…80106."""
    members = {"UGP": "80101", "UPM": "80101"} | {f"U{n}": code for n, code in enumerate(SIX[1:], start=2)}
    practices = [(code, f"Practice {n}") for n, code in enumerate(SIX, start=1)]
    factories.riverside(driver.say, practices=practices, members=members)
    return driver


def vote(driver, text, user):
    return driver.say(f"/poll vote {text}", user=user)


def ballots(db):
    with db.session() as session:
        return [b.choices for b in session.exec(select(Ballot).order_by(Ballot.id))]


@pytest.mark.database
def test_a_typed_vote_sets_the_ballot_and_typing_it_again_keeps_it(cluster, db):
    cluster.say('/poll "Which two?" "Asthma" "Frailty" "Polypharmacy" "Sepsis" pick 2')
    assert "is now: 1. Asthma, 3. Polypharmacy." in vote(cluster, "P1 1 3", "UGP").text
    again = vote(cluster, "P1 1 3", "UGP")
    assert "already reads: 1. Asthma, 3. Polypharmacy. Nothing changed." in again.text
    assert "is now: 2. Frailty." in vote(cluster, "P1 2", "UGP").text  # exactly what was typed
    assert ballots(db) == ["2"]
    before = snapshot(db)
    refused(vote(cluster, "P1 1 2 3", "UGP"), "chooses up to 2 options; you typed 3. Nothing was changed: "
            "your practice's ballot still reads 2. Frailty.")
    refused(vote(cluster, "P1 9", "UGP"), "P1 has options 1 to 4.")
    assert snapshot(db) == before


@pytest.mark.database
def test_a_colleague_changing_the_practice_ballot_is_told_to_the_previous_voter(cluster, db):
    cluster.say('/poll "Which first?" "Asthma" "Frailty"')
    vote(cluster, "P1 1", "UGP")
    changed = vote(cluster, "P1 2", "UPM")
    assert "is now: 2. Frailty." in changed.text
    assert "It was 1. Asthma, cast by @UGP, who has been told." in changed.text
    [dm] = cluster.dms("UGP")
    assert "@UPM changed Practice 1's ballot on P1 Which first? from 1. Asthma to 2. Frailty." in dm
    vote(cluster, "P1 2", "UPM")  # the same again: nothing changes, nobody is told twice
    vote(cluster, "P1 1", "U2")   # another practice's ballot: not UGP's business
    assert len(cluster.dms("UGP")) == 1


def test_a_full_pick_n_ballot_says_what_it_holds_and_who_cast_it(cluster, db, product):
    cluster.say('/poll "Which two?" "Asthma" "Frailty" "Polypharmacy" pick 2')
    vote(cluster, "P1 1 2", "UGP")
    answer = cluster.click("poll.vote", "P1:3", user="UPM").text
    assert ("Nothing was changed: your practice's ballot on P1 already chooses 1. Asthma, 2. Frailty (cast by "
            "@UGP), the most it may (2).") in answer
    assert "click one you chose" not in answer


def test_pick_n_results_name_the_top_n_and_a_tie_at_the_cut_off(cluster, db):
    cluster.say('/poll "Which two?" "Asthma" "Frailty" "Polypharmacy" "Sepsis" pick 2')
    for user, choices in (("UGP", "1 2"), ("U2", "1 3"), ("U3", "1 4"), ("U4", "2 3"), ("U5", "4")):
        vote(cluster, f"P1 {choices}", user)
    closed = cluster.say("/poll close P1")
    assert ("Result: top 2: Asthma (3 ballots), then a tie for the last place between “Frailty”, “Polypharmacy” "
            "and “Sepsis” (2 ballots each).") in closed.text
    assert "Turnout: 5 of 6 practices took part." in closed.text and "Fewer than half" not in closed.text


def test_pick_n_results_without_a_tie(cluster):
    cluster.say('/poll "Which two?" "Asthma" "Frailty" "Polypharmacy" pick 2')
    for user, choices in (("UGP", "1 2"), ("U2", "1 3"), ("U3", "1 2")):
        vote(cluster, f"P1 {choices}", user)
    closed = cluster.say("/poll close P1")
    assert "Result: top 2: Asthma (3 ballots), Frailty (2 ballots)." in closed.text
    assert "Turnout: 3 of 6 practices took part." in closed.text


def test_low_and_zero_turnout_at_the_deadline_are_flagged(cluster, db, clock, product):
    cluster.say('/poll "Which first?" "Asthma" "Frailty" closes friday')
    cluster.say('/poll "Which next?" "Asthma" "Frailty" closes friday')
    vote(cluster, "P1 1", "U2")
    clock.set(datetime(2026, 11, 27, 17, 1, tzinfo=UTC))
    posts = [plain_text(e.reply) for e in product.tick() if isinstance(e, Post)]
    first, second = (next(p for p in posts if p.startswith(f"P{n} closed")) for n in (1, 2))
    assert "Result: Asthma (1 ballot)." in first
    assert "Turnout: 1 of 6 practices took part. ⚠️ Fewer than half took part" in first
    assert "Result: no ballots were cast." in second and "Turnout: 0 of 6 practices took part. ⚠️" in second


def test_extend_gives_a_later_deadline_creator_or_lead_only(cluster, db):
    cluster.say('/poll "Which first?" "Asthma" "Frailty" closes friday', user="UGP")
    before = snapshot(db)
    refused(cluster.say("/poll extend P1 friday week", user="U2"),
            "Only whoever created P1 (@UGP) or one of the cluster's leads (@ULEAD) can use /poll extend")
    refused(cluster.say("/poll extend P1 20/11", user="UGP"), "has already passed")
    assert snapshot(db) == before
    extended = cluster.say("/poll extend P1 friday week", user="UGP")
    assert extended.in_channel
    assert ("extended P1 Which first?: it now closes Fri 4 Dec 2026 17:00 (it was Fri 27 Nov 2026 17:00)."
            in extended.text)
    with db.session() as session:
        stored = session.exec(select(Poll)).one()
    assert stored.closes_at == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    cluster.say("/poll close P1")
    refused(cluster.say("/poll extend P1 friday week"), "a closed poll stays closed")


def test_remind_dms_list_the_options_with_vote_buttons(cluster, product):
    cluster.say('/poll "Which first?" "Asthma" "Frailty"')
    vote(cluster, "P1 1", "UGP")
    cluster.say("/poll remind P1")
    [dm] = [sent for sent in cluster.directs if sent.to == "U2"]
    assert "1. Asthma" in dm.text and "2. Frailty" in dm.text
    assert [(b.label, b.action, b.value) for b in dm.reply.buttons] == [("1. Asthma", "poll.vote", "P1:1"),
                                                                       ("2. Frailty", "poll.vote", "P1:2")]
    assert cluster.dms("UGP") == [] and cluster.dms("UPM") == []  # their practice has voted


def test_the_console_votes_and_reads_results_the_same_way(product):
    caller = Caller("alice", "console", "T-CONSOLE")
    run_line(product, "/cluster setup Console Cluster", caller)
    run_line(product, "/cluster practice add 80123 Riverside", caller)
    run_line(product, "/cluster practice add 80456 Hillview", caller)
    run_line(product, "/cluster join 80123", caller)
    run_line(product, '/poll "Which first?" "Asthma" "Frailty"', caller)
    run_line(product, "/poll vote P1 2", caller)
    out = run_line(product, "/poll vote P1 2", caller)
    assert "already reads: 2. Frailty. Nothing changed." in out
    out = run_line(product, "as bob /cluster join 80123", caller)
    out = run_line(product, "as bob /poll vote P1 1", caller)
    assert "[direct message to @alice]" in out and "from 2. Frailty to 1. Asthma" in out
    out = run_line(product, "/poll close P1", caller)
    assert "Result: Asthma (1 ballot)." in out and "Turnout: 1 of 2 practices took part." in out
