"""TeamsPlatform against the Bot Connector stand-in: the seam's four outcomes, and where things go."""

import time

import pytest

from bot.platform import Asker, NoAnswer, RateLimited, Refused
from bot.teams.auth import ClientCredentialsToken
from bot.teams.platform import TeamsPlatform
from commands import Clusterbot
from commands.results import Person, Reply, line
from storage import conversations, names
from storage.models import PersonName
from testkit.teams_ids import APP_ID, CHANNEL, LEAD, NURSE, OTHER_CHANNEL, PQL_A, PQL_B, TEAM, TENANT
from testkit.teams_standin import BOT_ID, PASSWORD, Fault


@pytest.fixture
def platform(db, teams_api):
    teams_api.reset()
    with db.session() as session:
        conversations.save_reference(session=session, conversation_id=CHANNEL, kind="channel",
                                     service_url=teams_api.service_url, tenant_id=TENANT, bot_id=BOT_ID, team_id=TEAM)
    token = ClientCredentialsToken(teams_api.token_url, APP_ID, PASSWORD, timeout=1.0)
    made = TeamsPlatform(db=db, app_id=APP_ID, tenant_id=TENANT, token=token, timeout=1.0, targeted=True)
    yield made
    made.close()


def test_a_post_returns_its_activity_id_and_the_token_is_reused(platform, teams_api):
    refs = [platform.post(CHANNEL, Reply.announce(line("Hello ", Person(PQL_A)))) for _ in range(3)]
    assert len(set(refs)) == 3 and all(refs)
    assert len(teams_api.token_requests) == 1  # one client-credentials token for all three
    assert teams_api.token_requests[0]["scope"] == "https://api.botframework.com/.default"
    platform.update(CHANNEL, refs[0], Reply.announce(line("Changed")))
    assert teams_api.updates()[0].path.endswith(f"/{refs[0]}") and "Changed" in teams_api.updates()[0].text


def test_429_is_rate_limited_with_retry_after(platform, teams_api):
    teams_api.faults["post"] = Fault(status=429, retry_after=7)
    with pytest.raises(RateLimited) as limited:
        platform.post(CHANNEL, Reply.announce(line("x")))
    assert limited.value.retry_after == 7 and limited.value.bucket == CHANNEL


def test_no_answer_in_time_is_not_a_refusal(platform, teams_api):
    teams_api.faults["post"] = Fault(delay=4)
    with pytest.raises(NoAnswer):
        platform.post(CHANNEL, Reply.announce(line("x")))


def test_a_slow_answer_begun_before_a_reset_is_not_recorded_after_it(platform, teams_api):
    """The stand-in lives for the whole session: a post it was still holding when its test ended was
    recorded, seconds later, among the next test's posts (CI failed on it twice)."""
    teams_api.faults["post"] = Fault(delay=1.5)
    with pytest.raises(NoAnswer):
        platform.post(CHANNEL, Reply.announce(line("x")))
    teams_api.reset()  # what the next test's fixture does
    time.sleep(1.0)    # the held post ends now
    assert teams_api.posts() == []


def test_a_refusal_says_so_for_good(platform, teams_api):
    teams_api.faults["post"] = Fault(status=403)
    with pytest.raises(Refused) as refused:
        platform.post(CHANNEL, Reply.announce(line("x")))
    assert refused.value.code == "forbidden" and "add me" in refused.value.person_text


def test_a_server_error_may_have_arrived(platform, teams_api):
    teams_api.faults["post"] = Fault(status=502)
    with pytest.raises(NoAnswer):
        platform.post(CHANNEL, Reply.announce(line("x")))


def test_a_direct_message_opens_one_chat_per_person_and_reuses_it(platform, teams_api):
    platform.direct(LEAD, Reply.tell(line("Reminder")))
    platform.direct(LEAD, Reply.tell(line("Another")))
    assert len(teams_api.conversations) == 1
    created = teams_api.conversations[0]
    assert created["members"] == [{"id": LEAD}] and created["tenantId"] == TENANT
    assert [p.conversation for p in teams_api.posts()] == [created["id"]] * 2


def test_person_only_answers_are_targeted_in_the_channel(platform, teams_api):
    asker = Asker(PQL_A, CHANNEL, TEAM, handle=f"{CHANNEL};messageid=5")
    platform.tell(asker, Reply.tell(line("Only you")))
    platform.tell(asker, Reply.announce(line("Everyone")))
    targeted = teams_api.targeted()
    assert len(targeted) == 1 and targeted[0].body["recipient"]["id"] == PQL_A and "Only you" in targeted[0].text
    assert [p.text for p in teams_api.posts(CHANNEL)] == ["Everyone"]
    assert teams_api.posts(CHANNEL)[0].path.endswith(f"{CHANNEL};messageid=5/activities")  # in the thread


