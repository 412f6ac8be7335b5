"""Person fields (issue 26): a user id is taken only from what looks like one of the platform's people.

A typed <@0101011237> (a CHI number posing as a mention) and a CHI number in the Teams dialog's Owner box
once became an action's owner or a member, stored unscreened and written into the workbook by id. The
rule is written once in the product (`parsing.looks_like_person`, checked for every command and form
value), so it is tested through the driver, the console and the real Teams app (stand-in)."""

import io

import openpyxl
import pytest
from sqlmodel import select

from bot.console import run_line
from commands.context import Caller
from commands.text.parsing import looks_like_person
from storage.models import Action, Attendance, Member
from testkit import factories
from testkit.driver import refused
from testkit.teams_ids import CHANNEL, LEAD, PQL_A, PQL_B
from testkit.teams_standin import invoke
from tests.test_teams_flows import cluster, say  # noqa: F401  (fixture)

CHI = "0101011237"  # passes the modulus-11 check


@pytest.fixture
def driven(driver):
    factories.riverside(driver.say, practices=2)
    return driver


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model)))


def workbook_cells(product, channel) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(product.export(channel).content), read_only=True)
    return [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c]


@pytest.mark.parametrize("user_id, platform, person", [
    ("U0G9QF9C6", "slack", True), ("W012A3CDE", "slack", True), (CHI, "slack", False), ("u0g9qf9c6", "slack", False),
    ("29:1AbC0101011237xyz", "slack", False),
    ("29:1AbC0101011237xyz-_", "teams", True), (CHI, "teams", False), ("U0G9QF9C6", "teams", False),
    ("Sam Ng", "teams", False), ("29:", "teams", False),
    ("seònaid", "console", True), ("o'neill", "console", True), (CHI, "console", False),
    (f"x{CHI}", "console", False),  # a name is typed text: the guard reads it
    ("ULEAD", "driver", True), (CHI, "driver", False),  # a platform not listed: any listed platform's shape
])
def test_a_user_id_must_look_like_one_of_the_platforms(user_id, platform, person):
    assert looks_like_person(user_id, platform) is person


@pytest.mark.parametrize("typed", [
    f"/action add Call the practice back <@{CHI}>",
    f"/action add Call the practice back <@{CHI}|Jane>",
    f"/cluster member add <@{CHI}> 80123",
    f"/cluster lead add <@{CHI}>",
    "/action assign A1 <@0101011237>",
    f"/meeting attended M1 80123 <@{CHI}>",
    f"/topic propose Asthma reviews with <@{CHI}>",
])
def test_a_typed_mention_of_a_number_is_refused_and_nothing_is_stored(driven, db, product, typed):
    driven.say("/action add Book the room", user="UGP")
    driven.say("/meeting schedule 3/12 12:30 Prescribing")
    before = {model: len(rows(db, model)) for model in (Action, Member, Attendance)}
    refused(driven.say(typed), "isn't a person")
    assert {model: len(rows(db, model)) for model in (Action, Member, Attendance)} == before
    assert [a.owner for a in rows(db, Action)] == ["UGP"]
    assert not [c for c in workbook_cells(product, "CCLUSTER") if CHI in c]


@pytest.mark.parametrize("owner", [CHI, f"<@{CHI}>", "010101 1237", "Sam Ng"])
def test_the_action_forms_owner_must_be_a_person(driven, db, product, owner):
    said = driven.submit("action.form", {"description": "Write to the HSCP", "owner": owner}, user="UGP")
    assert list(said.field_errors) == ["owner"] and "isn't a person" in said.field_errors["owner"]
    assert CHI not in said.field_errors["owner"] and "Sam" not in said.field_errors["owner"]  # not said back
    assert rows(db, Action) == []
    assert not [c for c in workbook_cells(product, "CCLUSTER") if CHI in c]


def test_the_action_forms_owner_picked_or_left_empty_still_works(driven, db):
    driven.submit("action.form", {"description": "Write to the HSCP", "owner": "UNURSE"}, user="UGP")
    driven.submit("action.form", {"description": "Book the room", "owner": ""}, user="UGP")
    assert [(a.description, a.owner) for a in rows(db, Action)] == [("Write to the HSCP", "UNURSE"),
                                                                      ("Book the room", "UGP")]


