"""Every command costs what its own cluster costs (one database holds every cluster of a country): the
statements a command or an idle tick runs do not grow with the number of clusters in the database, nor
with the number of polls, measures or meetings its answer covers. Counted, not timed: a count that
grows is a query per item (or per cluster) that the national benchmark (bench/national.py) would show
as seconds."""

from datetime import UTC, datetime

import pytest

from commands.results import plain_text
from testkit import factories
from testkit.driver import Driver
from testkit.helpers import statements

# What a member or lead reads, typed in their cluster's channel: each must cost the same whether the
# database holds one cluster or twenty-one.
READS = ["/cluster who", "/cluster report", "/action list", "/action list mine", "/action list overdue",
         "/poll list", "/poll results P1", "/meeting list", "/meeting agenda M1", "/meeting show M1",
         "/measure list", "/measure show D1", "/measure data D1", "/topic list", "/topic show T1",
         "/cluster decisions"]


def busy_cluster(driver: Driver, n: int, *, polls: int = 1, measures: int = 1, meetings: int = 1) -> str:
    """A cluster with a topic, `polls` open per-practice polls with a ballot, `measures` measures with a
    year of data, `meetings` meetings and actions: channel C<n>, lead UL<n>, members UG<n> and UN<n>."""
    channel, lead = f"C{n}", f"UL{n}"

    def say(typed: str, user: str = lead) -> None:
        said = driver.say(typed, user=user, channel=channel)
        assert said.reply.tone.value != "problem", said.text

    factories.riverside(lambda typed, user=lead, channel=channel: driver.say(typed, user=user, channel=channel),
                        practices=2, members={lead: "80123", f"UG{n}": "80123", f"UN{n}": "80456"},
                        lead=lead, channel=channel, name=f"Cluster {n}")
    say("/topic propose Asthma reviews after discharge")
    say("/topic move T1 agreed")
    for i in range(1, polls + 1):
        say(f'/poll "Priority {i}?" "Asthma" "Diabetes" closes 30/12/2026')
        say(f"/poll vote P{i} 1", user=f"UG{n}")
    for i in range(1, measures + 1):
        say(f"/measure add T1 Reviews {i} percent higher is better goal 80")
        for practice_user in (f"UG{n}", f"UN{n}"):
            year = "\n".join(f"{m}/2026 {30 + (m * i) % 7}/100" for m in range(1, 11))
            say(f"/measure record D{i} {year}", user=practice_user)
    for i in range(1, meetings + 1):
        say(f"/meeting schedule {i}/3/2027 12:30 Cluster QI meeting {i}")
        say(f"/action add Share the asthma list @UG{n} due friday meeting M{i}")
        say(f"/meeting decision M{i} Start the asthma review")
    say("/action add Call the board due 20/11/2026")
    return channel


def costs(driver: Driver, db, channel: str, lead: str) -> dict[str, int]:
    """Statements each read runs for the cluster's lead, and the lead's Home (each read once before, so
    what is worked out once and kept is kept)."""
    found = {}
    for typed in READS:
        driver.say(typed, user=lead, channel=channel)
        with statements(db) as seen:
            said = driver.say(typed, user=lead, channel=channel)
        assert said.reply.tone.value != "problem", (typed, said.text)
        found[typed] = len(seen)
    with statements(db) as seen:
        driver.product.home(lead, driver.team)
    found["home"] = len(seen)
    return found


def test_a_command_costs_the_same_with_twenty_other_clusters_in_the_database(driver, db):
    channel = busy_cluster(driver, 0)
    alone = costs(driver, db, channel, "UL0")
    for n in range(1, 21):
        busy_cluster(driver, n)
    assert costs(driver, db, channel, "UL0") == alone


def test_the_home_agenda_and_report_cost_the_same_for_more_polls_measures_and_meetings(driver, db):
    few = costs(driver, db, busy_cluster(driver, 0), "UL0")
    many = costs(driver, db, busy_cluster(driver, 1, polls=4, measures=4, meetings=4), "UL1")
    grows = {typed: (few[typed], many[typed]) for typed in ("home", "/meeting agenda M1", "/cluster report",
                                                            "/measure list", "/poll list")
             if many[typed] != few[typed]}
    assert not grows, f"statements grow with the items answered for (few, many): {grows}"


def _idle_tick(product, clock, db) -> int:
    product.tick()  # whatever is due goes now (the month's data-due reminders, the digest)
    with statements(db) as seen:
        assert product.tick() == []
    return len(seen)


