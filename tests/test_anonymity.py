"""Issue 26: an anonymous poll against someone who reads the database (rows in their order, PostgreSQL's
transaction ids, the SQLite file's free pages), and its key (BALLOT_KEY only: a rotated bot token or
Teams client secret changes nothing; the console keeps its own beside its database)."""

import os
import sqlite3
import stat

import pytest
from sqlalchemy import event, text

from bot.__main__ import main
from bot.config import ballot_key, console_ballot_key, load_settings
from commands import Clusterbot
from storage import anonymity
from storage.db import Database
from storage.models import Poll
from testkit import factories
from testkit.driver import Driver
from tests.test_processes import run_bot

# Three practices, one voter each, choosing three different options: a pairing by order would show.
VOTERS = {"UGP": "80123", "UNURSE": "80456", "UPHARM": "80789"}
CHOICE = {"UGP": 3, "UNURSE": 1, "UPHARM": 2}  # voted in this order, which is no order of the choices
ANONYMOUS = '/poll "Which first?" "Asthma" "Frailty" "Sepsis" anonymous'
KEY = "k" * 40  # a BALLOT_KEY's text


def three_votes(driver: Driver) -> dict[int, int]:
    """An open anonymous poll with three practices' ballots; practice id -> its choice (the truth)."""
    factories.riverside(driver.say, members=VOTERS)
    driver.say(ANONYMOUS)
    for user, option in CHOICE.items():
        assert "is now" in driver.say(f"/poll vote P1 {option}", user=user).text
    with driver.product.db.session() as session:
        ids = dict(session.execute(text("SELECT user_id, practice_id FROM member")).all())
    return {ids[user]: option for user, option in CHOICE.items()}


def reader_pairings(db: Database) -> list[dict[int, str]]:
    """What a reader makes of the raw tables: who-cast rows beside ballot rows, lined up by the order
    they were written in (SQLite's rowid, PostgreSQL's ctid) and, on PostgreSQL, by transaction id."""
    with db.engine.connect() as connection:
        if db.engine.dialect.name == "sqlite":
            casters = connection.execute(text("SELECT practice_id FROM ballot_caster ORDER BY rowid")).scalars().all()
            cast = connection.execute(text("SELECT choices FROM ballot ORDER BY rowid")).scalars().all()
            return [dict(zip(casters, cast, strict=True))]
        casters = connection.execute(text("SELECT practice_id, xmin::text FROM ballot_caster ORDER BY ctid")).all()
        cast = connection.execute(text("SELECT choices, xmin::text FROM ballot ORDER BY ctid")).all()
        by_xmin = {xmin: choices for choices, xmin in cast}
        return [dict(zip([p for p, _ in casters], [c for c, _ in cast], strict=True)),
                {practice: by_xmin.get(xmin, "") for practice, xmin in casters}]


@pytest.mark.database  # what the tables hold beyond their values (row order, xmin) is the database's
def test_a_database_reader_cannot_pair_a_practice_with_its_choice_on_an_open_poll(driver):
    truth = three_votes(driver)
    for pairing in reader_pairings(driver.product.db):
        assert set(pairing) == set(truth)  # the reader does learn who voted: the card shows that too
        for practice, choices in pairing.items():
            # ...but beside each practice, by order or by transaction, no choice anyone can read
            assert anonymity.is_sealed(choices), (practice, choices)
            assert choices != str(truth[practice])
    # Sealed afresh at every write: the same choice twice does not look the same twice.
    driver.say("/poll vote P1 3", user="UNURSE")
    with driver.product.db.engine.connect() as connection:
        cast = connection.execute(text("SELECT choices FROM ballot")).scalars().all()
    assert len(set(cast)) == 3 and all(anonymity.is_sealed(c) for c in cast)
    # The product still knows each ballot (one per practice, changeable): the key opens them.
    assert "already reads: 3. Sepsis" in driver.say("/poll vote P1 3", user="UNURSE").text


