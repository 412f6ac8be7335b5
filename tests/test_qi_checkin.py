"""Progress scores on the IHI / Life QI scale and the monthly practice check-in (issue 24), through the
platform-free driver (testkit/driver.py); one reply through the Teams app for its words.

Riverside: ULEAD leads; UGP and UPM are in Riverside Medical Practice (80123), UNURSE in Hillview Surgery
(80456); Burnside Health Centre (80789) has nobody. The tests' clock starts on Thu 26 Nov 2026 10:00."""

import re
from datetime import UTC, date, datetime

import pytest

from commands.checkin import nth_working_day, working_days_after
from commands.measures.admin import working_day as measures_working_day
from commands.results import Audience, Tone
from testkit.driver import refused
from testkit.teams_ids import PQL_A
from tests.test_teams_flows import cluster, say  # noqa: F401  (fixture)

PRACTICE_MEMBERS = ["UGP", "UNURSE", "UPM"]


def _active_topic(driver) -> None:
    assert driver.say("/topic propose Asthma reviews after discharge", user="UGP").tone == Tone.DONE
    assert driver.say("/topic move T1 active").tone == Tone.DONE
    driver.forget()


def _dm_to(effects) -> list[str]:
    return sorted(e.user_id for e in effects if hasattr(e, "user_id") and hasattr(e, "reply"))


# --- progress scores ---------------------------------------------------------------------------------

def test_a_score_is_said_back_with_its_label_and_its_history_shows(riverside):
    _active_topic(riverside)
    said = riverside.say("/topic score T1 2.5", user="UGP")
    assert said.in_channel and "scored T1 Asthma reviews after discharge: 2.5 changes tested" in said.text
    said = riverside.say("/topic score T1 3", user="UNURSE")
    assert "3 modest improvement on the progress scale (was 2.5 changes tested)" in said.text
    card = riverside.say("/topic show T1").text
    assert "Progress (IHI scale)" in card
    assert "Thu 26 Nov 2026: 2.5 changes tested (@UGP)" in card and "3 modest improvement (@UNURSE)" in card
    home = riverside.product.home("UGP", riverside.team)
    assert "T1 Asthma reviews after discharge (active) — progress 2.5 → 3 modest improvement" in \
        "\n".join("".join(s if isinstance(s, str) else getattr(s, "text", "") for s in ln) for ln in home.lines)


def test_scores_off_the_half_point_scale_are_refused_with_an_example(riverside):
    _active_topic(riverside)
    for typed in ("3.2", "0", "5.5", "six", "-1"):
        said = riverside.say(f"/topic score T1 {typed}", user="UGP")
        refused(said, "isn't on the progress scale: use a half-point from 0.5 to 5")
        assert "/topic score T1 3.5" in said.text
    assert "0.5 intending" in riverside.say("/topic score T1 0,5", user="UGP").text  # a decimal comma reads
    assert "5 outstanding" in riverside.say("/topic score T1 5", user="UGP").text
    asked = riverside.say("/topic score T1", user="UGP")  # no value: the scale as one-tap buttons
    assert [b.label for b in asked.buttons][:2] == ["0.5 intending", "1 forming"] and len(asked.buttons) == 10


@pytest.mark.database
def test_the_monthly_score_question_goes_once_on_the_data_due_day(riverside, product, clock):
    _active_topic(riverside)
    effects = riverside.tick()  # Thu 26 Nov: after the 5th working day (Fri 6 Nov)
    assert _dm_to(effects) == ["UGP"]  # the proposer
    [dm] = riverside.directs
    assert "Monthly progress score: T1 Asthma reviews after discharge (Riverside Cluster)" in dm.text
    tap = next(b for b in dm.reply.buttons if b.label == "3.5 improvement")
    assert tap.channel == "CCLUSTER"
    said = riverside.press(tap, user="UGP")
    assert said.in_channel and "3.5 improvement" in said.text
    assert _dm_to(riverside.tick(hours=1)) == []  # claimed: once a month
    clock.set(datetime(2026, 12, 4, 9, 0, tzinfo=UTC))  # Fri 4 Dec: only the 4th working day
    assert _dm_to(riverside.tick()) == []
    assert riverside.say("/cluster member remove <@UGP>").tone == Tone.DONE  # the proposer left: the leads
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))  # Mon 7 Dec: the 5th working day
    effects = riverside.tick()
    assert _dm_to(effects) == ["ULEAD"]
    assert "last time: 3.5 improvement" in riverside.dms("ULEAD")[-1]


# --- the check-in --------------------------------------------------------------------------------------

def test_working_days_skip_weekends_and_scottish_bank_holidays():
    assert nth_working_day(date(2027, 1, 1), 1) == date(2027, 1, 5)  # 1 Jan, and 2 Jan's Monday substitute
    assert nth_working_day(date(2026, 12, 1), 2) == date(2026, 12, 2)
    assert working_days_after(date(2026, 11, 27), 1) == date(2026, 12, 1)  # Mon 30 Nov: St Andrew's Day
    assert working_days_after(date(2026, 12, 2), 5) == date(2026, 12, 9)
    # The measures' data-due day (and so the progress-score question) counts the same working days.
    assert measures_working_day(date(2027, 1, 1), 1) == date(2027, 1, 5)


