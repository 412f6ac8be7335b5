"""Teams' twin of Slack's "Create cluster action" message shortcut (issue 22): an action on a message,
through the real Teams app (SDK, JWTs, the Bot Connector stand-in). Picking it opens the action form as a
dialog, prefilled with the message's text; submitting it creates the action through the product's front
door, with Slack's rules: a stranger from the tenant is refused, a channel the dialog's data names is claimed."""

from datetime import date
from urllib.parse import parse_qs, urlsplit

from bot.teams.extension import FETCH, SUBMIT
from bot.teams.package import Publisher, manifest
from commands.registry import BUTTONS, SHORTCUTS
from storage.models import Action
from testkit.teams_ids import APP_ID, CHANNEL, LEAD, PQL_A, PQL_B, TENANT, user
from testkit.teams_standin import message_action
from tests.test_teams_flows import cluster, rows  # noqa: F401  (fixture)

STRANGER = user(41)  # of NHS Scotland's one tenant, in no cluster
MESSAGE = ("<p>Can someone chase the <b>frailty</b> data &amp; the <at>Sam Ng</at> audit?</p>"
           "<p>By Friday&nbsp;please</p>")
SAID = "Can someone chase the frailty data & the Sam Ng audit?\nBy Friday please"


def _fetch(teams, teams_api, person, **kwargs) -> dict:
    answer = teams.send(message_action(teams_api, person, FETCH, text=MESSAGE, **kwargs), teams_api.headers())
    assert answer.status_code == 200, answer.text
    return answer.json()["task"]


def _form(task: dict) -> dict:
    assert task["type"] == "continue", task
    return task["value"]["card"]["content"]


def _field(card: dict, name: str) -> dict:
    return next(e for e in card["body"] if e.get("id") == name)


def _submit(teams, teams_api, person, data: dict, **kwargs):
    activity = message_action(teams_api, person, SUBMIT, text=MESSAGE, data=data, **kwargs)
    return teams.send(activity, teams_api.headers()), activity


def test_the_action_opens_prefilled_and_creates_the_action_once_with_its_link(cluster, teams, teams_api, db):  # noqa: F811
    task = _fetch(teams, teams_api, PQL_A)
    assert task["value"]["title"] == "Add a cluster action"
    card = _form(task)
    assert _field(card, "description")["value"] == SAID  # the message's words, not its HTML
    data = dict(card["actions"][0]["data"])
    assert data["form"] == "action.form" and data["channel"] == CHANNEL
    link = data["context"]["link"]
    assert link.startswith(f"https://teams.microsoft.com/l/message/{CHANNEL}/")
    assert set(parse_qs(urlsplit(link).query)) == {"tenantId", "groupId", "parentMessageId"}  # no names kept
    assert "Riverside" not in link and "channelName" not in link
    data.update(description=SAID, due="2026-12-04", owner="")
    answer, activity = _submit(teams, teams_api, PQL_A, data)
    assert answer.status_code == 200
    again = teams.send(activity, teams_api.headers())  # Teams delivering the same submission again
    assert again.status_code == 200
    [stored] = rows(db, Action)
    kept = SAID.replace("\n", " ")  # an action's description is one line
    assert (stored.description, stored.owner, stored.created_by, stored.due_on) == (kept, PQL_A, PQL_A,
                                                                                     date(2026, 12, 4))
    assert stored.source_link == link
    posted = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "added an action" in p.text])
    assert "A1" in posted[0].text and "chase the frailty data" in posted[0].text
    assert teams.delivery.drain()
    assert len([p for p in teams_api.posts(CHANNEL) if "added an action" in p.text]) == 1


def test_a_problem_in_the_form_keeps_the_dialog_open_with_what_was_typed(cluster, teams, teams_api, db):  # noqa: F811
    data = dict(_form(_fetch(teams, teams_api, PQL_A))["actions"][0]["data"])
    data.update(description="Chase the frailty data", due="9999-01-01")
    answer, _ = _submit(teams, teams_api, PQL_A, data)
    card = _form(answer.json()["task"])
    assert _field(card, "description")["value"] == "Chase the frailty data"
    warnings = [e["text"] for e in card["body"] if e.get("type") == "TextBlock" and e["text"].startswith("⚠️")]
    assert warnings and "years away" in warnings[0]
    assert rows(db, Action) == []