@pytest.mark.database
def test_at_the_close_the_ballots_are_written_in_the_order_of_their_choices(driver):
    three_votes(driver)
    assert "closed" in driver.say("/poll close P1").text
    with driver.product.db.engine.connect() as connection:
        order = "rowid" if driver.product.db.engine.dialect.name == "sqlite" else "ctid"
        cast = connection.execute(text(f"SELECT choices, voter_key FROM ballot ORDER BY {order}")).all()
        casters = connection.execute(text("SELECT count(*) FROM ballot_caster")).scalar_one()
    # Voted 3, 1, 2; kept 1, 2, 3: the rows' order is the choices' own, and says nothing of who voted when.
    assert [c for c, _ in cast] == ["1", "2", "3"] and casters == 0
    assert [k for _, k in cast] == ["closed:1", "closed:2", "closed:3"]
    assert "a tie between “Asthma”, “Frailty” and “Sepsis”" in driver.say("/poll results P1").text


def test_a_closed_poll_leaves_no_voter_hash_in_the_sqlite_file(tmp_path, clock):
    """Deleted rows are overwritten (secure_delete), not left in free pages for someone with the file."""
    path = tmp_path / "cluster.db"
    db = Database(f"sqlite:///{path}")
    for engine in {db.engine, db.reader}:  # as SQLite is built by most (Debian's build turns it on itself)
        event.listen(engine, "connect", lambda connection, _: connection.execute("PRAGMA secure_delete=OFF"),
                     insert=True)
    db.migrate()
    driver = Driver(Clusterbot(db, clock=clock, ballot_key=factories.BALLOT_KEY), clock)
    truth = three_votes(driver)
    with db.session() as session:
        poll = session.get(Poll, 1)
    hashes = [anonymity.anonymous_key(factories.BALLOT_KEY, poll.id, f"practice:{p}").encode() for p in truth]
    assert all(h in _file_bytes(db, path) for h in hashes)  # while open, the hashes are there
    driver.say("/poll close P1")
    left = _file_bytes(db, path)
    assert not [h for h in hashes if h in left]
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 1


def _file_bytes(db: Database, path) -> bytes:
    db.engine.dispose()  # every change checkpointed into the file, and the WAL emptied
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                                if path.with_name(path.name + "-wal").exists() else b"")


SLACK = {"SLACK_BOT_TOKEN": "xoxb-first", "SLACK_SIGNING_SECRET": "s"}
TEAMS = {"TEAMS_APP_ID": "00000000-0000-0000-0000-000000000001", "TEAMS_APP_PASSWORD": "first-client-secret",
         "TEAMS_TENANT_ID": "00000000-0000-0000-0000-000000000002"}


@pytest.mark.parametrize("mode, settings, rotated", [
    ("http", SLACK, {"SLACK_BOT_TOKEN": "xoxb-rotated"}),
    ("http", {**SLACK, "BALLOT_KEY": KEY}, {"SLACK_BOT_TOKEN": "xoxb-rotated"}),
    ("teams", TEAMS, {"TEAMS_APP_PASSWORD": "the-secret-that-replaced-the-expired-one"}),
    ("teams", {**TEAMS, "BALLOT_KEY": KEY}, {"TEAMS_APP_PASSWORD": "the-secret-that-replaced-the-expired-one"}),
])
def test_a_rotated_bot_token_or_client_secret_lets_nobody_vote_twice(db, clock, mode, settings, rotated):
    before, after = load_settings(mode, environ=settings), load_settings(mode, environ={**settings, **rotated})
    first = Driver(Clusterbot(db, clock=clock, ballot_key=ballot_key(before)), clock)
    factories.riverside(first.say)
    created = first.say('/poll "Which first?" "Asthma" "Frailty" anonymous')
    if ballot_key(before) is None:  # no BALLOT_KEY: no anonymous poll to vote twice on
        assert "BALLOT_KEY" in created.text and "isn't anonymous works now" in created.text
        return
    first.say("/poll vote P1 1", user="UGP")
    second = Driver(Clusterbot(db, clock=clock, ballot_key=ballot_key(after)), clock)
    second.say("/poll vote P1 2", user="UPM")  # UGP's colleague, after the rotation: the same ballot
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ballot")).scalar_one() == 1
    assert "1 of 3 practices has voted" in second.say("/poll results P1").text


