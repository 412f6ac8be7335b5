"""Slack for many workspaces ("Add to Slack", issue 28): the install page and its state, the code
exchanged for each workspace's token, each workspace answered with its own token (requests, delivery,
the scheduler's platform), token rotation, and uninstalling. Against the Slack stand-in's OAuth
endpoints (testkit/slack_standin.py) and the real Bolt app handling signed requests, through the
HTTP server's own routing (bot/server.py's WSGI application)."""

import io
import logging
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import time_machine
from sqlmodel import select

from bot.__main__ import scheduler_deliveries
from bot.config import ConfigError, Settings, load_settings
from bot.logs import SafeFormatter
from bot.platform import Refused
from bot.server import wsgi_app
from bot.slack import build_app
from bot.slack.manifest import BOT_SCOPES, manifest
from bot.slack.platform import for_delivery
from commands.results import Reply, line
from storage import outbox
from storage.models import Cluster, Outbox, Practice, SlackInstallation, SlackOAuthState
from testkit.slack_requests import SIGNING_SECRET, dispatch_command, dispatch_event

GLEN = ("T0002", "Glen Practices")
NOTE = Reply([line("A note")])  # a second workspace beside the stand-in's T0001


@pytest.fixture
def oauth(db, slack_api) -> Settings:
    slack_api.reset()
    slack_api.strict_tokens = True  # a call with a token Slack did not hand out (or that expired) is refused
    return Settings(database_url=db.url, cluster_tz="Europe/London", slack_api_url=slack_api.url,
                    signing_secret=SIGNING_SECRET, slack_client_id=slack_api.client_id,
                    slack_client_secret=slack_api.client_secret)


@pytest.fixture
def multi(oauth, product):
    """The real Bolt app in "Add to Slack" mode; its delivery stops with the test."""
    app = build_app(oauth, product)
    yield app
    app.delivery.stop()


class Page:
    def __init__(self, status: str, headers: list, body: bytes):
        self.status, self.text = int(status.split()[0]), body.decode()
        self.headers = {name.lower(): value for name, value in headers}

    @property
    def link(self) -> str:
        return unescape(re.search(r'href="([^"]+)" id="add-to-slack"', self.text).group(1))

    @property
    def cookie(self) -> str:
        return self.headers["set-cookie"].split(";")[0]


def get(app, db, path: str, query: dict | None = None, cookie: str = "") -> Page:
    """A browser's GET through the HTTP server's routing."""
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "QUERY_STRING": urlencode(query or {}),
               "wsgi.input": io.BytesIO(b""), **({"HTTP_COOKIE": cookie} if cookie else {})}
    answer = {}
    body = b"".join(wsgi_app(app, db)(environ, lambda status, headers: answer.update(s=status, h=headers)))
    return Page(answer["s"], answer["h"], body)


def install(app, db, slack_api, team: str = "T0001", name: str = "") -> Page:
    """A person opens the install page, approves in Slack, and Slack sends their browser back."""
    page = get(app, db, "/slack/install")
    state = parse_qs(urlparse(page.link).query)["state"][0]
    return get(app, db, "/slack/oauth_redirect", {"code": slack_api.authorize(team, name), "state": state},
               cookie=page.cookie)


def installation(db, team: str) -> SlackInstallation | None:
    with db.session(read_only=True) as session:
        return session.exec(select(SlackInstallation).where(SlackInstallation.team_id == team)).first()


def test_the_install_page_asks_for_the_manifests_scopes_with_a_state_it_keeps(multi, db):
    page = get(multi, db, "/slack/install")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    link = urlparse(page.link)
    asked = parse_qs(link.query)
    assert (link.netloc, link.path) == ("slack.com", "/oauth/v2/authorize")
    assert asked["client_id"] == ["1111.2222"] and asked["scope"] == [",".join(BOT_SCOPES)]
    assert all(f"<code>{scope}</code>" in page.text for scope in BOT_SCOPES)
    with db.session(read_only=True) as session:
        kept = session.exec(select(SlackOAuthState)).all()
    assert [row.state for row in kept] == asked["state"]
    assert timedelta(minutes=9) < kept[0].expires_at - datetime.now(UTC) <= timedelta(minutes=10)
    assert asked["state"][0] in page.cookie  # Bolt also ties the state to the browser that asked


