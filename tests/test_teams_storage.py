"""Teams-shaped ids all the way through storage, on both databases; conversation references; settings."""

import pytest
from sqlalchemy import inspect
from sqlmodel import select

from bot.config import BOT_FRAMEWORK_OPENID, ConfigError, load_settings
from commands import Caller
from commands.results import Post, plain_text
from storage import conversations, names
from storage.models import (
    PERSON_NAME_MAX,
    PLATFORM_ID_MAX,
    Action,
    Attendance,
    Ballot,
    Cluster,
    Decision,
    Member,
    MinuteLine,
    PersonName,
    Poll,
)
from testkit.teams_ids import APP_ID, CHANNEL, GROUP_CHAT, LEAD, NURSE, PQL_A, PQL_B, TEAM, TENANT, aad

pytestmark = pytest.mark.database  # the database decides: wide platform ids against the columns' widths

SERVICE = "https://smba.trafficmanager.net/emea/"


def as_(user: str, channel: str = CHANNEL) -> Caller:
    # A Teams request: its outbox rows are Teams', so no Slack delivery anywhere in the test run (one
    # left running by an earlier test on the shared PostgreSQL database) can claim and post them.
    return Caller(user, channel, TEAM, enterprise_id=TENANT, platform="teams")


def test_ids_longer_than_slacks_fit_every_column(product, db):
    """PostgreSQL refuses a value wider than its column: the whole product runs with Teams' ids."""
    assert len(LEAD) > 64 and len(CHANNEL) > 32
    say = lambda user, command, text: product.handle(command, text, as_(user))  # noqa: E731
    assert "Riverside" in plain_text(say(LEAD, "/cluster", "setup Riverside Cluster"))
    say(LEAD, "/cluster", "practice add 80123 Riverside Medical Practice")
    say(LEAD, "/cluster", "practice add 80456 Hillview Surgery")
    assert "Riverside Medical" in plain_text(say(LEAD, "/cluster", f"member add <@{PQL_A}> 80123"))
    say(LEAD, "/cluster", f"member add <@{PQL_B}> 80456")
    say(LEAD, "/cluster", f"lead add <@{NURSE}|nurse.ng>")
    created = say(LEAD, "/poll", '"Which first?" "Asthma" "Frailty"')
    posts = [e for e in created.effects if isinstance(e, Post)]
    product.remember(posts[0].key, CHANNEL, "1:1" + "x" * 120)  # a message reference wider than 64
    say(PQL_A, "/poll", "vote P1 1")
    say(PQL_B, "/poll", "vote P1 2")
    say(PQL_A, "/action", f"add Audit inhaler reviews <@{PQL_B}> due 2026-12-18")
    say(LEAD, "/topic", "propose Frailty register review")
    say(LEAD, "/meeting", "schedule 2026-12-09 13:00 Cluster QI meeting")
    say(LEAD, "/meeting", f"attended M1 <@{PQL_A}>")
    say(LEAD, "/meeting", "note M1 Inhaler audit discussed")
    say(LEAD, "/meeting", "decision M1 Start the inhaler audit")
    with db.session() as session:
        assert [a.user_id for a in session.exec(select(Attendance))] == [PQL_A]
        assert [(m.by, d.by) for m in session.exec(select(MinuteLine)) for d in session.exec(select(Decision))] \
            == [(LEAD, LEAD)]
        cluster = session.exec(select(Cluster)).one()
        assert (cluster.team_id, cluster.channel_id, cluster.enterprise_id) == (TEAM, CHANNEL, TENANT)
        assert {m.user_id for m in session.exec(select(Member))} == {LEAD, PQL_A, PQL_B, NURSE}
        poll = session.exec(select(Poll)).one()
        assert poll.posted_ref.startswith("1:1x") and len(poll.posted_ref) == 123
        assert sorted(b.cast_by for b in session.exec(select(Ballot))) == sorted([PQL_A, PQL_B])
        assert session.exec(select(Action)).one().owner == PQL_B


def test_every_platform_id_column_is_wide(db):
    """The migration and the models agree (test_storage checks that); here: the columns really are 255."""
    tables = ("cluster", "member", "poll", "ballot", "action", "digest_sent", "handled_event", "conversation_ref",
              "attendance", "minute_line", "decision", "person_name")
    columns = {(table, c["name"]): c["type"].length for table in tables
               for c in inspect(db.engine).get_columns(table) if getattr(c["type"], "length", None)}
    for key in [("cluster", "team_id"), ("cluster", "enterprise_id"), ("cluster", "channel_id"),
                ("member", "user_id"), ("poll", "posted_ref"), ("poll", "posted_channel"), ("action", "owner"),
                ("digest_sent", "user_id"), ("handled_event", "event_id"), ("conversation_ref", "conversation_id"),
                ("attendance", "user_id"), ("attendance", "by"), ("minute_line", "by"), ("decision", "by"),
                ("person_name", "user_id")]:
        assert columns[key] == PLATFORM_ID_MAX, key
    assert columns[("ballot", "voter_key")] >= len("person:") + PLATFORM_ID_MAX
    assert columns[("attendance", "attendee")] >= len("person:") + PLATFORM_ID_MAX