def test_only_leads_turn_it_on_and_the_day_is_said_back(riverside):
    refused(riverside.say("/checkin on 2", user="UGP"), "Only the cluster's leads")
    refused(riverside.say("/checkin on 40"), "from 1 to 20")
    refused(riverside.say("/checkin on 3 25:00"), "isn't a time")
    said = riverside.say("/checkin on 2nd 09:30")
    assert said.in_channel
    assert "the 2nd working day of each month at 09:30, first on Wed 2 Dec 2026 09:30" in said.text


def _answered_round(riverside, clock):
    riverside.say("/checkin on 2")
    riverside.forget()
    clock.set(datetime(2026, 12, 2, 9, 59, tzinfo=UTC))
    assert _dm_to(riverside.tick()) == []  # not yet 10:00
    clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=UTC))


def test_the_check_in_goes_once_to_each_practice_on_its_working_day(riverside, product, clock):
    _answered_round(riverside, clock)
    assert _dm_to(riverside.tick()) == PRACTICE_MEMBERS  # everyone in a practice; the lead is in none
    assert _dm_to(riverside.tick(hours=2)) == []  # once
    text = riverside.dms("UNURSE")[0]
    assert "Monthly check-in for Hillview Surgery (Riverside Cluster), December 2026" in text
    for question in ("What did you test this month?", "What is getting in the way?", "Any data to record?"):
        assert question in text
    assert "posted to the cluster's channel on Wed 9 Dec 2026 10:00" in text


@pytest.mark.database
def test_answers_edit_until_the_digest_and_only_the_silent_are_reminded(riverside, product, clock):
    assert riverside.say("/topic propose Asthma reviews after discharge", user="UGP").tone == Tone.DONE
    assert riverside.say("/measure add T1 Asthma reviews within 2 weeks percent higher is better").tone == Tone.DONE
    _answered_round(riverside, clock)
    riverside.tick()
    [message] = [s for s in riverside.directs if s.to == "UGP"]
    answer, record = message.reply.buttons[0], message.reply.buttons[1]
    assert (answer.label, record.label) == ("Answer", "Record D1")
    form = riverside.press(answer, user="UGP").form
    said = riverside.submit(form, {"tested": "Text reminders after discharge", "blockers": "Locum cover"}, user="UGP")
    assert said.audience == Audience.PERSON
    assert "Saved Riverside Medical Practice's check-in for December 2026" in said.text
    # one answer per practice: a colleague's edit replaces it, prefilled with what is there
    form = riverside.press(answer, user="UPM").form
    assert {f.name: f.initial for f in form.fields}["tested"] == "Text reminders after discharge"
    said = riverside.say("/checkin answer data: 7 of 10 reviewed in time", user="UPM")
    assert "Updated Riverside Medical Practice's check-in" in said.text
    assert "Tested: Text reminders after discharge" in said.text and "Data: 7 of 10 reviewed in time" in said.text
    recorded = riverside.submit(riverside.press(record, user="UGP").form, {"value": "7/10"}, user="UGP")
    assert recorded.tone == Tone.DONE, recorded.text
    refused(riverside.say("/checkin answer 7 of 10", user="UNURSE"), "Start each part with tested:")
    riverside.forget()
    clock.set(datetime(2026, 12, 4, 10, 0, tzinfo=UTC))  # Fri 4 Dec: two working days on
    assert _dm_to(riverside.tick()) == ["UNURSE"]  # Hillview has not answered; Riverside has
    assert "Reminder: Hillview Surgery hasn't answered the December 2026 check-in yet" in riverside.dms("UNURSE")[0]
    assert _dm_to(riverside.tick(hours=3)) == []  # once
    riverside.say("/checkin answer tested: Recall list by pharmacist", user="UNURSE")
    riverside.forget()
    clock.set(datetime(2026, 12, 9, 10, 0, tzinfo=UTC))  # Wed 9 Dec: the digest
    riverside.tick()
    [digest] = riverside.posted()
    assert "Practice check-in, December 2026: 2 of 3 practices answered" in digest
    assert "Riverside Medical Practice (@UPM)" in digest and "Tested: Text reminders after discharge" in digest
    assert "In the way: Locum cover" in digest and "Hillview Surgery (@UNURSE)" in digest
    assert "No answer from: Burnside Health Centre." in digest
    assert riverside.tick(hours=1) == [] and len(riverside.posted()) == 1  # once
    refused(riverside.say("/checkin answer tested: too late", user="UGP"), "no longer change")


def test_the_next_meetings_agenda_shows_practice_updates(riverside, product, clock):
    riverside.say("/meeting schedule 30/11/2026 12:30 November QI meeting")
    riverside.say("/meeting schedule 12/1/2027 12:30 January QI meeting")
    _answered_round(riverside, clock)
    riverside.tick()
    riverside.say("/checkin answer tested: Text reminders blockers: Locum cover", user="UGP")
    agenda = riverside.say("/meeting agenda M2").text
    assert "Practice updates (December 2026 check-in)" in agenda
    assert re.search(r"• Riverside Medical Practice — Tested: Text reminders · In the way: Locum cover", agenda)
    assert "Practice updates" not in riverside.say("/meeting agenda M1").text  # before the check-in


def test_a_refusal_in_teams_shows_the_command_in_teams_words(cluster, teams, teams_api):  # noqa: F811
    say(teams, teams_api, PQL_A, "topic propose Asthma reviews after discharge")
    say(teams, teams_api, PQL_A, "topic score T1 3.2")
    answer = teams_api.wait_for(lambda s: [t for t in s.targeted() if "progress scale" in t.text])[0]
    assert "@clusterbot topic score T1 3.5" in answer.text
    assert not re.search(r"(?<![\w@])/topic", answer.text)
