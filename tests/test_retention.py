"""Nothing kept for ever: sent outbox rows older than RETENTION_DAYS are forgotten by the scheduler's
tick (issue 26: the outbox kept every message ever sent); rows not yet sent are never purged."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlmodel import select

from bot import front_door
from bot.config import ConfigError, load_settings
from commands import Clusterbot
from storage.models import Outbox
from testkit import factories
from testkit.clock import Clock
from testkit.driver import Driver

QUESTION = '"Which audit first?" "Asthma" "Frailty"'


def _outbox(db) -> list[Outbox]:
    with db.session(read_only=True) as session:
        return list(session.exec(select(Outbox).order_by(Outbox.id)))


def test_sent_rows_older_than_the_retention_are_forgotten_and_newer_ones_kept(db):
    clock, start = Clock(), datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as machine:
        driver = Driver(Clusterbot(db, clock=clock, retention_days=30), clock)
        factories.riverside(driver.say)
        driver.say(f"/poll {QUESTION}")                     # sent now: 31 days old at the purge
        machine.shift(timedelta(days=2))
        driver.say('/poll "Lunch or evening?" "Lunch" "Evening"')  # 29 days old at the purge
        sent = [row.id for row in _outbox(db) if row.sent_at is not None]
        assert len(sent) >= 2
        machine.shift(timedelta(days=29, hours=1))
        driver.product.tick()
        kept = _outbox(db)
        assert [row.id for row in kept] and all(row.sent_at >= start + timedelta(days=2) for row in kept)
        assert "Lunch or evening?" in " ".join(row.payload for row in kept)
        assert "Which audit first?" not in " ".join(row.payload for row in kept)


def test_unsent_rows_are_never_purged(db):
    with time_machine.travel(datetime(2024, 3, 1, 9, 0, tzinfo=UTC), tick=False) as machine:
        product = Clusterbot(db, retention_days=1)
        lead = front_door.caller(platform="nowhere", user_id="ULEAD", team_id="T1", here="CRIVER")
        product.handle("/cluster", "setup Riverside Cluster", lead)
        product.handle("/poll", QUESTION, lead)  # no delivery serves "nowhere": stays unsent
        machine.shift(timedelta(days=40))
        product.tick()
        assert [row.sent_at for row in _outbox(db)] == [None]


def test_retention_days_is_a_setting_and_a_bad_value_is_one_line():
    settings = load_settings("console", env_file=None, environ={"RETENTION_DAYS": "90"})
    assert settings.retention_days == 90
    assert load_settings("console", env_file=None, environ={}).retention_days == 30
    with pytest.raises(ConfigError, match="RETENTION_DAYS “thirty”"):
        load_settings("console", env_file=None, environ={"RETENTION_DAYS": "thirty"})
