"""/topic typed: through the platform-free driver (testkit/driver.py), and the card's Slack buttons through
signed requests to the real Bolt app, on both databases."""

import pytest
from sqlmodel import select

from commands.results import Audience
from storage import topics as topic_store
from storage.models import Cluster, Topic, TopicMove, TopicNote
from testkit import factories
from testkit.driver import refused
from testkit.helpers import snapshot
from testkit.slack_requests import dispatch_command


@pytest.fixture
def cluster(driver):
    """Riverside: ULEAD leads; UGP is in practice 80123; UNURSE in 80456."""
    factories.riverside(driver.say, practices=2, members=MEMBERS)
    return driver


@pytest.fixture
def slack_cluster(app):
    """The same cluster, set up through signed Slack requests."""
    factories.riverside(factories.on_slack(app), practices=2, members=MEMBERS)
    return app


MEMBERS = {"UGP": "80123", "UNURSE": "80456"}
PROPOSAL = "propose Asthma reviews after discharge -- 1 in 3 missed last year"


def topic(driver, text=PROPOSAL, user="UGP", **kwargs):
    return driver.say(f"/topic {text}", user=user, **kwargs)


def topics(db):
    with db.session() as session:
        return list(session.exec(select(Topic).order_by(Topic.id)))


def table(db, model):
    with db.session() as session:
        return list(session.exec(select(model)))


def test_propose_announces_a_card_with_buttons_and_stores_the_topic(slack_cluster, db):
    response = dispatch_command(slack_cluster, "/topic", PROPOSAL, user="UGP")
    assert response.in_channel
    assert "<@UGP> proposed a QI topic:" in response.text
    assert "*T1 · Asthma reviews after discharge*" in response.text
    assert "*Why it matters:* 1 in 3 missed last year" in response.text
    actions = [b for b in response.json["blocks"] if b["type"] == "actions"][0]["elements"]
    assert [(a["action_id"].split("|")[0], a["value"]) for a in actions] == [
        ("topic.show", "T1"), ("topic.edit", "T1"), ("topic.agree", "T1"), ("topic.drop", "T1")]
    [stored] = topics(db)
    assert (stored.short_id, stored.status, stored.source, stored.proposed_by) == ("T1", "proposed", "practices", "UGP")
    assert stored.why == "1 in 3 missed last year"
    [move] = table(db, TopicMove)
    assert (move.from_status, move.to_status, move.by) == (None, "proposed", "UGP")


def test_proposing_practice_defaults_to_the_persons_own(cluster, db):
    topic(cluster, "propose Frailty register", user="UNURSE")
    topic(cluster, "propose Polypharmacy", user="ULEAD")  # the lead is in no practice
    rows = {r.short_id: r for r in _rows(db)}
    assert rows["T1"].practice_code == "80456" and rows["T1"].practice_name == "Hillview Surgery"
    assert rows["T2"].practice_code is None


def _rows(db):
    with db.session() as session:
        [cluster_row] = session.exec(select(Cluster)).all()
        return topic_store.topic_rows(session=session, cluster=cluster_row)


def test_list_groups_by_status_and_filters(cluster, db):
    topic(cluster, "propose Asthma reviews")
    topic(cluster, "propose Frailty register", user="UNURSE")
    topic(cluster, "propose Old idea")
    cluster.say("/topic move T2 agreed")
    cluster.say("/topic move T3 dropped Covered by the Board")
    listing = topic(cluster, "list")
    assert listing.audience == Audience.PERSON
    lines = listing.text.splitlines()
    assert lines[0] == "Topics in Riverside Cluster"
    assert lines[1:5] == [
        "Proposed (1)", "• T1 Asthma reviews — Our practices · Riverside Medical Practice",
        "Agreed (1)", "• T2 Frailty register — Our practices · Hillview Surgery",
    ]
    assert "T3" not in listing.text
    assert "T3 Old idea" in topic(cluster, "list dropped").text
    everything = topic(cluster, "list all").text
    assert all(f"• T{n} " in everything for n in (1, 2, 3))
    assert "No done topics" in topic(cluster, "list done").text


def test_leads_move_forward_and_back_and_every_move_is_recorded(cluster, db):
    topic(cluster)
    for status in ("agreed", "active", "agreed", "active", "done"):
        assert cluster.say(f"/topic move t1 {status}").in_channel
    assert topics(db)[0].status == "done"
    moves = [(m.from_status, m.to_status) for m in table(db, TopicMove)]
    assert moves == [(None, "proposed"), ("proposed", "agreed"), ("agreed", "active"), ("active", "agreed"),
                     ("agreed", "active"), ("active", "done")]
    card = topic(cluster, "show T1").text
    assert "@ULEAD moved it from active to done" in card and "@UGP proposed it" in card


