"""Storage on both databases: UTC datetimes, short ids under concurrency, migrations = models."""

import threading
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel, select

from storage import clusters as store
from storage import polls as poll_store
from storage import short_ids
from storage.models import Cluster, Member, Poll

pytestmark = pytest.mark.database  # the database decides: UTC, short ids under concurrency, migrations


def make_cluster(db, channel="CCLUSTER") -> Cluster:
    with db.session() as session:
        return store.create_cluster(session=session, team_id="T1", enterprise_id=None, channel_id=channel,
                                    name="Riverside", time_zone="Europe/London", lead_user_id="ULEAD")


@pytest.mark.parametrize(("row_type", "model"), [(store.ClusterRow, Cluster), (store.MemberRow, Member),
                                                 (poll_store.PollFields, Poll)])
def test_a_requests_plain_rows_carry_every_column_of_their_table(row_type, model):
    """A request reads its cluster and membership (a click, its poll) as plain rows listing the columns by
    name: a column added to the model but not to the row would simply never reach the request."""
    assert sorted(row_type.__slots__) == sorted(model.__table__.columns.keys())


def test_aware_datetimes_come_back_aware_and_in_utc(db):
    cluster = make_cluster(db)
    summer_lunch = datetime(2026, 7, 1, 12, 30, tzinfo=ZoneInfo("Europe/London"))  # BST: 11:30 UTC
    with db.session() as session:
        row = session.get(Cluster, cluster.id)
        row.created_at = summer_lunch
        session.add(row)
    with db.session() as session:
        stored = session.exec(select(Cluster.created_at)).one()
    assert stored.tzinfo is not None and stored.utcoffset().total_seconds() == 0
    assert stored == datetime(2026, 7, 1, 11, 30, tzinfo=UTC)


def test_naive_datetimes_are_refused(db):
    cluster = make_cluster(db)
    with pytest.raises(Exception, match="naive datetime"), db.session() as session:
        row = session.get(Cluster, cluster.id)
        row.created_at = datetime(2026, 7, 1, 12, 30)
        session.add(row)
        session.flush()


def test_short_ids_count_per_cluster_and_prefix(db):
    one, two = make_cluster(db, "CONE"), make_cluster(db, "CTWO")
    with db.session() as session:
        ids = [short_ids.next_short_id(session=session, cluster=c, prefix=p)
               for c, p in [(one, "T"), (one, "T"), (one, "A"), (two, "T"), (one, "T")]]
    assert ids == ["T1", "T2", "A1", "T1", "T3"]


def test_short_ids_stay_unique_under_concurrent_requests(db):
    """8 threads, each its own unit of work per id, all racing on a cluster with no counter row yet."""
    cluster = make_cluster(db)
    handed_out, errors = [], []
    start = threading.Barrier(8)

    def worker():
        start.wait()
        for _ in range(15):
            try:
                with db.session() as session:
                    handed_out.append(short_ids.next_short_id(session=session, cluster=cluster, prefix="P"))
            except Exception as error:  # pragma: no cover - the assertion below reports it
                errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(handed_out, key=lambda s: int(s[1:])) == [f"P{n}" for n in range(1, 121)]


def test_migrations_build_exactly_the_models_schema(db):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []


def test_migrate_twice_is_harmless(db):
    make_cluster(db)
    db.migrate()
    with db.session() as session:
        assert len(list(session.exec(select(Cluster)))) == 1


def test_a_long_read_does_not_hold_up_writers(db):
    """An export reads in a read-only unit of work; meanwhile others must still be able to write."""
    make_cluster(db)
    done = threading.Event()
    with db.session(read_only=True) as reading:
        assert len(list(reading.exec(select(Cluster)))) == 1  # the read transaction is open

        def write():
            make_cluster(db, channel="CSECOND")
            done.set()

        writer = threading.Thread(target=write)
        writer.start()
        assert done.wait(timeout=10), "a writer waited for a reader"
        writer.join()
    with db.session() as session:
        assert len(list(session.exec(select(Cluster)))) == 2


def test_clusters_and_unsent_rows_made_before_platforms_were_recorded_keep_their_platform(tmp_path):
    """Migration 0016 on a database from before it: Teams clusters (ids with a colon) become Teams',
    the rest Slack's; unsent outbox rows likewise, so a Slack process never claims a Teams reminder."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from storage.db import MIGRATIONS, Database

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0015")
        for channel in ("C0SLACK", "19:abc@thread.tacv2"):
            connection.execute(text("INSERT INTO cluster (team_id, channel_id, name, time_zone, reminders, created_by, "
                                    "created_at) VALUES ('T', :c, 'R', 'Europe/London', '7d', 'U', '2026-01-01')"),
                               {"c": channel})
        for channel, sent in (("C0SLACK", None), ("29:1person", None), ("19:abc@thread.tacv2", "2026-01-01")):
            connection.execute(text("INSERT INTO outbox (kind, channel, payload, created_at, not_before, attempts, "
                                    "uncertain, sent_at) VALUES ('post', :c, '{}', '2026-01-01', '2026-01-01', 0, 0, "
                                    ":s)"), {"c": channel, "s": sent})
    db.migrate()
    with db.engine.connect() as connection:
        clusters = dict(connection.execute(text("SELECT channel_id, platform FROM cluster")).all())
        rows = dict(connection.execute(text("SELECT channel, platform FROM outbox")).all())
    db.dispose()
    assert clusters == {"C0SLACK": "slack", "19:abc@thread.tacv2": "teams"}
    assert rows == {"C0SLACK": "slack", "29:1person": "teams", "19:abc@thread.tacv2": "slack"}  # sent: left alone