def test_a_stranger_from_the_tenant_is_refused_in_the_dialog_and_creates_nothing(cluster, teams, teams_api, db):  # noqa: F811
    task = _fetch(teams, teams_api, STRANGER)
    assert task["type"] == "message"
    assert "not a member of the cluster" in task["value"] and "Riverside Cluster" in task["value"]
    assert "/cluster" not in task["value"]  # Teams words
    # The form's data written by hand, as a stranger could: refused by the same rule, and told so.
    data = {"form": "action.form", "context": {}, "channel": CHANNEL, "description": "Planted by a stranger"}
    answer, _ = _submit(teams, teams_api, STRANGER, data)
    assert answer.status_code == 200
    told = teams_api.wait_for(lambda s: [t for t in s.targeted() + s.posts() if "not a member" in t.text])
    assert "/cluster" not in told[0].text
    assert rows(db, Action) == []


def test_a_dialog_naming_a_cluster_from_elsewhere_needs_membership_there(cluster, teams, teams_api, db):  # noqa: F811
    """The dialog's data is the sender's to write: a channel named only there is claimed, as a Slack form's
    private_metadata is. A message in another channel (no cluster) carrying Riverside's channel: a stranger
    is refused, a member of Riverside is served."""
    elsewhere = "19:somewhereelseinthetenant0123456789abcd@thread.tacv2"
    data = {"form": "action.form", "context": {}, "channel": CHANNEL, "description": "Claimed from elsewhere"}
    _submit(teams, teams_api, STRANGER, data, channel=elsewhere)
    teams_api.wait_for(lambda s: [t for t in s.targeted() + s.posts() if "not a member of the cluster" in t.text])
    assert rows(db, Action) == []
    _submit(teams, teams_api, PQL_B, data, channel=elsewhere)
    teams_api.wait_for(lambda s: rows(db, Action))
    [stored] = rows(db, Action)
    assert (stored.description, stored.created_by) == ("Claimed from elsewhere", PQL_B)


def test_on_a_message_outside_a_cluster_it_says_where_it_works(cluster, teams, teams_api, db):  # noqa: F811
    chat = "a:1janeschatwiththebotformessageactions0123456789AbCdEfGhIjKl"
    task = _fetch(teams, teams_api, PQL_A, personal=chat)
    assert task["type"] == "message" and "cluster's channel" in task["value"]
    elsewhere = "19:notaclusterchannel00000000000000000000@thread.tacv2"
    task = _fetch(teams, teams_api, LEAD, channel=elsewhere)
    assert task["type"] == "message" and "isn't a cluster yet" in task["value"]
    task = _fetch(teams, teams_api, LEAD, command="action.made_up")
    assert task["type"] == "message"
    assert rows(db, Action) == []


def test_the_package_offers_each_registry_shortcut_as_an_action_on_a_message():
    publisher = Publisher("NHS Lothian eHealth", "https://example.nhs.scot/c", "https://example.nhs.scot/p",
                          "https://example.nhs.scot/t")
    document = manifest(APP_ID, publisher, "1.2.3")
    [extension] = document["composeExtensions"]
    assert extension["botId"] == APP_ID == document["bots"][0]["botId"]  # the same bot answers it
    commands = extension["commands"]
    assert [c["id"] for c in commands] == [action for _, action, _ in SHORTCUTS]
    assert [c["title"] for c in commands] == ["Create cluster action"]
    for command in commands:
        assert command["id"] in BUTTONS  # the button the shortcut runs in Slack, run here too
        assert command["type"] == "action" and command["context"] == ["message"] and command["fetchTask"] is True
        # the manifest schema's limits (v1.22): id ≤ 64, title ≤ 32, description ≤ 128, at most 10 commands
        assert len(command["id"]) <= 64 and len(command["title"]) <= 32 and len(command["description"]) <= 128
        assert set(command) <= {"id", "type", "title", "description", "context", "fetchTask", "initialRun",
                                "parameters", "taskInfo"}
    assert len(commands) <= 10 and TENANT not in str(commands)
