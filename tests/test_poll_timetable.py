"""Polls on a timetable (opens, every, scheduled, stop), the automatic reminder the working day before a
close, and editing a posted poll: through the platform-free Driver with the tests' clock (which starts on
Thursday 26 November 2026, 10:00 in London). Monday 30 November 2026 is St Andrew's Day, a Scottish bank
holiday."""

import re
import threading
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.teams.cards import reply_card
from commands.polls.timetable import remind_at
from commands.results import Tone
from storage.models import Poll, PollSchedule
from testkit.driver import refused

SLASH_FORM = re.compile(r"(?<![\w/:.@-])/(cluster|topic|poll|action|meeting|measure)\b")
LONDON = "Europe/London"


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    """A moment in late 2026 (London is on GMT then, so UTC is the local time)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def polls(db) -> list[Poll]:
    with db.session() as session:
        return list(session.exec(select(Poll).order_by(Poll.id)))


def cards(driver) -> list[str]:
    """The poll cards posted to the channel (not the announcements)."""
    return [t for t in driver.posted() if re.match(r"P\d+ · ", t)]


def ok(said):
    assert said.tone != Tone.PROBLEM, said.text
    return said


# --- opens: posted once, at its time ----------------------------------------------------------------

def test_opens_posts_the_poll_once_at_its_time_and_says_back_the_dates(riverside, db):
    said = ok(riverside.say('/poll "Which audit next?" "Asthma" "Frailty" opens tuesday 09:30 closes friday',
                            user="UGP"))
    assert said.in_channel
    assert "S1" in said.text and "Which audit next?" in said.text
    assert "Tue 1 Dec 2026 09:30" in said.text            # opens tuesday, read from Thursday 26 Nov
    assert "Fri 4 Dec 2026 17:00" in said.text            # closes friday, read from the day it opens
    assert polls(db) == [] and cards(riverside) == []
    riverside.clock.set(at(1, 9, 29))
    riverside.tick()
    assert cards(riverside) == []
    riverside.tick(minutes=1)
    [card] = cards(riverside)
    assert card.startswith("P1 · Which audit next?") and "closes Fri 4 Dec 2026 17:00" in card
    [poll] = polls(db)
    assert poll.created_by == "UGP" and poll.options == ["Asthma", "Frailty"] and poll.schedule_id is not None
    riverside.tick(minutes=5)
    riverside.tick(days=1)
    assert len(cards(riverside)) == 1 and len(polls(db)) == 1   # once
    assert "No polls on the timetable" in riverside.say("/poll scheduled").text
    # the poll it posted is an ordinary poll: votes update its card
    ok(riverside.say("/poll vote P1 2", user="UNURSE"))
    assert "1 of 3 practices has voted" in riverside.updates[-1].text


def test_opens_without_a_time_posts_at_nine_and_bad_timetables_are_refused(riverside, db):
    said = ok(riverside.say('/poll "Q?" "A" "B" opens tomorrow'))
    assert "Fri 27 Nov 2026 09:00" in said.text
    refused(riverside.say('/poll "Q?" "A" "B" opens yesterday'), "has already passed")
    refused(riverside.say('/poll "Q?" "A" "B" opens'), "Say when it opens")
    refused(riverside.say('/poll "Q?" "A" "B" opens friday every monday'), "not both")
    refused(riverside.say('/poll "Q?" "A" "B" every blue moon'), "as a repeat")
    refused(riverside.say('/poll "Q?" "A" "B" remind maybe'), "say on or off")
    refused(riverside.say('/poll "Q?" "A" "B" opens friday closes 26/11/2026'), "close before it opens")
    refused(riverside.say('/poll "Q?" "A" "B" opens friday closes someday'), "someday")
    with db.session() as session:
        assert len(session.exec(select(PollSchedule)).all()) == 1  # nothing half-written by the refusals


# --- every: a new poll, with a new P id, each time ---------------------------------------------------

def test_every_reposts_the_same_poll_as_new_polls_until_stopped(riverside, db):
    said = ok(riverside.say('/poll "Coming on Thursday?" "Yes" "No" every monday 08:30 closes wednesday',
                            user="UGP"))
    assert "every Monday at 08:30" in said.text and "Mon 30 Nov 2026 08:30" in said.text
    assert "Wed 2 Dec 2026 17:00" in said.text and "2 days after it is posted" in said.text
    listed = riverside.say("/poll scheduled").text
    assert "S1" in listed and "next Mon 30 Nov 2026 08:30" in listed and "every Monday at 08:30" in listed
    riverside.clock.set(at(30, 8, 30, month=11))
    riverside.tick()
    riverside.clock.set(at(7, 8, 30))
    riverside.tick()
    first, second = cards(riverside)
    assert first.startswith("P1 · Coming on Thursday?") and "closes Wed 2 Dec 2026 17:00" in first
    assert second.startswith("P2 · Coming on Thursday?") and "closes Wed 9 Dec 2026 17:00" in second
    assert [p.short_id for p in polls(db)] == ["P1", "P2"]
    assert polls(db)[0].closed_by == "deadline"  # P1 closed at its own deadline meanwhile
    refused(riverside.say("/poll stop S1", user="UNURSE"), "Only whoever timetabled S1")
    refused(riverside.say("/poll stop P1"), "P1 is a posted poll")
    refused(riverside.say("/poll stop S9"), "no timetabled poll S9")
    refused(riverside.say("/poll stop X"), "isn't a timetabled poll's id")
    stopped = ok(riverside.say("/poll stop S1", user="UGP"))
    assert stopped.in_channel and "will not be posted again" in stopped.text and "P1, P2" in stopped.text
    riverside.clock.set(at(14, 8, 30))
    riverside.tick()
    assert len(cards(riverside)) == 2 and len(polls(db)) == 2
    assert "nothing to stop" in riverside.say("/poll stop S1").text


def test_a_missed_week_is_skipped_not_posted_twice(riverside, db):
    ok(riverside.say('/poll "Coming?" "Yes" "No" "Maybe" every monday 08:30 per person pick 2 hidden remind off'))
    riverside.clock.set(at(8, 12, 0))  # the bot was down over Monday 30 Nov and Monday 7 Dec
    riverside.tick()
    riverside.tick()
    [poll] = polls(db)
    # the poll's settings carry over to what the timetable posts
    assert (poll.per_practice, poll.pick, poll.hidden, poll.anonymous, poll.remind) == (False, 2, True, False, False)
    with db.session() as session:
        assert session.exec(select(PollSchedule)).one().next_at == at(14, 8, 30)


# --- the automatic reminder ---------------------------------------------------------------------------

def test_the_reminder_goes_once_on_the_working_day_before_the_close_skipping_the_bank_holiday(riverside, db):
    ok(riverside.say('/poll "Which audit?" "Asthma" "Frailty" closes tuesday'))  # Tue 1 Dec 17:00
    ok(riverside.say("/poll vote P1 1", user="UGP"))  # Riverside (UGP, UPM) has voted; Hillview (UNURSE) has not
    riverside.forget()
    # Monday 30 Nov is St Andrew's Day: the working day before Tuesday's close is Friday 27 Nov.
    riverside.clock.set(at(27, 9, 59, month=11))
    riverside.tick()
    assert riverside.directs == []
    riverside.tick(minutes=1)
    [reminder] = riverside.dms("UNURSE")
    assert "Reminder, please vote" in reminder and "your practice hasn't voted on P1" in reminder
    assert "Tue 1 Dec 2026 17:00" in reminder
    assert {d.to for d in riverside.directs} == {"UNURSE"}  # not Riverside's people, not the lead (no practice)
    riverside.tick(hours=1)
    riverside.clock.set(at(30, 10, 0, month=11))
    riverside.tick()
    riverside.clock.set(at(1, 10, 0))
    riverside.tick()
    assert len(riverside.directs) == 1  # once
    # The manual reminder says the same, asked by a person
    manual = riverside.say("/poll remind P1")
    assert "Reminded @UNURSE" in manual.text
    assert "asks you to vote: your practice hasn't voted on P1" in riverside.dms("UNURSE")[-1]


def test_an_extended_poll_is_reminded_again_before_its_new_deadline(riverside, db):
    ok(riverside.say('/poll "Which audit?" "Asthma" "Frailty" closes friday week'))  # Fri 4 Dec: Thu 3 Dec
    riverside.clock.set(at(3, 10))
    riverside.tick()
    assert len(riverside.dms("UNURSE")) == 1
    ok(riverside.say("/poll extend P1 11/12/2026"))  # Fri 11 Dec: reminded Thu 10 Dec
    riverside.tick(days=1)
    assert len(riverside.dms("UNURSE")) == 1
    riverside.clock.set(at(10, 10))
    riverside.tick()
    assert len(riverside.dms("UNURSE")) == 2 and "Fri 11 Dec 2026 17:00" in riverside.dms("UNURSE")[-1]


def test_working_days_before_a_close():
    assert remind_at(at(4, 17), LONDON) == at(3, 10)            # Friday's close: Thursday
    assert remind_at(at(7, 12), LONDON) == at(4, 10)            # Monday's: the Friday before
    assert remind_at(at(1, 17), LONDON) == at(27, 10, month=11)  # Tuesday after St Andrew's Day: Friday
    assert remind_at(datetime(2026, 12, 29, 12, tzinfo=UTC), LONDON) == at(24, 10)  # Christmas, Boxing Day


def test_no_reminder_with_remind_off_nor_for_a_poll_made_after_its_reminder_time(riverside, db):
    ok(riverside.say('/poll "Off?" "A" "B" closes friday 12:00 remind off'))   # reminder would be Thu 26 10:00
    ok(riverside.say('/poll "Late?" "A" "B" closes tomorrow'))             # made after Thursday 10:00
    ok(riverside.say('/poll "On?" "A" "B" closes thursday week'))           # Thu 3 Dec: reminded Wed 2 Dec
    riverside.forget()
    riverside.clock.set(at(2, 10))
    riverside.tick()
    texts = [d.text for d in riverside.directs]
    assert texts and all("On?" in t for t in texts) and len(texts) == 3  # UGP, UPM, UNURSE
    assert [p.remind for p in polls(db)] == [False, True, True]


@pytest.mark.database
def test_concurrent_ticks_remind_once(riverside, db, product):
    ok(riverside.say('/poll "Which audit?" "Asthma" "Frailty" closes friday week'))  # Fri 4 Dec: Thu 3 Dec
    riverside.clock.set(at(3, 10))
    effects, start = [], threading.Barrier(4)

    def tick():
        start.wait()
        effects.extend(product.tick())

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reminded = sorted(e.user_id for e in effects if type(e).__name__ == "Direct")
    assert reminded == ["UGP", "UNURSE", "UPM"]


# --- editing a posted poll ----------------------------------------------------------------------------

def test_the_creator_or_a_lead_edits_the_question_and_adds_an_option(riverside, db):
    ok(riverside.say('/poll "Which audit?" "Asthma" "Frailty"', user="UGP"))
    refused(riverside.say("/poll edit P1 question Which audit first?", user="UNURSE"), "Only whoever created P1")
    said = ok(riverside.say("/poll edit P1 question Which audit first?", user="UGP"))
    assert said.in_channel and "the question now reads Which audit first? (it was “Which audit?”)" in said.text
    assert "P1 · Which audit first?" in riverside.updates[-1].text and "edited (question)" in riverside.updates[-1].text
    said = ok(riverside.say('/poll edit P1 add "Polypharmacy"'))  # ULEAD is a lead
    assert "added option 3, “Polypharmacy”" in said.text
    card = riverside.updates[-1].text
    assert "3. Polypharmacy" in card and "edited (question, option 3 added)" in card
    assert [b.value for b in riverside.updates[-1].reply.buttons if b.action == "poll.vote"] == ["P1:1", "P1:2", "P1:3"]
    # each change said to the channel once
    assert sum("Which audit first?" in t and "edited" in t for t in riverside.channel_texts()) == 2
    refused(riverside.say("/poll edit P1 add asthma"), "already reads “Asthma”")
    refused(riverside.say("/poll edit P1 option 7 Something"), "from 1 to 3")
    refused(riverside.say("/poll edit P1 rename x"), "question <text>, option <n> <text> or add <text>")
    refused(riverside.say("/poll edit P1 question " + "x" * 301), "the limit is 300")
    assert "already asks that" in riverside.say("/poll edit P1 question Which audit first?").text
    ok(riverside.say("/poll close P1"))
    refused(riverside.say("/poll edit P1 add Diabetes"), "a closed poll is kept")
    [poll] = polls(db)
    assert poll.question == "Which audit first?" and poll.options == ["Asthma", "Frailty", "Polypharmacy"]


def test_changing_a_chosen_option_asks_to_confirm_and_tells_those_practices(riverside, db):
    ok(riverside.say('/poll "Which audit?" "Asthma" "Frailty" "Diabetes"'))
    ok(riverside.say("/poll vote P1 2", user="UGP"))      # Riverside chooses Frailty
    ok(riverside.say("/poll vote P1 1", user="UNURSE"))   # Hillview chooses Asthma
    riverside.forget()
    # An option nobody chose changes straight away, and nobody is told privately
    ok(riverside.say("/poll edit P1 option 3 Diabetes foot checks"))
    assert riverside.directs == []
    asked = riverside.say("/poll edit P1 option 2 Frailty register review")
    assert not asked.in_channel and asked.tone != Tone.PROBLEM
    assert "1 practice chose it (Riverside Medical Practice)" in asked.text and "Nothing is changed yet" in asked.text
    assert polls(db)[0].options[1] == "Frailty"
    assert len(riverside.updates) == 1 and riverside.directs == []
    # confirmed, by the button it offered
    [confirm] = asked.buttons
    done = ok(riverside.press(confirm))
    assert done.in_channel and "option 2 now reads “Frailty register review” (it was “Frailty”)" in done.text
    assert "1 practice that chose it has been told" in done.text
    assert polls(db)[0].options[1] == "Frailty register review"
    assert sorted(d.to for d in riverside.directs) == ["UGP", "UPM"]  # Riverside's people, not Hillview's
    note = riverside.dms("UPM")[0]
    assert "which your practice's ballot chooses: it was “Frailty” and now reads “Frailty register review”" in note
    assert "edited (option 3, option 2)" in riverside.updates[-1].text
    # typed with confirm works the same, and a vote still counts for the option
    ok(riverside.say("/poll edit P1 option 1 Asthma after discharge confirm"))
    assert riverside.dms("UNURSE") and "Asthma after discharge" in riverside.dms("UNURSE")[0]
    results = riverside.say("/poll results P1").text
    assert "1. Asthma after discharge" in results and "2. Frailty register review" in results


def test_an_anonymous_poll_with_ballots_asks_to_confirm_and_tells_nobody_privately(riverside, db):
    ok(riverside.say('/poll "Which audit?" "Asthma" "Frailty" anonymous'))
    ok(riverside.say("/poll vote P1 2", user="UGP"))
    riverside.forget()
    asked = riverside.say("/poll edit P1 option 1 Asthma reviews")
    assert "some may choose it" in asked.text and polls(db)[0].options[0] == "Asthma"
    done = ok(riverside.say("/poll edit P1 option 1 Asthma reviews confirm"))
    assert "anyone can change theirs" in done.text and riverside.directs == []


# --- Teams words ---------------------------------------------------------------------------------------

def test_what_teams_shows_of_timetables_reminders_and_edits_holds_no_slash_command(riverside, db):
    shown = [riverside.say('/poll "Which audit?" "Asthma" "Frailty" opens tuesday closes friday').reply,
             riverside.say("/poll scheduled").reply,
             riverside.say('/poll "Q?" "A" "B" every fortnight').reply,
             riverside.say('/poll "Q?" "A" "B" remind sometimes').reply]
    riverside.clock.set(at(1, 9))
    riverside.tick()
    ok(riverside.say("/poll vote P1 1", user="UGP"))
    shown += [riverside.say("/poll edit P1 option 1 Asthma reviews").reply,
              riverside.say("/poll edit P1 option 1 Asthma reviews confirm").reply,
              riverside.say("/poll stop S1").reply]
    riverside.clock.set(at(3, 10))
    riverside.tick()
    shown += [s.reply for s in riverside.directs]
    assert len(shown) >= 10
    texts = [str(reply_card(r, lambda uid: uid)[0]) for r in shown]
    assert [t for t in texts if SLASH_FORM.search(t)] == []
    joined = "\n".join(texts)
    for words in ("@clusterbot poll stop S1", "@clusterbot poll scheduled", "@clusterbot poll edit P1 option 1",
                  "@clusterbot poll vote P1 1"):
        assert words in joined, words


def test_a_hidden_poll_says_not_who_chose_an_option_but_tells_them(riverside, db):
    ok(riverside.say('/poll "Which audit?" "Asthma" "Frailty" hidden'))
    ok(riverside.say("/poll vote P1 2", user="UNURSE"))
    riverside.forget()
    asked = riverside.say("/poll edit P1 option 1 Asthma reviews")  # nobody chose Asthma, but that is secret
    assert "some may choose it" in asked.text and "Hillview" not in asked.text
    done = ok(riverside.say("/poll edit P1 option 2 Frailty register confirm"))
    assert "told" not in done.text and "practice" not in done.text
    assert [d.to for d in riverside.directs] == ["UNURSE"]


@pytest.mark.database
def test_concurrent_edits_lose_no_option(riverside, db, product):
    ok(riverside.say('/poll "Which audit?" "Asthma" "Frailty"'))
    start = threading.Barrier(6)
    answers = []

    def add(n):
        start.wait()
        answers.append(product.handle("/poll", f"edit P1 add Audit {n}", riverside.caller("ULEAD")))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a.tone != Tone.PROBLEM for a in answers), [a.lines for a in answers]
    [poll] = polls(db)
    assert sorted(poll.options[2:]) == [f"Audit {n}" for n in range(6)] and len(poll.options) == 8
    assert poll.edited == [f"option {n} added" for n in range(3, 9)]


def test_a_timetabled_dot_vote_keeps_its_kind_and_its_automatic_reminder_says_how_to_spend_dots(riverside, db):
    """The timetable (poll-timetable) and the poll kinds (poll-kinds) met only at merge: the kind rides in
    the timetable's settings, and the automatic reminder goes through the kind's words."""
    ok(riverside.say('/poll "Where should effort go?" "Asthma" "Frailty" "Sepsis" dots 3 opens tuesday 09:30 '
                     'closes thursday', user="UGP"))
    riverside.clock.set(at(1, 9, 30))
    riverside.tick()
    [poll] = polls(db)
    assert poll.kind == "dots" and poll.dots == 3
    ok(riverside.say("/poll vote P1 1 1 2", user="UGP"))  # Riverside spends its dots; Hillview has not
    riverside.forget()
    riverside.clock.set(at(2, 10, 0))  # Wednesday: the working day before Thursday's close
    riverside.tick()
    [reminder] = riverside.dms("UNURSE")
    assert "Reminder, please vote" in reminder and "3 dots to spend" in reminder
    assert "Click an option below" not in reminder  # the plain poll's last line was replaced
