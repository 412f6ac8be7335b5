"""Acknowledge first: every platform call after the ack, card updates coalesced, nothing committed
left unsent. Through the real Bolt app and a Slack stand-in that can hold, slow and rate-limit calls,
on both databases."""

import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from slack_bolt.request import BoltRequest
from sqlmodel import select

from bot.delivery import Delivery
from bot.platform import NoAnswer, RateLimited
from commands import Clusterbot
from commands.results import Reply, line
from storage import outbox
from storage.clock import wall_clock
from storage.models import Poll
from testkit import factories
from testkit.helpers import unsent_outbox
from testkit.slack_requests import button_payload, dispatch_command, signed_headers, slash_body, submission_payload
from tests.test_processes import bot_env, free_port, wait_healthy

pytestmark = pytest.mark.database  # the database decides: outbox claims and leases shared by processes

QUESTION = '"Which topic next?" "Asthma reviews" "Frailty register" "Polypharmacy"'
PRACTICES = [("80123", "UGP"), ("80456", "UNURSE"), ("80789", "UPM")]


def poll_cluster(app):
    """Three practices named by code, one person in each, and a poll."""
    factories.riverside(factories.on_slack(app), practices=[(code, f"Practice {code}") for code, _ in PRACTICES],
                        members={user: code for code, user in PRACTICES})
    dispatch_command(app, "/poll", QUESTION)
    return app


@pytest.fixture
def cluster(app):
    return poll_cluster(app)


def click(app, user: str, option: int):
    """A vote button, signed, straight into Bolt: no waiting for delivery (that is the point)."""
    import json
    from urllib.parse import urlencode

    payload = button_payload(f"poll.vote|{option - 1}", f"P1:{option}", user=user,
                             response_url=app.client.base_url.replace("/api/", "/respond/T0001/1/abc"))
    body = urlencode({"payload": json.dumps(payload)})
    started = time.monotonic()
    response = app.dispatch(BoltRequest(body=body, headers=signed_headers(body)))
    return response, time.monotonic() - started


def card_text(slack_api) -> str:
    return slack_api.calls_to("chat.update")[-1].args["text"]


def test_a_click_is_acknowledged_while_slack_still_holds_the_card_update(cluster, slack_api):
    held = slack_api.hold("chat.update")
    response, _ = click(cluster, "UGP", 1)
    assert response.status == 200
    slack_api.wait_for("chat.update")  # the first update is now in flight, and held
    answered = [click(cluster, user, 2)[0].status for user in ("UNURSE", "UPM")]
    assert answered == [200, 200] and not held.is_set()  # answered while Slack sits on the update
    held.set()
    assert cluster.delivery.drain()
    assert "3 of 3 practices have voted" in card_text(slack_api)


def test_everything_is_held_and_every_kind_of_request_is_still_answered(cluster, slack_api):
    """If any Web API call or response_url post happened before the ack, these would wait 30 s."""
    releases = [slack_api.hold(m) for m in ("chat.update", "chat.postMessage", "chat.postEphemeral",
                                            "views.publish", "views.open", "response_url")]
    body = slash_body("/poll", '"Held?" "Yes" "No"', response_url=slack_api.response_url)
    started = time.monotonic()
    command = cluster.dispatch(BoltRequest(body=body, headers=signed_headers(body)))
    vote, _ = click(cluster, "UGP", 1)
    form_body = slash_body("/topic", "", response_url=slack_api.response_url)
    form = cluster.dispatch(BoltRequest(body=form_body, headers=signed_headers(form_body)))
    assert [command.status, vote.status, form.status] == [200, 200, 200]
    assert time.monotonic() - started < 20  # far below the 30 s a held call would have cost
    for release in releases:
        release.set()
    assert cluster.delivery.drain()


def test_form_field_errors_still_come_back_in_the_ack(cluster, slack_api):
    dispatch_command(cluster, "/topic", "")
    view = slack_api.calls_to("views.open")[-1].args["view"]
    import json
    from urllib.parse import urlencode

    body = urlencode({"payload": json.dumps(submission_payload(view, title=""))})
    response = cluster.dispatch(BoltRequest(body=body, headers=signed_headers(body)))
    assert response.status == 200 and '"response_action": "errors"' in response.body.replace('":"', '": "')