def test_the_console_keeps_its_key_beside_its_database(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'console.db'}"
    settings = load_settings("console", environ={"DATABASE_URL": url})
    db = Database(url)
    db.migrate()
    first = Driver(Clusterbot(db, clock=clock, ballot_key=console_ballot_key(settings)), clock)
    factories.riverside(first.say)
    first.say('/poll "Which first?" "Asthma" "Frailty" anonymous')
    first.say("/poll vote P1 1", user="UGP")
    key_file = tmp_path / "console.db.ballot-key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    second = Driver(Clusterbot(db, clock=clock, ballot_key=console_ballot_key(settings)), clock)  # a new run
    assert "It was" not in second.say("/poll vote P1 2", user="UPM").text
    with db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM ballot")).scalar_one() == 1
    assert key_file.read_text().strip() not in (tmp_path / "console.db").read_bytes().decode("latin-1")


def test_two_console_runs_share_one_anonymous_ballot_per_practice(tmp_path):
    """Through `python -m bot console`, as someone trying the bot would."""
    script = ('/cluster setup Riverside\n/cluster practice add 80123 Riverside Medical\n/cluster join 80123\n'
              '/poll "Which first?" "Asthma" "Frailty" anonymous\n/poll vote P1 1\n')
    assert run_bot(["console", "--user", "alice", "--channel", "C1"], tmp_path, script).returncode == 0
    again = run_bot(["console", "--user", "bob", "--channel", "C1"], tmp_path,
                    "/cluster join 80123\n/poll vote P1 1\n")
    assert again.returncode == 0 and "already reads: 1. Asthma" in again.stdout, again.stdout + again.stderr


@pytest.mark.parametrize("mode, settings", [("http", SLACK), ("socket", {**SLACK, "SLACK_APP_TOKEN": "xapp-1"}),
                                            ("teams", TEAMS), ("scheduler", {})])
def test_servers_refuse_to_start_without_ballot_key_while_an_anonymous_poll_is_open(
        tmp_path, clock, monkeypatch, capsys, mode, settings):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    db = Database(url)
    db.migrate()
    driver = Driver(Clusterbot(db, clock=clock, ballot_key=factories.BALLOT_KEY), clock)
    factories.riverside(driver.say)
    driver.say('/poll "Which first?" "Asthma" "Frailty" anonymous')
    monkeypatch.chdir(tmp_path)
    for name in ("BALLOT_KEY", "SLACK_BOT_TOKEN", "TEAMS_APP_ID", "TEAMS_APP_PASSWORD", "TEAMS_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**settings, "DATABASE_URL": url}.items():
        monkeypatch.setenv(name, value)
    assert main([mode]) == 2  # before any platform is called: no network in this test
    said = capsys.readouterr().err.strip()
    assert said.startswith("clusterbot: BALLOT_KEY is not set and 1 anonymous poll is open") and "\n" not in said


def test_a_bot_without_ballot_key_makes_no_anonymous_poll(db, clock):
    driver = Driver(Clusterbot(db, clock=clock), clock)
    factories.riverside(driver.say)
    refused = driver.say('/poll "Which first?" "Asthma" "Frailty" anonymous')
    assert "administrator must set BALLOT_KEY" in refused.text and "Traceback" not in refused.text
    driver.say('/poll "Which first?" "Asthma" "Frailty"')  # a poll that isn't anonymous: as ever
    assert any("Which first?" in posted for posted in driver.posted())


def test_a_short_ballot_key_is_one_line_naming_it():
    with pytest.raises(Exception, match=r"^BALLOT_KEY is 5 characters; use at least 32"):
        load_settings("scheduler", environ={"BALLOT_KEY": "short"})
