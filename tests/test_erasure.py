"""A person can be erased and shown what is held about them (issue 26: after `/cluster member remove` their
id remained in 7 tables, Teams display names were kept for ever, and a daily digest was still queued to
them). `/cluster forget` (a lead, their cluster), `python -m bot forget` and `subject-access` (the operator,
the deployment), and the data map they are driven by, which fails here when a column is not classified."""

from datetime import UTC, date, datetime, timedelta

import openpyxl
import pytest
import time_machine
from sqlalchemy import JSON, String, Text, select
from sqlmodel import SQLModel

from bot.__main__ import main
from commands import Clusterbot
from commands.results import Direct, plain_text
from storage import conversations, data_map, names
from storage.mentions import FORMER_MEMBER
from storage.models import Action, Ballot, Decision, DigestSent, Member, Outbox, PersonName, Topic
from testkit import factories
from testkit.driver import Driver, refused
from testkit.helpers import statements
from testkit.teams_ids import LEAD, PQL_A
from tests.test_scale import _full_scans
from tests.test_teams_flows import cluster, say  # noqa: F401  (cluster: the Teams set-up, a fixture)

GP, NAME = "UGP", "Gail Pettigrew"
SECOND = "CSECOND"


def ok(driver: Driver, typed: str, user: str = "ULEAD", channel: str | None = None):
    said = driver.say(typed, user=user, channel=channel)
    assert said.reply.tone.value != "problem", (typed, said.text)
    return said


def history(driver: Driver, db, channel: str | None = None) -> None:
    """Riverside, where GP (of practice 80123) has left a trace in every kind of table."""
    factories.riverside(lambda typed, user="ULEAD", channel=channel: driver.say(typed, user=user, channel=channel),
                        channel=channel or factories.CHANNEL)
    for typed, user in [
        (f"/cluster lead add <@{GP}>", "ULEAD"),                         # leads write minutes
        ("/topic propose Asthma reviews after discharge -- fewer readmissions", GP),
        ("/topic note T1 plan: audit in January", GP),
        ('/poll "Which audit first?" "Asthma" "Frailty"', GP),           # P1, per practice
        ("/poll vote P1 1", GP),                                           # the practice's ballot
        ('/poll "Lunch or evening?" "Lunch" "Evening" per person', "ULEAD"),
        ("/poll vote P2 2", GP),                                           # GP's own ballot
        (f"/action add Chase the discharge letters <@{GP}> due tomorrow", "ULEAD"),
        ("/action add Audit list due 30/12/2026", GP),
        ("/action note A1 Asked the ward twice", GP),
        ("/action done A2", GP),
        ("/meeting schedule 10/12/2026 13:00 Cluster meeting", "ULEAD"),  # M1
        ("/meeting item M1 Asthma audit results", GP),
        (f"/meeting item M1 Ask <@{GP}> to present the audit", "UPM"),
        ("/meeting record 20/11/2026 13:00 November meeting", "ULEAD"),   # M2
        (f"/meeting attended M2 <@{GP}> 80456", "ULEAD"),
        (f"/meeting note M2 <@{GP}|Gail> presented the audit", GP),
        ("/meeting decision M2 Start the asthma audit", GP),
        ("/measure add T1 Reviews within 2 weeks percent higher is better", "ULEAD"),
        ("/measure record D1 10/2026 44/100", GP),
        ("/measure record D1 10/2026 45/100", GP),                        # the first goes to history
        ("/action add Bring the asthma list <@UNURSE> due 30/12/2026", GP),  # a DM to the nurse names GP
    ]:
        ok(driver, typed, user, channel)
    with db.session() as session:
        names.save_name(session=session, user_id=GP, name=NAME)
        conversations.save_reference(session=session, conversation_id="a:1-chat-of-gp", kind="personal",
                                     service_url="https://smba.example/", tenant_id="T-TENANT", bot_id="28:bot",
                                     user_id=GP)


