"""The QI method (issue 24) through the platform-free driver: aims said back as STAN, driver diagrams (ids,
text, picture), PDSA cycles as ramps (C4.1 → C4.2), the once-only study prompt on a working day, cycles marked
on the run chart, and a reply as Slack and Teams word it."""

import io
from datetime import UTC, datetime

import pytest
from PIL import Image
from sqlmodel import select

from analysis import driver_diagram
from bot.slack.render import reply_lines
from bot.teams.cards import reply_card
from commands.results import Tone, plain_text
from storage.models import ChangeIdea, PdsaCycle, TopicDriver
from testkit.driver import refused

AIM = "90% of patients discharged after an asthma admission reviewed within 14 days by June 2027"


@pytest.fixture
def qi(riverside):
    """Riverside with topic T1, a measure D1 of it and a driver diagram: drivers 1, 1.1, 2; ideas C1 (1.1), C2 (2)."""
    say = riverside.say
    for typed in ("/topic propose Asthma reviews after discharge", "/measure add T1 Asthma reviews within 2 weeks",
                  "/topic driver T1 Reliable follow-up after discharge",
                  "/topic driver T1 1 Discharge letters reach the practice the same day",
                  "/topic driver T1 Patients know to book a review",
                  "/topic idea T1 1.1 Ward clerk emails the discharge list daily",
                  "/topic idea T1 2 Text message on discharge"):
        said = say(typed, user="UGP")
        assert said.tone != Tone.PROBLEM, (typed, said.text)
    riverside.forget()
    return riverside


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model).order_by(model.id)))