def test_the_code_is_exchanged_the_installation_stored_and_the_page_says_what_next(multi, db, slack_api):
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(SafeFormatter())
    root = logging.getLogger()
    level, root.level = root.level, logging.DEBUG
    root.addHandler(handler)
    try:
        page = install(multi, db, slack_api, *GLEN)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert page.status == 200, page.text
    assert "Glen Practices" in page.text and "/invite @clusterbot" in page.text and "/cluster setup" in page.text
    (exchange,) = slack_api.calls_to("oauth.v2.access")
    assert exchange.args["client_secret"] == slack_api.client_secret and exchange.args["code"].startswith("code-T0002")
    stored = installation(db, "T0002")
    assert slack_api.team_of(stored.bot_token) == "T0002" and stored.bot_refresh_token in slack_api.refresh_tokens
    assert stored.bot_token_expires_at - datetime.now(UTC) > timedelta(hours=11)
    assert stored.bot_token not in page.text
    logged = buffer.getvalue()
    assert "installed in a workspace (team T0002)" in logged
    assert stored.bot_token not in logged and stored.bot_refresh_token not in logged
    assert slack_api.client_secret not in logged


@pytest.mark.database  # the state's one-time DELETE decides, on either database
def test_a_state_is_accepted_once_and_not_after_it_expires(multi, db, slack_api):
    page = get(multi, db, "/slack/install")
    state = parse_qs(urlparse(page.link).query)["state"][0]
    first = get(multi, db, "/slack/oauth_redirect", {"code": slack_api.authorize("T0002"), "state": state},
                cookie=page.cookie)
    assert first.status == 200
    again = get(multi, db, "/slack/oauth_redirect", {"code": slack_api.authorize("T0003"), "state": state},
                cookie=page.cookie)
    assert again.status == 401 and "used already or is more than 10 minutes old" in again.text
    assert "Nothing was installed" in again.text and installation(db, "T0003") is None

    late = get(multi, db, "/slack/install")
    state = parse_qs(urlparse(late.link).query)["state"][0]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11)):
        expired = get(multi, db, "/slack/oauth_redirect", {"code": slack_api.authorize("T0004"), "state": state},
                      cookie=late.cookie)
    assert expired.status == 401 and installation(db, "T0004") is None
    assert len(slack_api.calls_to("oauth.v2.access")) == 1  # refused before any code was exchanged


def test_a_code_slack_refuses_installs_nothing(multi, db, slack_api):
    page = get(multi, db, "/slack/install")
    state = parse_qs(urlparse(page.link).query)["state"][0]
    refused = get(multi, db, "/slack/oauth_redirect", {"code": "made-up", "state": state}, cookie=page.cookie)
    assert refused.status == 401 and "did not accept" in refused.text
    with db.session(read_only=True) as session:
        assert session.exec(select(SlackInstallation)).all() == []


def test_two_workspaces_are_each_answered_with_their_own_token(multi, db, slack_api):
    install(multi, db, slack_api, "T0001")
    install(multi, db, slack_api, *GLEN)
    slack_api.calls.clear()
    for team, channel in (("T0001", "CRIVER"), ("T0002", "CGLEN")):
        setup = dispatch_command(multi, "/cluster", f"setup Cluster {team}", team=team, channel=channel)
        assert setup.status == 200 and "Cluster " + team in setup.text
        dispatch_command(multi, "/cluster", "practice add 80123 Riverside Medical Practice", team=team,
                         channel=channel)
        poll = dispatch_command(multi, "/poll", '"Lunch at 12?" "Yes" "No"', team=team, channel=channel)
        assert poll.status == 200 and poll.body == "", poll.text
    posts = slack_api.wait_for("chat.postMessage", 2)
    assert {call.args["channel"]: slack_api.team_of(call.token) for call in posts} == \
        {"CRIVER": "T0001", "CGLEN": "T0002"}
    asked = slack_api.calls_to("users.info") + slack_api.calls_to("auth.test")
    assert asked and all(slack_api.team_of(call.token) in ("T0001", "T0002") for call in asked)
    with db.session(read_only=True) as session:
        assert sorted(session.exec(select(Cluster.team_id))) == ["T0001", "T0002"]

    # `python -m bot scheduler`'s own Slack delivery finds each workspace's token from the channel.
    (scheduler,) = scheduler_deliveries(multi_settings(slack_api, db), multi.delivery.product)
    try:
        for channel, team in (("CGLEN", "T0002"), ("CRIVER", "T0001")):
            scheduler.platform.post(channel, NOTE)
            assert slack_api.team_of(slack_api.calls_to("chat.postMessage")[-1].token) == team
    finally:
        scheduler.stop()

    # A workspace that never installed the app is not served.
    stranger = dispatch_command(multi, "/cluster", "setup Strangers", team="T0009", channel="CSTRANGE")
    assert "Strangers" not in stranger.text
    with db.session(read_only=True) as session:
        assert session.exec(select(Cluster).where(Cluster.channel_id == "CSTRANGE")).first() is None