def test_dropping_needs_a_reason_and_records_it(cluster, db):
    topic(cluster)
    refused(cluster.say("/topic move T1 dropped"), "Say why T1 is dropped")
    assert topics(db)[0].status == "proposed"
    dropped = cluster.say("/topic move T1 dropped Covered by the Board's programme")
    assert "from proposed to dropped: Covered by the Board's programme" in dropped.text
    assert table(db, TopicMove)[-1].reason == "Covered by the Board's programme"
    assert cluster.say("/topic move T1 proposed").in_channel  # leads may bring it back


def test_notes_with_pdsa_steps_appear_on_the_card(cluster, db):
    topic(cluster)
    assert topic(cluster, "note T1 plan: audit 10 discharges in January").in_channel
    assert "(STUDY step)" in topic(cluster, "note T1 Study: 7 of 10 reviewed in time", user="UNURSE").text
    topic(cluster, "note T1 Spoke to the respiratory nurse")
    steps = [(n.step, n.text) for n in table(db, TopicNote)]
    assert steps == [("plan", "audit 10 discharges in January"), ("study", "7 of 10 reviewed in time"),
                     (None, "Spoke to the respiratory nurse")]
    card = topic(cluster, "show T1").text
    assert "@UNURSE: [STUDY] 7 of 10 reviewed in time" in card
    assert "Notes" in card.splitlines() and "History" in card.splitlines()


def test_times_on_the_card_are_local(cluster, db):
    topic(cluster)
    with db.session() as session:
        move = session.exec(select(TopicMove)).one()
        from datetime import UTC, datetime
        move.at = datetime(2026, 7, 1, 11, 30, tzinfo=UTC)  # 12:30 BST
        session.add(move)
    assert "• Wed 1 Jul 2026 12:30 @UGP proposed it" in topic(cluster, "show T1").text


# --- bad input: each refused, privately, with nothing stored ---------------------------------

@pytest.mark.parametrize("text, user, says", [
    ("propose", "UGP", "Give the topic a title."),
    ("propose    -- only a description", "UGP", "Give the topic a title."),
    ("propose " + "x" * 151, "UGP", "The title is 151 characters; the limit is 150."),
    ("propose Review of patient 0101011237", "UGP", "looks like a CHI or NHS number"),
    ("propose Asthma -- pt 010 101 1237 missed", "UGP", "looks like a CHI or NHS number"),
    ("move T1 finished", "ULEAD",
     "“finished” isn't a topic status. Use one of: proposed, agreed, active, done, dropped."),
    ("move T1", "ULEAD", "Say which status. Use one of: proposed, agreed, active, done, dropped."),
    ("move T99 agreed", "ULEAD", "There's no topic T99 in this cluster."),
    ("move X1 agreed", "ULEAD", "“X1” isn't a topic id"),
    ("show T99", "UGP", "There's no topic T99 in this cluster."),
    ("move T1 agreed", "UGP", "Only the cluster's leads can use /topic move. Ask a lead: @ULEAD."),
    ("note T1", "UGP", "Write the note after the topic id."),
    ("note T1 plan:", "UGP", "Write the note after the topic id."),
    ("note T1 CHI 0101011237 did not attend", "UGP", "looks like a CHI or NHS number"),
    ("list finished", "UGP", "“finished” isn't a topic status"),
    ("frobnicate", "UGP", "“frobnicate” isn't a /topic command."),
])
def test_bad_input_is_refused_privately_and_stores_nothing(cluster, db, text, user, says):
    topic(cluster)
    before = snapshot(db)
    response = topic(cluster, text, user=user)
    refused(response, says)
    assert snapshot(db) == before


def test_a_topic_id_from_another_cluster_behaves_as_unknown(cluster, db):
    topic(cluster, "propose Secret title of cluster one")
    cluster.say("/cluster setup Other Cluster", user="UOTHER", channel="COTHER")
    for text in ("show T1", "note T1 sneaky", "move T1 agreed", "edit T1"):
        response = cluster.say(f"/topic {text}", user="UOTHER", channel="COTHER")
        assert "There's no topic T1 in this cluster." in response.text
        assert "Secret" not in response.text
    assert [t.status for t in topics(db)] == ["proposed"] and table(db, TopicNote) == []


def test_topic_outside_a_cluster_explains_setup(driver, db):
    response = driver.say("/topic propose Something")
    assert "isn't a cluster yet" in response.text and topics(db) == []
