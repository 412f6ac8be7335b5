"""/cluster through signed requests to the real Bolt app (dispatch), on both databases."""

from sqlmodel import select

from storage.models import Cluster, Member, Practice
from tests.slack_requests import dispatch_command


def setup_cluster(app, lead="ULEAD", channel="CCLUSTER"):
    response = dispatch_command(app, "/cluster", "setup Riverside Cluster", user=lead, channel=channel)
    assert response.status == 200 and response.in_channel, response.body
    return response


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model)))


def test_setup_makes_caller_the_first_lead_and_announces_in_channel(app, db):
    response = setup_cluster(app)
    assert "<@ULEAD> made this channel the cluster *Riverside Cluster*" in response.text
    assert response.json["blocks"][0]["type"] == "section"
    [cluster] = rows(db, Cluster)
    assert (cluster.team_id, cluster.channel_id, cluster.name) == ("T0001", "CCLUSTER", "Riverside Cluster")
    [lead] = rows(db, Member)
    assert (lead.user_id, lead.role, lead.practice_id) == ("ULEAD", "lead", None)


def test_setup_records_enterprise_id(app, db):
    dispatch_command(app, "/cluster", "setup Grid Cluster", enterprise="E0001")
    assert rows(db, Cluster)[0].enterprise_id == "E0001"


def test_command_outside_a_cluster_explains_setup(app, db):
    response = dispatch_command(app, "/cluster", "who")
    assert response.json["response_type"] == "ephemeral"
    assert "isn't a cluster yet" in response.text and "/cluster setup" in response.text
    assert rows(db, Cluster) == []


def test_second_setup_is_refused_and_keeps_the_name(app, db):
    setup_cluster(app)
    response = dispatch_command(app, "/cluster", "setup Another Name")
    assert "already the cluster “Riverside Cluster”" in response.text
    assert [c.name for c in rows(db, Cluster)] == ["Riverside Cluster"]


def test_practices_members_and_who(app, db):
    setup_cluster(app)
    assert dispatch_command(app, "/cluster", "practice add 80123 Riverside Medical Practice").in_channel
    dispatch_command(app, "/cluster", "practice add 80456 Hillview Surgery")
    joined = dispatch_command(app, "/cluster", "join 80456", user="UNURSE")
    assert joined.in_channel and "<@UNURSE> joined *Hillview Surgery* (`80456`)" in joined.text
    added = dispatch_command(app, "/cluster", "member add <@UPM|pm> 80123")
    assert "<@ULEAD> added <@UPM> to *Riverside Medical Practice*" in added.text

    who = dispatch_command(app, "/cluster", "who", user="UNURSE")
    assert who.json["response_type"] == "ephemeral"
    lines = who.text.splitlines()
    assert lines[1] == "Leads: <@ULEAD>"
    assert "• *Riverside Medical Practice* (`80123`): <@UPM>" in lines
    assert "• *Hillview Surgery* (`80456`): <@UNURSE>" in lines
    assert "• In no practice yet: <@ULEAD> (lead)" in lines


def test_practice_list_counts_people(app, db):
    setup_cluster(app)
    dispatch_command(app, "/cluster", "practice add 80123 Riverside Medical Practice")
    dispatch_command(app, "/cluster", "join 80123", user="UNURSE")
    listing = dispatch_command(app, "/cluster", "practice list")
    assert "`80123` Riverside Medical Practice — 1 person" in listing.text
    assert listing.json["response_type"] == "ephemeral"


def test_join_moves_between_practices_and_rejoining_is_harmless(app, db):
    setup_cluster(app)
    dispatch_command(app, "/cluster", "practice add 80123 Riverside")
    dispatch_command(app, "/cluster", "practice add 80456 Hillview")
    dispatch_command(app, "/cluster", "join 80123", user="UNURSE")
    again = dispatch_command(app, "/cluster", "join 80123", user="UNURSE")
    assert "already in" in again.text and not again.in_channel
    dispatch_command(app, "/cluster", "join 80456", user="UNURSE")
    practices = {p.id: p.code for p in rows(db, Practice)}
    nurse = [m for m in rows(db, Member) if m.user_id == "UNURSE"]
    assert len(nurse) == 1 and practices[nurse[0].practice_id] == "80456"


