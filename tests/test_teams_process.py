"""`python -m bot teams` as a process, against the Microsoft stand-ins; its start-up errors are one line."""

import subprocess
import sys

import httpx
import pytest

from testkit.teams_ids import APP_ID, CHANNEL, LEAD, TENANT
from testkit.teams_standin import PASSWORD, message
from tests.test_processes import bot_env, free_port, run_bot, wait_healthy

pytestmark = pytest.mark.wall_clock  # a server in another process


def teams_env(teams_api, tmp_path, **more):
    return dict(BALLOT_KEY="k" * 32, TEAMS_APP_ID=APP_ID, TEAMS_APP_PASSWORD=PASSWORD, TEAMS_TENANT_ID=TENANT,
                TEAMS_OPENID_URL=teams_api.openid_url, TEAMS_TOKEN_URL=teams_api.token_url,
                DATABASE_URL=f"sqlite:///{tmp_path / 'teams.db'}", **more)


def test_teams_mode_end_to_end(tmp_path, teams_api):
    teams_api.reset()
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bot", "teams", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=tmp_path, env=bot_env(**teams_env(teams_api, tmp_path, SCHEDULER="off")),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(port, process, timeout=120)  # the SDK is slow to import on a busy machine
        assert teams_api.token_requests[0]["client_id"] == APP_ID  # checked its credentials at start
        url = f"http://127.0.0.1:{port}/api/messages"
        answer = httpx.post(url, json=message(teams_api, LEAD, "cluster setup Riverside Cluster"),
                            headers=teams_api.headers(), timeout=10)
        assert answer.status_code == 200
        posted = teams_api.wait_for(lambda s: s.posts(CHANNEL))
        assert "Riverside Cluster" in posted[0].text
        forged = httpx.post(url, json=message(teams_api, LEAD, "cluster who"), headers=teams_api.headers(
            audience="11111111-2222-3333-4444-555555555555"), timeout=10)
        assert forged.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_refused_password_is_one_line(tmp_path, teams_api):
    done = run_bot(["teams", "--port", str(free_port())], tmp_path,
                   **{**teams_env(teams_api, tmp_path), "TEAMS_APP_PASSWORD": "wrong"})
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "Could not get the bot's token" in done.stderr and "TEAMS_APP_PASSWORD" in done.stderr