def test_updates_are_coalesced_and_the_last_one_shows_the_final_tally(cluster, slack_api):
    slack_api.latency = 0.3  # a server far from Slack
    before = len(slack_api.calls_to("chat.update"))
    voters = [("UGP", 1), ("UNURSE", 2), ("UPM", 3)] * 5  # each practice changes its mind several times
    threads = [threading.Thread(target=click, args=(cluster, u, o)) for u, o in voters]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    last_click = time.monotonic()
    assert cluster.delivery.drain()
    updates = slack_api.calls_to("chat.update")[before:]
    assert len(updates) <= (last_click - started) + 3  # at most about one a second, not one per click
    assert len(updates) < len(voters)
    final = card_text(slack_api)
    with cluster.delivery.product.db.session() as session:
        poll = session.exec(select(Poll)).one()
    expected = cluster.delivery.product.current(f"poll:{poll.id}")
    from bot.slack.render import message
    assert final == message(expected)["text"]  # exactly the committed state


def test_a_429_storm_on_updates_slows_no_ack_and_the_card_catches_up(cluster, slack_api):
    slack_api.throttle("chat.update", times=3, retry_after=1)
    slack_api.throttle("views.publish", times=6, retry_after=2)
    statuses = [click(cluster, user, n)[0].status for n, (_, user) in enumerate(PRACTICES, start=1)]
    assert statuses == [200, 200, 200]
    assert cluster.delivery.drain(timeout=15)
    assert "3 of 3 practices have voted" in card_text(slack_api)


class Recording:
    """A platform stand-in that records what it sends and can refuse, time out or rate-limit. It sends
    the rows of the platform it is named for (Slack unless told)."""

    def __init__(self, fail_first=None, name="slack"):
        self.name, self.has_home = name, False
        self.sent: list[tuple[str, str]] = []
        self.updated: list[tuple[str, str]] = []
        self.fail_first = list(fail_first or [])
        self._lock = threading.Lock()

    def _maybe_fail(self):
        with self._lock:
            if self.fail_first:
                raise self.fail_first.pop(0)

    def post(self, channel, reply, *, team_id=None, marker=None):
        self._maybe_fail()
        with self._lock:
            self.sent.append((channel, marker))
        return f"ref-{marker}"

    def direct(self, user_id, reply, *, team_id=None):
        self._maybe_fail()
        with self._lock:
            self.sent.append((user_id, None))

    def update(self, channel, ref, reply):
        with self._lock:
            self.updated.append((channel, ref))
    def tell(self, asker, reply): ...
    def upload(self, upload, *, team_id=None, user_id=None): ...
    def show_home(self, user_id, team_id, home): ...
    def find_post(self, channel, marker):
        return None
    def open_form(self, asker, form):
        return False
    def display_name(self, user_id):
        return user_id
    def form_hint(self, form):
        return ""


def fill_outbox(db, n: int) -> None:
    from commands.results import reply_to_json

    with db.session() as session:
        for i in range(n):
            outbox.enqueue(session=session, kind="post", channel=f"C{i % 5}",
                           payload=reply_to_json(Reply.announce(line(f"message {i}"))))


class SlowAnswers(Recording):
    """Answers to people take 20 ms each, as if Slack were far away: a burst's answers back up."""

    def __init__(self):
        super().__init__()
        self.told = 0

    def tell(self, asker, reply):
        time.sleep(0.02)
        with self._lock:
            self.told += 1


def test_a_card_update_goes_ahead_of_hundreds_of_answers_queued_before_it(db):
    from bot.platform import Asker
    from commands.context import Caller

    product = Clusterbot(db)
    lead = Caller("ULEAD", "CCLUSTER", "T0001")
    product.handle("/cluster", "setup Riverside Cluster", lead)
    key = product.handle("/poll", QUESTION, lead).effects[0].key
    platform = SlowAnswers()
    delivery = Delivery(platform, product, workers=1).start(refresh_cards=False)
    try:
        for i in range(400):  # a meeting's burst of clicks: 8 s of answers for the one worker
            delivery.after_ack(Reply.tell(line(f"Your ballot is now {i}.")), Asker("UGP", "CCLUSTER", "T0001"))
        delivery.update(key, "CCLUSTER", "card-ref")
        deadline = time.monotonic() + 5
        while not platform.updated and time.monotonic() < deadline:
            time.sleep(0.01)
        assert platform.updated == [("CCLUSTER", "card-ref")]
        assert platform.told < 20, f"the card waited for {platform.told} answers"
    finally:
        delivery.stop()


