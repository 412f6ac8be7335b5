"""Guests in Teams (issue 22 #9), through the real Teams app: the Bot Connector stand-in's roster says who
is the tenant's guest (userRole "guest": an Entra B2B guest from the HSCP) or fails to answer."""

import pytest

from storage.models import Ballot, Member
from testkit.teams_ids import CHANNEL, LEAD, NURSE, PQL_A, TEAM
from testkit.teams_standin import Fault, submit
from tests.test_teams_flows import cluster, rows, say  # noqa: F401  (fixture)

FILE_OFFER = "application/vnd.microsoft.teams.card.file.consent"


def _poll_votes(teams, teams_api):
    say(teams, teams_api, LEAD, 'poll "Which topic first?" "Asthma" "Frailty"')
    card = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Which topic first?" in p.text])[0]
    return [a["data"] for s in card.card["body"] if s["type"] == "ActionSet" for a in s["actions"]
            if a["data"]["action"] == "poll.vote"]


def _told(teams_api, person: str, words: str) -> str:
    """What the bot answered `person` alone (a targeted message in the channel) containing `words`."""
    found = teams_api.wait_for(lambda s: [t for t in s.targeted() if t.body["recipient"]["id"] == person
                                          and words in t.text])
    return found[0].text


def _offers(teams_api) -> list:
    return [p for p in teams_api.posts() if p.body.get("attachments", [{}])[0].get("contentType") == FILE_OFFER]


def test_a_guest_joins_and_votes_but_the_export_is_refused_and_who_marks_them(cluster, teams, teams_api, db):  # noqa: F811
    teams_api.roles[NURSE] = "guest"
    say(teams, teams_api, NURSE, "cluster join 80456")
    teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "joined" in p.text])
    votes = _poll_votes(teams, teams_api)
    assert teams.send(submit(teams_api, NURSE, votes[1]), teams_api.headers()).status_code == 200
    teams_api.wait_for(lambda s: rows(db, Ballot))
    assert {b.cast_by: b.choices for b in rows(db, Ballot)} == {NURSE: "2"}

    say(teams, teams_api, NURSE, "cluster export")
    refused = _told(teams_api, NURSE, "Guests can join, vote and add actions")
    assert "cluster guests export on" in refused and "/cluster" not in refused  # Teams words, no slash
    say(teams, teams_api, LEAD, "cluster who")
    who = _told(teams_api, LEAD, "Leads:")
    assert "(guest)" in who and who.count("(guest)") == 1
    assert teams.delivery.drain()
    assert _offers(teams_api) == []  # no workbook was offered to anyone
    assert {m.user_id: m.guest for m in rows(db, Member)}[NURSE] is True
    # Asked of the team, once for all of the guest's messages and clicks (the roster keeps the answer).
    assert teams_api.roster_asks.count((TEAM, NURSE)) == 1


def test_a_lead_allowing_guests_lets_the_guest_export(cluster, teams, teams_api, db):  # noqa: F811
    teams_api.roles[NURSE] = "guest"
    say(teams, teams_api, NURSE, "cluster join 80456")
    say(teams, teams_api, LEAD, "cluster guests export on")
    teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "allowed guests" in p.text])
    say(teams, teams_api, NURSE, "cluster export")
    teams_api.wait_for(lambda s: _offers(s))


@pytest.mark.parametrize("fault", [Fault(status=503, times=1000), Fault(status=429, times=1000, retry_after=30),
                                   Fault(delay=4.0)], ids=["refused", "rate limited", "slow"])
def test_no_answer_from_the_roster_refuses_the_export_politely_and_accepts_the_vote(cluster, teams, teams_api, db,  # noqa: F811
                                                                                     fault):
    teams_api.faults["member"] = fault  # slow: past the 3 s the adapter waits (ROSTER_TIMEOUT)
    votes = _poll_votes(teams, teams_api)
    assert teams.send(submit(teams_api, PQL_A, votes[0]), teams_api.headers()).status_code == 200
    teams_api.wait_for(lambda s: rows(db, Ballot))
    assert {b.cast_by: b.choices for b in rows(db, Ballot)} == {PQL_A: "1"}

    say(teams, teams_api, PQL_A, "cluster export")
    refused = _told(teams_api, PQL_A, "I couldn't check whether you're a guest")
    assert "try again shortly" in refused
    assert teams.delivery.drain()
    assert _offers(teams_api) == []
    # A roster that does not answer is asked again only after a while, not on every message.
    assert teams_api.roster_asks.count((TEAM, PQL_A)) == 1
