"""The smaller problems of issue 13, each fixed with a test: signed requests and the console, both databases.
Today is Thu 26 Nov 2026, 10:00 in London."""

import io

import pytest
from sqlmodel import select

from bot.console import run_console, run_line
from commands.context import Caller
from storage.models import Action
from tests import factories
from tests.helpers import assert_refused, snapshot
from tests.slack_requests import dispatch_command


@pytest.fixture
def cluster(app):
    """Riverside with one practice, 80123, and UGP in it."""
    factories.riverside(factories.on_slack(app), practices=1, members={"UGP": "80123"})
    return app


def test_done_with_several_ids_does_each_and_an_unknown_one_changes_nothing(cluster, db):
    for what in ("First", "Second", "Third"):
        dispatch_command(cluster, "/action", f"add {what}")
    before = snapshot(db)
    assert_refused(dispatch_command(cluster, "/action", "done A2 A9"), "There's no action A9 in this cluster.")
    assert snapshot(db) == before  # A2 was not quietly done either
    done = dispatch_command(cluster, "/action", "done A1 A2")
    assert done.in_channel and "completed `A1` First." in done.text and "completed `A2` Second." in done.text
    with db.session() as session:
        assert [a.status for a in session.exec(select(Action).order_by(Action.id))] == ["done", "done", "open"]
    assert_refused(dispatch_command(cluster, "/action", "reopen A1 A3"), "/action reopen takes one id; you typed 2")


def test_actions_of_a_person_are_headed_with_their_name(cluster):
    dispatch_command(cluster, "/action", "add Audit <@UGP>")
    listed = dispatch_command(cluster, "/action", "list <@UGP>")
    assert "Open actions of <@UGP>" in listed.text and "someone" not in listed.text


def test_one_practice_voted_is_singular_on_the_agenda(cluster):
    dispatch_command(cluster, "/poll", '"Which first?" "Asthma" "Frailty"')
    dispatch_command(cluster, "/poll", "vote P1 1", user="UGP")
    dispatch_command(cluster, "/meeting", "schedule 9/12 12:30 Cluster QI meeting")
    agenda = dispatch_command(cluster, "/meeting", "agenda M1").text
    assert "— 1 practice voted so far" in agenda and "1 practices" not in agenda


def test_a_meeting_that_has_ended_is_not_upcoming(cluster, clock):
    dispatch_command(cluster, "/meeting", "schedule today 10:30 Short huddle for 30m")
    assert "Short huddle" in dispatch_command(cluster, "/meeting", "list").text
    clock.advance(minutes=50)  # 10:50: under way
    assert "Short huddle" in dispatch_command(cluster, "/meeting", "list").text
    clock.advance(minutes=15)  # 11:05: over
    assert "Short huddle" not in dispatch_command(cluster, "/meeting", "list").text


def test_a_typo_asks_did_you_mean_instead_of_the_whole_help(cluster):
    response = dispatch_command(cluster, "/cluster", "jion 80123", user="UNEW")
    assert_refused(response, "“jion” isn't a /cluster command. Did you mean `/cluster join`?")
    assert "For example: `/cluster join 80123`" in response.text
    assert "practice add" not in response.text  # not the whole help
    assert "Did you mean `/poll results`?" in dispatch_command(cluster, "/poll", "reslts P1").text
    nothing_like = dispatch_command(cluster, "/topic", "zzzz")
    assert_refused(nothing_like, "“zzzz” isn't a /topic command.")
    assert "/topic propose" in nothing_like.text  # no close match: the family's commands


def test_help_of_any_family_is_an_answer_not_an_error(cluster):
    response = dispatch_command(cluster, "/topic", "help")
    assert response.json["response_type"] == "ephemeral" and not response.text.startswith(":warning:")
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
