"""Fixtures: every database test runs on SQLite and on PostgreSQL (TEST_DATABASE_URL).

`driver` is the platform-free test driver (testkit/driver.py) and `riverside` the canonical cluster built
through it (testkit/factories.py); `app` is the real Bolt app for the Slack suite, `teams` the Teams app."""

import multiprocessing
import os
import shutil
import threading
import time

import pytest
import time_machine
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.config import Settings
from bot.slack import build_app
from commands import Clusterbot
from storage.db import Database
from testkit import factories
from testkit.clock import Clock
from testkit.driver import Driver
from testkit.slack_requests import SIGNING_SECRET
from testkit.slack_standin import SlackStandIn

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL")


def pytest_collection_modifyitems(config, items):
    """In CI the PostgreSQL half of the suite is required, never silently skipped."""
    if os.environ.get("CI") == "true" and not POSTGRES_URL:
        raise pytest.UsageError("CI=true but TEST_DATABASE_URL is not set: run the suite via scripts/with-postgres")


# The machine's clock, held years away from the tests' clock (testkit/clock.py, 2026-11-26) for every
# test: a stamp the product takes from the wall clock instead of its own clock shows at once (one did:
# a handled event was stamped with the wall clock and never aged under the product's clock, a test that
# passed for two days). Tests that talk to another process (a server started with `python -m bot`),
# whose clock no fixture can move, are marked `wall_clock` and keep the real time.
# Years before, not after: a delivery child process (which no fixture moves) must find this process's
# outbox rows (stamped with the machine's clock) already due.
MACHINE_TIME = "2021-05-20 09:30:00+00:00"


def pytest_configure(config):
    config.addinivalue_line("markers", "wall_clock: the test talks to another process: the real time is kept")
    config.addinivalue_line("markers", "database: the database decides the outcome: run on SQLite and PostgreSQL")


@pytest.fixture(autouse=True)
def machine_clock_far_from_the_tests_clock(request):
    if request.node.get_closest_marker("wall_clock"):
        yield
        return
    with time_machine.travel(MACHINE_TIME, tick=True):
        yield


# Threads that send for a running app. One left running after its test goes on claiming outbox rows
# on the shared PostgreSQL database and posting to whichever stand-in now holds the old port: later
# tests then fail at random (CI failed twice this way). The check names the test that leaked it.
_SENDERS = ("delivery-", "teams-api")


def _senders() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(_SENDERS) and t.is_alive()}


def _children() -> set[str]:
    """Child processes of this one (a delivery child of DeliveryProcess) still running."""
    return {f"{child.name} (pid {child.pid})" for child in multiprocessing.active_children()}


@pytest.fixture(autouse=True)
def no_sender_outlives_its_test():
    before, children = _senders(), _children()
    yield
    deadline = time.monotonic() + 6  # Delivery.stop joins for up to 5 s
    while True:
        left, kids = _senders() - before, _children() - children
        if not (left or kids) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if left:
        pytest.fail(f"the test left {sorted(t.name for t in left)} running: stop its delivery and platform",
                    pytrace=False)
    if kids:
        pytest.fail(f"the test left child process {sorted(kids)} running: stop its delivery", pytrace=False)


@pytest.fixture(scope="session")
def postgres_db():
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL half skipped: TEST_DATABASE_URL is not set (make test starts a server)")
    db = Database(POSTGRES_URL)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """An empty SQLite database, migrated once: running every migration took 0.4–0.8 s a test, copying
    this file takes a few milliseconds (each test still runs `migrate`, which finds nothing to do)."""
    path = tmp_path_factory.mktemp("migrated") / "cluster.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()  # the last connection closed: the WAL is checkpointed into the file
    return path


def pytest_generate_tests(metafunc):
    """Product rules run on SQLite; a test marked `database` (the database decides: upserts, locks,
    claims under concurrency, migrations, wide ids, outages) runs on both SQLite and PostgreSQL."""
    if "db" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("database") is not None
        metafunc.parametrize("db", ["sqlite", "postgresql"] if both else ["sqlite"], indirect=True)


@pytest.fixture
def db(request, tmp_path):
    """A migrated, empty database: SQLite, or each kind for a test marked `database`."""
    if request.param == "sqlite":
        path = tmp_path / "cluster.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        database = Database(f"sqlite:///{path}")
        database.migrate()
        yield database
        database.dispose()
        return
    database = request.getfixturevalue("postgres_db")
    tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
    with database.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield database


@pytest.fixture(scope="session")
def slack_api():
    standin = SlackStandIn()
    yield standin
    standin.close()


@pytest.fixture
def settings(db, slack_api) -> Settings:
    slack_api.reset()
    return Settings(database_url=db.url, cluster_tz="Europe/London", slack_api_url=slack_api.url,
                    bot_token="xoxb-test-token", signing_secret=SIGNING_SECRET)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def product(db, clock) -> Clusterbot:
    # No posting rate: the suite's set-ups do a year of a cluster's work in one instant of the tests' clock.
    # tests/test_bounds.py tests the rate with a product of its own, as deployed (20 a minute).
    return Clusterbot(db, "Europe/London", clock=clock, rate_limit=0,
                      ballot_key=factories.BALLOT_KEY)


@pytest.fixture
def driver(product, clock) -> Driver:
    """The product with no platform: say, click, submit; what delivery sent is recorded."""
    return Driver(product, clock)


@pytest.fixture
def riverside(driver) -> Driver:
    """The canonical Riverside cluster (testkit/factories.py), set up through the driver; the set-up's
    own messages are forgotten, so a test sees only what it caused."""
    factories.riverside(driver.say)
    driver.forget()
    return driver


@pytest.fixture
def app(settings, product):
    """The real Bolt app, talking to the Slack stand-in; its delivery workers stop with the test."""
    app = build_app(settings, product)
    yield app
    app.delivery.stop()


@pytest.fixture(scope="session")
def teams_api():
    """Microsoft's side of Teams, local: OpenID keys, the token endpoint and the Bot Connector."""
    from testkit.teams_standin import TeamsStandIn

    standin = TeamsStandIn()
    yield standin
    standin.close()


@pytest.fixture
def teams(db, product, teams_api):
    """The real Teams app (SDK, FastAPI, uvicorn) on a loopback port, talking to the stand-ins."""
    from testkit.teams_app import serve_teams

    yield from serve_teams(db, product, teams_api)
