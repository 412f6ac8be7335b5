"""`python -m bot …` as people run it: console with piped stdin, settings errors, the HTTP server."""

import http.client
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from testkit.slack_requests import SIGNING_SECRET, signed_headers, slash_body

pytestmark = pytest.mark.wall_clock  # programs run as people run them, in other processes

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "DATABASE_URL",
            "CLUSTER_TZ", "HOST", "PORT")


def bot_env(**settings) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env["PYTHONPATH"] = str(ROOT)
    env.update(settings)
    return env


def run_bot(args, cwd, stdin="", **settings):
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, env=bot_env(**settings), timeout=60)


SCRIPT = """\
# a cluster lead sets up, then others join
/cluster setup Riverside Cluster
/cluster practice add 80123 Riverside Medical Practice
/cluster practice add 80456 Hillview Surgery
as bob /cluster join 80456
/cluster member add @carol 80123
as bob /cluster practice add 80999 Not Allowed
/cluster practice add 123 Bad Code
/cluster who
"""


def test_console_runs_a_piped_script_with_no_slack_settings(tmp_path):
    result = run_bot(["console", "--user", "alice", "--channel", "C1"], tmp_path, SCRIPT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "@alice made this channel the cluster Riverside Cluster and is its first lead.   [posted to the channel]" \
        in out
    assert "@bob joined Hillview Surgery (80456).   [posted to the channel]" in out
    assert "! Only the cluster's leads can use /cluster practice add. Ask a lead: @alice." in out
    assert "! “123” isn't a practice code: it should be exactly 5 digits." in out
    assert "• Riverside Medical Practice (80123): @carol" in out
    assert "• Hillview Surgery (80456): @bob" in out
    assert "Traceback" not in result.stderr
    assert (tmp_path / "clusterbot.db").exists()  # the default database: a SQLite file here

    # The data outlives the process: a second run sees the same cluster.
    again = run_bot(["console", "--user", "bob", "--channel", "C1"], tmp_path, "/cluster practice list\n")
    assert "80123 Riverside Medical Practice — 1 person" in again.stdout


@pytest.mark.parametrize("args, settings, says", [
    (["http"], {}, "SLACK_BOT_TOKEN is not set"),
    (["http"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
    (["socket"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN is not set"),
    (["socket"], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-wrong"},
     "SLACK_APP_TOKEN should start with xapp-"),
    (["http"], {"SLACK_BOT_TOKEN": "token", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN should start with xoxb-"),
    (["console"], {"DATABASE_URL": "mysql://db/cluster"}, "DATABASE_URL is not a database URL this bot can use"),
    (["console"], {"DATABASE_URL": "not a url"}, "DATABASE_URL is not a database URL"),
    (["migrate"], {"CLUSTER_TZ": "Europe/Glasgow"}, "CLUSTER_TZ “Europe/Glasgow” is not a time zone"),
    (["console"], {"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL “slack.com/api” is not an http(s) URL"),
    (["http"], {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "PORT": "80a"}, "PORT “80a” is not a port"),
    (["console"], {"SCHEDULER": "sometimes"}, "SCHEDULER “sometimes” should be on or off"),
    (["scheduler"], {"TEAMS_APP_ID": "8f0c3c52-3a8e-4c38-9b7e-2f6f1d3a9c11"}, "TEAMS_APP_PASSWORD is not set"),
    (["scheduler"], {"SLACK_BOT_TOKEN": "token"}, "SLACK_BOT_TOKEN should start with xoxb-"),
])
def test_bad_settings_end_with_one_line_naming_the_variable(tmp_path, args, settings, says):
    result = run_bot(args, tmp_path, **settings)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert lines[0].startswith("clusterbot: ")


def test_settings_come_from_dotenv_and_the_environment_wins(tmp_path):
    (tmp_path / ".env").write_text("CLUSTER_TZ=Nowhere/Atlantis\nDATABASE_URL=sqlite:///from-dotenv.db\n")
    result = run_bot(["migrate"], tmp_path)
    assert "CLUSTER_TZ “Nowhere/Atlantis”" in result.stderr
    result = run_bot(["migrate"], tmp_path, CLUSTER_TZ="Europe/London")
    assert result.returncode == 0 and (tmp_path / "from-dotenv.db").exists()


def test_slack_refusing_the_token_is_one_line(tmp_path, slack_api):
    slack_api.reset()
    slack_api.fail("auth.test", "invalid_auth")
    result = run_bot(["http", "--port", "0"], tmp_path, SLACK_BOT_TOKEN="xoxb-revoked", SLACK_SIGNING_SECRET="s",
                     SLACK_API_URL=slack_api.url)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("clusterbot: Slack refused SLACK_BOT_TOKEN (invalid_auth)")
    assert "Traceback" not in result.stderr


def test_manifest_command_prints_http_variant(tmp_path):
    result = run_bot(["manifest", "--url", "https://bot.example.org/slack/events"], tmp_path)
    assert result.returncode == 0
    manifest = yaml.safe_load(result.stdout)
    url = "https://bot.example.org/slack/events"
    assert {c["url"] for c in manifest["features"]["slash_commands"]} == {url}
    assert manifest["settings"]["interactivity"]["request_url"] == url
    assert manifest["settings"]["socket_mode_enabled"] is False


def wait_healthy(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become healthy")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_http(tmp_path, port: int, slack_api, **settings) -> subprocess.Popen:
    """`python -m bot http` on `port`, talking to the Slack stand-in; stderr kept for failures."""
    slack_api.reset()
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "http", "--host", "127.0.0.1", "--port", str(port)], cwd=tmp_path,
        env=bot_env(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack_api.url,
                    **settings),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def test_http_mode_end_to_end(tmp_path, slack_api):
    port = free_port()
    process = start_http(tmp_path, port, slack_api)
    try:
        wait_healthy(port, process)
        assert slack_api.calls_to("auth.test")[0].token == "xoxb-test"

        def post(body, headers):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("POST", "/slack/events", body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read().decode()

        body = slash_body("/cluster", "setup Riverside Cluster")
        status, data = post(body, signed_headers(body))
        assert status == 200 and json.loads(data)["response_type"] == "in_channel"
        body = slash_body("/cluster", "who")
        status, data = post(body, signed_headers(body))
        assert "Riverside Cluster" in json.loads(data)["text"]
        assert post(body, signed_headers(body, secret="forged"))[0] == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


def alive_children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid` and that have not ended: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdecimal():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # it ended meanwhile
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found[int(entry.name)] = command
    return found


def healthy_with_its_delivery_child(tmp_path, slack_api) -> tuple[subprocess.Popen, int]:
    """`python -m bot http` answering /healthz, and the pid of its one delivery child."""
    port = free_port()
    process = start_http(tmp_path, port, slack_api, SCHEDULER="off")
    try:
        wait_healthy(port, process)
        delivery = [child for child, command in alive_children(process.pid).items() if "spawn_main" in command]
        assert len(delivery) == 1, alive_children(process.pid)
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        raise
    return process, delivery[0]


def test_sigterm_stops_the_server_and_its_delivery_child_with_it(tmp_path, slack_api):
    """A service manager stops the server with SIGTERM: it ends cleanly (exit 0) and its delivery child
    ends first, instead of living on as an orphan that claims outbox rows for up to a second."""
    process, child = healthy_with_its_delivery_child(tmp_path, slack_api)
    try:
        process.terminate()
        assert process.wait(timeout=20) == 0, process.stderr.read()
        assert not (Path("/proc") / str(child)).exists(), "the delivery child outlived the server"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_a_server_killed_while_its_delivery_child_starts_takes_the_child_with_it(tmp_path, slack_api):
    """The server answers before its delivery child is ready; killed then (SIGKILL: no clean-up), the child
    must not live on as an orphan sending from the database (one did, for the rest of the test run)."""
    process, child = healthy_with_its_delivery_child(tmp_path, slack_api)
    try:
        process.kill()
        process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while (Path("/proc") / str(child)).exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not (Path("/proc") / str(child)).exists(), "the delivery child outlived the killed server"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


TOPIC_SCRIPT = """\
/cluster setup Riverside Cluster
/cluster practice add 80123 Riverside Medical Practice
as bob /cluster join 80123
/topic
as bob /topic propose Asthma reviews after discharge -- 1 in 3 missed last year
as bob /topic move T1 agreed
/topic move T1 agreed
/topic note T1 plan: audit 10 discharges in January
/topic propose Review patient 0101011237
/topic list
/topic show T1
"""


def test_console_runs_the_topic_lifecycle(tmp_path):
    result = run_bot(["console", "--user", "alice", "--channel", "C1"], tmp_path, TOPIC_SCRIPT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Proposing takes a form. Here, type it instead: /topic propose" in out
    assert "@bob proposed a QI topic:   [posted to the channel]\nT1 · Asthma reviews after discharge" in out
    assert "! Only the cluster's leads can use /topic move. Ask a lead: @alice." in out
    assert "@alice moved T1 Asthma reviews after discharge from proposed to agreed." in out
    assert "@alice added a note (PLAN step) to T1" in out
    assert "! The title contains a number that looks like a CHI or NHS number." in out
    assert "Agreed (1)\n• T1 Asthma reviews after discharge — Our practices · Riverside Medical Practice" in out
    assert ": [PLAN] audit 10 discharges in January" in out


POLL_SCRIPT = """\
/cluster setup Riverside Cluster
/cluster practice add 80123 Riverside Medical Practice
/cluster practice add 80456 Hillview Surgery
as bob /cluster join 80123
as carol /cluster join 80456
/poll "Which topic next?" "Asthma reviews" "Frailty register" closes in 2 weeks 12:30
as bob /poll vote P1 2
as carol /poll vote P1 2
/poll remind P1
/poll results P1
/poll close P1
as bob /poll vote P1 1
"""


def test_console_runs_a_poll(tmp_path):
    result = run_bot(["console", "--user", "alice", "--channel", "C1"], tmp_path, POLL_SCRIPT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "P1 · Which topic next?   [posted to the channel]" in out
    assert re.search(r"one ballot per practice · closes \w{3} \d{1,2} \w{3} \d{4} 12:30", out)
    assert "Your practice's ballot on P1 is now: 2. Frailty register." in out
    assert "Everyone has voted on P1: nobody to remind." in out
    assert "2. Frailty register  ██████████ 2" in out
    assert "Result: Frailty register (2 ballots)." in out
    assert "P1 closed on" in out and "it takes no more votes. Where it ended:" in out


MEETING_SCRIPT = """\
/cluster setup Riverside Cluster
/cluster practice add 80123 Riverside Medical Practice
as bob /cluster join 80123
/meeting schedule in 3 weeks 12:30 Cluster QI meeting for 90m at Riverside MP remind 7d,1d
as bob /meeting item M1 Prescribing data
/meeting agenda M1
/meeting schedule every month on the first wednesday 12:30 Monthly meeting
/meeting list
/meeting cancel M1
/meeting cancel M1
"""


def test_console_runs_meetings(tmp_path):
    result = run_bot(["console", "--user", "alice", "--channel", "C1"], tmp_path, MEETING_SCRIPT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "@alice scheduled a meeting:   [posted to the channel]\nM1 · Cluster QI meeting" in out
    assert re.search(r"\w{3} \d{1,2} \w{3} \d{4} 12:30–14:00 · Riverside MP", out)
    assert "@bob added to the agenda of M1: Prescribing data" in out
    assert "1. Prescribing data (@bob)" in out
    assert "repeats the first Wednesday of every month" in out
    assert "@alice cancelled M1 Cluster QI meeting" in out and "M1 is already cancelled." in out


def test_a_scheduler_with_no_platform_settings_queues_what_falls_due_for_the_servers(tmp_path):
    """A Teams-only (or any) deployment: `python -m bot scheduler` needs only the database. What falls
    due is written to the outbox for the cluster's platform, for that platform's servers to send."""
    from datetime import UTC, datetime, timedelta

    from sqlmodel import select

    from storage import clusters as cluster_store
    from storage import meetings as meeting_store
    from storage.db import Database
    from storage.models import Meeting, Outbox
    from testkit.teams_ids import CHANNEL, LEAD, TENANT

    url = f"sqlite:///{tmp_path / 'cluster.db'}"
    db = Database(url)
    db.migrate()
    now = datetime.now(UTC)
    with db.session() as session:
        cluster = cluster_store.create_cluster(session=session, team_id=TENANT, enterprise_id=TENANT,
                                               channel_id=CHANNEL, name="Riverside", time_zone="Europe/London",
                                               lead_user_id=LEAD, platform="teams")
        meeting = meeting_store.create_meeting(session=session, cluster=cluster, meeting=Meeting(
            cluster_id=cluster.id, short_id="", title="Teams meeting", created_by=LEAD,
            starts_at=now + timedelta(minutes=10)))
        meeting_store.plan_reminders(session=session, meeting=meeting, due=[("10m", now - timedelta(seconds=1))])
    scheduler = subprocess.Popen([sys.executable, "-m", "bot", "scheduler", "--tick", "0.5"], cwd=tmp_path,
                                 env=bot_env(DATABASE_URL=url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            with db.session() as session:
                rows = list(session.exec(select(Outbox)))
            if rows:
                break
            assert scheduler.poll() is None, scheduler.stderr.read()
            assert time.monotonic() < deadline, "nothing queued within 30 s"
            time.sleep(0.2)
        [row] = rows
        assert (row.platform, row.channel, row.sent_at) == ("teams", CHANNEL, None)  # queued, for Teams to send
        assert "Teams meeting" in row.payload
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=10)
    db.dispose()
