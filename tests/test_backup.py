"""`python -m bot backup` and `restore`: a cluster backed up, its database replaced, and read back through
the product; a database with data, a file that is not a backup and a backup from newer code refused."""

import os
import sqlite3

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.__main__ import main
from commands import Clusterbot
from commands.results import Tone
from storage.db import Database
from testkit import factories
from testkit.clock import Clock
from testkit.driver import Driver

pytestmark = pytest.mark.database  # the database decides: its own backup tools, on both kinds


def make_cluster(driver: Driver) -> None:
    factories.riverside(driver.say)
    for typed, user in (("/topic propose Asthma reviews", "UGP"),
                        ("/action add Audit discharges", "ULEAD"),
                        ("/measure add T1 Reviews within 2 weeks percent higher is better", "ULEAD"),
                        ("/measure record D1 10/2026 44/100", "UGP")):
        said = driver.say(typed, user=user)
        assert said.reply.tone != Tone.PROBLEM, said.text


def wipe(db: Database) -> None:
    """A new, empty database: SQLite's file removed, PostgreSQL's tables all dropped."""
    if db.engine.dialect.name == "sqlite":
        db.dispose()
        for suffix in ("", "-wal", "-shm"):
            path = db.engine.url.database + suffix
            if os.path.exists(path):
                os.remove(path)
        return
    tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
    with db.engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {tables}, alembic_version CASCADE"))


def read_back(db: Database) -> Driver:
    fresh = Database(db.url)
    return Driver(Clusterbot(fresh, "Europe/London", clock=Clock(), rate_limit=0, ballot_key=factories.BALLOT_KEY),
                  Clock()), fresh


def test_a_cluster_backed_up_and_restored_into_a_new_database_reads_back(driver, db, tmp_path, monkeypatch,
                                                                         capsys):
    make_cluster(driver)
    monkeypatch.setenv("DATABASE_URL", db.url)
    out = tmp_path / "cluster.backup"
    assert main(["backup", "--out", str(out)]) == 0
    assert f"Wrote {out}" in capsys.readouterr().out
    wipe(db)
    assert main(["restore", str(out)]) == 0
    assert "Restored" in capsys.readouterr().out
    again, fresh = read_back(db)
    try:
        assert "Audit discharges" in again.say("/action list", user="UGP").text
        assert "Asthma reviews" in again.say("/topic list", user="UGP").text
        assert "Riverside Medical Practice" in again.say("/cluster practice list", user="UGP").text
        assert "44" in again.say("/measure data D1", user="UGP").text
    finally:
        fresh.dispose()


def test_restore_refuses_a_database_holding_data_unless_forced(driver, db, tmp_path, monkeypatch, capsys):
    make_cluster(driver)
    monkeypatch.setenv("DATABASE_URL", db.url)
    out = tmp_path / "cluster.backup"
    assert main(["backup", "--out", str(out)]) == 0
    driver.say("/action add Phone the health board", user="ULEAD")  # made after the backup
    capsys.readouterr()
    assert main(["restore", str(out)]) == 2
    err = capsys.readouterr().err
    assert "already holds data" in err and "--force" in err and "Traceback" not in err
    again, fresh = read_back(db)
    try:
        assert "Phone the health board" in again.say("/action list", user="UGP").text  # untouched
        fresh.dispose()
        assert main(["restore", str(out), "--force"]) == 0
        listed = again.say("/action list", user="UGP").text
        assert "Audit discharges" in listed and "Phone the health board" not in listed
    finally:
        fresh.dispose()


def test_a_file_that_is_not_a_backup_is_refused_in_one_line(driver, db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", db.url)
    junk = tmp_path / "notes.backup"
    junk.write_bytes(b"PGDMP? no, just some notes\n" * 50)
    assert main(["restore", str(junk), "--force"]) == 2
    err = capsys.readouterr().err
    assert "is not a clusterbot" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert main(["restore", str(tmp_path / "missing.backup")]) == 2
    assert "is not a file" in capsys.readouterr().err


def test_a_backup_from_newer_code_is_refused(driver, db, tmp_path, monkeypatch, capsys):
    make_cluster(driver)
    monkeypatch.setenv("DATABASE_URL", db.url)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    out = tmp_path / "newer.backup"
    assert main(["backup", "--out", str(out)]) == 0
    wipe(db)
    capsys.readouterr()
    try:
        assert main(["restore", str(out)]) == 2
        err = capsys.readouterr().err
        assert "newer clusterbot" in err and "9999" in err and "Traceback" not in err
    finally:
        if db.engine.dialect.name != "sqlite":
            db.migrate()  # the session's PostgreSQL database, left with its tables for the next test


def test_an_older_backup_is_brought_up_to_date(db, tmp_path, monkeypatch, capsys):
    """A backup at the first revision: restored, then upgraded to head by the project's migrate."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("one kind is enough: the upgrade is the same migrate on both")
    old = tmp_path / "old.db"
    from alembic import command
    from alembic.config import Config

    from storage.db import MIGRATIONS
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{old}")
    first = Database(f"sqlite:///{old}")
    with first.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    first.dispose()
    wipe(db)
    monkeypatch.setenv("DATABASE_URL", db.url)
    assert main(["restore", str(old)]) == 0
    with sqlite3.connect(db.engine.url.database) as connection:
        version = connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert version != "0001" and version == max_revision()


def max_revision() -> str:
    from storage.backup import known_revisions
    return max(known_revisions())
