"""The core flows through Teams: signed activities in, cards and proactive messages out (stand-ins)."""

import io

import openpyxl
import pytest
from sqlmodel import select

from bot.scheduler import tick
from commands import Clusterbot
from storage.models import Action, Ballot, Cluster, Member, Poll, Topic
from testkit.teams_app import serve_teams
from testkit.teams_ids import CHANNEL, LEAD, NURSE, PQL_A, PQL_B
from testkit.teams_standin import BOT_ID, invoke, members_added, message, submit

PERSONAL = "a:1personalchatwiththeleadAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


def say(teams, teams_api, user, text, **kwargs):
    answer = teams.send(message(teams_api, user, text, **kwargs), teams_api.headers())
    assert answer.status_code == 200, answer.text
    return answer


def channel_posts(teams_api, count=1):
    return teams_api.wait_for(lambda s: len(s.posts(CHANNEL)) >= count and s.posts(CHANNEL))


def rows(db, model):
    with db.session() as session:
        return list(session.exec(select(model)))


@pytest.fixture
def cluster(teams, teams_api, db):
    """Installed in a channel, set up, two practices, two practice leads."""
    assert teams.send(members_added(teams_api, BOT_ID, by=LEAD), teams_api.headers()).status_code == 200
    hello = channel_posts(teams_api)[0]
    assert "isn't a cluster yet" in hello.text and "@clusterbot cluster setup" in hello.text
    say(teams, teams_api, LEAD, "cluster setup Riverside Cluster")
    say(teams, teams_api, LEAD, "/cluster practice add 80123 Riverside Medical Practice")
    say(teams, teams_api, LEAD, "cluster practice add 80456 Hillview Surgery")
    say(teams, teams_api, LEAD, "cluster member add @Jane 80123", mentions={"Jane": PQL_A})
    say(teams, teams_api, LEAD, "cluster member add @Sam Ng 80456", mentions={"Sam Ng": PQL_B})
    teams_api.wait_for(lambda s: len(s.posts(CHANNEL)) >= 6)
    assert {m.user_id for m in rows(db, Member)} == {LEAD, PQL_A, PQL_B}
    assert teams.delivery.drain()  # nothing from the set-up arrives after this
    teams_api.reset()
    return rows(db, Cluster)[0]


def test_setup_and_practices_are_announced_with_mentions(teams, teams_api, db):
    teams.send(members_added(teams_api, BOT_ID, by=LEAD), teams_api.headers())
    say(teams, teams_api, LEAD, "cluster setup Riverside Cluster")
    say(teams, teams_api, LEAD, "cluster member add @Jane 80123", mentions={"Jane": PQL_A})  # no practice yet
    say(teams, teams_api, LEAD, "cluster practice add 80123 Riverside Medical Practice")
    say(teams, teams_api, LEAD, "cluster member add @Jane 80123", mentions={"Jane": PQL_A})
    teams_api.wait_for(lambda s: len(s.posts(CHANNEL)) >= 4)
    cluster = rows(db, Cluster)[0]
    assert (cluster.channel_id, cluster.name) == (CHANNEL, "Riverside Cluster")
    added = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "<at>Jane</at>" in p.text])[0]
    entities = added.card["msteams"]["entities"]
    assert {"type": "mention", "text": "<at>Jane</at>", "mentioned": {"id": PQL_A, "name": "Jane"}} in entities
    assert "<at>Jane</at>" in added.text
    # The refusal (no such practice yet) went to the lead only, never to the channel.
    private = [t for t in teams_api.targeted() if "80123" in t.text]
    assert private and private[0].body["recipient"]["id"] == LEAD
    assert not any("isn't" in p.text and "80123" in p.text for p in teams_api.posts(CHANNEL))


def test_a_topic_is_proposed_and_lists_go_only_to_the_asker(cluster, teams, teams_api, db):
    say(teams, teams_api, PQL_A, "topic propose Asthma reviews -- Too many admissions")
    post = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Asthma reviews" in p.text])[0]
    assert "T1" in post.text and "Asthma reviews" in post.text
    assert rows(db, Topic)[0].proposed_by == PQL_A
    say(teams, teams_api, PQL_B, "topic list")
    listed = teams_api.wait_for(lambda s: s.targeted())
    assert listed[0].body["recipient"]["id"] == PQL_B and "Asthma reviews" in listed[0].text
    assert len(teams_api.posts(CHANNEL)) == 1


