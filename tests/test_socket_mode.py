"""Socket Mode end to end, offline: slack_sdk's own client asks the Slack stand-in for a URL
(apps.connections.open), connects to a local WebSocket server playing Slack, gets slash command
envelopes and answers each in its ack, in process and as `python -m bot socket`."""

import subprocess
import sys
import time

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlmodel import select

from bot.slack import build_app
from storage.db import Database
from storage.models import Cluster
from testkit.socket_mode_server import SocketModeServer
from tests.test_processes import bot_env

APP_TOKEN = "xapp-test"


@pytest.fixture
def socket_server(slack_api):
    server = SocketModeServer()
    slack_api.socket_url = server.url
    yield server
    slack_api.socket_url = None
    server.close()


def clusters(db: Database) -> list[Cluster]:
    with db.session() as session:
        return list(session.exec(select(Cluster)))


def test_socket_mode_answers_slash_commands_in_the_ack(settings, product, db, slack_api, socket_server):
    app = build_app(settings, product, socket_mode=True)
    handler = SocketModeHandler(app, APP_TOKEN)
    try:
        handler.connect()
        socket_server.wait_connected()
        assert [c.token for c in slack_api.calls_to("apps.connections.open")] == [APP_TOKEN]

        ack = socket_server.ack_for(socket_server.push_command("/cluster", "setup Riverside Cluster"))
        assert ack["payload"]["response_type"] == "in_channel"
        assert "<@ULEAD> made this channel the cluster *Riverside Cluster*" in ack["payload"]["text"]
        [cluster] = clusters(db)
        assert (cluster.team_id, cluster.channel_id) == ("T0001", "CCLUSTER")
        assert cluster.name == "Riverside Cluster"

        who = socket_server.ack_for(socket_server.push_command("/cluster", "who", user="UNURSE"))
        assert who["payload"]["response_type"] == "ephemeral"
        assert "Leads: <@ULEAD>" in who["payload"]["text"].splitlines()
    finally:
        handler.close()
        app.delivery.stop()  # else its workers go on claiming later tests' rows in the shared database


@pytest.mark.wall_clock
def test_python_m_bot_socket_connects_and_answers(tmp_path, slack_api, socket_server):
    slack_api.reset()
    database_url = f"sqlite:///{tmp_path / 'cluster.db'}"
    env = bot_env(SLACK_BOT_TOKEN="xoxb-test", SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=slack_api.url,
                  DATABASE_URL=database_url)
    log_path = tmp_path / "bot.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "bot", "socket"], cwd=tmp_path, env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while not socket_server.connections:
            assert process.poll() is None, f"bot exited {process.returncode}:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"bot never connected:\n{log_path.read_text()}"
            time.sleep(0.05)
        # auth.test twice: our start-up check, then Bolt's own token verification in App().
        assert {c.token for c in slack_api.calls_to("auth.test")} == {"xoxb-test"}
        assert [c.token for c in slack_api.calls_to("apps.connections.open")] == [APP_TOKEN]

        ack = socket_server.ack_for(socket_server.push_command("/cluster", "setup Riverside Cluster"))
        assert ack["payload"]["response_type"] == "in_channel", log_path.read_text()
        assert "<@ULEAD> made this channel the cluster *Riverside Cluster*" in ack["payload"]["text"]
        db = Database(database_url)
        try:
            assert [c.name for c in clusters(db)] == ["Riverside Cluster"]
        finally:
            db.dispose()
    finally:
        process.terminate()
        process.wait(timeout=10)
