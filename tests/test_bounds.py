"""Bounds (issue 26): one member could flood a meeting (13,525 agenda items in 40 s made its reminder 1.2 MB
in 398 blocks, which Slack refuses; one meeting took 399 reminders), and nothing limited how fast a person
posts. Through the platform-free driver, with the tests' clock turned by hand."""

import json

import pytest
from sqlmodel import func, select

from bot.config import ConfigError, load_settings
from bot.slack.render import message
from bot.teams.cards import reply_card
from commands import Clusterbot
from commands.results import Post, Tone
from storage.models import ActionNote, AgendaItem, Decision, Meeting, MinuteLine, Reminder, Topic, TopicNote
from testkit import factories
from testkit.driver import Driver, refused
from testkit.slack_requests import dispatch_command

SLACK_BLOCKS = 50          # Slack refuses a message with more blocks
TEAMS_CARD_BYTES = 28_000  # about what the Bot Connector takes in one activity


@pytest.fixture
def product(db, clock) -> Clusterbot:
    """The product as deployed: the posting rate at its default (the suite's own product has none)."""
    return Clusterbot(db, "Europe/London", clock=clock)


@pytest.fixture
def cluster(driver):
    """Riverside with one practice (UGP and UNURSE in 80123), Thursday 26 November 2026 at 10:00."""
    factories.riverside(driver.say, practices=1, members={"UGP": "80123", "UNURSE": "80123"})
    driver.forget()
    driver.clock.advance(minutes=1)  # joining posted too: each test's minute starts afresh
    return driver


def count(db, model, *where) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def paced(driver, typed: str, user: str = "UGP"):
    """A command typed 4 s after the one before: 15 a minute, under the posting rate."""
    driver.clock.advance(seconds=4)
    return driver.say(typed, user=user)


# --- what one item holds --------------------------------------------------------------------------

def test_the_51st_agenda_item_is_refused_and_nothing_is_stored(cluster, db):
    assert cluster.say("/meeting schedule 10/12/2026 12:30 Cluster QI meeting").in_channel
    for n in range(1, 51):
        assert paced(cluster, f"/meeting item M1 Item {n}").in_channel
    cluster.forget()
    answer = paced(cluster, "/meeting item M1 One too many")
    refused(answer, "M1 has 50 agenda items, the most a meeting takes")
    assert "/meeting withdraw M1 item <n>" in answer.text  # what to do instead
    assert count(db, AgendaItem) == 50 and not cluster.channel_texts()
    assert paced(cluster, "/meeting withdraw M1 item 3").in_channel  # room again
    assert paced(cluster, "/meeting item M1 Now it fits").in_channel
    assert count(db, AgendaItem) == 50


def test_a_meeting_takes_at_most_five_reminders(cluster, db):
    refused(cluster.say("/meeting schedule 10/12/2026 12:30 QI meeting remind 7d,6d,5d,4d,3d,2d"),
            "That is 6 reminders; a meeting takes at most 5")
    assert count(db, Meeting) == 0 and count(db, Reminder) == 0
    assert cluster.say("/meeting schedule 10/12/2026 12:30 QI meeting remind 7d,3d,1d,2h,30m").in_channel
    flood = ",".join(f"{n}m" for n in range(1, 400))  # the 399 of the finding
    refused(cluster.say(f"/meeting edit M1 reminders {flood}"), "That is 399 reminders")
    refused(cluster.say(f"/meeting reminders {flood}"), "a meeting takes at most 5")
    assert count(db, Reminder) == 5


def test_the_101st_note_on_a_topic_is_refused(cluster, db):
    assert cluster.say("/topic propose Asthma reviews").in_channel
    for n in range(1, 101):
        assert paced(cluster, f"/topic note T1 Note {n}").in_channel
    refused(paced(cluster, "/topic note T1 One more"), "T1 has 100 notes, the most a topic keeps")
    assert count(db, TopicNote) == 100
    card = cluster.say("/topic show T1", user="UGP")
    assert "100. " in card.text and "Note 100" in card.text and "Note 80:" not in card.text
    assert "The first 80 notes are in the cluster's workbook" in card.text


def test_a_flooded_meetings_reminder_fits_slack_and_teams(cluster, db):
    """The flood of the finding, at the pace the posting rate allows: the agenda stops at 50 items and
    the reminder shows a part of each section, whatever the data, within both platforms' limits."""
    assert cluster.say("/meeting schedule tomorrow 12:30 Cluster QI meeting remind 1d").in_channel
    long = "x" * 480
    for n in range(330):
        paced(cluster, f"/meeting item M1 {n} {long}")
    for n in range(30):
        paced(cluster, f"/topic propose {n} {'y' * 140}", user="UNURSE")
    posted = [e for e in cluster.tick(hours=3) if isinstance(e, Post)]
    [reminder] = [p.reply for p in posted if "Reminder" in p.reply.lines[0][0]]
    slack = message(reminder)
    assert len(slack["blocks"]) <= SLACK_BLOCKS, len(slack["blocks"])
    card, _ = reply_card(reminder, lambda user_id: user_id)
    assert len(json.dumps(card).encode()) <= TEAMS_CARD_BYTES
    text = "\n".join(s["text"]["text"] for s in slack["blocks"] if s["type"] == "section")
    assert "…and 40 more agenda items: `/meeting agenda M1`" in text
    assert "…and 20 more topics: `/topic list proposed`" in text
    assert count(db, Topic) == 30


