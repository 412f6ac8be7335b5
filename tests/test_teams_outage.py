"""Teams while the database is unreachable: the person is told to try again shortly, as Slack tells
them (before, Teams answered nothing and logged a traceback), and the bot carries on once it is back."""

from commands import UNAVAILABLE, Clusterbot
from storage.db import Database
from testkit.teams_app import serve_teams
from testkit.teams_ids import CHANNEL, LEAD
from testkit.teams_standin import message

CHAT = "a:1leadschatwiththebotduringanoutage0123456789AbCdEfGhIjKlMnOpQr"


def test_an_outage_is_said_in_the_channel_and_the_chat_and_the_bot_heals(tmp_path, teams_api):
    folder = tmp_path / "not-yet"
    db = Database(f"sqlite:///{folder / 'cluster.db'}")
    running = serve_teams(db, Clusterbot(db), teams_api)
    teams = next(running)
    try:
        answer = teams.send(message(teams_api, LEAD, "cluster setup Riverside Cluster"), teams_api.headers())
        assert answer.status_code == 200
        told = teams_api.wait_for(lambda s: [t for t in s.targeted() + s.posts() if UNAVAILABLE[:40] in t.text])
        assert told and "Traceback" not in told[0].text
        assert teams.send(message(teams_api, LEAD, "poll list", personal=CHAT), teams_api.headers()).status_code == 200
        teams_api.wait_for(lambda s: [p for p in s.posts(CHAT) if UNAVAILABLE[:40] in p.text])

        folder.mkdir()  # the database is back
        teams_api.reset()
        teams.send(message(teams_api, LEAD, "cluster setup Riverside Cluster"), teams_api.headers())
        teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Riverside Cluster" in p.text])
    finally:
        running.close()
        db.dispose()


def test_teams_healthz_says_503_when_delivery_has_stopped(teams):
    assert teams.client.get("/healthz").json() == {"ok": True, "database": True, "delivery": True}
    teams.delivery.stop()
    answer = teams.client.get("/healthz")
    assert answer.status_code == 503 and answer.json()["delivery"] is False