def multi_settings(slack_api, db) -> Settings:
    return Settings(database_url=db.url, cluster_tz="Europe/London", slack_api_url=slack_api.url,
                    signing_secret=SIGNING_SECRET, slack_client_id=slack_api.client_id,
                    slack_client_secret=slack_api.client_secret)


def test_a_token_near_its_expiry_is_refreshed_first_by_requests_and_by_delivery(multi, db, slack_api):
    slack_api.token_lifetime = 3600  # within the two hours before expiry in which a token is refreshed
    install(multi, db, slack_api, *GLEN)
    old = installation(db, "T0002")
    slack_api.token_lifetime = 43200
    answer = dispatch_command(multi, "/cluster", "setup Glen", team="T0002", channel="CGLEN")
    assert "Glen" in answer.text
    (refresh,) = [c for c in slack_api.calls_to("oauth.v2.access") if c.args.get("grant_type") == "refresh_token"]
    assert refresh.args["refresh_token"] == old.bot_refresh_token
    new = installation(db, "T0002")
    assert new.bot_token != old.bot_token and new.bot_refresh_token != old.bot_refresh_token
    assert new.bot_token_expires_at - datetime.now(UTC) > timedelta(hours=11)
    assert all(c.token == new.bot_token for c in slack_api.calls if c.method in ("auth.test", "users.info")
               and c.at > refresh.at)

    # Delivery (here the scheduler's platform, with nothing in memory) refreshes before sending too.
    slack_api.token_lifetime = 3600
    install(multi, db, slack_api, "T0001")
    slack_api.token_lifetime = 43200
    stale = installation(db, "T0001")
    platform = for_delivery(multi_settings(slack_api, db), multi.delivery.product)
    platform.direct("UGP", NOTE, team_id="T0001")
    sent = slack_api.calls_to("chat.postMessage")[-1]
    fresh = installation(db, "T0001")
    assert fresh.bot_token != stale.bot_token and sent.token == fresh.bot_token
    assert stale.bot_refresh_token not in slack_api.refresh_tokens  # used up by the refresh


@pytest.mark.parametrize("event", [
    {"type": "app_uninstalled"},
    {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}},
])
def test_uninstalling_forgets_the_workspaces_tokens_and_stops_its_deliveries_keeping_the_cluster(
        multi, db, slack_api, event):
    install(multi, db, slack_api, "T0001")
    install(multi, db, slack_api, *GLEN)
    dispatch_command(multi, "/cluster", "setup Glen", team="T0002", channel="CGLEN")
    dispatch_command(multi, "/cluster", "setup Riverside", team="T0001", channel="CRIVER")
    with db.session() as session:
        glen_id, river_id = (session.exec(select(Cluster.id).where(Cluster.channel_id == c)).one()
                             for c in ("CGLEN", "CRIVER"))
        later = datetime.now(UTC) + timedelta(hours=1)
        waiting = [outbox.enqueue(session=session, kind="post", channel=channel, payload="{}", cluster_id=cid,
                                  now=later) for channel, cid in (("CGLEN", glen_id), ("CRIVER", river_id))]
    gone = dispatch_event(multi, event, event_id=f"Ev-{event['type']}", team="T0002")
    assert gone.status == 200
    assert installation(db, "T0002") is None and installation(db, "T0001") is not None
    with db.session(read_only=True) as session:
        rows = {row.id: row for row in session.exec(select(Outbox).where(Outbox.id.in_(waiting)))}
        assert session.get(Cluster, glen_id).name == "Glen"  # the cluster and its records stay
    assert rows[waiting[0]].failed_at is not None and rows[waiting[0]].last_error == "app_uninstalled"
    assert rows[waiting[1]].failed_at is None  # the other workspace's are still to be sent

    with pytest.raises(Refused) as refused:
        multi.delivery.platform.post("CGLEN", NOTE)
    assert refused.value.code == "not_installed"
    multi.delivery.platform.post("CRIVER", NOTE)  # the other workspace carries on
    assert slack_api.team_of(slack_api.calls_to("chat.postMessage")[-1].token) == "T0001"
    ignored = dispatch_command(multi, "/cluster", "practice add 80456 Hillview Surgery", team="T0002",
                               channel="CGLEN")
    assert ignored.body == "" and practices(db, glen_id) == []  # no longer served: nothing done

    install(multi, db, slack_api, *GLEN)  # installed again, the cluster is there as it was
    back = dispatch_command(multi, "/cluster", "practice add 80456 Hillview Surgery", team="T0002",
                            channel="CGLEN")
    assert back.status == 200 and "80456" in back.text and practices(db, glen_id) == ["80456"]