def test_an_idle_tick_costs_the_same_for_one_cluster_or_twenty_one(driver, db, clock, product):
    busy_cluster(driver, 0)
    clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=UTC))  # after December's reminder day, in the digest window
    one = _idle_tick(product, clock, db)
    for n in range(1, 21):
        busy_cluster(driver, n)
    clock.set(datetime(2026, 12, 9, 9, 5, tzinfo=UTC))
    assert _idle_tick(product, clock, db) == one


def test_the_data_due_reminders_go_once_a_month_and_then_the_tick_leaves_them_be(driver, db, clock, product):
    busy_cluster(driver, 0)
    recorded = driver.say("/measure record D1 10/2026 40/100\n11/2026 41/100", user="UG0", channel="C0")
    assert recorded.reply.tone.value == "done", recorded.text
    clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=UTC))
    sent = [e for e in product.tick() if getattr(e, "user_id", None) == "UN0"]
    assert len(sent) == 1  # UN0's practice has not recorded November; UG0's has
    with statements(db) as seen:
        later = product.tick()
    assert not any(getattr(e, "user_id", None) for e in later)
    assert not [s for s, _ in seen if "measure_point" in s], "who is missing data was worked out again"
    clock.set(datetime(2027, 1, 11, 9, 0, tzinfo=UTC))  # January's 5th working day: the next month's go
    assert [e.user_id for e in product.tick() if getattr(e, "user_id", None) in ("UG0", "UN0", "UL0")]


def test_the_agenda_reads_signals_worked_out_once_until_the_data_or_settings_change(driver, db):
    channel = busy_cluster(driver, 0, measures=2)
    driver.say("/meeting agenda M1", channel=channel, user="UL0")
    with statements(db) as seen:
        driver.say("/meeting agenda M1", channel=channel, user="UL0")
    assert not [s for s, _ in seen if "measure_point" in s], "the agenda recharted measures whose data had not changed"

    recorded = driver.say("/measure record D2 10/2026 90/100", user="UG0", channel=channel)  # replaces a value
    assert recorded.reply.tone.value == "done", recorded.text
    with statements(db) as seen:
        driver.say("/meeting agenda M1", channel=channel, user="UL0")
    read = [s for s, _ in seen if "FROM measure_point" in s]
    assert len(read) == 1  # D2's points only, in one query

    driver.say("/measure edit D2 lower is better", channel=channel, user="UL0")
    with statements(db) as seen:
        driver.say("/meeting agenda M1", channel=channel, user="UL0")
    assert [s for s, _ in seen if "FROM measure_point" in s], "a changed setting kept the old signals"


@pytest.mark.parametrize("setting", ["higher is better", "lower is better"])
def test_signals_follow_the_direction_of_good_after_an_edit(driver, setting):
    channel = busy_cluster(driver, 0)
    for user in ("UG0", "UN0"):
        driver.say("/measure record D1 " + "\n".join(f"{m}/2025 {20 + m % 3}/100" for m in range(1, 13)),
                   user=user, channel=channel)
        driver.say("/measure record D1 " + "\n".join(f"{m}/2026 {60 + m % 3}/100" for m in range(1, 11)),
                   user=user, channel=channel)
    driver.say("/meeting agenda M1", channel=channel, user="UL0")  # worked out under the first setting
    driver.say(f"/measure edit D1 {setting}", channel=channel, user="UL0")
    agenda = driver.say("/meeting agenda M1", channel=channel, user="UL0").text
    assert ("improvement" if setting == "higher is better" else "deterioration") in agenda


# Tables that grow with every cluster's history: a full scan of one is a cost of the whole deployment.
BIG = ("action", "action_note", "ballot", "measure_point", "measure_point_history", "member", "meeting", "reminder",
       "poll", "topic", "measure", "outbox", "agenda_item", "decision", "attendance", "meeting_note", "digest_sent",
       "measure_nudge", "topic_note", "practice")


