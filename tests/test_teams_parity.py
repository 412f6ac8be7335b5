"""The Teams parity suite (issue 22): every hostile or permission case the Slack suite tests has a twin
here, through the real Teams app (SDK, FastAPI, uvicorn, the gate) and the Microsoft stand-ins. docs/design.md
maps each Slack case to its twin (here, or the older tests/test_teams_*.py that already held it).

Slack's cases come from tests/test_permissions.py (the README's "who may do what" table), test_hostile.py,
test_hostile_http.py, test_hardening_input.py / test_hardening_clusters.py (a button naming another cluster),
test_outage.py and test_http.py (forged requests)."""

import io
import json
import logging
import socket
import threading
import time
import tracemalloc

import pytest
from sqlalchemy.engine import make_url

from bot import logs
from bot.teams import BODY_LIMIT
from commands import UNAVAILABLE, Clusterbot
from commands.registry import BUTTONS, FORMS
from storage.db import Database
from storage.models import Action, Ballot, Cluster, Topic
from testkit.tcp_proxy import TcpProxy
from testkit.teams_app import serve_teams
from testkit.teams_ids import CHANNEL, LEAD, OTHER_CHANNEL, PQL_A, PQL_B, user
from testkit.teams_standin import _base, invoke, message, message_action, submit
from tests.test_hostile import LEAKS, counts
from tests.test_permissions import MATRIX
from tests.test_teams_flows import cluster, rows, say  # noqa: F401  (fixture)

LEAD2, FAR, STRANGER, NEW = user(5), user(6), user(40), user(7)
# Slack's people in tests/test_permissions.py, as Teams people (and the names their mentions show).
PEOPLE = {"ULEAD": LEAD, "UOWN": PQL_A, "UOTHER": PQL_B, "UFAR": FAR, "USTRANGER": STRANGER, "ULEAD2": LEAD2,
          "UNEW": NEW}
NAMES = {LEAD2: "Lead Two", PQL_B: "Sam Ng", NEW: "New Person"}
ONE_TO_ONE = "a:1parityschatwiththebot0123456789AbCdEfGhIjKlMnOpQrStUvWxYz01"


def _record(db) -> dict[str, int]:
    """Rows per table, less what Teams' adapter keeps of whoever writes (names, where to answer)."""
    return {name: count for name, count in counts(db).items() if name not in ("person_name", "conversation_ref")}


def _typed(text: str) -> tuple[str, dict[str, str]]:
    """A Slack-typed command of the matrix as a Teams person types it: each <@U…> an @mention."""
    mentions: dict[str, str] = {}
    for slack_id, teams_id in PEOPLE.items():
        if f"<@{slack_id}>" in text:
            name = NAMES[teams_id]
            text = text.replace(f"<@{slack_id}>", f"@{name}")
            mentions[name] = teams_id
    return text, mentions


def _answers_to(teams_api, person: str) -> list:
    """What the bot sent that `person` sees as its answer: a message to them alone, or a channel post."""
    return [s for s in teams_api.sent if s.method == "POST" and s.body.get("attachments")
            and ("isTargetedActivity=true" not in s.query or s.body.get("recipient", {}).get("id") == person)]


def _answer(teams, teams_api, person: str, activity: dict) -> str:
    """Send `activity`, wait for its answer(s) to be delivered, and return their text."""
    teams_api.reset()
    answer = teams.send(activity, teams_api.headers())
    assert answer.status_code == 200, answer.text
    teams_api.wait_for(lambda s: _answers_to(s, person))
    return "\n".join(s.text for s in _answers_to(teams_api, person))


@pytest.fixture
def world(cluster, teams, teams_api):  # noqa: F811
    """Riverside (CHANNEL) as test_permissions builds it: two leads; the owner (Jane, 80123) made T1, P1, A1,
    A2 (done), M1 and D1; Sam is in 80456. FAR leads only the Hill cluster (OTHER_CHANNEL); STRANGER is of
    the tenant and in no cluster."""
    say(teams, teams_api, LEAD, "cluster lead add @Lead Two", mentions={"Lead Two": LEAD2})
    for typed in ("topic propose Asthma reviews", 'poll "Which first?" "A" "B"', "action add Ring the Board",
                  "action add Old thing", "action done A2", "meeting schedule 3/12/2026 12:30 Cluster QI meeting",
                  "measure add T1 Asthma reviews percent higher is better"):
        said = _answer(teams, teams_api, PQL_A, message(teams_api, PQL_A, typed))
        assert "⚠️" not in said, (typed, said)
        assert teams.delivery.drain()  # all it caused is sent before the next one's answer is read
    say(teams, teams_api, FAR, "cluster setup Hill Cluster", channel=OTHER_CHANNEL)
    teams_api.wait_for(lambda s: [p for p in s.posts(OTHER_CHANNEL) if "Hill Cluster" in p.text])
    assert teams.delivery.drain()
    teams_api.reset()
    return cluster