def test_a_refused_token_sends_nothing_and_shows_no_secret(db, teams_api):
    teams_api.reset()
    with db.session() as session:
        conversations.save_reference(session=session, conversation_id=CHANNEL, kind="channel",
                                     service_url=teams_api.service_url, tenant_id=TENANT, bot_id=BOT_ID)
    made = TeamsPlatform(db=db, app_id=APP_ID, tenant_id=TENANT,
                         token=ClientCredentialsToken(teams_api.token_url, APP_ID, "wrong", timeout=1.0), timeout=1.0)
    try:
        with pytest.raises(NoAnswer) as failed:  # nothing sent: delivery tries again later
            made.post(CHANNEL, Reply.announce(line("x")))
        assert "wrong" not in str(failed.value)
        assert not teams_api.sent
    finally:
        made.close()


# --- names kept across restarts ------------------------------------------------------------------------

def test_names_seen_are_kept_across_a_restart(platform, db, teams_api):
    platform.learn_name(PQL_A, "Jane Smith")
    platform.learn_name(LEAD, "  Dr\u200b Alex\x00 Brown\n ")  # cleaned: one line, printable
    platform.learn_name(NURSE, "Sam 943 476 5919")  # a name holding what looks like a CHI number: not kept
    again = _platform(db, teams_api)  # a new process: nothing in memory
    try:
        assert again.display_name(PQL_A) == "Jane Smith"
        assert again.display_name(LEAD) == "Dr Alex Brown"
        assert again.display_name(NURSE) == NURSE and again.display_name(PQL_B) == PQL_B
        with db.session() as session:
            first = session.get(PersonName, PQL_A).updated_at
        again.learn_name(PQL_A, "Jane Smith")  # the same name: read once, not written again
        with db.session() as session:
            assert session.get(PersonName, PQL_A).updated_at == first
        platform.learn_name(PQL_A, "Jane Smith-Jones")  # renamed
        assert platform.display_name(PQL_A) == "Jane Smith-Jones"
    finally:
        again.close()
    third = _platform(db, teams_api)
    try:
        assert third.display_name(PQL_A) == "Jane Smith-Jones"
    finally:
        third.close()


def test_an_erased_name_leaves_the_servers_memory_within_its_lifetime(platform, db, monkeypatch):
    """`python -m bot forget` runs in another process: the server's memory of a name is only kept for
    NAME_TTL, after which the database (where the name is gone) decides."""
    import bot.teams.platform as teams_platform
    from commands.erasure import forget_everywhere

    platform.learn_name(PQL_A, "Jane Smith")
    forget_everywhere(db, PQL_A)
    assert platform.display_name(PQL_A) == "Jane Smith"  # within its lifetime, memory answers
    monkeypatch.setattr(teams_platform, "NAME_TTL", -1.0)  # names learned from now on are already stale
    platform.learn_name(PQL_B, "Sam Ng")  # stored in the database as ever
    forget_everywhere(db, PQL_B)
    assert platform.display_name(PQL_B) == PQL_B


def test_an_unknown_name_is_not_asked_of_the_database_each_time(platform, db, teams_api, monkeypatch):
    asked = []
    monkeypatch.setattr(names, "find_name", lambda **kw: asked.append(kw["user_id"]))
    assert [platform.display_name(NURSE) for _ in range(5)] == [NURSE] * 5
    assert asked == [NURSE]


def test_the_product_directory_asks_each_platform_served_and_is_never_replaced(platform, db):
    class Other:
        name = "slack"

        def display_name(self, user_id):
            return "Slack Person" if user_id == "U123" else user_id

    product = Clusterbot(db)
    directory = product.directory
    platform.learn_name(PQL_A, "Jane Smith")
    product.directory.serve(platform)
    product.directory.serve(Other())
    assert product.directory is directory
    assert [directory(u) for u in (PQL_A, "U123", NURSE)] == ["Jane Smith", "Slack Person", NURSE]
    # A request's names come from its caller's platform: a Teams id is never asked of Slack.
    assert directory.of("slack")(PQL_A) == PQL_A and directory.of("teams")(PQL_A) == "Jane Smith"
    assert directory.of("teams")("U123") == "U123"
    # A platform not served here (the console, the command line) asks every platform that is.
    assert [directory.of("console")(u) for u in (PQL_A, "U123")] == ["Jane Smith", "Slack Person"]


