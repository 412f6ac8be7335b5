"""/meeting through the platform-free driver (testkit/driver.py), and the scheduler with a clock the tests turn;
what only Slack does (its failures, the modal) through signed requests. Both databases."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.scheduler import tick
from commands import Clusterbot
from commands.results import Post, plain_text
from storage.models import AgendaItem, Meeting, Reminder
from testkit import factories
from testkit.driver import refused
from testkit.helpers import retry_now, snapshot, unsent_outbox
from testkit.slack_requests import dispatch_command, dispatch_payload, submission_payload


@pytest.fixture
def cluster(driver):
    """Riverside with one practice (UGP in 80123), on Thursday 26 November 2026 at 10:00 (GMT)."""
    factories.riverside(driver.say, practices=1, members={"UGP": "80123"})
    return driver


@pytest.fixture
def slack_cluster(app):
    """The same cluster through signed Slack requests."""
    factories.riverside(factories.on_slack(app), practices=1, members={"UGP": "80123"})
    return app


def meet(driver, text, user="ULEAD", **kwargs):
    return driver.say(f"/meeting {text}", user=user, **kwargs)


def slack_meet(app, text, user="ULEAD", **kwargs):
    return dispatch_command(app, "/meeting", text, user=user, **kwargs)


def meetings(db):
    with db.session() as session:
        return list(session.exec(select(Meeting).order_by(Meeting.id)))


def reminders(db):
    with db.session() as session:
        return list(session.exec(select(Reminder).order_by(Reminder.due_at)))


def posts(effects):
    return [e for e in effects if isinstance(e, Post)]


def test_schedule_announces_and_plans_reminders(cluster, db):
    response = meet(cluster, "schedule 3/12/2026 12:30 Cluster QI meeting for 90m at Riverside MP remind 8d,1d,1h")
    assert response.in_channel
    assert "@ULEAD scheduled a meeting:" in response.text and "M1 · Cluster QI meeting" in response.text
    assert "Thu 3 Dec 2026 12:30–14:00 · Riverside MP" in response.text
    assert "Reminders 8d before would already be past, so they are skipped." in response.text
    assert "(“3/12/2026” read as 3 December: dates are day first)" in response.text
    [stored] = meetings(db)
    assert stored.starts_at == datetime(2026, 12, 3, 12, 30, tzinfo=UTC) and stored.minutes == 90
    assert [(r.offset, r.due_at) for r in reminders(db)] == [
        ("1d", datetime(2026, 12, 2, 12, 30, tzinfo=UTC)), ("1h", datetime(2026, 12, 3, 11, 30, tzinfo=UTC))]


def test_cluster_default_reminders(cluster, db):
    assert "Only the cluster's leads" in meet(cluster, "reminders 2d", user="UGP").text
    assert meet(cluster, "reminders 2d,2h").in_channel
    meet(cluster, "schedule 10/12/2026 12:30 Cluster QI meeting")
    assert [r.offset for r in reminders(db)] == ["2d", "2h"]


def test_an_ambiguous_date_is_read_day_first_and_echoed(cluster, db):
    response = meet(cluster, "schedule 3/4 12:30 Spring meeting")
    assert "(“3/4” read as 3 April: dates are day first)" in response.text
    assert "Sat 3 Apr 2027 12:30" in response.text
    assert meetings(db)[0].starts_at == datetime(2027, 4, 3, 11, 30, tzinfo=UTC)  # BST


def test_a_recurring_meeting_plans_the_next_one_when_it_ends(cluster, db, clock, product):
    response = meet(cluster, "schedule every month on the first wednesday 12:30 Cluster QI meeting remind 1d")
    assert "repeats the first Wednesday of every month" in response.text
    [first] = meetings(db)
    assert first.starts_at == datetime(2026, 12, 2, 12, 30, tzinfo=UTC)
    clock.set(datetime(2026, 12, 2, 13, 31, tzinfo=UTC))  # the hour-long meeting has ended
    [ended] = posts(product.tick())
    text = plain_text(ended.reply)
    assert "M1 · Cluster QI meeting has ended." in text and "/action add <what> @owner due <date> meeting M1" in text
    assert "Next: M2 Wed 6 Jan 2027 12:30." in text
    second = meetings(db)[1]
    assert (second.short_id, second.recurrence, second.title) == ("M2", first.recurrence, "Cluster QI meeting")
    assert [r.due_at for r in reminders(db) if r.meeting_id == second.id] == [datetime(2027, 1, 5, 12, 30,
                                                                                        tzinfo=UTC)]
    assert posts(product.tick()) == []  # the end is marked once


def test_reminders_carry_the_live_agenda(cluster, db, clock, product):
    meet(cluster, "schedule 3/12/2026 12:30 Cluster QI meeting at Riverside MP remind 1d")
    meet(cluster, "item M1 Feedback from the prescribing lead", user="UGP")
    cluster.say("/topic propose Asthma reviews", user="UGP")
    cluster.say("/topic propose Frailty register", user="UGP")
    cluster.say("/topic move T2 active")
    cluster.say('/poll "Which first?" "A" "B"')
    cluster.say("/action add Audit discharges <@UGP> due 1/12/2026")
    cluster.say("/action add Late letters <@UGP> due 20/11/2026")
    cluster.say("/action add After the meeting due 20/12/2026")
    clock.set(datetime(2026, 12, 2, 12, 30, tzinfo=UTC))
    [reminder] = posts(product.tick())
    text = plain_text(reminder.reply)
    assert reminder.channel == "CCLUSTER" and reminder.outbox_id is not None  # in the outbox with the claim
    assert text.startswith("⏰ Reminder: M1 · Cluster QI meeting — in 1 day")
    assert "1. Feedback from the prescribing lead (@UGP)" in text
    assert "• T2 Frailty register (active)" in text
    assert "Proposed topics\n• T1 Asthma reviews (@UGP)" in text
    assert "• P1 Which first? — 0 practices voted so far" in text
    assert "• @UGP: A2 Late letters — due Fri 20 Nov 2026 ⚠️ overdue" in text
    assert "A1 Audit discharges — due Tue 1 Dec 2026" in text
    assert "After the meeting" not in text
    assert [b.action for b in reminder.reply.buttons] == ["meeting.agenda"]


@pytest.mark.database
def test_each_reminder_goes_once_across_processes_and_restarts(cluster, db, clock):
    meet(cluster, "schedule 3/12/2026 12:30 Cluster QI meeting remind 2d,1d,1h")
    clock.set(datetime(2026, 12, 1, 12, 30, tzinfo=UTC))
    processes = [Clusterbot(db, clock=clock) for _ in range(4)]
    results = []
    threads = [threading.Thread(target=lambda p=p: results.append(posts(p.tick()))) for p in processes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = [p for r in results for p in r]
    assert len(sent) == 1 and "in 2 days" in plain_text(sent[0].reply)
    assert unsent_outbox(db) == 1  # claimed and queued in one transaction
    restarted = Clusterbot(db, clock=clock)  # a new process after a restart
    assert posts(restarted.tick()) == []


@pytest.mark.database
def test_after_downtime_missed_reminders_go_late_but_once_and_never_after_the_start(cluster, db, clock, product):
    meet(cluster, "schedule 3/12/2026 12:30 Cluster QI meeting remind 2d,1d,1h")
    meet(cluster, "schedule 4/12/2026 09:00 Early meeting remind 1h", user="UGP")
    clock.set(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))  # down since before 1 Dec; back 30 minutes before M1
    late = posts(product.tick())
    assert len(late) == 3  # M1's 2d, 1d and 1h: all still useful before the meeting
    assert posts(product.tick()) == []

    clock.set(datetime(2026, 12, 4, 9, 5, tzinfo=UTC))  # down again, back after M2 started
    assert [p for p in posts(product.tick()) if "Reminder" in plain_text(p.reply)] == []
    assert all(r.sent_at is not None for r in reminders(db))
    assert [r.skipped for r in reminders(db) if r.meeting_id == 2] == [True]


def test_a_reminder_slack_could_not_take_is_sent_later_and_once(slack_cluster, db, clock, product, slack_api):
    slack_meet(slack_cluster, "schedule 3/12/2026 12:30 Cluster QI meeting remind 1d")
    clock.set(datetime(2026, 12, 2, 12, 31, tzinfo=UTC))
    slack_api.fail("chat.postMessage", "internal_error")  # Slack's own trouble: it may or may not have arrived
    tick(product, [slack_cluster.delivery])
    slack_cluster.delivery.drain()
    assert reminders(db)[0].sent_at is not None and unsent_outbox(db) == 1  # claimed for good, still to send
    slack_api.failures.clear()
    retry_now(db)
    slack_cluster.delivery.drain()
    tries = [c for c in slack_api.calls_to("chat.postMessage") if "Reminder" in c.args["text"]]
    arrived = [m for m in slack_api.messages["CCLUSTER"] if "Reminder" in m["text"]]
    assert len(tries) >= 2 and len(arrived) == 1 and unsent_outbox(db) == 0  # failed tries, then one delivered
    assert slack_api.calls_to("conversations.history")  # it looked for the first try before posting again
    tick(product, [slack_cluster.delivery])
    slack_cluster.delivery.drain()
    assert len([m for m in slack_api.messages["CCLUSTER"] if "Reminder" in m["text"]]) == 1


@pytest.mark.database
def test_a_process_that_died_after_the_claim_still_gets_its_reminder_sent_once(slack_cluster, db, clock, slack_api):
    slack_meet(slack_cluster, "schedule 3/12/2026 12:30 Cluster QI meeting remind 1d")
    clock.set(datetime(2026, 12, 2, 12, 30, tzinfo=UTC))
    crashed = Clusterbot(db, clock=clock)
    assert len(posts(crashed.tick())) == 1  # claimed and queued, then the process died before sending
    survivor = Clusterbot(db, clock=clock)
    assert posts(survivor.tick()) == []  # the claim stands: the scheduler never makes it twice
    slack_cluster.delivery.drain()  # the surviving process's delivery sends what is in the outbox
    slack_cluster.delivery.drain()
    assert len([c for c in slack_api.calls_to("chat.postMessage") if "Reminder" in c.args["text"]]) == 1


@pytest.mark.parametrize("day, when, expected", [
    # the Monday after the clocks went back (Sunday 25 October 2026): 12:30 GMT
    ("26/10/2026", datetime(2026, 10, 1, 9, 0, tzinfo=UTC),
     {"7d": datetime(2026, 10, 19, 11, 30, tzinfo=UTC), "1d": datetime(2026, 10, 25, 12, 30, tzinfo=UTC),
      "1h": datetime(2026, 10, 26, 11, 30, tzinfo=UTC)}),
    # the Monday after the clocks went forward (Sunday 28 March 2027): 12:30 BST
    ("29/3/2027", datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
     {"7d": datetime(2027, 3, 22, 12, 30, tzinfo=UTC), "1d": datetime(2027, 3, 28, 11, 30, tzinfo=UTC),
      "1h": datetime(2027, 3, 29, 10, 30, tzinfo=UTC)}),
])
def test_reminders_keep_wall_clock_time_across_the_clock_changes(cluster, db, clock, product, day, when, expected):
    clock.set(when)
    meet(cluster, f"schedule {day} 12:30 Cluster QI meeting remind 7d,1d,1h")
    assert {r.offset: r.due_at for r in reminders(db)} == expected
    for _, due in sorted(expected.items(), key=lambda kv: kv[1]):
        clock.set(due - timedelta(seconds=1))
        assert posts(product.tick()) == []
        clock.set(due)
        [sent] = posts(product.tick())
        local = "Mon 26 Oct 2026 12:30" if "2026" in day else "Mon 29 Mar 2027 12:30"
        assert local in plain_text(sent.reply)


def test_cancel_drops_reminders_and_cancelling_twice_is_harmless(cluster, db, clock, product):
    meet(cluster, "schedule 3/12/2026 12:30 Cluster QI meeting remind 1d", user="UGP")
    refusal = meet(cluster, "cancel M1", user="UOTHER").text
    assert "Only whoever scheduled M1 (@UGP) or one of the cluster's leads (@ULEAD)" in refusal
    cancelled = meet(cluster, "cancel M1", user="UGP")  # whoever scheduled it
    assert cancelled.in_channel and "cancelled M1 Cluster QI meeting (Thu 3 Dec 2026 12:30)" in cancelled.text
    assert reminders(db) == []
    assert "M1 is already cancelled." in meet(cluster, "cancel M1").text
    clock.set(datetime(2026, 12, 3, 14, 0, tzinfo=UTC))
    assert posts(product.tick()) == []  # no reminder, no end-of-meeting post


def test_move_replans_the_reminders(cluster, db):
    meet(cluster, "schedule 3/12/2026 12:30 Cluster QI meeting remind 1d")
    moved = meet(cluster, "move M1 10/12/2026 13:00")
    assert "moved M1 Cluster QI meeting from Thu 3 Dec 2026 12:30 to Thu 10 Dec 2026 13:00" in moved.text
    assert [r.due_at for r in reminders(db)] == [datetime(2026, 12, 9, 13, 0, tzinfo=UTC)]


def test_list_show_agenda_and_items(cluster, db):
    meet(cluster, "schedule 10/12/2026 12:30 Second meeting")
    meet(cluster, "schedule 3/12/2026 12:30 First meeting at https://nhs.example/near-me")
    listing = meet(cluster, "list").text
    assert listing.index("First meeting") < listing.index("Second meeting")
    assert "https://nhs.example/near-me" in listing
    assert "Reminders: 7d before (Thu 26 Nov 2026 12:30), 1d before (Wed 2 Dec 2026 12:30)" in meet(
        cluster, "show M2").text
    meet(cluster, "item M2 Prescribing data", user="UGP")
    agenda = meet(cluster, "agenda M2").text
    assert agenda.startswith("M2 · First meeting") and "1. Prescribing data (@UGP)" in agenda
    with db.session() as session:
        assert [i.text for i in session.exec(select(AgendaItem))] == ["Prescribing data"]


def test_the_form_schedules_a_meeting(slack_cluster, db, slack_api):
    assert slack_meet(slack_cluster, "").body == ""
    view = slack_api.calls_to("views.open")[-1].args["view"]
    assert [b["block_id"] for b in view["blocks"]] == ["title", "date", "time", "minutes", "place", "reminders"]
    payload = submission_payload(view, date="2026-12-03", time="12:30", place="Riverside MP")
    assert dispatch_payload(slack_cluster, payload).body == ""
    [stored] = meetings(db)
    assert (stored.title, stored.starts_at, stored.place) == ("Cluster QI meeting",
                                                             datetime(2026, 12, 3, 12, 30, tzinfo=UTC), "Riverside MP")
    past = submission_payload(view, date="2026-11-01", time="12:30", view_id="V2")
    assert "has already passed" in dispatch_payload(slack_cluster, past).json["errors"]["date"]


def test_actions_can_name_the_meeting_they_came_from(cluster, db):
    meet(cluster, "schedule 3/12/2026 12:30 Cluster QI meeting")
    response = cluster.say("/action add Write up the minutes meeting M1")
    assert "From meeting M1" in response.text


# --- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, user, says", [
    ("schedule 20/11/2026 12:30 Old meeting", "ULEAD", "Fri 20 Nov 2026 12:30 has already passed"),
    ("schedule today 09:00 Too early", "ULEAD", "Thu 26 Nov 2026 09:00 has already passed"),
    ("schedule 3/12/2026 25:61 Bad time", "ULEAD", "“25:61” isn't a time"),
    ("schedule 3/12/2026 24:30 Bad time", "ULEAD", "“24:30” isn't a time"),
    ("schedule 3/12/2026 Meeting with no time", "ULEAD", "Give the time as HH:MM"),
    ("schedule 31/02/2027 12:30 Nope", "ULEAD", "February has 28 days in 2027."),
    ("schedule 3/12/2026 12:30", "ULEAD", "Give the title."),
    ("schedule 3/12/2026 12:30 Meeting remind 0h", "ULEAD", "“0h” isn't a reminder time"),
    ("schedule 3/12/2026 12:30 Meeting remind -1d", "ULEAD", "“-1d” isn't a reminder time"),
    ("schedule 3/12/2026 12:30 Meeting remind 90d", "ULEAD", "more than 60 days before"),
    ("schedule 3/12/2026 12:30 Meeting for 0m", "ULEAD", "A meeting lasts from 10 minutes to 12 hours."),
    ("schedule 3/12/2026 12:30 Review pt 0101011237", "ULEAD", "looks like a CHI or NHS number"),
    ("schedule every blue moon 12:30 Odd meeting", "ULEAD",
     "I can't read “every blue moon” as a repeat. Forms that work"),
    ("item M9 Something", "UGP", "There's no meeting M9 in this cluster."),
    ("item M1", "UGP", "Give the agenda item."),
    ("move M1 1/11/2026 12:30", "ULEAD", "has already passed"),
    ("move M1 10/12/2026 12:30", "UGP", "or one of the cluster's leads (@ULEAD) can use /meeting move"),
    ("cancel X1", "ULEAD", "“X1” isn't a meeting id"),
    ("reminders soon", "ULEAD", "“soon” isn't a reminder time"),
])
def test_bad_input_is_refused_privately_and_changes_nothing(cluster, db, text, user, says):
    meet(cluster, "schedule 3/12/2026 12:30 Existing meeting")
    before = snapshot(db)
    response = meet(cluster, text, user=user)
    refused(response, says)
    assert snapshot(db) == before


def test_a_meeting_id_from_another_cluster_behaves_as_unknown(cluster, db):
    meet(cluster, "schedule 3/12/2026 12:30 Secret meeting of cluster one")
    cluster.say("/cluster setup Other", user="UOTHER", channel="COTHER")
    for text in ("show M1", "agenda M1", "item M1 x", "cancel M1", "move M1 10/12/2026 12:30"):
        response = meet(cluster, text, user="UOTHER", channel="COTHER")
        assert "There's no meeting M1 in this cluster." in response.text and "Secret" not in response.text
    assert meetings(db)[0].status == "scheduled"


@pytest.mark.database
@pytest.mark.wall_clock
def test_two_real_scheduler_processes_send_a_reminder_once(db, slack_api):
    """Real time: two `python -m bot scheduler` processes ticking every half second on one database."""
    import subprocess
    import sys
    import time as clock_time

    from storage import clusters as cluster_store
    from storage import meetings as meeting_store
    from tests.test_processes import bot_env

    slack_api.reset()
    now = datetime.now(UTC)
    with db.session() as session:
        cluster = cluster_store.create_cluster(session=session, team_id="T0001", enterprise_id=None,
                                               channel_id="CCLUSTER", name="Riverside", time_zone="Europe/London",
                                               lead_user_id="ULEAD")
        meeting = meeting_store.create_meeting(session=session, cluster=cluster, meeting=Meeting(
            cluster_id=cluster.id, short_id="", title="Real-time meeting", created_by="ULEAD",
            starts_at=now + timedelta(minutes=10)))
        meeting_store.plan_reminders(session=session, meeting=meeting, due=[("10m", now + timedelta(seconds=2))])
    env = bot_env(SLACK_BOT_TOKEN="xoxb-test", SLACK_API_URL=slack_api.url, DATABASE_URL=db.url)
    schedulers = [subprocess.Popen([sys.executable, "-m", "bot", "scheduler", "--tick", "0.5"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        deadline = clock_time.monotonic() + 30
        while not [c for c in slack_api.calls_to("chat.postMessage") if "Reminder" in c.args["text"]]:
            assert clock_time.monotonic() < deadline, "no reminder within 30 s"
            assert all(p.poll() is None for p in schedulers), [p.stderr.read() for p in schedulers]
            clock_time.sleep(0.2)
        clock_time.sleep(3)  # both processes tick several more times
        sent = [c for c in slack_api.calls_to("chat.postMessage") if "Reminder" in c.args["text"]]
        assert len(sent) == 1 and "Real-time meeting" in sent[0].args["text"]
        assert reminders(db)[0].sent_at is not None
    finally:
        for p in schedulers:
            p.terminate()
            p.wait(timeout=10)