def practices(db, cluster_id: int) -> list[str]:
    with db.session(read_only=True) as session:
        return list(session.exec(select(Practice.code).where(Practice.cluster_id == cluster_id)))


def test_the_manifest_for_add_to_slack_has_the_redirect_url_and_rotation_on(monkeypatch, capsys, tmp_path):
    url = "https://clusterbot.example.scot/slack/events"
    plain, oauth = manifest(url), manifest(url, oauth=True)
    assert "redirect_urls" not in plain["oauth_config"] and plain["settings"]["token_rotation_enabled"] is False
    assert oauth["oauth_config"]["redirect_urls"] == ["https://clusterbot.example.scot/slack/oauth_redirect"]
    assert oauth["settings"]["token_rotation_enabled"] is True and oauth["settings"]["socket_mode_enabled"] is False
    assert oauth["oauth_config"]["scopes"] == plain["oauth_config"]["scopes"]

    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("SLACK_CLIENT_ID", "1111.2222")
    assert main(["manifest", "--url", url]) == 0
    printed = capsys.readouterr().out
    assert "oauth_redirect" in printed and 'token_rotation_enabled: true' in printed
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-one-workspace")
    assert main(["manifest", "--url", url]) == 0
    assert "oauth_redirect" not in capsys.readouterr().out  # one workspace's token: as before


def test_settings_for_add_to_slack():
    both = {"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "s", "SLACK_SIGNING_SECRET": "x"}
    settings = load_settings("http", environ=both)
    assert (settings.slack_client_id, settings.bot_token) == ("1111.2222", None)
    with pytest.raises(ConfigError, match="SLACK_CLIENT_SECRET is not set"):
        load_settings("http", environ={"SLACK_CLIENT_ID": "1111.2222", "SLACK_SIGNING_SECRET": "x"})
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN is not set"):
        load_settings("http", environ={"SLACK_SIGNING_SECRET": "x"})  # neither way: the one-workspace word


@pytest.mark.wall_clock  # the delivery child's clock is the machine's: tokens expire on one clock
def test_the_delivery_child_sends_with_each_workspaces_token(oauth, product, db, slack_api):
    app = build_app(oauth, product, delivery_process=True)
    try:
        install(app, db, slack_api, *GLEN)
        dispatch_command(app, "/cluster", "setup Glen", team="T0002", channel="CGLEN")
        dispatch_command(app, "/cluster", "practice add 80123 Riverside Medical Practice", team="T0002",
                         channel="CGLEN")
        assert dispatch_command(app, "/poll", '"Lunch at 12?" "Yes" "No"', team="T0002", channel="CGLEN").body == ""
        (post,) = slack_api.wait_for("chat.postMessage")
        assert post.args["channel"] == "CGLEN" and slack_api.team_of(post.token) == "T0002"
        assert not [c for c in slack_api.calls_to("oauth.v2.access") if c.args.get("grant_type")]  # none due
    finally:
        app.delivery.stop()
