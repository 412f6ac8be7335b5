"""TeamsPlatform against the Bot Connector stand-in: the seam's four outcomes, and where things go."""

import pytest

from bot.platform import Asker, NoAnswer, RateLimited, Refused
from bot.teams.auth import ClientCredentialsToken
from bot.teams.platform import TeamsPlatform
from commands.results import Person, Reply, line
from storage import conversations
from tests.teams_ids import APP_ID, CHANNEL, LEAD, PQL_A, TEAM, TENANT
from tests.teams_standin import BOT_ID, PASSWORD, Fault


@pytest.fixture
def platform(db, teams_api):
    teams_api.reset()
    with db.session() as session:
        conversations.save_reference(session=session, conversation_id=CHANNEL, kind="channel",
                                     service_url=teams_api.service_url, tenant_id=TENANT, bot_id=BOT_ID, team_id=TEAM)
    token = ClientCredentialsToken(teams_api.token_url, APP_ID, PASSWORD, timeout=1.0)
    made = TeamsPlatform(db=db, app_id=APP_ID, tenant_id=TENANT, token=token, timeout=1.0)
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