def test_practice_remove_archives_and_unplaces_its_people(app, db):
    setup_cluster(app)
    dispatch_command(app, "/cluster", "practice add 80123 Riverside")
    dispatch_command(app, "/cluster", "join 80123", user="UNURSE")
    removed = dispatch_command(app, "/cluster", "practice remove 80123")
    assert removed.in_channel and "1 person is now in no practice: <@UNURSE>" in removed.text
    assert [m.practice_id for m in rows(db, Member) if m.user_id == "UNURSE"] == [None]
    assert "No practices yet" in dispatch_command(app, "/cluster", "practice list").text
    # Adding the code again brings the practice back under its new name, same row.
    dispatch_command(app, "/cluster", "practice add 80123 Riverside Health Centre")
    [practice] = rows(db, Practice)
    assert (practice.name, practice.archived_at) == ("Riverside Health Centre", None)


def test_leads_add_and_remove_leads_but_never_the_last(app, db):
    setup_cluster(app)
    assert "never" not in dispatch_command(app, "/cluster", "lead add <@UGP>").text
    assert {m.user_id: m.role for m in rows(db, Member)} == {"ULEAD": "lead", "UGP": "lead"}
    again = dispatch_command(app, "/cluster", "lead add <@UGP>")
    assert "already a lead" in again.text
    assert dispatch_command(app, "/cluster", "lead remove <@ULEAD>", user="UGP").in_channel
    last = dispatch_command(app, "/cluster", "lead remove <@UGP>", user="UGP")
    assert "always needs a lead" in last.text
    assert {m.user_id: m.role for m in rows(db, Member)} == {"ULEAD": "member", "UGP": "lead"}


def test_member_remove(app, db):
    setup_cluster(app)
    dispatch_command(app, "/cluster", "practice add 80123 Riverside")
    dispatch_command(app, "/cluster", "join 80123", user="UNURSE")
    assert dispatch_command(app, "/cluster", "member remove <@UNURSE>").in_channel
    assert [m.user_id for m in rows(db, Member)] == ["ULEAD"]
    unknown = dispatch_command(app, "/cluster", "member remove <@UNURSE>")
    assert "<@UNURSE> isn't in this cluster" in unknown.text


def test_clusters_are_separate_per_channel(app, db):
    setup_cluster(app, channel="CONE")
    setup_cluster(app, lead="UOTHER", channel="CTWO")
    dispatch_command(app, "/cluster", "practice add 80123 Riverside", channel="CONE")
    other = dispatch_command(app, "/cluster", "join 80123", user="UNURSE", channel="CTWO")
    assert "No practice with code 80123" in other.text
    refused = dispatch_command(app, "/cluster", "practice add 80999 Sneaky", user="ULEAD", channel="CTWO")
    assert "Only the cluster's leads" in refused.text and "<@UOTHER>" in refused.text
    assert [p.code for p in rows(db, Practice)] == ["80123"]


def test_help_lists_every_family_with_an_example(app):
    response = dispatch_command(app, "/cluster", "help")
    assert response.json["response_type"] == "ephemeral"
    for command in ("/cluster", "/topic", "/poll", "/action", "/meeting"):
        assert f"`{command}`" in response.text
    assert "`/cluster practice add &lt;5-digit code&gt; &lt;name&gt;`" in response.text


def test_an_unknown_command_is_answered(product):
    from commands.context import Caller
    from commands.results import plain_text

    reply = product.handle("/frobnicate", "now", Caller("U1", "C1", "T1"))
    assert plain_text(reply) == "I don't know /frobnicate. Try /cluster help"
