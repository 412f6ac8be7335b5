"""A message's useful life, fairness between clusters, and /healthz when delivery falls behind (issue 26):
a row retried past its useful life (a reminder after its meeting, a digest after its day) is dropped and
counted, never sent late; one cluster's flood cannot hold another cluster's reminder back; /healthz says
503 when the oldest due row has waited past DELIVERY_LAG_LIMIT."""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from bot.config import ConfigError, load_settings
from bot.delivery import Delivery
from bot.platform import Asker, NoAnswer
from commands.product import USEFUL_FOR
from commands.results import Reply, line, reply_to_json
from storage import outbox
from storage.clock import wall_clock
from storage.models import Cluster, Outbox
from testkit.helpers import retry_now, statements, unsent_outbox
from tests.test_delivery import Recording

BRIDGE = "CBRIDGE"  # a second cluster's channel


def rows(db) -> list[Outbox]:
    with db.session() as session:
        return list(session.exec(select(Outbox).order_by(Outbox.id)))


def cluster_id(db, channel: str) -> int:
    with db.session() as session:
        return session.exec(select(Cluster.id).where(Cluster.channel_id == channel)).one()


def reminder_queued(driver, clock, channel: str | None = None) -> None:
    """A meeting at 12:30 with a reminder an hour before, ticked at 11:30: the reminder is in the outbox."""
    driver.say("/meeting schedule 3/12/2026 12:30 Cluster QI meeting remind 1h", channel=channel)
    clock.set(datetime(2026, 12, 3, 11, 30, tzinfo=UTC))
    assert driver.product.tick(), "the reminder was not queued"


def digest_queued(driver, clock, channel: str | None = None) -> None:
    """An action due this week, ticked on a working morning: its owner's digest is in the outbox."""
    driver.say("/action add Audit discharges <@UGP> due 30/11/2026", channel=channel)
    clock.set(datetime(2026, 11, 27, 8, 5, tzinfo=UTC))  # Friday 08:05
    assert driver.product.tick(), "the digest was not queued"


# --- a row's useful life --------------------------------------------------------------------------------

@pytest.mark.parametrize("queue, later, sent", [
    (reminder_queued, timedelta(minutes=30), True),   # retried before the meeting: sent
    (reminder_queued, timedelta(hours=2), False),     # retried after the meeting began: dropped
    (digest_queued, timedelta(hours=3), True),        # the same morning: sent
    (digest_queued, timedelta(days=1), False),        # the next day: dropped
])
def test_a_row_retried_past_its_useful_life_is_dropped_and_counted_never_sent_late(
        riverside, clock, db, caplog, queue, later, sent):
    """Before, a timed-out row was retried for ever and went out however late: "⏰ Reminder … in 1 hour"
    after the meeting, a "Good morning" digest the next day."""
    queue(riverside, clock)
    platform = Recording(fail_first=[NoAnswer("timed out")], name=riverside.platform.name)
    delivery = Delivery(platform, riverside.product)
    delivery.flush()  # no answer: the row waits for its back-off
    assert platform.sent == [] and unsent_outbox(db) == 1
    with time_machine.travel(wall_clock() + later, tick=True), caplog.at_level(logging.INFO):
        retry_now(db)  # the back-off is over whenever it is tried next
        delivery.flush()
    assert unsent_outbox(db) == 0
    row = rows(db)[-1]  # the one queued by `queue` (the set-up's messages were sent before it)
    if sent:
        assert len(platform.sent) == 1 and delivery.stats["too_late"] == 0 and row.sent_at is not None
        return
    assert platform.sent == [] and delivery.stats["too_late"] == 1
    assert row.failed_at is not None and row.last_error == outbox.TOO_LATE
    [said] = [r.getMessage() for r in caplog.records if "useful life" in r.getMessage()]
    assert f"ids {row.id}" in said
    assert "Reminder" not in said and "Audit" not in said and "morning" not in said  # never the message's text