def test_a_poll_voted_from_its_card_by_several_practices(cluster, teams, teams_api, db):
    say(teams, teams_api, LEAD, 'poll "Which topic first?" "Asthma" "Frailty" "Polypharmacy"')
    card = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Which topic first?" in p.text])[0]
    votes = [a for s in card.card["body"] if s["type"] == "ActionSet" for a in s["actions"]
             if a["data"]["action"] == "poll.vote"]
    assert [v["title"] for v in votes] == ["1. Asthma", "2. Frailty", "3. Polypharmacy"]
    assert all(v["type"] == "Action.Execute" and v["verb"] == "poll.vote" and v["data"]["channel"] == CHANNEL
               and v["fallback"] == {"type": "Action.Submit", "title": v["title"], "data": v["data"]} for v in votes)
    # Remembered (the activity id) by the delivery thread just after the Bot Connector answered.
    poll = teams_api.wait_for(lambda s: [p for p in rows(db, Poll) if p.posted_ref])[0]
    assert poll.posted_channel == CHANNEL
    for user, choice in [(PQL_A, 0), (PQL_B, 1), (PQL_A, 2)]:  # Jane changes her practice's mind
        assert teams.send(submit(teams_api, user, votes[choice]["data"]), teams_api.headers()).status_code == 200
    # The card shows the latest committed count (updates read the database when they are sent).
    update = teams_api.wait_for(lambda s: [u for u in s.updates() if "2 of 2 practices have voted" in u.text
                                           and "3. Polypharmacy" in u.text])
    assert update[-1].path.endswith(f"/conversations/{CHANNEL}/activities/{poll.posted_ref}")
    assert {b.cast_by: b.choices for b in rows(db, Ballot)} == {PQL_A: "3", PQL_B: "2"}


