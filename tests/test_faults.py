"""Faults: the bot killed mid-burst (SIGKILL), and PostgreSQL restarted under load."""

import http.client
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

import pytest
from sqlmodel import select

from commands import UNAVAILABLE, Clusterbot
from commands.context import Caller
from storage import clusters as cluster_store
from storage.models import Ballot, Poll
from testkit.slack_requests import SIGNING_SECRET, button_payload, dispatch_command, signed_headers
from tests.test_processes import bot_env, free_port, wait_healthy

# The bot in another process (the real time kept); the database restarted under load decides.
pytestmark = [pytest.mark.wall_clock, pytest.mark.database]

VOTERS = 240


def start_bot(db, slack_api, port: int) -> subprocess.Popen:
    env = bot_env(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack_api.url,
                  DATABASE_URL=db.url, SCHEDULER="off")
    process = subprocess.Popen([sys.executable, "-m", "bot", "http", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_healthy(port, process)
    return process


def vote(port: int, voter: str, option: int, slack_api) -> bool:
    """One signed click; True only if the bot acknowledged it (HTTP 200)."""
    import json

    body = urlencode({"payload": json.dumps(button_payload(f"poll.vote|{option - 1}", f"P1:{option}", user=voter,
                                                           response_url=slack_api.response_url))})
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/slack/events", body=body, headers=signed_headers(body))
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


def test_every_acknowledged_vote_survives_a_sigkill(db, slack_api):
    product = Clusterbot(db)
    caller = Caller("ULEAD", "CCLUSTER", "T0001")
    product.handle("/cluster", "setup Riverside Cluster", caller)
    with db.session() as session:
        cluster = cluster_store.find_cluster(session=session, team_id="T0001", channel_id="CCLUSTER")
        for n in range(VOTERS):
            cluster_store.save_member(session=session, cluster=cluster, user_id=f"UV{n:03d}")
    product.handle("/poll", '"Lunch or evening?" "Lunch" "Evening" "Either" per person', caller)
    assert product.remember("poll:1", "CCLUSTER", "1.1") is None

    port = free_port()
    bot = start_bot(db, slack_api, port)
    acknowledged, lock = {}, threading.Lock()
    queue = [(f"UV{n:03d}", 1 + n % 3) for n in range(VOTERS)]

    def client():
        while True:
            with lock:
                if not queue:
                    return
                voter, option = queue.pop()
            if vote(port, voter, option, slack_api):
                with lock:
                    acknowledged[voter] = option

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    while len(acknowledged) < VOTERS // 3:
        time.sleep(0.01)
    bot.send_signal(signal.SIGKILL)  # mid-burst, no warning
    bot.wait(timeout=10)
    for t in threads:
        t.join()
    before_restart = dict(acknowledged)
    assert 0 < len(before_restart) < VOTERS

    bot = start_bot(db, slack_api, port)  # the same database, a new process
    try:
        with db.session() as session:
            stored = {b.voter_key.removeprefix("person:"): b.choices for b in session.exec(select(Ballot))}
        lost = {v: o for v, o in before_restart.items() if stored.get(v) != str(o)}
        assert lost == {}, f"{len(lost)} acknowledged votes lost"
        for voter, option in [(f"UV{n:03d}", 1 + n % 3) for n in range(VOTERS)]:
            if voter not in stored:
                assert vote(port, voter, option, slack_api)  # the rest vote after the restart
        with db.session() as session:
            assert len(session.exec(select(Ballot)).all()) == VOTERS
            assert session.exec(select(Poll)).one().closed_at is None
    finally:
        bot.terminate()
        bot.wait(timeout=10)


@pytest.mark.wall_clock
@pytest.mark.skipif(not os.environ.get("TEST_POSTGRES_RESTART"), reason="needs scripts/with-postgres")
def test_postgres_restarted_under_load_the_bot_recovers_by_itself(postgres_db, app, db, slack_api):
    if db is not postgres_db:
        pytest.skip("PostgreSQL only")
    dispatch_command(app, "/cluster", "setup Riverside Cluster")
    answers, stop = [], threading.Event()

    def load():
        n = 0
        while not stop.is_set():
            n += 1
            response = dispatch_command(app, "/action", f"add Task {n}")
            answers.append((time.monotonic(), response.status, response.text))
            time.sleep(0.01)

    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(0.5)
    restarted = time.monotonic()
    subprocess.run(shlex.split(os.environ["TEST_POSTGRES_RESTART"]), check=True, capture_output=True, timeout=60)
    back = time.monotonic()
    time.sleep(1.5)
    stop.set()
    worker.join()
    assert all(status == 200 for _, status, _ in answers)
    assert all("added an action" in text or UNAVAILABLE in text for _, _, text in answers), \
        {text for _, _, text in answers}
    assert any("added an action" in text for at, _, text in answers if at > back)  # recovered, no restart
    told = [text for at, _, text in answers if UNAVAILABLE in text]
    assert all(restarted - 1 < at < back + 1 for at, _, text in answers if UNAVAILABLE in text), told