def test_each_kind_of_message_is_queued_with_its_useful_life_and_its_cluster(riverside, clock, db):
    riverside.say('/poll "Which first?" "Asthma" "Frailty" closes 27/11/2026 17:00')  # a card: no limit
    riverside.say("/poll remind P1")                                                # DMs: until the poll closes
    reminder_queued(riverside, clock)                                              # until the meeting starts
    clock.set(datetime(2026, 12, 4, 8, 5, tzinfo=UTC))  # Friday 08:05 (after the poll's close: announced)
    riverside.say("/action add Audit discharges <@UGP> due 7/12/2026")
    riverside.product.tick()                                                       # a digest; a poll's result
    mine = cluster_id(db, "CCLUSTER")
    queued = [row for row in rows(db) if row.kind != "update"]
    assert {row.cluster_id for row in rows(db)} == {mine}

    def life(row) -> timedelta | None:
        return None if row.useful_until is None else row.useful_until - row.created_at

    def near(got: timedelta | None, want: timedelta) -> bool:
        return got is not None and abs(got - want) < timedelta(seconds=5)

    card, *others = queued
    assert card.key == "poll:1" and life(card) is None
    remind_made = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)  # the test clock's start, when /poll remind ran
    dms = [row for row in others if row.kind == "direct" and "asks you to vote" in row.payload]
    assert dms and all(near(life(r), datetime(2026, 11, 27, 17, 0, tzinfo=UTC) - remind_made) for r in dms)
    [reminder] = [row for row in others if "Reminder" in row.payload]
    assert near(life(reminder), timedelta(hours=1))
    [digest] = [row for row in others if "Good morning" in row.payload]
    assert near(life(digest), timedelta(hours=15, minutes=55))  # to midnight in London (GMT)
    [result] = [row for row in others if "closed at its deadline" in row.payload]
    assert near(life(result), USEFUL_FOR)


# --- fairness between clusters --------------------------------------------------------------------------

def flood(db, channel: str, cluster: int, n: int = 500, platform: str = "driver") -> None:
    """`n` posts of one cluster, queued first (a burst of announcements, results, a reminder storm)."""
    payload = reply_to_json(Reply.announce(line("news")))
    with db.session() as session:
        for _ in range(n):
            outbox.enqueue(session=session, kind="post", channel=channel, payload=payload, cluster_id=cluster,
                           platform=platform)


def wait_for(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.01)
    raise AssertionError("not within the time")


def test_a_clusters_reminder_goes_among_the_first_though_another_cluster_queued_500_posts_before_it(
        riverside, clock, db):
    """Rows were claimed first in first out: the reminder waited behind all 500 (it went 501st)."""
    riverside.say("/cluster setup Bridge Cluster", channel=BRIDGE)
    riverside.say("/meeting schedule 3/12/2026 12:30 Cluster QI meeting remind 1h", channel=BRIDGE)
    flood(db, "CCLUSTER", cluster_id(db, "CCLUSTER"))
    clock.set(datetime(2026, 12, 3, 11, 30, tzinfo=UTC))
    assert riverside.product.tick()  # the reminder, queued after the 500
    platform = Recording(name=riverside.platform.name)
    Delivery(platform, riverside.product).flush(rounds=30)  # claimed and sent in turn, in this thread
    assert len(platform.sent) == 501 and unsent_outbox(db) == 0
    at = next(n for n, (channel, _) in enumerate(platform.sent) if channel == BRIDGE)
    assert at < 5, f"the other cluster's reminder went {at + 1}th"


class SlowAnswers(Recording):
    """Answers to people take 20 ms each, as if the platform were far away: a flood of them backs up."""

    def __init__(self, name: str):
        super().__init__(name=name)
        self.told = 0

    def tell(self, asker, reply):
        time.sleep(0.02)
        with self._lock:
            self.told += 1


def test_a_reminder_is_not_held_back_by_another_clusters_500_answers_waiting_to_go(riverside, clock, db):
    """Jobs ran in order of arrival: the reminder waited for 500 answers, ten seconds at 20 ms each."""
    riverside.say("/cluster setup Bridge Cluster", channel=BRIDGE)
    platform = SlowAnswers(riverside.platform.name)
    delivery = Delivery(platform, riverside.product, workers=1).start(refresh_cards=False)
    try:
        for n in range(500):
            delivery.after_ack(Reply.tell(line(f"Your ballot is now {n}.")), Asker("UGP", "CCLUSTER", "T0001"))
        reminder_queued(riverside, clock, channel=BRIDGE)
        # Answers go out while the reminder is being queued (more of them on a loaded machine): count only
        # those sent after it was queued.
        queued_at = platform.told
        delivery.wake()
        told = wait_for(lambda: platform.told if any(c == BRIDGE for c, _ in platform.sent) else None)
    finally:
        delivery.stop()
    assert told - queued_at < 5, f"the reminder waited for {told - queued_at} answers"
    assert told < 500  # and never behind the whole flood


