"""Database unreachable: people are told to try again, /healthz says 503, and the bot heals itself."""

import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.server import wsgi_app
from bot.slack import build_app
from commands import UNAVAILABLE, Clusterbot
from storage.db import Database
from tests.slack_requests import SIGNING_SECRET, dispatch_command
from tests.tcp_proxy import TcpProxy

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

