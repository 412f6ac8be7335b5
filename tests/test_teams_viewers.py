"""The Board viewer and non-members in Teams (issue 23), through the real Teams app and the Bot Connector
stand-in: `cluster viewer add @person` resolves the mention; a viewer takes the report but writes nothing;
a stranger from the tenant writes nothing in the record; no refusal shows a slash form."""

from storage.models import Meeting, Topic, Viewer
from testkit.teams_ids import CHANNEL, LEAD, NURSE, user
from tests.test_teams_flows import cluster, rows, say  # noqa: F401  (fixture)
from tests.test_teams_guests import _offers, _told

STRANGER = user(9)  # someone else of NHS Scotland's one tenant


def _viewer(teams, teams_api) -> None:
    say(teams, teams_api, LEAD, "cluster viewer add @Morag Board", mentions={"Morag Board": NURSE})
    teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "a viewer of the cluster" in p.text])


def test_a_viewer_added_by_mention_takes_the_report_but_records_no_meeting(cluster, teams, teams_api, db):  # noqa: F811
    _viewer(teams, teams_api)
    assert [v.user_id for v in rows(db, Viewer)] == [NURSE]
    say(teams, teams_api, NURSE, "meeting record 25/11/2026 12:30 Board catch-up")
    refused = _told(teams_api, NURSE, "You're a viewer of the cluster")
    assert "meeting record" in refused and "/meeting" not in refused  # Teams words, no slash
    say(teams, teams_api, NURSE, "cluster report")
    teams_api.wait_for(lambda s: _offers(s))
    say(teams, teams_api, LEAD, "cluster who")
    assert "Viewers (read-only, in no practice)" in _told(teams_api, LEAD, "Leads:")
    assert rows(db, Meeting) == []


def test_a_stranger_from_the_tenant_proposes_nothing(cluster, teams, teams_api, db):  # noqa: F811
    say(teams, teams_api, STRANGER, "topic propose Frailty register")
    refused = _told(teams_api, STRANGER, "You're not a member of the cluster")
    assert "cluster join" in refused and "/cluster" not in refused and "/topic" not in refused
    assert rows(db, Topic) == []