# --- who may do what (tests/test_permissions.py) -------------------------------------------------------

def test_the_permission_matrix_refuses_in_teams_whom_it_refuses_in_slack(world, teams, teams_api, db):
    """Every row of Slack's matrix, typed in the cluster's channel by each person it refuses: a lead of
    another cluster, a stranger from the tenant, a member of another practice, a member not the owner.
    Refused with the same words, and nothing stored. (Who may, may: test_teams_flows and the rows below.)"""
    before = _record(db)
    refused = 0
    for command, text, may in MATRIX:
        typed, mentions = _typed(f"{command.lstrip('/')} {text}")
        for slack_id, person in PEOPLE.items():
            if slack_id in ("ULEAD2", "UNEW") or slack_id in may:
                continue
            said = _answer(teams, teams_api, person, message(teams_api, person, typed, mentions=mentions))
            assert said.startswith("⚠️"), (slack_id, typed, said)
            assert any(words in said for words in (
                "Only the cluster", "owner", "whoever", "Only members of this cluster", "in no practice",
                "not a member of the cluster")), (slack_id, typed, said)
            assert "/" + command.lstrip("/") + " " not in said  # Teams words: no slash form
            refused += 1
    assert refused > 100 and _record(db) == before


@pytest.mark.parametrize("person, typed", [
    (PQL_B, "topic note T1 plan: audit ten records"),   # any member
    (PQL_A, "action done A1"),                           # the owner
    (LEAD2, "meeting reminders 2d,2h"),                  # a lead
    (STRANGER, "cluster join 80456"),                    # anyone may join
], ids=["member", "owner", "lead", "stranger joins"])
def test_whom_the_matrix_lets_act_acts_in_teams(world, teams, teams_api, db, person, typed):
    said = _answer(teams, teams_api, person, message(teams_api, person, typed))
    assert "⚠️" not in said, said


# --- a channel named by the request's own content (tests/test_hardening_input.py) ------------------

def _hill_poll(teams, teams_api) -> None:
    say(teams, teams_api, FAR, 'poll "Hill question?" "Yes" "No"', channel=OTHER_CHANNEL)
    teams_api.wait_for(lambda s: [p for p in s.posts(OTHER_CHANNEL) if "Hill question?" in p.text])


def _in_chat(teams_api, person: str, data: dict) -> dict:
    activity = _base("message", person, service_url=teams_api.service_url, conversation=ONE_TO_ONE,
                     conversation_type="personal", channel=None, team=None)
    activity.update(value=data, replyToId="78")
    return activity


def test_a_button_or_dialog_naming_another_cluster_needs_membership_there(world, teams, teams_api, db):
    """Slack: test_a_button_naming_another_cluster_needs_membership_there. Jane (Riverside) clicks, in
    Riverside's channel, a vote button forged to name the Hill cluster's channel, as an Action.Submit, as
    a Universal Action and as a dialog: each refused with Hill's name, no ballot, no topic. The same
    button of her own cluster, from her 1:1 chat, votes."""
    _hill_poll(teams, teams_api)
    forged = {"action": "poll.vote", "value": "P1:1", "channel": OTHER_CHANNEL}
    said = _answer(teams, teams_api, PQL_A, submit(teams_api, PQL_A, forged))
    assert "not a member of the cluster “Hill Cluster”" in said
    universal = invoke(teams_api, PQL_A, "adaptiveCard/action", {"action": {"type": "Action.Execute", "data": forged}})
    assert "not a member of the cluster “Hill Cluster”" in _answer(teams, teams_api, PQL_A, universal)
    dialog = {"form": "topic.form", "channel": OTHER_CHANNEL, "context": {}, "opener": {}, "title": "Planted in Hill"}
    said = _answer(teams, teams_api, PQL_A, invoke(teams_api, PQL_A, "task/submit", {"data": dialog}))
    assert "not a member of the cluster “Hill Cluster”" in said
    assert rows(db, Ballot) == [] and [t.title for t in rows(db, Topic)] == ["Asthma reviews"]
    own = {"action": "poll.vote", "value": "P1:1", "channel": CHANNEL}
    said = _answer(teams, teams_api, PQL_A, _in_chat(teams_api, PQL_A, own))
    assert "is now: 1. A" in said
    assert [b.choices for b in rows(db, Ballot)] == ["1"]


def test_a_lead_of_another_cluster_reads_and_writes_nothing_here_from_their_chat(world, teams, teams_api, db):
    """The Hill cluster's lead replays Riverside's buttons from a 1:1 chat: results, list, done."""
    for data in ({"action": "poll.results", "value": "P1", "channel": CHANNEL},
                 {"action": "action.done", "value": "A1", "channel": CHANNEL}):
        said = _answer(teams, teams_api, FAR, _in_chat(teams_api, FAR, data))
        assert "not a member of the cluster “Riverside Cluster”" in said and "Which first?" not in said
    assert [a.status for a in sorted(rows(db, Action), key=lambda a: a.id)] == ["open", "done"]