def test_an_action_exported_by_file_consent(cluster, teams, teams_api, db):
    say(teams, teams_api, PQL_A, "action add Audit inhaler technique @Sam Ng due 2026-12-18",
        mentions={"Sam Ng": PQL_B})
    assert rows(db, Action)[0].owner == PQL_B
    say(teams, teams_api, LEAD, "action export")
    offer = teams_api.wait_for(lambda s: [p for p in s.posts() if p.body.get("attachments", [{}])[0].get(
        "contentType") == "application/vnd.microsoft.teams.card.file.consent"])[0]
    # The owner was told in a new 1:1 chat; the workbook went to the lead's own 1:1 chat.
    assert [c["members"] for c in teams_api.conversations] == [[{"id": PQL_B}], [{"id": LEAD}]]
    created = teams_api.conversations[1]
    assert created["tenantId"] and created["isGroup"] is False
    assert f"/conversations/{created['id']}/" in offer.path
    consent = offer.body["attachments"][0]
    assert consent["name"].endswith(".xlsx") and consent["content"]["sizeInBytes"] > 0
    note = teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "accept it there" in p.text])[0]
    assert "<at>" in note.text
    upload_url = f"{teams_api.base}/upload/1"
    accepted = invoke(teams_api, LEAD, "fileConsent/invoke", {
        "type": "fileUpload", "action": "accept", "context": consent["content"]["acceptContext"],
        "uploadInfo": {"name": consent["name"], "uploadUrl": upload_url, "contentUrl": "https://x/contents",
                       "uniqueId": "u1", "fileType": "xlsx"}}, personal=created["id"])
    assert teams.send(accepted, teams_api.headers()).status_code == 200
    uploaded = teams_api.wait_for(lambda s: s.uploads.get("/upload/1"))
    book = openpyxl.load_workbook(io.BytesIO(uploaded))
    cells = [c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert "Audit inhaler technique" in cells
    info = teams_api.wait_for(lambda s: [p for p in s.posts() if p.body.get("attachments", [{}])[0].get(
        "contentType") == "application/vnd.microsoft.teams.card.file.info"])
    assert info[0].body["attachments"][0]["name"] == consent["name"]


def test_a_file_offer_is_answered_only_by_the_person_offered(cluster, teams, teams_api, db):
    """Another person's answer to the lead's offer (a copied card's context) uploads nothing to them and
    leaves the offer for the lead; their decline cannot cancel it either."""
    say(teams, teams_api, LEAD, "action export")
    offer = teams_api.wait_for(lambda s: [p for p in s.posts() if p.body.get("attachments", [{}])[0].get(
        "contentType") == "application/vnd.microsoft.teams.card.file.consent"])[0]
    consent = offer.body["attachments"][0]
    theirs = "a:1personalchatofjaneAbCdEfGhIjKlMnOpQrStUvWxYz0123456789"

    def answer(user, action, url, chat):
        return invoke(teams_api, user, "fileConsent/invoke", {
            "type": "fileUpload", "action": action, "context": consent["content"]["acceptContext"],
            "uploadInfo": {"name": consent["name"], "uploadUrl": url, "contentUrl": "https://x/contents",
                           "uniqueId": "u9", "fileType": "xlsx"}}, personal=chat)

    assert teams.send(answer(PQL_A, "decline", "", theirs), teams_api.headers()).status_code == 200
    assert teams.send(answer(PQL_A, "accept", f"{teams_api.base}/upload/jane", theirs),
                      teams_api.headers()).status_code == 200
    told = teams_api.wait_for(lambda s: len([p for p in s.posts(theirs) if "offered to someone else" in p.text]) == 2)
    assert told
    assert "/upload/jane" not in teams_api.uploads
    accepted = answer(LEAD, "accept", f"{teams_api.base}/upload/lead", offer.conversation)
    assert teams.send(accepted, teams_api.headers()).status_code == 200
    assert teams_api.wait_for(lambda s: s.uploads.get("/upload/lead"))
    assert "/upload/jane" not in teams_api.uploads


def test_a_meeting_reminder_is_sent_proactively(cluster, teams, teams_api, product, clock):
    say(teams, teams_api, LEAD, "meeting schedule 2026-12-09 13:00 Cluster QI meeting remind 1d")
    channel_posts(teams_api)
    teams_api.reset()
    clock.advance(days=12, hours=5)  # past the day-before reminder
    tick(product, [teams.delivery])
    reminder = teams_api.wait_for(lambda s: s.posts(CHANNEL))[0]
    assert "Cluster QI meeting" in reminder.text and "2026" in reminder.text
    tick(product, [teams.delivery])  # sent once, however often it ticks
    clock.advance(minutes=1)
    assert len(teams_api.posts(CHANNEL)) == 1


def test_a_typed_command_that_takes_a_form_opens_it_as_a_dialog(cluster, teams, teams_api, db):
    say(teams, teams_api, PQL_A, "poll")
    answer = teams_api.wait_for(lambda s: s.targeted())[0]
    opener = [a for s in answer.card["body"] if s["type"] == "ActionSet" for a in s["actions"]
              if a["title"] == "New poll"][0]
    assert opener["data"]["msteams"] == {"type": "task/fetch"}
    fetched = teams.send(invoke(teams_api, PQL_A, "task/fetch", {"data": opener["data"]}), teams_api.headers())
    dialog = fetched.json()["task"]
    assert dialog["type"] == "continue" and dialog["value"]["title"] == "New poll"
    form = dialog["value"]["card"]["content"]
    ids = [e.get("id") for e in form["body"] if e.get("id")]
    assert "question" in ids and "options" in ids
    data = dict(form["actions"][0]["data"], question="Which audit?", options="Only one")
    retry = teams.send(invoke(teams_api, PQL_A, "task/submit", {"data": data}), teams_api.headers()).json()["task"]
    assert retry["type"] == "continue"  # the dialog again, the problem under its field, what was typed kept
    again = retry["value"]["card"]["content"]["body"]
    warning = [e for e in again if e.get("type") == "TextBlock" and e["text"].startswith("⚠️")]
    assert warning and next(e for e in again if e.get("id") == "question")["value"] == "Which audit?"
    assert not rows(db, Poll)
    data.update(options="Asthma\nFrailty")
    done = teams.send(invoke(teams_api, PQL_A, "task/submit", {"data": data}), teams_api.headers())
    assert done.status_code == 200
    assert rows(db, Poll)[0].question == "Which audit?"
    teams_api.wait_for(lambda s: [p for p in s.posts(CHANNEL) if "Which audit?" in p.text])


def test_a_new_member_is_welcomed_with_a_practice_picker(cluster, teams, teams_api, db):
    assert teams.send(members_added(teams_api, NURSE, by=LEAD), teams_api.headers()).status_code == 200
    welcome = teams_api.wait_for(lambda s: s.targeted())[0]
    assert welcome.body["recipient"]["id"] == NURSE and "Which practice" in welcome.text
    joins = [a for s in welcome.card["body"] if s["type"] == "ActionSet" for a in s["actions"]]
    assert [a["data"]["value"] for a in joins] == ["80123", "80456"]
    teams.send(submit(teams_api, NURSE, joins[1]["data"]), teams_api.headers())
    teams_api.wait_for(lambda s: s.posts(CHANNEL))
    assert {m.user_id: m.practice_id for m in rows(db, Member)}[NURSE] is not None


def test_the_one_to_one_chat_takes_commands_without_a_mention(cluster, teams, teams_api):
    say(teams, teams_api, LEAD, "cluster help", personal=PERSONAL)
    answer = teams_api.wait_for(lambda s: s.posts(PERSONAL))[0]
    assert "topic propose" in answer.text and "/topic" not in answer.text and not teams_api.posts(CHANNEL)


def test_a_repeated_delivery_is_handled_once(cluster, teams, teams_api, db):
    activity = message(teams_api, PQL_A, "topic propose Frailty register")
    for _ in range(2):
        assert teams.send(activity, teams_api.headers()).status_code == 200
    channel_posts(teams_api)
    assert len(rows(db, Topic)) == 1




def test_without_targeted_messages_answers_for_one_person_go_to_their_chat(cluster, teams, teams_api):
    teams_api.targeted_refusal = 403  # the tenant has no targeted messages
    say(teams, teams_api, PQL_A, "topic propose Asthma reviews")
    say(teams, teams_api, PQL_B, "topic list")
    chat = teams_api.wait_for(lambda s: [c["id"] for c in s.conversations if c["members"] == [{"id": PQL_B}]])[0]
    listed = teams_api.wait_for(lambda s: s.posts(chat))[0]
    assert "Asthma reviews" in listed.text
    say(teams, teams_api, PQL_B, "topic frobnicate")  # an error: 1:1 at once, no targeted try first
    teams_api.wait_for(lambda s: len(s.posts(chat)) >= 2)
    assert "isn't a topic command" in teams_api.posts(chat)[1].text
    assert teams_api.targeted_refused == 1 and not teams_api.targeted()
    assert len([c for c in teams_api.conversations if c["members"] == [{"id": PQL_B}]]) == 1
    # The channel got only what is everyone's: the new topic.
    teams.delivery.drain()
    assert [("Asthma reviews" in p.text) for p in teams_api.posts(CHANNEL) if "in our chat" not in p.text] == [True]
    # … and, once (the chat was new), a line saying where the answer went, with none of it.
    pointer = [p.text for p in teams_api.posts(CHANNEL) if "in our chat" in p.text]
    assert len(pointer) == 1 and "in our chat" in pointer[0] and "Asthma" not in pointer[0]
    # A button on the 1:1 card still acts on the cluster's channel.
    assert all(a["data"]["channel"] == CHANNEL for s in listed.card["body"] if s["type"] == "ActionSet"
               for a in s["actions"] if "data" in a and "channel" in a["data"])


def test_names_survive_a_restart_into_exports(cluster, teams, teams_api, db, clock):
    say(teams, teams_api, LEAD, "action add Audit inhaler technique @Sam Ng due 2026-12-18",
        mentions={"Sam Ng": PQL_B})
    assert teams.delivery.drain()
    restarted = serve_teams(db, Clusterbot(db, "Europe/London", clock=clock), teams_api)  # nothing in memory
    again = next(restarted)
    try:
        assert again.platform.display_name(PQL_B) == "Sam Ng"
        assert again.send(message(teams_api, LEAD, "action export all"), teams_api.headers()).status_code == 200
        offer = teams_api.wait_for(lambda s: [p for p in s.posts() if p.body.get("attachments", [{}])[0].get(
            "contentType") == "application/vnd.microsoft.teams.card.file.consent"])[0]
        consent = offer.body["attachments"][0]
        accepted = invoke(teams_api, LEAD, "fileConsent/invoke", {
            "type": "fileUpload", "action": "accept", "context": consent["content"]["acceptContext"],
            "uploadInfo": {"name": consent["name"], "uploadUrl": f"{teams_api.base}/upload/2",
                           "contentUrl": "https://x/contents", "uniqueId": "u2", "fileType": "xlsx"}},
            personal=offer.conversation)
        assert again.send(accepted, teams_api.headers()).status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(teams_api.wait_for(lambda s: s.uploads.get("/upload/2"))))
        cells = [str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
        assert "Sam Ng" in cells and "Person 0001" in cells  # the owner (a mention) and the lead (a sender)
        assert not any(PQL_B in c or LEAD in c for c in cells)
    finally:
        restarted.close()


def test_a_malformed_file_consent_answer_is_refused_not_a_500(cluster, teams, teams_api, db):
    """A signed answer whose uploadInfo is not an object is a 400 (the SDK's model cannot read it; it used
    to be the SDK's 500); one with no upload URL gets a short message. No file goes anywhere."""
    say(teams, teams_api, LEAD, "action export")
    offer = teams_api.wait_for(lambda s: [p for p in s.posts() if p.body.get("attachments", [{}])[0].get(
        "contentType") == "application/vnd.microsoft.teams.card.file.consent"])[0]
    consent = offer.body["attachments"][0]

    def answer(info):
        return invoke(teams_api, LEAD, "fileConsent/invoke", {
            "type": "fileUpload", "action": "accept", "context": consent["content"]["acceptContext"],
            "uploadInfo": info}, personal=offer.conversation)

    assert teams.send(answer("https://x/upload"), teams_api.headers()).status_code == 400
    assert teams.send(answer({"name": consent["name"]}), teams_api.headers()).status_code == 200
    assert teams_api.wait_for(lambda s: [p for p in s.posts(offer.conversation)
                                         if "couldn't upload the file" in p.text])
    assert not teams_api.uploads
