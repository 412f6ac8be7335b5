"""/cluster as Slack shows it: signed requests to the real Bolt app (dispatch), on both databases. What the
commands decide (practices, people, leads, separate clusters) is in tests/test_cluster.py, platform-free."""

from sqlmodel import select

from storage.models import Cluster, Member
from testkit.slack_requests import dispatch_command


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


def test_help_lists_every_family_with_an_example(app):
    response = dispatch_command(app, "/cluster", "help")
    assert response.json["response_type"] == "ephemeral"
    for command in ("/cluster", "/topic", "/poll", "/action", "/meeting"):
        assert f"`{command}`" in response.text
    assert "`/cluster practice add &lt;5-digit code&gt; &lt;name&gt;`" in response.text


def test_a_slack_guest_account_joins_and_votes_is_marked_in_who_and_refused_the_export(app, db, slack_api):
    """users.info's is_restricted (a multi-channel guest) makes a guest (issue 22 #9)."""
    from testkit.slack_requests import button_payload, dispatch_payload

    setup_cluster(app)
    dispatch_command(app, "/cluster", "practice add 80456 Hillview Surgery")
    slack_api.guests["UHSCP"] = "restricted"
    assert "joined" in dispatch_command(app, "/cluster", "join 80456", user="UHSCP").text
    dispatch_command(app, "/poll", '"Which audit first?" "Asthma" "Frailty"')
    voted = dispatch_payload(app, button_payload("poll.vote|1", "P1:2", user="UHSCP",
                                                 response_url=slack_api.response_url))
    assert voted.status == 200
    assert "now: 2. Frailty" in slack_api.calls_to("response_url")[-1].args["text"]

    refused = dispatch_command(app, "/cluster", "export", user="UHSCP")
    assert "Guests can join, vote and add actions" in refused.text and "/cluster guests export on" in refused.text
    assert slack_api.calls_to("files.completeUploadExternal") == []
    assert "<@UHSCP> (guest)" in dispatch_command(app, "/cluster", "who").text
    assert {m.user_id: m.guest for m in rows(db, Member)} == {"ULEAD": False, "UHSCP": True}
    # users.info asked once per person, whatever they do next
    assert [c.args["user"] for c in slack_api.calls_to("users.info")].count("UHSCP") == 1
