"""/cluster: set-up, practices, people and leads, through the platform-free driver (testkit/driver.py), on
both databases. How Slack shows them (blocks, escaping, enterprise ids) is in tests/test_cluster_slack.py."""

from sqlmodel import select

from commands.results import Audience
from storage.models import Cluster, Member, Practice
from testkit.driver import refused


def setup_cluster(driver, lead="ULEAD", channel="CCLUSTER"):
    said = driver.say("/cluster setup Riverside Cluster", user=lead, channel=channel)
    assert said.in_channel, said.text
    return said


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model)))


def test_command_outside_a_cluster_explains_setup(driver, db):
    said = driver.say("/cluster who")
    assert said.audience == Audience.PERSON
    assert "isn't a cluster yet" in said.text and "/cluster setup" in said.text
    assert rows(db, Cluster) == []


def test_second_setup_is_refused_and_keeps_the_name(driver, db):
    setup_cluster(driver)
    refused(driver.say("/cluster setup Another Name"), "already the cluster “Riverside Cluster”")
    assert [c.name for c in rows(db, Cluster)] == ["Riverside Cluster"]


def test_practices_members_and_who(driver, db):
    setup_cluster(driver)
    assert driver.say("/cluster practice add 80123 Riverside Medical Practice").in_channel
    driver.say("/cluster practice add 80456 Hillview Surgery")
    joined = driver.say("/cluster join 80456", user="UNURSE")
    assert joined.in_channel and "@UNURSE joined Hillview Surgery (80456)" in joined.text
    added = driver.say("/cluster member add <@UPM|pm> 80123")
    assert "@ULEAD added @UPM to Riverside Medical Practice" in added.text

    who = driver.say("/cluster who", user="UNURSE")
    assert who.audience == Audience.PERSON
    lines = who.text.splitlines()
    assert lines[1] == "Leads: @ULEAD"
    assert "• Riverside Medical Practice (80123): @UPM" in lines
    assert "• Hillview Surgery (80456): @UNURSE" in lines
    assert "• In no practice yet: @ULEAD (lead)" in lines


def test_practice_list_counts_people(driver, db):
    setup_cluster(driver)
    driver.say("/cluster practice add 80123 Riverside Medical Practice")
    driver.say("/cluster join 80123", user="UNURSE")
    listing = driver.say("/cluster practice list")
    assert "80123 Riverside Medical Practice — 1 person" in listing.text
    assert listing.audience == Audience.PERSON


def test_join_moves_between_practices_and_rejoining_is_harmless(driver, db):
    setup_cluster(driver)
    driver.say("/cluster practice add 80123 Riverside")
    driver.say("/cluster practice add 80456 Hillview")
    driver.say("/cluster join 80123", user="UNURSE")
    again = driver.say("/cluster join 80123", user="UNURSE")
    assert "already in" in again.text and not again.in_channel
    driver.say("/cluster join 80456", user="UNURSE")
    practices = {p.id: p.code for p in rows(db, Practice)}
    nurse = [m for m in rows(db, Member) if m.user_id == "UNURSE"]
    assert len(nurse) == 1 and practices[nurse[0].practice_id] == "80456"


def test_practice_remove_archives_and_unplaces_its_people(driver, db):
    setup_cluster(driver)
    driver.say("/cluster practice add 80123 Riverside")
    driver.say("/cluster join 80123", user="UNURSE")
    removed = driver.say("/cluster practice remove 80123")
    assert removed.in_channel and "1 person is now in no practice: @UNURSE" in removed.text
    assert [m.practice_id for m in rows(db, Member) if m.user_id == "UNURSE"] == [None]
    assert "No practices yet" in driver.say("/cluster practice list").text
    # Adding the code again brings the practice back under its new name, same row.
    driver.say("/cluster practice add 80123 Riverside Health Centre")
    [practice] = rows(db, Practice)
    assert (practice.name, practice.archived_at) == ("Riverside Health Centre", None)


def test_leads_add_and_remove_leads_but_never_the_last(driver, db):
    setup_cluster(driver)
    assert "never" not in driver.say("/cluster lead add <@UGP>").text
    assert {m.user_id: m.role for m in rows(db, Member)} == {"ULEAD": "lead", "UGP": "lead"}
    assert "already a lead" in driver.say("/cluster lead add <@UGP>").text
    assert driver.say("/cluster lead remove <@ULEAD>", user="UGP").in_channel
    refused(driver.say("/cluster lead remove <@UGP>", user="UGP"), "always needs a lead")
    assert {m.user_id: m.role for m in rows(db, Member)} == {"ULEAD": "member", "UGP": "lead"}


def test_member_remove(driver, db):
    setup_cluster(driver)
    driver.say("/cluster practice add 80123 Riverside")
    driver.say("/cluster join 80123", user="UNURSE")
    assert driver.say("/cluster member remove <@UNURSE>").in_channel
    assert [m.user_id for m in rows(db, Member)] == ["ULEAD"]
    refused(driver.say("/cluster member remove <@UNURSE>"), "@UNURSE isn't in this cluster")


def test_clusters_are_separate_per_channel(driver, db):
    setup_cluster(driver, channel="CONE")
    setup_cluster(driver, lead="UOTHER", channel="CTWO")
    driver.say("/cluster practice add 80123 Riverside", channel="CONE")
    refused(driver.say("/cluster join 80123", user="UNURSE", channel="CTWO"), "No practice with code 80123")
    refusal = driver.say("/cluster practice add 80999 Sneaky", user="ULEAD", channel="CTWO")
    refused(refusal, "Only the cluster's leads")
    assert "@UOTHER" in refusal.text
    assert [p.code for p in rows(db, Practice)] == ["80123"]


def test_an_unknown_command_is_answered(driver):
    refused(driver.say("/frobnicate now", user="U1"), "")
    assert driver.say("/frobnicate now", user="U1").text == "I don't know /frobnicate. Try /cluster help"