def png(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    return image.convert("RGB")


# --- aims ----------------------------------------------------------------------------------------------

def test_an_aim_is_stored_and_coached_never_refused(qi, db):
    vague = qi.say("/topic aim T1 Improve asthma follow-up", user="UGP")
    assert vague.in_channel and vague.tone == Tone.DONE
    text = vague.text
    assert "Aim: Improve asthma follow-up" in text
    assert "by when?" in text and "how much?" in text and "say what will change, for whom" in text
    assert "measured by D1 Asthma reviews within 2 weeks" in text  # the topic has a measure: aligned
    assert "3 things to add when you can; the aim is saved as it is." in text
    may = qi.say("/topic aim T1 We may see 90% of patients reviewed within 14 days of discharge", user="UGP")
    assert "by when?" in may.text and "how much?" not in may.text  # "may" is no month here
    good = qi.say(f"/topic aim T1 {AIM}", user="UGP")
    assert "It reads as a STAN aim." in good.text and "yes (“June”)" in good.text
    assert "how much?" not in good.text
    shown = qi.say("/topic show T1", user="UNURSE").text
    assert f"Aim: {AIM}" in shown


def test_the_aim_form_saves_and_an_aim_with_no_measure_asks_for_one(riverside):
    riverside.say("/topic propose Flu uptake in over 65s", user="UGP")
    opened = riverside.say("/topic aim T1", user="UGP")
    assert opened.form is not None and opened.form.name == "topic.aim"
    saved = riverside.submit(opened.form, {"aim": "75% of over-65s vaccinated by 31 January"}, user="UGP")
    assert "which measure will show it? Add one: /measure add T1 <name>" in saved.text
    refused(riverside.say("/topic aim T1 Something", user="UNURSE"), "Only whoever proposed T1, or a lead")


# --- driver diagrams -------------------------------------------------------------------------------------

def test_drivers_are_numbered_and_ideas_get_cluster_wide_ids(qi, db):
    assert [(d.parent_id is None, d.number, d.text) for d in rows(db, TopicDriver)] == [
        (True, 1, "Reliable follow-up after discharge"),
        (False, 1, "Discharge letters reach the practice the same day"),
        (True, 2, "Patients know to book a review")]
    assert [i.short_id for i in rows(db, ChangeIdea)] == ["C1", "C2"]
    qi.say("/topic propose Flu uptake", user="UGP")
    qi.say("/topic driver T2 Invitations", user="UGP")
    said = qi.say("/topic idea T2 1 Evening clinics", user="UGP")
    assert "added change idea C3 to T2" in said.text  # cluster-wide: T2's first idea is C3
    secondary = qi.say("/topic driver T1 2 Leaflet at discharge", user="UNURSE")
    assert "secondary driver 2.1 (under 2. Patients know to book a review)" in secondary.text
    refused(qi.say("/topic idea T1 3.1 Something", user="UGP"), "T1 has no driver 3.1")
    refused(qi.say("/topic driver T1 7 Something", user="UGP"), "T1 has no driver 7")
    refused(qi.say("/topic idea T1 1.1", user="UGP"), "Say the change idea")


def test_show_lists_the_diagram_and_drivers_and_ideas_are_edited_and_removed(qi, db):
    shown = qi.say("/topic show T1").text
    assert "Driver diagram" in shown
    assert "1. Reliable follow-up after discharge" in shown
    assert "1.1 Discharge letters reach the practice the same day" in shown
    assert "→ C1 Ward clerk emails the discharge list daily [PDSA not tested yet]" in shown
    refused(qi.say("/topic idea edit C1 Nope", user="UNURSE"), "Only whoever added C1")
    assert "reworded C1" in qi.say("/topic idea edit C1 Ward clerk emails the list by noon", user="UGP").text
    refused(qi.say("/topic driver remove T1 1", user="UGP"), "Driver 1 still has driver 1.1")
    assert "moved C2 under driver 1.1" in qi.say("/topic idea move C2 1.1", user="UGP").text
    assert "removed change idea C2" in qi.say("/topic idea remove C2", user="UGP").text
    assert "removed driver 2" in qi.say("/topic driver remove T1 2", user="UGP").text
    assert [i.short_id for i in rows(db, ChangeIdea)] == ["C1"]
    qi.say("/topic driver T1 Another", user="UGP")
    assert [d.number for d in rows(db, TopicDriver) if d.parent_id is None] == [1, 2]  # after the highest


def test_the_diagram_is_a_png_with_its_words(qi):
    qi.say("/pdsa plan C1 Try for a week predict 8 of 10 letters same day", user="UGP")
    said = qi.say("/topic diagram T1", user="UGP")
    assert "Drawing the driver diagram of T1" in said.text
    [upload] = [s.upload for s in said.sent if s.kind == "upload"]
    assert upload.filename.endswith("-t1-driver-diagram-2026-11-26.png")
    assert "shared the driver diagram of T1" in plain_text(upload.comment)
    image = png(upload.content)
    assert image.size[0] == 1600 and image.size[1] >= 250  # two rows of ideas under the headings
    assert len(image.getcolors(maxcolors=1 << 20)) > 10  # not blank


def test_the_diagram_figure_holds_aim_drivers_ideas_and_states():
    diagram = driver_diagram.Diagram("T3 Asthma", AIM, [
        driver_diagram.Driver("1", "Reliable follow-up", [driver_diagram.Driver("1.1", "Letters same day", [], [
            driver_diagram.Idea("C4", "Ward clerk emails $list$", "adapt", "C4.1, C4.2")])],
            [driver_diagram.Idea("C5", "Text on discharge")])])
    figure = driver_diagram.figure_of(diagram)
    words = "\n".join(t.get_text() for t in figure.findobj(lambda o: hasattr(o, "get_text")))
    for expected in ("T3 Asthma", "Primary drivers", "Secondary drivers", "Change ideas", "1 Reliable follow-up",
                     "1.1 Letters same day", "C4 Ward clerk emails $list$", "PDSA: adapted (C4.1, C4.2)",
                     "PDSA: not tested yet", "90% of patients"):
        assert expected in words, expected
    assert png(driver_diagram.render(diagram)).size[0] == 1600


# --- PDSA cycles ---------------------------------------------------------------------------------------

def test_cycles_are_ramps_of_an_idea_plan_do_study_act(qi, db):
    plan = qi.say("/pdsa plan C1 Ward clerk emails the list for 2 weeks predict 8 of 10 reviewed in time by friday "
                  "practice 80456 measure D1", user="UGP")
    assert plan.in_channel, plan.text
    text = plan.text
    assert "planned PDSA cycle C1.1" in text and "Prediction: 8 of 10 reviewed in time" in text
    assert "at Hillview Surgery (80456)" in text and "measure D1" in text and "by Fri 27 Nov 2026" in text
    assert "On the first working day after Fri 27 Nov 2026, @UGP will be asked how C1.1 went." in text
    assert [b.action for b in plan.buttons] == ["pdsa.do", "pdsa.study"]
    assert "Do:" in qi.say("/pdsa do C1.1 Ran for 2 weeks, 10 discharges", user="UNURSE").text
    study = qi.say("/pdsa study C1.1 7 of 10, fewer than predicted: Friday letters late", user="UGP")
    assert "Study: 7 of 10" in study.text and "Prediction: 8 of 10" in study.text
    act = qi.say("/pdsa act C1.1 adapt Add Friday letters", user="UGP")
    assert "decided to adapt C1.1" in act.text and "The next cycle, C1.2, is ready" in act.text
    [next_button] = act.buttons
    assert (next_button.label, next_button.action) == ("Plan C1.2", "pdsa.next")
    opened = qi.press(next_button, user="UGP")
    form = opened.form
    assert form.name == "pdsa.plan" and form.title == "Plan a cycle of C1.2"
    prefilled = {f.name: f.initial for f in form.fields}
    assert prefilled["plan"] == "Ward clerk emails the list for 2 weeks" and prefilled["measure"] == "D1"
    assert prefilled["practice"] == "80456"
    second = qi.submit(form, {"plan": "Ward clerk emails the list, Fridays too"}, user="UGP")
    assert "planned PDSA cycle C1.2" in second.text, second.text
    assert [(c.number, c.act) for c in rows(db, PdsaCycle)] == [(1, "adapt"), (2, None)]
    refused(qi.say("/pdsa do C1.1 more", user="UGP"), "C1.1 is finished (adapt)")
    listed = qi.say("/pdsa list T1").text
    assert "C1.1 [act: adapt]" in listed and "C1.2 [plan]" in listed
    assert "C1.2" in qi.say("/pdsa list mine", user="UGP").text
    assert "No PDSA cycles you planned" in qi.say("/pdsa list mine", user="UNURSE").text
    shown = qi.say("/pdsa show C1.1").text
    assert "Study: 7 of 10" in shown and "Act: adapt: Add Friday letters" in shown
    card = qi.say("/topic show T1").text
    assert "C1 Ward clerk emails the discharge list daily [PDSA planned: C1.1, C1.2]" in card
    assert "PDSA cycles (2)" in card and "learned: 7 of 10" in card


def test_bad_plans_are_refused_with_a_working_example(qi, db):
    refused(qi.say("/pdsa plan C1 Try it", user="UGP"), "then predict and what you expect")
    refused(qi.say("/pdsa plan C9 Try predict works", user="UGP"), "There's no change idea C9")
    refused(qi.say("/pdsa plan C1 Try predict works by 1/1/2020", user="UGP"), "has passed")
    refused(qi.say("/pdsa show C1.4"), "C1 has no cycle C1.4")
    refused(qi.say("/pdsa act C1.x adopt"), "isn't a PDSA cycle's id")
    qi.say("/pdsa plan C1 Try predict works", user="UGP")
    refused(qi.say("/pdsa act C1.1 maybe"), "isn't a decision: adopt, adapt or abandon")
    assert len(rows(db, PdsaCycle)) == 1


def test_the_step_forms_open_and_save(qi, db):
    qi.say("/pdsa plan C1 Try predict works", user="UGP")
    opened = qi.click("pdsa.study", "C1.1", user="UGP")
    assert opened.form.name == "pdsa.study"
    empty = qi.submit(opened.form, {"text": " "}, user="UGP")
    assert empty.field_errors == {"text": "Write it down, however short."}
    qi.submit(opened.form, {"text": "It worked"}, user="UGP")
    act = qi.say("/pdsa act C1.1", user="UGP")
    qi.submit(act.form, {"act": "adopt", "note": "Rolled out"}, user="UGP")
    [cycle] = rows(db, PdsaCycle)
    assert (cycle.study, cycle.act, cycle.act_note) == ("It worked", "adopt", "Rolled out")


def prompts(driver):
    """The study prompts sent (the month's data-due reminders go to the same people)."""
    return [d for d in driver.directs if "How did" in d.text]


def test_the_study_prompt_comes_once_on_the_working_day_after_by(qi, clock, db):
    # Thursday 26 Nov 2026: by Friday 27th. Saturday and Sunday are not working days, and Monday 30th is
    # St Andrew's Day (a Scottish bank holiday): the planner is asked on Tuesday 1 December.
    qi.say("/pdsa plan C1 Try it predict 8 of 10 by friday", user="UGP")
    qi.say("/pdsa plan C2 Try that predict fewer calls by friday", user="UNURSE")
    qi.say("/pdsa study C2.1 Fewer calls", user="UNURSE")  # studied already: no need to ask
    qi.forget()
    for day in (27, 28, 29, 30):
        clock.set(datetime(2026, 11, day, 9, 0, tzinfo=UTC))
        qi.tick()
        assert prompts(qi) == [], day
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    qi.tick()
    [asked] = prompts(qi)
    assert asked.to == "UGP" and "How did C1.1 go?" in asked.text and "You predicted: 8 of 10" in asked.text
    [study_button, _] = asked.reply.buttons
    assert (study_button.action, study_button.value, study_button.channel) == ("pdsa.study", "C1.1", "CCLUSTER")
    qi.tick(hours=1)
    qi.tick(days=1)
    assert len(prompts(qi)) == 1  # once
    opened = qi.press(study_button, user="UGP")
    assert opened.form.name == "pdsa.study"
    assert rows(db, PdsaCycle)[0].prompted_at is not None


# --- the run chart -------------------------------------------------------------------------------------

def test_the_run_chart_marks_each_cycle_linked_to_its_measure(qi, clock, db):
    qi.say("/measure record D1 " + "\n".join(f"{m}/2026 {30 + m}/100 practice 80123" for m in range(1, 11)),
           user="UGP")
    qi.say("/pdsa plan C1 Try it predict more reviews by friday measure D1", user="UGP")
    qi.say("/pdsa plan C2 Not on the chart predict nothing", user="UGP")
    clock.set(datetime(2026, 12, 14, 10, 0, tzinfo=UTC))  # November is finished: on the chart
    qi.say("/measure record D1 Nov 2026 45/100 practice 80123", user="UGP")
    said = qi.say("/measure chart D1", user="UGP")
    [upload] = [s.upload for s in said.sent if s.kind == "upload"]
    assert png(upload.content).size[0] >= 1200
    assert "PDSA cycles marked: C1.1 (Nov 2026)" in plain_text(upload.comment)
    export = qi.say("/measure export", user="ULEAD")
    [book] = [s.upload for s in export.sent if s.kind == "upload"]
    import openpyxl
    sheet = [ws for ws in openpyxl.load_workbook(io.BytesIO(book.content)).worksheets if ws.title.startswith("D1")][0]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    header = next(r for r in cells if r and r[0] == "Period")
    column = header.index("PDSA cycles")
    marked = [r for r in cells if r and len(r) > column and r[column]]
    assert [(r[0], r[column]) for r in marked if r[0] != "Period"] == [("Nov 2026", "C1.1")]
    assert any("C1.1" in str(v) and "Try it" in str(v) for r in cells for v in r if v)  # in the sheet's notes


def test_the_chart_picture_draws_its_marks():
    from analysis.charts import Panel, Picture, figure_of
    panel = Panel("Cluster", [f"M{i}" for i in range(6)], [1, 2, 3, 4, 5, 6], [3] * 6, marks=[(2, "C4.1"), (4, "C4.2")])
    figure = figure_of(Picture("D1 Test", "Run chart", "Percent", [panel]))
    words = [t.get_text() for t in figure.findobj(lambda o: hasattr(o, "get_text"))]
    assert "C4.1" in words and "C4.2" in words


# --- both platforms ------------------------------------------------------------------------------------

def test_a_reply_in_slack_and_teams_words(qi):
    said = qi.say("/topic idea T1 1 Daily huddle", user="UGP")
    slack = "\n".join(reply_lines(said.reply))
    assert "`/pdsa plan C3 &lt;what we will test&gt; predict &lt;what we expect&gt;`" in slack
    card = str(reply_card(said.reply, lambda user: "Dr Grant"))
    assert "@clusterbot pdsa plan C3" in card and "/pdsa" not in card


# --- the QI story in the workbook and the Board report ---------------------------------------------------

def test_the_cluster_export_and_the_board_report_tell_the_qi_story(qi):
    import openpyxl
    qi.say(f"/topic aim T1 {AIM}", user="UGP")
    qi.say("/pdsa plan C1 Try it predict 8 of 10 practice 80123 measure D1", user="UGP")
    qi.say("/pdsa study C1.1 7 of 10: Friday letters late", user="UGP")
    qi.say("/pdsa act C1.1 adapt Add Fridays", user="UGP")
    export = qi.say("/cluster export")
    [book] = [s.upload for s in export.sent if s.kind == "upload"]
    sheet = openpyxl.load_workbook(io.BytesIO(book.content))["PDSA cycles"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:5] == ["Cycle", "Topic", "Topic title", "Change idea", "Idea"]
    assert values[1][:4] == ["C1.1", "T1", "Asthma reviews after discharge", "C1"]
    assert "7 of 10: Friday letters late" in values[1] and "adapt" in values[1] and "80123" in values[1]
    report = qi.say("/cluster report")
    [xlsx] = [s.upload for s in report.sent if s.kind == "upload" and s.upload.filename.endswith(".xlsx")]
    story = openpyxl.load_workbook(io.BytesIO(xlsx.content))["QI T1"]
    texts = [str(c.value) for row in story.iter_rows() for c in row if c.value]
    assert "C1.1" in texts and f"Aim: {AIM}" in texts
    assert any("C1 Ward clerk emails the discharge list daily [PDSA adapted: C1.1]" in t for t in texts)
    assert len(story._images) == 1  # the driver diagram's picture


def test_pdsa_alone_lists_and_help_shows_every_step(qi):
    assert "No PDSA cycles in the cluster yet. Plan one: /pdsa plan C4" in qi.say("/pdsa").text
    shown = qi.say("/pdsa help").text
    for words in ("/pdsa plan C4", "/pdsa do C4.1", "/pdsa study C4.1", "/pdsa act C4.1", "/pdsa list", "/pdsa show"):
        assert words in shown, words


@pytest.mark.database
def test_a_study_prompt_is_claimed_once_and_cycle_numbers_are_unique(qi, db, clock):
    from sqlalchemy.exc import IntegrityError

    from storage import qi as qi_store
    qi.say("/pdsa plan C1 Try it predict works by friday", user="UGP")
    [cycle] = rows(db, PdsaCycle)
    with db.session() as session:
        assert qi_store.claim_prompt(session=session, cycle_id=cycle.id, now=clock())
        assert not qi_store.claim_prompt(session=session, cycle_id=cycle.id, now=clock())
        session.commit()
    with db.session() as session:
        with pytest.raises(IntegrityError):  # two plans of one idea never share a number
            session.add(PdsaCycle(cluster_id=cycle.cluster_id, idea_id=cycle.idea_id, number=1, plan="again",
                                  planned_by="UGP"))
            session.flush()
        session.rollback()


@pytest.mark.database
def test_two_primary_drivers_never_share_a_number(qi, db):
    """A NULL parent is distinct from every other in a unique constraint (on both databases), so primaries
    have their own partial unique index: a second primary 1 is refused, and the product's retry of a
    conflicting unit of work numbers it next."""
    from sqlalchemy.exc import IntegrityError

    [first, *_] = [d for d in rows(db, TopicDriver) if d.parent_id is None]
    with db.session() as session:
        with pytest.raises(IntegrityError):
            session.add(TopicDriver(topic_id=first.topic_id, parent_id=None, number=first.number, text="again",
                                    created_by="UGP"))
            session.flush()
        session.rollback()