class Stuck(Recording):
    """A platform that takes every post and answers none until let go: rows pile up in hand."""

    def __init__(self):
        super().__init__()
        self.go = threading.Event()

    def post(self, channel, reply, *, team_id=None, marker=None):
        self.go.wait(10)
        return super().post(channel, reply, team_id=team_id, marker=marker)


def test_a_slow_platform_is_not_handed_the_whole_backlog_to_outlive_its_leases(db):
    """Claimed rows wait in memory for the platform; claim them all and their leases run out while they
    wait, and another worker sends them again. No more than IN_HAND are claimed at once."""
    from bot.delivery.service import IN_HAND
    from storage.models import Outbox

    fill_outbox(db, IN_HAND * 3)
    platform = Stuck()
    delivery = Delivery(platform, Clusterbot(db), workers=4, poll_seconds=0.02).start(refresh_cards=False)
    try:
        time.sleep(1.0)  # fifty polls: time enough to claim everything, as it used to
        with db.session() as session:
            held = len(session.exec(select(Outbox).where(Outbox.claimed_by.is_not(None),
                                                         Outbox.sent_at.is_(None))).all())
        assert 0 < held <= IN_HAND
        platform.go.set()
        assert delivery.drain(timeout=30)
    finally:
        platform.go.set()
        delivery.stop()
    assert len(platform.sent) == IN_HAND * 3 and unsent_outbox(db) == 0


def test_two_processes_share_the_outbox_and_each_row_is_sent_once(db):
    fill_outbox(db, 60)
    platforms = [Recording(), Recording()]
    deliveries = [Delivery(p, Clusterbot(db), workers=3).start(refresh_cards=False) for p in platforms]
    try:
        for d in deliveries:
            d.wake()
        assert all(d.drain(timeout=30) for d in deliveries)
    finally:
        for d in deliveries:
            d.stop()
    markers = [m for p in platforms for _, m in p.sent]
    assert len(markers) == 60 and len(set(markers)) == 60  # every row once, whichever process took it
    assert unsent_outbox(db) == 0


def test_a_rate_limited_or_unanswered_row_is_tried_again_and_sent_once(db):
    fill_outbox(db, 1)
    platform = Recording(fail_first=[RateLimited(0.2), NoAnswer("timed out")])
    delivery = Delivery(platform, Clusterbot(db), workers=1)
    delivery.flush()  # 429: put off 0.2 s
    assert platform.sent == [] and unsent_outbox(db) == 1
    from testkit.helpers import retry_now
    retry_now(db)
    delivery.flush()  # no answer: put off, and marked uncertain
    retry_now(db)
    delivery.flush()
    assert platform.sent == [("C0", "outbox-1")] and unsent_outbox(db) == 0


def test_a_lease_held_by_a_dead_worker_is_taken_over_only_when_it_ends(db):
    fill_outbox(db, 1)
    now = wall_clock()
    with db.session() as session:
        [row] = outbox.claim_due(session=session, worker="dead", now=now, lease=timedelta(seconds=60))
    with db.session() as session:
        assert outbox.claim_due(session=session, worker="alive", now=now + timedelta(seconds=30),
                                lease=timedelta(seconds=60)) == []
        [taken] = outbox.claim_due(session=session, worker="alive", now=now + timedelta(seconds=61),
                                   lease=timedelta(seconds=60))
    assert taken.id == row.id
    with db.session() as session:  # the dead worker, had it woken, may no longer mark it sent
        assert not outbox.mark_sent(session=session, row_id=row.id, worker="dead", ref="x", now=now)
        assert outbox.mark_sent(session=session, row_id=row.id, worker="alive", ref="x", now=now)


KILLED_AFTER_COMMIT = """
import os, sys
from commands import Clusterbot
from commands.context import Caller
from storage.db import Database
db = Database(sys.argv[1])
product = Clusterbot(db)
caller = Caller("ULEAD", "CCLUSTER", "T0001")
product.handle("/cluster", "setup Riverside Cluster", caller)
reply = product.handle("/poll", sys.argv[2], caller)
assert reply.effects and reply.effects[0].outbox_id, reply
os.kill(os.getpid(), 9)  # committed, and not one platform call made
"""


