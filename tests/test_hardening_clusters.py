"""Issue 12 #2, #6, #7: the cluster's rules under concurrency and from other workspaces."""

import threading

import pytest
from sqlmodel import select

from commands import Clusterbot
from commands.context import Caller
from storage.models import Cluster, Member, Role
from testkit.slack_requests import dispatch_command

pytestmark = pytest.mark.database  # the database decides: the cluster's rules under concurrency: locks and unique keys

CLUSTERS = 12


def run_together(*calls):
    """Start every call at the same instant (a barrier) on its own thread; their replies in order."""
    barrier = threading.Barrier(len(calls))
    replies: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        replies[i] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return replies


@pytest.mark.parametrize("second", ["lead remove", "member remove"])
def test_two_leads_removing_each_other_at_once_leave_a_lead(db, clock, second):
    """Two processes (two products), each lead removing the other at the same instant, in 12 clusters:
    every cluster keeps a lead, and exactly one of each pair succeeds."""
    one, two = Clusterbot(db, clock=clock), Clusterbot(db, clock=clock)
    for n in range(CLUSTERS):
        channel = f"CRACE{n}"
        one.handle("/cluster", "setup Race Cluster", Caller("ULA", channel, "T0001"))
        one.handle("/cluster", "lead add <@ULB>", Caller("ULA", channel, "T0001"))
    for n in range(CLUSTERS):
        channel = f"CRACE{n}"
        replies = run_together(
            lambda c=channel: one.handle("/cluster", "lead remove <@ULB>", Caller("ULA", c, "T0001")),
            lambda c=channel: two.handle("/cluster", f"{second} <@ULA>", Caller("ULB", c, "T0001")),
        )
        assert sum(r.audience.value == "channel" for r in replies) == 1, [r.lines for r in replies]
    with db.session() as session:
        for cluster in session.exec(select(Cluster)):
            leads = session.exec(select(Member).where(Member.cluster_id == cluster.id, Member.role == Role.LEAD))
            assert len(list(leads)) == 1, cluster.channel_id


def test_a_second_workspace_cannot_shadow_a_cluster(app, db):
    assert dispatch_command(app, "/cluster", "setup Eastfield Cluster").in_channel
    shadow = dispatch_command(app, "/cluster", "setup Shadow Cluster", team="T0SHADOW", user="UEVIL")
    assert not shadow.in_channel and "another organisation" in shadow.text
    who = dispatch_command(app, "/cluster", "who", team="T0SHADOW", user="UEVIL")
    assert "another organisation" in who.text and "Eastfield" not in who.text
    with db.session() as session:
        assert [(c.name, c.team_id) for c in session.exec(select(Cluster))] == [("Eastfield Cluster", "T0001")]
    assert "Eastfield Cluster" in dispatch_command(app, "/cluster", "who").text


def test_enterprise_grid_workspaces_share_their_cluster(app, db):
    assert dispatch_command(app, "/cluster", "setup Riverside Cluster", enterprise="E0001").in_channel
    reply = dispatch_command(app, "/cluster", "who", team="T0OTHER", enterprise="E0001")
    assert "Riverside Cluster" in reply.text
    foreign = dispatch_command(app, "/cluster", "who", team="T0OTHER", enterprise="E0FOREIGN")
    assert "another organisation" in foreign.text


def test_the_database_refuses_a_second_cluster_on_a_channel(db):
    from storage.db import Conflict

    with db.session() as session:
        session.add(Cluster(team_id="T1", channel_id="CSAME", name="One", created_by="U1"))
    with pytest.raises(Conflict), db.session() as session:
        session.add(Cluster(team_id="T2", channel_id="CSAME", name="Two", created_by="U2"))
