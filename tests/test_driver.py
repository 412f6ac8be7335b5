"""The platform-free driver itself (testkit/driver.py): what it records is what the product's delivery code
really sent through the platform seam, and clicks, forms and ticks reach the product as an adapter's
would. On both databases."""

import io

from openpyxl import load_workbook
from sqlmodel import select

from bot.platform import Platform
from commands.results import Tone
from storage.models import Poll, Topic
from testkit import factories
from testkit.driver import RecordingPlatform, refused
from testkit.helpers import unsent_outbox


def test_the_recording_platform_is_a_platform():
    assert isinstance(RecordingPlatform(), Platform)


def test_the_factory_builds_the_canonical_cluster(riverside):
    who = riverside.say("/cluster who").text
    for person, practice in (("@UGP", "Riverside Medical Practice"), ("@UPM", "Riverside Medical Practice"),
                             ("@UNURSE", "Hillview Surgery")):
        assert person in who and practice in who, who
    practices = riverside.say("/cluster practice list").text
    assert "80789" in practices and "Burnside Health Centre" in practices
    # The set-up was forgotten: all that was sent since is these two answers to the lead.
    assert riverside.sent and {s.to for s in riverside.sent} == {"ULEAD"}, riverside.sent


def test_the_factory_takes_fewer_practices_and_other_people(driver):
    factories.riverside(driver.say, practices=1, members={"UNURSE": "80123"})
    practices = driver.say("/cluster practice list").text
    assert "80123" in practices and "80456" not in practices
    refused(driver.say("/cluster join 80456", user="UGP"), "No practice with code 80456")


def test_a_post_goes_through_the_outbox_and_votes_update_it(riverside, db):
    said = riverside.say('/poll "Which first?" "Asthma" "Frailty"', user="UGP")
    assert said.tone != Tone.PROBLEM, said.text
    [card] = riverside.posts
    assert card.to == "CCLUSTER" and "Which first?" in card.text
    assert unsent_outbox(db) == 0
    with db.session() as session:
        poll = session.exec(select(Poll)).one()
    assert (poll.posted_channel, poll.posted_ref) == ("CCLUSTER", card.ref)  # remembered, as Slack's ts would be
    vote = next(b for b in card.reply.buttons if b.action == "poll.vote")
    riverside.press(vote, user="UNURSE")
    [update] = riverside.updates
    assert update.ref == card.ref and update.text != card.text


def test_a_button_in_a_direct_message_names_its_cluster(riverside):
    riverside.say('/poll "Which first?" "Asthma" "Frailty"')
    riverside.say("/poll remind P1")
    [reminder] = riverside.dms("UNURSE")
    assert "asks you to vote" in reminder and "Which first?" in reminder
    assert riverside.dms("UGP") and riverside.dms("ULEAD") == []  # ULEAD is in no practice
    [dm] = [s for s in riverside.directs if s.to == "UNURSE"]
    first = dm.reply.buttons[0]
    assert first.channel == "CCLUSTER"
    assert riverside.press(first, user="UNURSE").tone != Tone.PROBLEM
    refused(riverside.press(first, user="USTRANGER"), "not a member")  # the channel was the button's word only


def test_a_form_opens_and_its_submission_is_kept_once(riverside, db):
    said = riverside.say("/topic", user="UGP")
    [form] = riverside.forms
    assert said.form == form and form.name == "topic.form"
    first = riverside.submit(form, {"title": "Frailty register accuracy", "source": "hscp"}, user="UGP", key="V1")
    again = riverside.submit(form, {"title": "Frailty register accuracy", "source": "hscp"}, user="UGP", key="V1")
    assert first.tone == Tone.DONE and again.reply.is_silent
    with db.session() as session:
        [topic] = session.exec(select(Topic)).all()
    assert (topic.title, topic.source, topic.proposed_by) == ("Frailty register accuracy", "hscp", "UGP")
    assert [t for t in riverside.channel_texts() if "proposed a QI topic" in t] == [first.text]
    assert first.text.startswith("@UGP proposed a QI topic")
    sent = len(riverside.sent)
    wrong = riverside.submit(form, {"title": ""}, user="UGP")
    assert "title" in wrong.field_errors and len(riverside.sent) == sent  # the form stays open: nothing sent


def test_ticks_turn_the_clock_and_deliver_what_fell_due(riverside):
    riverside.say("/meeting schedule 27/11/2026 12:30 Cluster QI meeting remind 1d,1h")
    riverside.forget()
    assert riverside.tick() == [] and riverside.posts == []
    riverside.tick(hours=3)  # Thu 13:00: the day-before reminder (12:30) is due
    [day_before] = riverside.posted()
    assert "Reminder: M1 · Cluster QI meeting" in day_before
    riverside.tick(hours=22, minutes=45)  # Fri 11:45: the hour-before one (11:30)
    assert len(riverside.posted()) == 2
    riverside.tick(minutes=5)
    assert len(riverside.posted()) == 2  # each reminder once


def test_an_export_is_uploaded_with_its_comment(riverside):
    riverside.say("/action add Audit discharges <@UGP> due friday")
    said = riverside.say("/action export")
    assert "Preparing" in said.text and said.later is not None
    [upload] = riverside.uploads
    assert upload.channel == "CCLUSTER" and upload.filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(upload.content))
    cells = [c.value for ws in book for row in ws.iter_rows() for c in row]
    assert "Audit discharges" in cells
    assert "Person UGP" in " ".join(str(c) for c in cells)  # names from the platform, as in Slack


def test_a_second_cluster_is_another_channel(driver):
    factories.riverside(driver.say)
    factories.riverside(driver.say, channel="CHILL", name="Hill Cluster", practices=[("80999", "Hill Surgery")],
                        members={"UFAR": "80999"}, lead="UHILL")
    refused(driver.say("/cluster join 80123", user="UFAR", channel="CHILL"), "No practice with code 80123")
    assert "Hill Cluster" in driver.say("/cluster who", user="UFAR", channel="CHILL").text
    assert "Riverside Cluster" in driver.say("/cluster who", user="UGP").text


def test_a_large_export_says_what_it_holds_and_that_it_takes_minutes(riverside, monkeypatch):
    from commands import exports

    riverside.say("/action add Audit the asthma register due friday")
    riverside.say("/action add Share the frailty list due friday")
    assert "allow a few minutes" not in riverside.say("/cluster export").text  # a small one says nothing more
    monkeypatch.setattr(exports, "LARGE", 2)  # a test cluster as large as a real one is slow to build
    said = riverside.say("/cluster export")
    assert "Preparing the cluster workbook… It holds 2 actions: allow a few minutes; it will appear here when " \
           "it's ready." in said.text
    assert "It holds 2 actions" in riverside.say("/action export all").text
    riverside.say("/action done A1")
    assert "allow a few minutes" not in riverside.say("/action export open").text  # one open action
    assert "allow a few minutes" not in riverside.say("/measure export").text  # no data points
