"""The front door in Teams: a stranger from the same tenant replaying a card's button or a dialog's data
from a 1:1 chat is refused as Slack refuses it; a member doing the same is served. Through the real
Teams app (SDK, JWTs, the Bot Connector stand-in)."""

from sqlmodel import select

from storage.models import Topic
from testkit.teams_ids import CHANNEL, PQL_A, user
from testkit.teams_standin import _base, invoke
from tests.test_teams_flows import cluster, rows, say  # noqa: F401  (fixture)

STRANGER = user(40)  # in the tenant, in no cluster
ONE_TO_ONE = "a:1strangerschatwiththebot0123456789AbCdEfGhIjKlMnOpQrStUvWxYz"


def _button_in_a_chat(teams_api, person: str, data: dict, chat: str = ONE_TO_ONE) -> dict:
    """A card button clicked in a 1:1 chat (Action.Submit: a message whose value is the button's data)."""
    activity = _base("message", person, service_url=teams_api.service_url, conversation=chat,
                     conversation_type="personal", channel=None, team=None)
    activity.update(value=data, replyToId="78")
    return activity


def _answers_in(teams_api, chat: str) -> list:
    return teams_api.wait_for(lambda s: [p for p in s.posts(chat)] or [t for t in s.targeted()
                                                                          if t.conversation == chat])


def test_a_stranger_replaying_a_results_button_from_a_chat_is_refused(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, PQL_A, 'poll "Which audit first?" "Asthma secret" "Frailty"')
    teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Which audit first?" in p.text])
    teams_api.reset()
    data = {"action": "poll.results", "value": "P1", "channel": CHANNEL}
    answer = teams.send(_button_in_a_chat(teams_api, STRANGER, data), teams_api.headers())
    assert answer.status_code == 200
    said = " ".join(p.text for p in _answers_in(teams_api, ONE_TO_ONE))
    assert "not a member of the cluster" in said and "Riverside Cluster" in said
    assert "Asthma secret" not in said and "Which audit first?" not in said


def test_a_member_pressing_the_same_button_from_their_chat_gets_the_results(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, PQL_A, 'poll "Which audit first?" "Asthma secret" "Frailty"')
    teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Which audit first?" in p.text])
    teams_api.reset()
    chat = "a:1janeschatwiththebot0123456789AbCdEfGhIjKlMnOpQrStUvWxYz"
    data = {"action": "poll.results", "value": "P1", "channel": CHANNEL}
    assert teams.send(_button_in_a_chat(teams_api, PQL_A, data, chat), teams_api.headers()).status_code == 200
    said = " ".join(p.text for p in _answers_in(teams_api, chat))
    assert "Which audit first?" in said and "not a member" not in said


def test_a_stranger_submitting_a_topic_dialog_from_a_chat_creates_nothing(cluster, teams, teams_api, db):  # noqa: F811
    data = {"form": "topic.form", "channel": CHANNEL, "context": {}, "opener": {"command": "/topic", "text": "form"},
            "title": "Planted by a stranger", "description": ""}
    answer = teams.send(invoke(teams_api, STRANGER, "task/submit", {"data": data}, personal=ONE_TO_ONE),
                        teams_api.headers())
    assert answer.status_code == 200
    with db.session() as session:
        assert session.exec(select(Topic)).all() == []
    said = " ".join(p.text for p in _answers_in(teams_api, ONE_TO_ONE))
    assert "not a member of the cluster" in said
