"""The audit log: changes to a cluster's register, roles and record, and every leads-only command, written
in the change's own unit of work (who, what, when, the ids it named; never the text typed); `/cluster audit`
for leads, and the Audit sheet of the cluster workbook (read back with openpyxl)."""

import io
from datetime import timedelta

from openpyxl import load_workbook
from sqlmodel import select

from storage.models import AuditEntry
from testkit import factories
from testkit.driver import refused

DECISION = "Agreed: Dr Smith reviews the asthma register T2 80456"  # free text the log must never keep


def entries(db) -> list[AuditEntry]:
    with db.session() as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)))


def test_setting_up_a_cluster_is_audited_step_by_step(driver, db):
    factories.riverside(driver.say)
    whats = [(e.user_id, e.what, e.items) for e in entries(db)]
    assert whats[0] == ("ULEAD", "/cluster setup", "")
    assert ("ULEAD", "/cluster practice add", "80123") in whats
    assert ("UGP", "/cluster join", "80123") in whats and ("UNURSE", "/cluster join", "80456") in whats
    assert len({e.cluster_id for e in entries(db)}) == 1


def test_a_lead_reads_the_log_newest_first_and_a_member_cannot(riverside, db):
    riverside.say("/cluster member add <@USAM> 80456")
    riverside.say("/cluster lead add <@USAM>")
    said = riverside.say("/cluster audit")
    text = said.text
    assert "Audit log of Riverside" in text, text
    assert text.index("/cluster lead add") < text.index("/cluster member add") < text.index("/cluster setup")
    assert "@USAM" in text and "80456" in text
    assert not said.in_channel  # told to the lead, not the channel
    refused(riverside.say("/cluster audit", user="UGP"), "Only the cluster's leads")


def test_a_refused_change_leaves_no_entry(riverside, db):
    before = len(entries(db))
    refused(riverside.say("/cluster lead add <@UNURSE>", user="UGP"), "Only the cluster's leads")
    refused(riverside.say("/cluster practice add 80123 Again"), "already registered")
    assert len(entries(db)) == before


def test_the_record_is_audited_by_its_ids_never_its_text(riverside, db):
    riverside.say("/meeting record 12/11/2026 12:30 Cluster QI meeting")
    riverside.say(f"/meeting decision M1 {DECISION}")
    opened = riverside.say("/meeting decision M1")
    assert opened.form is not None
    riverside.submit(opened.form, {"text": DECISION})
    typed, formed = [e for e in entries(db) if "decision" in e.what]
    assert (typed.what, typed.items) == ("/meeting decision", "M1")
    assert (formed.what, formed.items) == ("form meeting.decision", "M1")
    for entry in entries(db):  # nothing of the typed text, in any column
        row = " ".join(str(v) for v in entry.model_dump().values())
        assert "Smith" not in row and "asthma" not in row and "T2" not in row, row
    # Opening the form changed nothing, and is not in the log.
    assert [e.what for e in entries(db)].count("/meeting decision") == 1


def test_votes_are_never_audited(riverside, db):
    riverside.say('/poll "Which first?" "Asthma" "Frailty" anonymous')
    [card] = riverside.posts
    vote = next(b for b in card.reply.buttons if b.action == "poll.vote")
    riverside.press(vote, user="ULEAD")
    riverside.say("/poll vote P1 2", user="UNURSE")
    assert not [e for e in entries(db) if "vote" in e.what or "P1" in e.items], entries(db)


def test_a_lead_closing_a_poll_and_agreeing_a_topic_by_button_is_audited(riverside, db):
    riverside.say("/topic propose Asthma reviews", user="UGP")
    riverside.click("topic.agree", "T1")
    riverside.say('/poll "Which first?" "Asthma" "Frailty"', user="UGP")
    riverside.say("/poll close P1")
    got = [(e.user_id, e.what, e.items) for e in entries(db)][-2:]
    assert got == [("ULEAD", "button topic.agree", "T1"), ("ULEAD", "/poll close", "P1")]


def test_since_a_date_and_a_long_log_points_to_the_workbook(riverside, db, clock):
    clock.advance(days=10)
    for n in range(45):
        riverside.say(f"/cluster practice add {81000 + n} Practice {n}")
    since = (clock() - timedelta(days=1)).strftime("%d/%m/%Y")
    text = riverside.say(f"/cluster audit since {since}").text
    assert "(45, newest first)" in text and "/cluster setup" not in text, text
    assert "81044" in text and "…and 5 older" in text and "sheet Audit" in text
    refused(riverside.say("/cluster audit lately"), "isn't an audit setting")


def test_the_cluster_workbook_has_the_audit_sheet(riverside, db):
    riverside.say("/cluster member add <@USAM> 80456")
    said = riverside.say("/cluster export")
    [upload] = riverside.uploads
    sheet = load_workbook(io.BytesIO(upload.content), read_only=True)["Audit"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("When", "Who", "What", "Items", "About")
    assert rows[1][1:3] == ("Person ULEAD", "/cluster setup"), rows[1]
    assert rows[-1][1:] == ("Person ULEAD", "/cluster member add", "80456", "Person USAM"), rows[-1]
    assert said.later is not None