# --- person-only answers where targeted messages are unavailable -----------------------------------------

@pytest.mark.parametrize("status", [400, 403, 404, 501])
def test_without_targeted_messages_the_answer_goes_to_the_persons_chat(platform, teams_api, status):
    teams_api.targeted_refusal = status
    asker = Asker(PQL_A, CHANNEL, TEAM, handle=f"{CHANNEL};messageid=5")
    platform.tell(asker, Reply.problem(line("Only you: that went wrong")))
    assert teams_api.targeted_refused == 1 and not teams_api.targeted()
    assert [c["members"] for c in teams_api.conversations] == [[{"id": PQL_A}]]
    chat = teams_api.conversations[0]["id"]
    assert len(teams_api.posts(chat)) == 1 and "Only you: that went wrong" in teams_api.posts(chat)[0].text
    # Remembered for this conversation: the next answer goes 1:1 straight away, in the same chat.
    platform.tell(asker, Reply.tell(line("Your list")))
    assert teams_api.targeted_refused == 1 and len(teams_api.conversations) == 1
    assert "Your list" in teams_api.posts(chat)[-1].text
    platform.tell(asker, Reply.announce(line("Everyone")))  # what is for the channel still goes there
    texts = [p.text for p in teams_api.posts(CHANNEL)]  # and a neutral line, once: the chat was new
    assert len(texts) == 2 and "in our chat" in texts[0] and texts[1] == "Everyone"
    assert not any("Only you" in p.text or "Your list" in p.text for p in teams_api.posts(CHANNEL))


def test_targeted_messages_are_tried_again_after_a_while(platform, teams_api):
    platform.targeted_retry_after = 0.2
    teams_api.targeted_refusal = 403
    asker = Asker(PQL_A, CHANNEL, TEAM, handle=f"{CHANNEL};messageid=5")
    platform.tell(asker, Reply.tell(line("One")))
    teams_api.targeted_refusal = 0  # the tenant turned them on
    time.sleep(0.3)
    platform.tell(asker, Reply.tell(line("Two")))
    assert [t.text for t in teams_api.targeted()] == ["Two"]


def test_the_fallback_is_remembered_per_conversation(platform, teams_api):
    teams_api.targeted_refusal = 404
    platform.tell(Asker(PQL_A, CHANNEL, TEAM, handle=CHANNEL), Reply.tell(line("Here")))
    teams_api.targeted_refusal = 0
    platform.tell(Asker(PQL_A, OTHER_CHANNEL, TEAM, handle=OTHER_CHANNEL), Reply.tell(line("There")))
    assert [t.text for t in teams_api.targeted()] == ["There"]


def test_a_targeted_message_that_may_have_arrived_is_not_sent_again_1_to_1(platform, teams_api):
    asker = Asker(PQL_A, CHANNEL, TEAM, handle=CHANNEL)
    teams_api.faults["targeted"] = Fault(status=502)
    with pytest.raises(NoAnswer):
        platform.tell(asker, Reply.tell(line("x")))
    teams_api.faults["targeted"] = Fault(status=429, retry_after=3)
    with pytest.raises(RateLimited):
        platform.tell(asker, Reply.tell(line("x")))
    assert not teams_api.conversations and not teams_api.posts()
    platform.tell(asker, Reply.tell(line("y")))  # neither made the conversation 1:1-only
    assert [t.text for t in teams_api.targeted()] == ["y"]


def test_if_the_chat_cannot_be_opened_either_the_channel_gets_only_a_neutral_line(platform, teams_api):
    teams_api.targeted_refusal = 403
    teams_api.faults["create"] = Fault(status=403)
    platform.tell(Asker(PQL_A, CHANNEL, TEAM, handle=CHANNEL), Reply.problem(line("Only you")))
    [said] = teams_api.posts()
    assert said.conversation == CHANNEL and "couldn't open a chat with you" in said.text
    assert "Only you" not in said.text and said.card["msteams"]["entities"][0]["mentioned"]["id"] == PQL_A


def _platform(db, teams_api) -> TeamsPlatform:
    token = ClientCredentialsToken(teams_api.token_url, APP_ID, PASSWORD, timeout=1.0)
    return TeamsPlatform(db=db, app_id=APP_ID, tenant_id=TENANT, token=token, timeout=1.0)