def _full_scans(db, seen: list[tuple[str, object]]) -> dict[str, list[str]]:
    """statement -> the big tables its plan reads whole. SQLite plans without statistics, the same at any
    size: a SCAN without an index. PostgreSQL plans by statistics, and at a test's few rows it would scan
    anyway: with sequential scans discouraged, a sequential scan left in a plan means no index can serve.
    (Which index it picks at this size says nothing of a nation's, so an index read whole is not judged:
    SQLite's plans catch those.)"""
    found = {}
    postgres = db.engine.dialect.name == "postgresql"
    with db.engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()
        if postgres:
            cursor.execute("SET enable_seqscan = off")
        for statement, parameters in seen:
            if parameters is None or not statement.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "DELETE")):
                continue
            if postgres:
                cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
                scans = _sequential(cursor.fetchone()[0][0]["Plan"])
            else:
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                steps = [row[-1].split() for row in cursor.fetchall()]
                scans = [step[1] for step in steps if step[0] == "SCAN" and "USING" not in step]
            if whole := sorted({t for t in scans if t in BIG}):
                found[statement] = whole
        connection.rollback()
    return found


def _sequential(node: dict) -> list[str]:
    here = [node["Relation Name"]] if node["Node Type"] == "Seq Scan" else []
    return here + [t for child in node.get("Plans", []) for t in _sequential(child)]


WRITES = [("/poll vote P2 2", "UN0"), ("/measure record D1 10/2026 44/100", "UN0"), ("/action done A1", "UL0"),
          ("/action note A2 Asked twice", "UL0"), ("/meeting item M2 Asthma audit", "UN0"), ("/poll close P1", "UL0"),
          ("/topic note T1 plan: audit in January", "UL0"), ("/meeting cancel M2", "UL0")]


@pytest.mark.database
def test_no_command_and_no_tick_scans_a_table_of_every_cluster(driver, db, clock, product):
    """Every statement of the reads, writes, Home and ticks, EXPLAINed on each database."""
    for n in range(3):
        busy_cluster(driver, n, polls=2, measures=2, meetings=2)
    with statements(db) as commands:
        for typed in READS:
            driver.say(typed, user="UL0", channel="C0")
        product.home("UL0", driver.team)
        driver.say("/action list mine", user="UG0", channel="D-UG0", personal=True)
        for typed, user in WRITES:
            said = driver.say(typed, user=user, channel="C0")
            assert said.reply.tone.value != "problem", (typed, said.text)
    clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=UTC))  # reminders and the digest due
    with statements(db) as ticks:
        product.tick()
        product.tick()
    seen = commands + ticks
    assert len(seen) > 100
    scans = _full_scans(db, seen)
    assert not scans, "\n\n".join(f"{tables}: {statement}" for statement, tables in scans.items())


def test_a_reminder_and_the_home_list_at_most_ten_measures_due(driver, clock, product):
    busy_cluster(driver, 0, measures=12)
    clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=UTC))  # November's data is due from both practices
    [reminder] = [e for e in product.tick() if getattr(e, "user_id", None) == "UN0"]
    text = plain_text(reminder.reply)
    assert text.count("/measure record D") == 10 and "…and 2 more: see /measure list" in text
    home = plain_text(product.home("UN0", driver.team))
    assert home.count("/measure record D") == 10 and "…and 2 more: see /measure list" in home


def _report_cost(driver: Driver, db, channel: str, lead: str) -> int:
    """Statements of the Board report with its Word summary (charts, tables and notes of every measure)."""
    driver.say("/cluster report word", user=lead, channel=channel)
    with statements(db) as seen:
        said = driver.say("/cluster report word", user=lead, channel=channel)
    assert said.reply.tone.value != "problem", said.text
    return len(seen)


def test_the_board_report_costs_the_same_for_more_topics_measures_and_notes(driver, db):
    """The report's measured story (a chart, table and signals per measure, PDSA notes per topic) reads every
    measure, topic and point of the cluster at once: no statement per topic or per measure."""
    few = _report_cost(driver, db, busy_cluster(driver, 0), "UL0")
    channel = busy_cluster(driver, 1)
    for t in (2, 3, 4):
        driver.say(f"/topic propose Topic {t}", user="UL1", channel=channel)
        driver.say(f"/topic move T{t} agreed", user="UL1", channel=channel)
        driver.say(f"/topic note T{t} plan: try it in one practice", user="UL1", channel=channel)
        driver.say(f"/measure add T{t} Measure {t} percent higher is better", user="UL1", channel=channel)
        year = "\n".join(f"{m}/2026 {30 + m}/100" for m in range(1, 11))
        said = driver.say(f"/measure record D{t} {year}", user="UG1", channel=channel)
        assert said.reply.tone.value == "done", said.text
    assert _report_cost(driver, db, channel, "UL1") == few