@pytest.mark.wall_clock
def test_a_process_killed_between_commit_and_delivery_delivers_after_restart_once(db, slack_api, tmp_path):
    slack_api.reset()
    env = bot_env(SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack_api.url, DATABASE_URL=db.url,
                  SLACK_SIGNING_SECRET="s", SCHEDULER="off")
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_COMMIT, db.url, QUESTION], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert slack_api.calls_to("chat.postMessage") == [] and unsent_outbox(db) == 1
    port = free_port()
    restarted = subprocess.Popen([sys.executable, "-m", "bot", "http", "--port", str(port)], env=env,
                                 cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(port, restarted)
        slack_api.wait_for("chat.postMessage", timeout=20)
        time.sleep(2.5)  # two more outbox polls: nothing is sent twice
        posts = slack_api.calls_to("chat.postMessage")
        assert len(posts) == 1 and "Which topic next?" in posts[0].args["text"]
        with db.session() as session:
            assert session.exec(select(Poll)).one().posted_ref == slack_api.messages["CCLUSTER"][0]["ts"]
        assert unsent_outbox(db) == 0
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=10)


def test_slack_and_teams_processes_on_one_database_each_send_only_their_own_clusters(db, clock):
    """One database, two platforms: the scheduler (in whichever process) queues each cluster's reminders
    and poll results for its own platform, and the card of a poll it closes is updated by that platform."""
    from commands.context import Caller
    from commands.results import plain_text as plain
    from testkit.teams_ids import CHANNEL, LEAD, TENANT

    product = Clusterbot(db, "Europe/London", clock=clock)
    slack_lead = Caller("ULEAD", "CSLACK", "T0001")
    teams_lead = Caller(LEAD, CHANNEL, TENANT, enterprise_id=TENANT, platform="teams")
    for lead in (slack_lead, teams_lead):
        assert "is its first lead" in plain(product.handle("/cluster", "setup Riverside", lead))
        poll = product.handle("/poll", QUESTION + " closes tomorrow 09:00", lead)
        assert [e.key for e in poll.effects] == ["poll:1" if lead is slack_lead else "poll:2"], poll
        product.handle("/meeting", "schedule 1/12/2026 12:30 Cluster meeting", lead)
    platforms = {name: Recording(name=name) for name in ("slack", "teams")}
    deliveries = {name: Delivery(p, product, update_interval=0) for name, p in platforms.items()}
    for delivery in deliveries.values():
        delivery.flush()  # the two polls' cards, each through its own platform
    assert [c for c, _ in platforms["slack"].sent] == ["CSLACK"]
    assert [c for c, _ in platforms["teams"].sent] == [CHANNEL]

    clock.advance(days=1)  # past the polls' deadlines: one tick, as a scheduler process with no platform
    assert all(getattr(e, "outbox_id", None) for e in product.tick())  # all of it durable, none left to the ticker
    for delivery in deliveries.values():
        delivery.flush()
    for name, channel in (("slack", "CSLACK"), ("teams", CHANNEL)):
        sent = platforms[name].sent
        assert [c for c, _ in sent] == [channel, channel], (name, sent)  # the card, then the result
        assert platforms[name].updated == [(channel, sent[0][1].replace("outbox", "ref-outbox"))], name
    assert unsent_outbox(db) == 0


def test_a_delivery_leaves_another_platforms_rows_alone(db):
    from commands.results import reply_to_json

    with db.session() as session:
        for platform in ("slack", "teams", "teams"):
            outbox.enqueue(session=session, kind="post", channel=f"C-{platform}", platform=platform,
                           payload=reply_to_json(Reply.announce(line("hello"))))
    slack = Recording()
    Delivery(slack, Clusterbot(db)).flush()
    assert [c for c, _ in slack.sent] == ["C-slack"]
    assert unsent_outbox(db) == 2  # the Teams rows wait for a Teams process
    teams = Recording(name="teams")
    Delivery(teams, Clusterbot(db)).flush()
    assert [c for c, _ in teams.sent] == ["C-teams", "C-teams"] and unsent_outbox(db) == 0