def test_a_form_value_holding_a_mention_of_a_number_is_refused_on_its_field(driven, db):
    said = driven.submit("action.form", {"description": f"Ring <@{CHI}> back", "owner": ""}, user="UGP")
    assert list(said.field_errors) == ["description"]
    assert rows(db, Action) == []


def test_the_console_refuses_a_number_typed_as_a_person(product, db):
    caller = Caller("alice", "console", "T-CONSOLE")
    run_line(product, "/cluster setup Console Cluster", caller)
    run_line(product, "/cluster practice add 80123 Riverside Medical Practice", caller)
    assert "isn't a person" in run_line(product, f"/cluster member add @{CHI} 80123", caller)
    assert "isn't a person" in run_line(product, f"/action add Ring the practice @{CHI}", caller)
    assert "added @bob" in run_line(product, "/cluster member add @bob 80123", caller)
    assert {m.user_id for m in rows(db, Member)} == {"alice", "bob"} and rows(db, Action) == []


def _action_dialog(teams, teams_api, user):
    say(teams, teams_api, user, "action")
    answer = teams_api.wait_for(lambda s: s.targeted())[0]
    opener = [a for s in answer.card["body"] if s["type"] == "ActionSet" for a in s["actions"]
              if a.get("data", {}).get("msteams") == {"type": "task/fetch"}][0]
    fetched = teams.send(invoke(teams_api, user, "task/fetch", {"data": opener["data"]}), teams_api.headers())
    return fetched.json()["task"]["value"]["card"]["content"]


@pytest.mark.parametrize("owner", [CHI, f"<@{CHI}>", "010 101 1237", "Sam Ng"])
def test_a_number_in_the_teams_dialogs_owner_box_is_refused_and_never_reaches_the_workbook(
        cluster, teams, teams_api, db, product, owner):  # noqa: F811
    form = _action_dialog(teams, teams_api, PQL_A)
    assert "owner" in [e.get("id") for e in form["body"]]
    data = dict(form["actions"][0]["data"], description="Audit inhaler technique", owner=owner)
    retry = teams.send(invoke(teams_api, PQL_A, "task/submit", {"data": data}), teams_api.headers()).json()["task"]
    assert retry["type"] == "continue"  # the dialog again, the problem under the Owner box
    body = retry["value"]["card"]["content"]["body"]
    at = [i for i, e in enumerate(body) if e.get("id") == "owner"][0]
    assert body[at + 1]["text"].startswith("⚠️") and "isn't a person" in body[at + 1]["text"]
    assert rows(db, Action) == []
    data.update(owner="")  # left empty: the action is the person's own
    assert teams.send(invoke(teams_api, PQL_A, "task/submit", {"data": data}), teams_api.headers()).status_code == 200
    assert [a.owner for a in rows(db, Action)] == [PQL_A]
    assert teams.delivery.drain()
    assert not [c for c in workbook_cells(product, CHANNEL) if "0101011237" in c.replace(" ", "")]


def test_a_teams_mention_is_still_a_person_and_typed_mention_text_never_one(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, PQL_A, "action add Audit inhaler technique @Sam Ng", mentions={"Sam Ng": PQL_B})
    say(teams, teams_api, PQL_A, f"action assign A1 <@{CHI}>")
    say(teams, teams_api, LEAD, f"cluster member add &lt;@{CHI}&gt; 80123")
    assert teams.delivery.drain()
    assert [a.owner for a in rows(db, Action)] == [PQL_B]
    assert {m.user_id for m in rows(db, Member)} == {LEAD, PQL_A, PQL_B}


def test_a_number_stored_as_a_person_before_the_rule_is_withheld_from_the_workbook(driven, db, product):
    driven.say("/action add Book the room", user="UGP")
    with db.session() as session:  # as a typed <@0101011237> stored it before user ids were checked
        action = session.exec(select(Action)).one()
        action.owner = CHI
        session.add(action)
    cells = workbook_cells(product, "CCLUSTER")
    assert "[withheld: looked like a patient identifier]" in cells and not [c for c in cells if CHI in c]
    assert "Person UGP" in cells  # the creator, named as the platform names them