def queue_digest(product: Clusterbot, clock) -> None:
    """The morning's digest to GP (owner of A1, due tomorrow) queued in the outbox and not yet sent."""
    clock.set(datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    assert GP in [e.user_id for e in product.tick() if isinstance(e, Direct)]


def holders_of(db, *needles: str) -> list[str]:
    """"table.column" of every text column of every table holding any of `needles`, read whole."""
    found = []
    with db.session(read_only=True) as session:
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                kind = getattr(column.type, "impl", column.type)  # SQLModel's AutoString decorates String
                if not isinstance(kind, String | Text | JSON) and not isinstance(column.type, String | JSON):
                    continue
                for value in session.execute(select(column)).scalars():
                    text = str(value)
                    if any(needle in text for needle in needles):
                        found.append(f"{table.name}.{column.name}")
                        break
    return sorted(set(found))


def outbox_to(db, user_id: str) -> list[Outbox]:
    with db.session(read_only=True) as session:
        return list(session.exec(select(Outbox).where(Outbox.channel == user_id)).scalars())


# --- a lead erases a person from their cluster ------------------------------------------------------

def test_forget_erases_the_person_and_keeps_the_clusters_record(driver, db, product, clock):
    history(driver, db)
    queue_digest(product, clock)
    before = holders_of(db, GP, NAME)
    assert outbox_to(db, GP) and len(before) >= 20
    with db.session(read_only=True) as session:
        [practice_ballot] = session.exec(select(Ballot).where(Ballot.voter_key.like("practice:%"))).scalars()
    first = driver.say(f"/cluster forget <@{GP}>")
    assert "cannot be undone" in first.text and "/cluster forget @Jane confirm" in first.text
    assert holders_of(db, GP, NAME) == before  # nothing erased yet
    said = ok(driver, f"/cluster forget <@{GP}> confirm")
    assert said.in_channel and GP not in said.text

    assert holders_of(db, GP, NAME, "Gail") == []
    assert outbox_to(db, GP) == []  # the queued digest is gone
    with db.session(read_only=True) as session:
        topic = session.exec(select(Topic)).scalars().one()
        assert (topic.title, topic.proposed_by) == ("Asthma reviews after discharge", FORMER_MEMBER)
        actions = {a.short_id: a for a in session.exec(select(Action)).scalars()}
        assert actions["A1"].owner == FORMER_MEMBER and actions["A1"].description == "Chase the discharge letters"
        assert actions["A2"].done_by == FORMER_MEMBER and actions["A2"].status == "done"
        [decision] = session.exec(select(Decision)).scalars()
        assert (decision.text, decision.by) == ("Start the asthma audit", FORMER_MEMBER)
        kept = session.get(Ballot, practice_ballot.id)
        assert (kept.voter_key, kept.practice_id, kept.choices) == (
            practice_ballot.voter_key, practice_ballot.practice_id, practice_ballot.choices)
        assert kept.cast_by == FORMER_MEMBER
        people = sorted(m.user_id for m in session.exec(select(Member)).scalars())
    assert people == ["ULEAD", "UNURSE", "UPM"]
    assert "a former member" in driver.say("/action show A1").text
    assert "Ask a former member to present the audit" in driver.say("/meeting agenda M1").text
    clock.set(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
    assert [e for e in product.tick() if isinstance(e, Direct)] == []  # no digest to "a former member"


def test_a_lead_erases_only_their_own_cluster(driver, db):
    history(driver, db)
    history(driver, db, channel=SECOND)
    ok(driver, f"/cluster forget <@{GP}> confirm")
    with db.session(read_only=True) as session:
        owners = {a.cluster_id: a.owner for a in session.exec(select(Action).where(Action.short_id == "A1"))
                  .scalars()}
        assert sorted(owners.values()) == sorted([FORMER_MEMBER, GP])
        assert session.get(PersonName, GP).name == NAME  # still in the second cluster: their name stays
    # The second cluster's rows keep them: its membership, their mention in its agenda, their 1:1 chat.
    assert {"member.user_id", "agenda_item.text", "conversation_ref.user_id"} <= set(holders_of(db, GP))
    assert "Ask @UGP to present" in driver.say("/meeting agenda M1", channel=SECOND).text


def test_only_a_lead_may_forget_and_a_cluster_keeps_a_lead(driver, db):
    history(driver, db)
    refused(driver.say("/cluster forget <@UPM> confirm", user="UNURSE"), "leads")
    ok(driver, f"/cluster lead remove <@{GP}>")
    refused(driver.say("/cluster forget <@ULEAD> confirm"), "always needs a lead")
    refused(driver.say("/cluster forget Jane confirm"), "isn't a mention")
    assert "Nothing about that person is held" in driver.say("/cluster forget <@USTRANGER> confirm").text
    assert len(holders_of(db, GP)) >= 20
    with db.session(read_only=True) as session:
        assert session.exec(select(Member).where(Member.user_id == "UPM")).first() is not None


def test_member_remove_drops_what_is_queued_to_them(driver, db, product, clock):
    """The finding: a removed person's digest was still queued. It goes from the outbox, and no new
    one is queued for someone no longer in the cluster."""
    history(driver, db)
    queue_digest(product, clock)
    ok(driver, f"/cluster member remove <@{GP}>")
    assert [row for row in outbox_to(db, GP) if row.sent_at is None] == []
    clock.set(datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
    assert [e for e in product.tick() if isinstance(e, Direct) and e.user_id == GP] == []


def test_names_of_people_in_no_cluster_and_digest_days_are_purged_after_the_retention(db, clock):
    clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), tick=False) as machine:
        product = Clusterbot(db, clock=clock, retention_days=30)
        driver = Driver(product, clock)
        factories.riverside(driver.say)
        with db.session() as session:
            for user in ("UGP", "UGONE"):
                names.save_name(session=session, user_id=user, name=f"Name of {user}")
            session.add(DigestSent(team_id="T1", user_id="UGP", day=date(2026, 11, 26)))
            session.add(DigestSent(team_id="T1", user_id="UGP", day=date(2026, 12, 26)))
        clock.advance(days=31)
        machine.shift(timedelta(days=31))
        product.tick()
        with db.session(read_only=True) as session:
            # UGP is in the cluster: their name stays however old; UGONE is in none.
            assert [n.user_id for n in session.exec(select(PersonName)).scalars()] == ["UGP"]
            assert [d.day for d in session.exec(select(DigestSent)).scalars()] == [date(2026, 12, 26)]


# --- the operator: across the deployment -------------------------------------------------------------

@pytest.mark.database
def test_the_cli_forgets_a_person_everywhere_without_scanning_a_table(driver, db, product, clock, monkeypatch,
                                                                      capsys):
    history(driver, db)
    history(driver, db, channel=SECOND)
    queue_digest(product, clock)
    monkeypatch.setenv("DATABASE_URL", db.url)
    with statements(db) as seen:
        assert main(["forget", "--person", f"<@{GP}>"]) == 0
    assert "Erased UGP from every cluster" in capsys.readouterr().out
    assert holders_of(db, GP, NAME, "Gail") == []
    with db.session(read_only=True) as session:
        assert [a.owner for a in session.exec(select(Action).where(Action.short_id == "A1")).scalars()] == [
            FORMER_MEMBER, FORMER_MEMBER]
    assert not _full_scans(db, seen), _full_scans(db, seen)
    assert main(["forget", "--person", GP]) == 0
    assert "Nothing is held about UGP" in capsys.readouterr().out


@pytest.mark.database
def test_a_leads_forget_reads_no_table_whole(driver, db):
    history(driver, db)
    with statements(db) as seen:
        ok(driver, f"/cluster forget <@{GP}> confirm")
    assert not _full_scans(db, seen), _full_scans(db, seen)


def test_the_cli_refuses_to_leave_a_cluster_without_a_lead(driver, db, monkeypatch, capsys):
    history(driver, db)
    ok(driver, f"/cluster lead remove <@{GP}>")
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert main(["forget", "--person", "ULEAD"]) == 2
    assert "only lead of Riverside" in capsys.readouterr().err
    assert main(["forget", "--person", "two words"]) == 2
    with db.session(read_only=True) as session:
        assert session.exec(select(Member).where(Member.user_id == "ULEAD")).first() is not None


@pytest.mark.database
def test_subject_access_writes_everything_held_one_sheet_per_kind(driver, db, product, clock, monkeypatch,
                                                                  tmp_path):
    history(driver, db)
    queue_digest(product, clock)
    monkeypatch.setenv("DATABASE_URL", db.url)
    out = tmp_path / "gail.xlsx"
    with statements(db) as seen:
        assert main(["subject-access", "--person", GP, "--out", str(out)]) == 0
    assert not _full_scans(db, seen), _full_scans(db, seen)
    book = openpyxl.load_workbook(out)
    assert {"About", "member", "topic", "topic_note", "ballot", "action", "action_note", "agenda_item",
            "attendance", "minute_line", "decision", "measure_point", "measure_point_history", "person_name",
            "conversation_ref", "outbox", "mentions"} <= set(book.sheetnames)
    assert [c.value for c in book["person_name"][2]][:2] == [GP, NAME]
    assert "Asthma audit results" in {c.value for row in book["agenda_item"].iter_rows() for c in row}
    mentions = {c.value for row in book["mentions"].iter_rows() for c in row}
    assert f"Ask <@{GP}> to present the audit" in mentions
    assert any("Good morning" in (c.value or "") for c in book["outbox"]["H"])  # the queued digest, as held


# --- the data map -----------------------------------------------------------------------------------

def test_every_column_of_every_table_is_classified():
    """A column added to a model with no entry in storage/data_map.py (personal: what, why, how long,
    erasure; or not personal) fails here by name: classify it there."""
    missing = data_map.unclassified()
    assert not missing, "Classify these columns in storage/data_map.py (PERSONAL or NOT_PERSONAL): " + \
        ", ".join(missing)


def test_every_person_id_column_is_indexed_and_every_table_reaches_its_cluster():
    tables = data_map.tables()
    for name, column, _p in data_map.person_ids() + [(t, via, None) for t, _c, via in data_map.keyed()]:
        first_columns = {index.columns[0].name for index in tables[name].indexes}
        primary = list(tables[name].primary_key.columns)
        assert column in first_columns or (len(primary) == 1 and primary[0].name == column), f"{name}.{column}"
        assert name in data_map.SCOPE or name in ("person_name", "conversation_ref", "digest_sent"), name


def test_data_map_is_printed(capsys):
    assert main(["data-map"]) == 0
    out = capsys.readouterr().out
    for (table, column) in data_map.PERSONAL:
        assert f"  {column}: " in out and f"\n{table}\n" in out
    assert "purpose:" in out and "kept:" in out and "on erasure:" in out
    assert "handled_event" in out.split("Tables holding no personal data:")[1]


def test_a_former_member_is_never_a_mention_on_either_platform():
    from bot.slack.render import mrkdwn
    from bot.teams.cards import _segment
    from commands.results import Person

    assert mrkdwn(Person(FORMER_MEMBER)) == "a former member"
    mentions: dict = {}
    assert _segment(Person(FORMER_MEMBER), lambda u: u, mentions, False) == "a former member"
    assert mentions == {}
    assert plain_text(type("R", (), {"lines": [(Person(FORMER_MEMBER),)]})()) == "a former member"


# --- through Teams: its ids, its names, its words -----------------------------------------------------

@pytest.mark.usefixtures("cluster")
def test_a_lead_forgets_someone_through_teams(teams, teams_api, db):
    say(teams, teams_api, PQL_A, "topic propose Asthma reviews after discharge")
    shown = f"Person {PQL_A[-4:]}"  # the name Teams sends with their activities (the stand-in's)
    assert {"person_name.name", "person_name.user_id"} <= set(holders_of(db, PQL_A, shown))  # kept by Teams
    say(teams, teams_api, LEAD, "cluster forget @Jane", mentions={"Jane": PQL_A})
    prompt = teams_api.wait_for(lambda s: s.targeted())[-1].text
    assert "cluster forget @Jane confirm" in prompt and "/cluster" not in prompt
    say(teams, teams_api, LEAD, "cluster forget @Jane confirm", mentions={"Jane": PQL_A})
    posted = teams_api.wait_for(lambda s: [p for p in s.posts() if "erased a person" in p.text])
    assert "Jane" not in posted[-1].text
    assert teams.delivery.drain()
    assert holders_of(db, PQL_A, shown, "Jane") == []
    with db.session(read_only=True) as session:
        assert session.exec(select(Topic)).scalars().one().proposed_by == FORMER_MEMBER
