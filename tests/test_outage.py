"""Database unreachable: people are told to try again, /healthz says 503, and the bot heals itself."""

import time

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot import front_door
from bot.config import Settings
from bot.delivery import Delivery
from bot.server import wsgi_app
from bot.slack import build_app
from commands import UNAVAILABLE, Clusterbot
from commands.results import plain_text
from storage.db import Database
from testkit.driver import RecordingPlatform
from testkit.helpers import unsent_outbox
from testkit.slack_requests import SIGNING_SECRET, dispatch_command
from testkit.tcp_proxy import TcpProxy

pytestmark = pytest.mark.database  # the database decides: the database going away and coming back


def healthz(app, db) -> str:
    statuses = []
    wsgi_app(app, db)({"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"}, lambda s, h: statuses.append(s))
    return statuses[0]


def bot_on(url, slack_api):
    db = Database(url)
    return db, build_app(Settings(url, "Europe/London", slack_api.url, "xoxb-test", SIGNING_SECRET), Clusterbot(db))


def assert_unavailable_then_recovers(app, db, restore):
    response = dispatch_command(app, "/cluster", "setup Riverside Cluster")
    assert response.status == 200 and not response.in_channel
    assert UNAVAILABLE in response.text and "Traceback" not in response.text
    assert healthz(app, db).startswith("503")

    restore()
    assert healthz(app, db).startswith("200")
    response = dispatch_command(app, "/cluster", "setup Riverside Cluster")
    assert response.in_channel, response.text
    assert "Leads: <@ULEAD>" in dispatch_command(app, "/cluster", "who").text


def test_sqlite_file_unreachable_at_start_then_appears(tmp_path, slack_api):
    folder = tmp_path / "not-yet"
    db, app = bot_on(f"sqlite:///{folder / 'cluster.db'}", slack_api)
    try:
        assert_unavailable_then_recovers(app, db, lambda: folder.mkdir())
    finally:
        app.delivery.stop()


def test_postgres_outage_mid_life_and_recovery(postgres_db, slack_api):
    """A real PostgreSQL server behind a relay that we cut: established connections die mid-life."""
    real = make_url(postgres_db.url)
    proxy = TcpProxy(real.host, real.port)
    app = None
    try:
        db, app = bot_on(real.set(port=proxy.port).render_as_string(hide_password=False), slack_api)
        with db.engine.begin() as connection:  # a clean slate for this test's cluster
            connection.exec_driver_sql("TRUNCATE cluster, practice, member, short_id_counter CASCADE")
        assert healthz(app, db).startswith("200")  # pool holds live connections now
        proxy.cut()
        assert_unavailable_then_recovers(app, db, proxy.restore)
    finally:
        if app is not None:
            app.delivery.stop()  # else its workers go on polling the shared database after the test
        proxy.close()



class _CutsTheDatabaseAfterTheFirstPost(RecordingPlatform):
    """The platform stays up and takes every post; just after taking the first one, the database goes
    down, so that post's bookkeeping (marked sent) fails."""

    def __init__(self, proxy: TcpProxy):
        super().__init__()
        self.proxy = proxy

    def post(self, channel, reply, *, team_id=None, marker=None) -> str:
        ref = super().post(channel, reply, team_id=team_id, marker=marker)
        if len(self.sent) == 1:
            self.proxy.cut()
        return ref


def test_platform_up_database_down_every_owed_message_is_posted_once(postgres_db):
    real = make_url(postgres_db.url)
    proxy = TcpProxy(real.host, real.port)
    db = Database(real.set(port=proxy.port).render_as_string(hide_password=False))
    tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    product, platform = Clusterbot(db), _CutsTheDatabaseAfterTheFirstPost(proxy)
    lead = front_door.caller(platform=platform.name, user_id="ULEAD", team_id="T1", here="CRIVER")
    product.handle("/cluster", "setup Riverside Cluster", lead)
    for title in ("Asthma reviews", "Frailty register", "Polypharmacy"):  # each poll's card: an outbox row
        assert product.handle("/poll", f'"{title}?" "Yes" "No"', lead).effects
    delivery = Delivery(platform, product, workers=1, poll_seconds=0.2)  # one post at a time: the cut is exact
    try:
        delivery.start(refresh_cards=False)
        deadline = time.monotonic() + 10
        while not platform.sent and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(6)  # the outage: bookkeeping tried and failed, the job not run again
        assert len([s for s in platform.sent if s.kind == "post"]) == 1
        proxy.restore()
        assert delivery.drain(timeout=60)
        posts = [plain_text(s.reply) for s in platform.sent if s.kind == "post"]
        for title in ("Asthma reviews", "Frailty register", "Polypharmacy"):
            assert len([p for p in posts if f"{title}?" in p]) == 1, (title, posts)
        assert len(posts) == 3
        assert unsent_outbox(db) == 0
    finally:
        delivery.stop()
        db.dispose()
        proxy.close()