@pytest.mark.database
def test_concurrent_claims_take_each_clusters_oldest_first_and_no_row_twice(db):
    """PostgreSQL decides: workers claiming at once skip each other's locked rows (SKIP LOCKED)."""
    payload = reply_to_json(Reply.announce(line("news")))
    with db.session() as session:
        for _ in range(200):
            outbox.enqueue(session=session, kind="post", channel="CA", payload=payload, cluster_id=1)
        for cluster, channel in ((2, "CB"), (3, "CC"), (None, "CN")):
            outbox.enqueue(session=session, kind="post", channel=channel, payload=payload, cluster_id=cluster)
    now = wall_clock()
    with db.session() as session:
        first = outbox.claim_due(session=session, worker="w0", now=now, lease=timedelta(seconds=60), limit=20)
    assert [row.channel for row in first[:4]] == ["CA", "CB", "CC", "CN"] and len(first) == 20
    claimed: list[list[int]] = []

    def claim(worker: str) -> None:
        mine = []
        while True:
            with db.session() as session:
                got = outbox.claim_due(session=session, worker=worker, now=now, lease=timedelta(seconds=60), limit=7)
            if not got:
                break
            mine += [row.id for row in got]
        claimed.append(mine)

    threads = [threading.Thread(target=claim, args=(f"w{n}",)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [row.id for row in first] + [row_id for mine in claimed for row_id in mine]
    assert len(ids) == 203 and len(set(ids)) == 203


@pytest.mark.database
def test_the_fair_claim_reads_per_cluster_not_per_row(db):
    """Which clusters have rows waiting is found by stepping along the index, not by reading the backlog:
    the claim's statements are the same few whether one row waits or a thousand, and no plan reads the
    outbox whole (EXPLAINed on each database, as tests/test_scale.py does for commands)."""
    from tests.test_scale import _full_scans

    def claim_statements(n: int) -> list:
        flood(db, "CA", 1, n)
        flood(db, "CB", 2, 3)
        with statements(db) as seen, db.session() as session:
            outbox.claim_due(session=session, worker="w", now=wall_clock(), lease=timedelta(seconds=60),
                             platform="driver")
            outbox.next_due(session=session, platform="driver")  # /healthz's oldest due row
        assert _full_scans(db, seen) == {}
        with db.session() as session:
            session.execute(Outbox.__table__.delete())
        return seen

    assert len(claim_statements(1)) == len(claim_statements(1000)) <= 4


# --- /healthz when delivery falls behind ----------------------------------------------------------------

def stuck_row(db, platform: str, waited: timedelta) -> None:
    """A row due `waited` ago, held by a worker that went quiet (a platform that answers nothing)."""
    with db.session() as session:
        outbox.enqueue(session=session, kind="post", channel="CCLUSTER", platform=platform,
                       payload=reply_to_json(Reply.announce(line("news"))), now=wall_clock() - waited)
    with db.session() as session:
        assert outbox.claim_due(session=session, worker="stuck", now=wall_clock(), lease=timedelta(hours=1),
                                platform=platform)


def slack_healthz(app, db) -> tuple[str, dict]:
    import json

    from bot.server import wsgi_app

    statuses = []
    body = b"".join(wsgi_app(app, db)({"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"},
                                      lambda s, h: statuses.append(s)))
    return statuses[0], json.loads(body)


def test_slack_healthz_says_503_when_the_oldest_due_row_waited_past_the_limit(app, db):
    """Before, /healthz said 200 while posts waited for an hour behind a stuck delivery."""
    app.lag.ttl = 0  # each call asks (the cache has its own test)
    stuck_row(db, "slack", timedelta(seconds=200))
    assert slack_healthz(app, db) == ("200 OK", {"status": "ok"})  # under the default limit, 300 s
    stuck_row(db, "slack", timedelta(seconds=400))
    status, said = slack_healthz(app, db)
    assert status == "503 Service Unavailable" and said["status"] == "delivery behind"
    assert 400 <= said["oldest_due_seconds"] < 460


def test_healthz_reads_the_outbox_once_per_few_seconds_however_often_it_is_asked(app, db):
    with statements(db) as seen:
        for _ in range(20):
            assert slack_healthz(app, db)[0] == "200 OK"
    assert len([sql for sql, _ in seen if "outbox" in sql]) == 1


def test_teams_healthz_says_503_when_the_oldest_due_row_waited_past_the_limit(teams, db):
    stuck_row(db, "slack", timedelta(hours=1))  # another platform's rows are its own server's concern
    assert teams.client.get("/healthz").status_code == 200
    stuck_row(db, "teams", timedelta(hours=1))
    time.sleep(5.1)  # the answer is kept five seconds
    answer = teams.client.get("/healthz")
    assert answer.status_code == 503 and answer.json()["ok"] is False and answer.json()["delivery"] is True
    assert answer.json()["oldest_due_seconds"] >= 3600


def test_delivery_lag_limit_is_a_setting_and_a_bad_value_is_one_line():
    assert load_settings("console", env_file=None, environ={}).delivery_lag_limit == 300
    assert load_settings("console", env_file=None, environ={"DELIVERY_LAG_LIMIT": "900"}).delivery_lag_limit == 900
    for bad in ("five minutes", "5", "-300", "99999999"):
        with pytest.raises(ConfigError, match="DELIVERY_LAG_LIMIT"):
            load_settings("console", env_file=None, environ={"DELIVERY_LAG_LIMIT": bad})