def test_conversation_references_are_kept_and_brought_up_to_date(db):
    with db.session() as session:
        conversations.save_reference(session=session, conversation_id=CHANNEL, kind="channel", service_url=SERVICE,
                                     tenant_id=TENANT, bot_id=f"28:{APP_ID}", team_id=TEAM)
        conversations.save_reference(session=session, conversation_id="a:1" + "q" * 200, kind="personal",
                                     service_url=SERVICE, tenant_id=TENANT, bot_id=f"28:{APP_ID}", user_id=PQL_A)
        conversations.save_reference(session=session, conversation_id=GROUP_CHAT, kind="groupChat",
                                     service_url=SERVICE, tenant_id=TENANT, bot_id=f"28:{APP_ID}", user_id=PQL_A)
    with db.session() as session:  # the service URL moved (Microsoft may do that): the same row, updated
        conversations.save_reference(session=session, conversation_id=CHANNEL, kind="channel",
                                     service_url="https://smba.trafficmanager.net/uk/", tenant_id=TENANT,
                                     bot_id=f"28:{APP_ID}", team_id=TEAM)
    with db.session() as session:
        channel = conversations.find_reference(session=session, conversation_id=CHANNEL)
        assert channel.service_url == "https://smba.trafficmanager.net/uk/" and channel.team_id == TEAM
        personal = conversations.find_personal(session=session, tenant_id=TENANT, user_id=PQL_A)
        assert personal.conversation_id == "a:1" + "q" * 200  # not the group chat the person was in
        assert conversations.find_personal(session=session, tenant_id=TENANT, user_id=aad(2)) is None
        assert conversations.find_reference(session=session, conversation_id=GROUP_CHAT).user_id is None


def test_names_are_kept_by_teams_sized_ids_and_brought_up_to_date(db):
    """A person's name: one row per user id (Teams' full width), a new name replaces the old one."""
    widest = "29:1" + "x" * (PLATFORM_ID_MAX - 4)
    with db.session() as session:
        names.save_name(session=session, user_id=widest, name="N" * PERSON_NAME_MAX)
        names.save_name(session=session, user_id=PQL_A, name="Jane Smith")
    with db.session() as session:
        names.save_name(session=session, user_id=PQL_A, name="Jane Smith-Jones")
    with db.session() as session:
        assert names.find_name(session=session, user_id=widest) == "N" * PERSON_NAME_MAX
        assert names.find_name(session=session, user_id=PQL_A) == "Jane Smith-Jones"
        assert names.find_name(session=session, user_id=PQL_B) is None
        assert len(session.exec(select(PersonName)).all()) == 2


TEAMS_ENV = {"TEAMS_APP_ID": APP_ID, "TEAMS_APP_PASSWORD": "s3cr3t~value", "TEAMS_TENANT_ID": TENANT}


def test_teams_settings_and_their_defaults():
    settings = load_settings("teams", environ=TEAMS_ENV)
    assert settings.teams_app_id == APP_ID and settings.teams_tenant_id == TENANT
    assert settings.teams_openid_url == BOT_FRAMEWORK_OPENID
    assert settings.teams_token_url == f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    local = load_settings("teams", environ={**TEAMS_ENV, "TEAMS_OPENID_URL": "http://127.0.0.1:9/v1/openidconfiguration",
                                            "TEAMS_TOKEN_URL": "http://127.0.0.1:9/token"})
    assert (local.teams_openid_url, local.teams_token_url) == ("http://127.0.0.1:9/v1/openidconfiguration",
                                                               "http://127.0.0.1:9/token")


@pytest.mark.parametrize("change, says", [
    ({"TEAMS_APP_ID": None}, "TEAMS_APP_ID is not set"),
    ({"TEAMS_APP_PASSWORD": ""}, "TEAMS_APP_PASSWORD is not set"),
    ({"TEAMS_TENANT_ID": None}, "TEAMS_TENANT_ID is not set"),
    ({"TEAMS_APP_ID": "clusterbot"}, "TEAMS_APP_ID should be a GUID"),
    ({"TEAMS_TENANT_ID": "nhs.scot"}, "TEAMS_TENANT_ID should be a GUID"),
    ({"TEAMS_OPENID_URL": "login.botframework.com"}, "TEAMS_OPENID_URL “login.botframework.com” is not an http(s) URL"),
    ({"TEAMS_OPENID_URL": "https://x.org/openid-configuration"}, "should end in /openidconfiguration"),
    ({"TEAMS_TOKEN_URL": "ftp://x/token"}, "TEAMS_TOKEN_URL “ftp://x/token” is not an http(s) URL"),
])
def test_a_bad_teams_setting_is_one_line(change, says):
    environ = {k: v for k, v in {**TEAMS_ENV, **change}.items() if v is not None}
    with pytest.raises(ConfigError) as raised:
        load_settings("teams", environ=environ)
    assert says in str(raised.value) and "\n" not in str(raised.value)


def test_teams_settings_are_checked_only_where_they_are_used():
    """Slack and the console don't need (or check) Teams settings; the package needs the app id and its
    publisher's settings, not the secret nor the tenant."""
    nonsense = {"TEAMS_TOKEN_URL": "nonsense", "TEAMS_APP_ID": "nonsense"}
    assert load_settings("console", environ=nonsense).teams_app_id == "nonsense"
    assert load_settings("http", environ={**nonsense, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    publisher = {"TEAMS_PUBLISHER_NAME": "NHS X", "TEAMS_WEBSITE_URL": "https://x.nhs.scot",
                 "TEAMS_PRIVACY_URL": "https://x.nhs.scot/p", "TEAMS_TERMS_URL": "https://x.nhs.scot/t"}
    packaged = load_settings("teams-package", environ={"TEAMS_APP_ID": APP_ID, **publisher})
    assert packaged.teams_app_id == APP_ID and packaged.teams_terms_url == "https://x.nhs.scot/t"
    with pytest.raises(ConfigError, match="TEAMS_APP_ID should be a GUID"):
        load_settings("teams-package", environ={**nonsense, **publisher})
