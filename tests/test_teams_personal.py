"""The 1:1 chat is the person's Home in Teams: personal commands answer for the person's cluster(s), its
buttons act on that cluster, `home` shows it, and no cluster can be set up in a private chat."""

from sqlmodel import select

from storage.models import Action, Cluster
from testkit.teams_ids import CHANNEL, PQL_A
from testkit.teams_standin import submit
from tests.test_teams_flows import cluster, say  # noqa: F401  (fixture)

CHAT = "a:1janeschatwiththebotAbCdEfGhIjKlMnOpQrStUvWxYz0123456789zz"


def _answer(teams_api):
    return teams_api.wait_for(lambda s: s.posts(CHAT))[-1]


def test_personal_lists_in_the_chat_answer_for_the_persons_cluster(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, PQL_A, "action add Audit asthma discharges due friday week")
    say(teams, teams_api, PQL_A, 'poll "Which audit first?" "Asthma" "Frailty"')
    say(teams, teams_api, PQL_A, "meeting schedule 10/12/2026 12:30 Cluster QI meeting")
    teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Which audit first?" in p.text])
    assert teams.delivery.drain()
    for typed, expected in (("action list mine", "Audit asthma discharges"), ("poll list", "Which audit first?"),
                            ("meeting list", "Cluster QI meeting"), ("topic list", "Riverside")):
        teams_api.reset()
        say(teams, teams_api, PQL_A, typed, personal=CHAT)
        answer = _answer(teams_api)
        assert expected in answer.text and "isn't a cluster" not in answer.text, (typed, answer.text)


def test_a_done_button_in_the_chat_list_acts_on_the_cluster(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, PQL_A, "action add Audit asthma discharges due friday week")
    assert teams.delivery.drain()
    teams_api.reset()
    say(teams, teams_api, PQL_A, "action list mine", personal=CHAT)
    done = [a for s in _answer(teams_api).card["body"] if s["type"] == "ActionSet" for a in s["actions"]
            if a["data"]["action"] == "action.done"][0]
    assert done["data"]["channel"] == CHANNEL  # the button names its cluster
    activity = submit(teams_api, PQL_A, done["data"])
    activity["conversation"] = {"id": CHAT, "conversationType": "personal", "tenantId": activity["conversation"]
                                ["tenantId"]}
    activity["channelData"] = {"tenant": activity["channelData"]["tenant"]}
    assert teams.send(activity, teams_api.headers()).status_code == 200
    teams_api.wait_for(lambda s: [r for r in _rows(db, Action) if r.status == "done"])


def test_home_in_the_chat_shows_the_cluster(cluster, teams, teams_api):  # noqa: F811
    say(teams, teams_api, PQL_A, "home", personal=CHAT)
    assert "Riverside Cluster" in _answer(teams_api).text


def test_no_cluster_is_set_up_in_a_private_chat(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, PQL_A, "cluster setup My Private Cluster", personal=CHAT)
    answer = _answer(teams_api)
    assert "channel" in answer.text and "@clusterbot cluster setup" not in answer.text
    assert [c.name for c in _rows(db, Cluster)] == ["Riverside Cluster"]


def _rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model)))


def test_adding_the_app_for_yourself_greets_you_in_the_chat(teams, teams_api):
    from testkit.teams_standin import BOT_ID, _base

    activity = _base("conversationUpdate", PQL_A, service_url=teams_api.service_url, conversation=CHAT,
                     conversation_type="personal", channel=None, team=None)
    activity["membersAdded"] = [{"id": BOT_ID}]
    assert teams.send(activity, teams_api.headers()).status_code == 200
    hello = _answer(teams_api)
    assert hello.text.startswith("Hello <at>Person ") and "! I'm clusterbot" in hello.text  # by name
    assert "home" in hello.text and "action list mine" in hello.text
    assert "/action" not in hello.text  # the chat's own words: no slash, no mention needed


def test_the_channel_welcome_thanks_the_installer_by_mention(teams, teams_api):
    from testkit.teams_ids import LEAD
    from testkit.teams_standin import BOT_ID, members_added

    assert teams.send(members_added(teams_api, BOT_ID, by=LEAD), teams_api.headers()).status_code == 200
    hello = teams_api.wait_for(lambda s: s.posts(CHANNEL))[0]
    assert "Thanks for adding me" in hello.text and "@clusterbot cluster setup" in hello.text
    assert LEAD in [e["mentioned"]["id"] for e in hello.card["msteams"]["entities"]]
