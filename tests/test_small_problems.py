"""The smaller problems of issue 13, each fixed with a test: through the platform-free driver (testkit/driver.py)
and the console, both databases.
Today is Thu 26 Nov 2026, 10:00 in London."""

import io

import pytest
from sqlmodel import select

from bot.console import run_console, run_line
from commands.context import Caller
from commands.results import Audience, Tone
from storage.models import Action
from testkit import factories
from testkit.driver import refused
from testkit.helpers import snapshot


@pytest.fixture
def cluster(driver):
    """Riverside with one practice, 80123, and UGP in it."""
    factories.riverside(driver.say, practices=1, members={"UGP": "80123"})
    return driver


def test_done_with_several_ids_does_each_and_an_unknown_one_changes_nothing(cluster, db):
    for what in ("First", "Second", "Third"):
        cluster.say(f"/action add {what}")
    before = snapshot(db)
    refused(cluster.say("/action done A2 A9"), "There's no action A9 in this cluster.")
    assert snapshot(db) == before  # A2 was not quietly done either
    done = cluster.say("/action done A1 A2")
    assert done.in_channel and "completed A1 First." in done.text and "completed A2 Second." in done.text
    with db.session() as session:
        assert [a.status for a in session.exec(select(Action).order_by(Action.id))] == ["done", "done", "open"]
    refused(cluster.say("/action reopen A1 A3"), "/action reopen takes one id; you typed 2")


def test_actions_of_a_person_are_headed_with_their_name(cluster):
    cluster.say("/action add Audit <@UGP>")
    listed = cluster.say("/action list <@UGP>")
    assert "Open actions of @UGP" in listed.text and "someone" not in listed.text


def test_one_practice_voted_is_singular_on_the_agenda(cluster):
    cluster.say('/poll "Which first?" "Asthma" "Frailty"')
    cluster.say("/poll vote P1 1", user="UGP")
    cluster.say("/meeting schedule 9/12 12:30 Cluster QI meeting")
    agenda = cluster.say("/meeting agenda M1").text
    assert "— 1 practice voted so far" in agenda and "1 practices" not in agenda


def test_a_meeting_that_has_ended_is_not_upcoming(cluster, clock):
    cluster.say("/meeting schedule today 10:30 Short huddle for 30m")
    assert "Short huddle" in cluster.say("/meeting list").text
    clock.advance(minutes=50)  # 10:50: under way
    assert "Short huddle" in cluster.say("/meeting list").text
    clock.advance(minutes=15)  # 11:05: over
    assert "Short huddle" not in cluster.say("/meeting list").text


def test_a_typo_asks_did_you_mean_instead_of_the_whole_help(cluster):
    response = cluster.say("/cluster jion 80123", user="UNEW")
    refused(response, "“jion” isn't a /cluster command. Did you mean /cluster join?")
    assert "For example: /cluster join 80123" in response.text
    assert "practice add" not in response.text  # not the whole help
    assert "Did you mean /poll results?" in cluster.say("/poll reslts P1").text
    nothing_like = cluster.say("/topic zzzz")
    refused(nothing_like, "“zzzz” isn't a /topic command.")
    assert "/topic propose" in nothing_like.text  # no close match: the family's commands


def test_help_of_any_family_is_an_answer_not_an_error(cluster):
    response = cluster.say("/topic help")
    assert response.audience == Audience.PERSON and response.tone != Tone.PROBLEM
    assert "/topic propose" in response.text and "/topic withdraw" in response.text


def test_the_console_takes_any_name_shows_the_home_and_says_its_channel(product):
    caller = Caller("alice", "console", "T-CONSOLE")
    run_line(product, "/cluster setup Console Cluster", caller)
    run_line(product, "/cluster practice add 80123 Riverside", caller)
    assert "@Seònaid" in run_line(product, "as Seònaid /cluster join 80123", caller)
    assert "@o'neill" in run_line(product, "as o'neill /cluster join 80123", caller)
    out = run_line(product, "/action add Chase the data @o'neill due friday", caller)
    assert "Owner: @o'neill" in out
    home = run_line(product, "as o'neill /home", caller)
    assert home.startswith("[Home of @o'neill]") and "Chase the data" in home and "Console Cluster" in home

    class Keyboard(io.StringIO):
        def isatty(self):
            return True

    shown = io.StringIO()
    run_console(product, user="alice", channel="console", stdin=Keyboard("quit\n"), stdout=shown)
    assert "This channel's id is `console` (for python -m bot export --channel console)." in shown.getvalue()