# --- how fast a person posts ---------------------------------------------------------------------

def test_the_21st_posting_command_in_a_minute_is_refused_politely(cluster, db):
    assert cluster.say('/poll "Which first?" "Asthma" "Frailty"').tone != Tone.PROBLEM and cluster.posts
    for n in range(1, 21):
        assert cluster.say(f"/topic propose Topic {n}", user="UGP").in_channel
    cluster.forget()
    answer = cluster.say("/topic propose Topic 21", user="UGP")
    refused(answer, "You've posted here 20 times in the last minute")
    assert "Please try again in 60 seconds" in answer.text and "nothing was changed" in answer.text
    assert count(db, Topic) == 20 and not cluster.channel_texts()
    listed = cluster.say("/topic list", user="UGP")  # reading still answers
    assert listed.tone != Tone.PROBLEM and "Topic 20" in listed.text
    voted = cluster.click("poll.vote", "P1:1", user="UGP")  # a button is not limited
    assert voted.tone != Tone.PROBLEM and "P1" in voted.text
    assert cluster.say("/topic propose The nurse's topic", user="UNURSE").in_channel  # another person
    cluster.clock.advance(seconds=30)
    refused(cluster.say("/topic propose Topic 21", user="UGP"), "Please try again in 30 seconds")
    cluster.clock.advance(seconds=30)  # a minute after the first
    assert cluster.say("/topic propose Topic 21", user="UGP").in_channel
    assert count(db, Topic) == 22


def test_the_rate_is_per_cluster_and_forms_count(driver, db):
    factories.riverside(driver.say, practices=1, members={"UGP": "80123"})
    factories.riverside(driver.say, practices=1, members={"UGP": "80123"}, channel="COTHER", name="Other")
    driver.clock.advance(minutes=1)
    for n in range(20):
        driver.submit("topic.form", {"title": f"Form topic {n}", "source": "practices"}, user="UGP")
    assert count(db, Topic) == 20
    refused(driver.submit("topic.form", {"title": "One more", "source": "practices"}, user="UGP"),
            "You've posted here 20 times")
    assert driver.say("/topic propose Elsewhere", user="UGP", channel="COTHER").in_channel
    assert count(db, Topic) == 21


def test_slack_gets_the_same_rule(app, db, clock):
    """The rule is the product's: a signed slash command past the rate is answered ephemerally."""
    factories.riverside(factories.on_slack(app), practices=1, members={"UGP": "80123"})
    clock.advance(minutes=1)
    for n in range(20):
        assert dispatch_command(app, "/topic", f"propose Topic {n}", user="UGP").in_channel
    answer = dispatch_command(app, "/topic", "propose Topic 21", user="UGP")
    assert answer.status == 200 and not answer.in_channel
    assert "You've posted here 20 times in the last minute" in answer.text
    assert count(db, Topic) == 20


def test_a_rate_of_nought_turns_the_limit_off(db, clock):
    driver = Driver(Clusterbot(db, clock=clock, rate_limit=0), clock)
    factories.riverside(driver.say, practices=1, members={"UGP": "80123"})
    for n in range(25):
        assert driver.say(f"/topic propose Topic {n}", user="UGP").in_channel


def test_the_setting_is_read_and_checked():
    assert load_settings("console", env_file=None, environ={}).rate_limit_per_minute == 20
    assert load_settings("console", env_file=None, environ={"RATE_LIMIT_PER_MINUTE": "0"}).rate_limit_per_minute == 0
    with pytest.raises(ConfigError, match="RATE_LIMIT_PER_MINUTE"):
        load_settings("console", env_file=None, environ={"RATE_LIMIT_PER_MINUTE": "lots"})


def test_a_flood_of_proposals_still_lists_in_one_message(cluster, db):
    for n in range(60):
        paced(cluster, f"/topic propose Proposal {n}")
    listed = cluster.say("/topic list proposed", user="UGP")
    assert "Proposal 49" in listed.text and "Proposal 50" not in listed.text
    assert "…and 10 more proposed topics: every topic is in /cluster export" in listed.text
    assert len(message(listed.reply)["blocks"]) <= SLACK_BLOCKS


def test_an_actions_notes_and_a_meetings_minutes_and_decisions_have_a_most(cluster, db):
    lead = "ULEAD"
    assert cluster.say("/action add Audit discharges").in_channel
    for n in range(50):
        paced(cluster, f"/action note A1 Note {n}", user=lead)
    refused(paced(cluster, "/action note A1 One more", user=lead), "A1 has 50 notes, the most an action keeps")
    assert count(db, ActionNote) == 50
    assert "The first 40 notes are in the action log" in cluster.say("/action show A1").text

    assert cluster.say("/meeting record 12/11/2026 12:30 Cluster QI meeting").in_channel
    thirty = "\n".join(f"Point {n}" for n in range(30))
    for _ in range(6):
        assert paced(cluster, f"/meeting note M1 {thirty}", user=lead).in_channel
    refused(paced(cluster, f"/meeting note M1 {thirty}", user=lead), "there is room for 20 more. Nothing was added")
    assert count(db, MinuteLine) == 180
    for n in range(50):
        paced(cluster, f"/meeting decision M1 Decision {n}", user=lead)
    refused(paced(cluster, "/meeting decision M1 One more", user=lead), "M1 has 50 decisions")
    assert count(db, Decision) == 50
