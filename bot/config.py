"""Settings from the environment and .env, checked once at start.

A bad setting is a ConfigError whose message is the one line the person needs: the variable,
what is wrong, and what to do.
"""

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///clusterbot.db"
SLACK_PUBLIC_API = "https://slack.com/api/"
# Bot Framework publishes the keys that sign inbound activities here (the SDK reads …/keys beside it).
BOT_FRAMEWORK_OPENID = "https://login.botframework.com/v1/.well-known/openidconfiguration"
MICROSOFT_LOGIN = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    cluster_tz: str
    slack_api_url: str
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None
    host: str = "0.0.0.0"
    port: int = 3000
    scheduler: bool = True
    delivery_process: bool = False  # DELIVERY_PROCESS: Slack servers send in a child process (on by default there)
    ballot_secret: str | None = None  # BALLOT_KEY; see ballot_key()
    teams_app_id: str | None = None
    teams_app_password: str | None = None
    teams_tenant_id: str | None = None
    teams_openid_url: str = BOT_FRAMEWORK_OPENID
    teams_token_url: str | None = None  # None until a tenant is known
    retention_days: int = 30  # RETENTION_DAYS: how long sent outbox rows are kept
    rate_limit_per_minute: int = 20  # RATE_LIMIT_PER_MINUTE: posting commands per person per cluster; 0: off
    delivery_lag_limit: int = 300  # DELIVERY_LAG_LIMIT: seconds a due message may wait before /healthz says 503
    teams_publisher_name: str | None = None  # TEAMS_PUBLISHER_NAME …: the app package's publisher and pages
    teams_website_url: str | None = None
    teams_privacy_url: str | None = None
    teams_terms_url: str | None = None
    # TEAMS_PUBLIC_URL: the https:// address people's Teams reach this server at (the messaging endpoint's
    # scheme and host): charts and exports shared with a cluster are served from <it>/files/<token>.
    teams_public_url: str | None = None
    shared_file_days: int = 7  # SHARED_FILE_DAYS: how long a shared file's link works
    minutes_lock_days: int = 14  # MINUTES_LOCK_DAYS: days after a meeting its minutes become read-only
    # TEAMS_TARGETED_MESSAGES: answers for one person in a channel as targeted messages (a developer-preview
    # feature of Teams); off: they go to the person's 1:1 chat (generally available), the default.
    teams_targeted_messages: bool = False
    # SLACK_CLIENT_ID, SLACK_CLIENT_SECRET: "Add to Slack" for many workspaces (bot/slack/oauth.py), used when
    # SLACK_BOT_TOKEN is not set. Last, so settings built by position keep their places.
    slack_client_id: str | None = None
    slack_client_secret: str | None = None


# What each Slack mode needs, and where people find it.
NEEDS = {
    "http": ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"),
    "socket": ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"),
    "teams": ("TEAMS_APP_ID", "TEAMS_APP_PASSWORD", "TEAMS_TENANT_ID"),
    "teams-package": ("TEAMS_APP_ID", "TEAMS_PUBLISHER_NAME", "TEAMS_WEBSITE_URL", "TEAMS_PRIVACY_URL",
                      "TEAMS_TERMS_URL"),
}
# What a mode uses if given, checked as strictly: the scheduler needs no platform, and delivers for each
# one it has settings for (Teams: all three or none, see teams_configured).
MAY_USE = {
    "scheduler": ("SLACK_BOT_TOKEN", "TEAMS_APP_ID", "TEAMS_TENANT_ID"),
}
WHERE = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-…) from your Slack app's OAuth & Permissions page",
    "SLACK_SIGNING_SECRET": "the Signing Secret from your Slack app's Basic Information page",
    "SLACK_CLIENT_ID": "the Client ID from your Slack app's Basic Information page (App Credentials)",
    "SLACK_CLIENT_SECRET": "the Client Secret from your Slack app's Basic Information page (App Credentials)",
    "SLACK_APP_TOKEN": "an app-level token (xapp-…) with connections:write, from Basic Information › App-Level Tokens",
    "TEAMS_APP_ID": "the bot's Microsoft App ID (a GUID), from the Azure Bot resource's Configuration page",
    "TEAMS_APP_PASSWORD": "a client secret of the bot's app registration (Certificates & secrets)",
    "TEAMS_TENANT_ID": "your Microsoft Entra tenant ID (a GUID), from the app registration's Overview page",
    "TEAMS_PUBLISHER_NAME": "who publishes the app, as a tenant admin will see it (e.g. NHS Lothian eHealth)",
    "TEAMS_WEBSITE_URL": "an https:// page about the app, shown to people and admins in Teams",
    "TEAMS_PRIVACY_URL": "the https:// address of your privacy notice for the app",
    "TEAMS_TERMS_URL": "the https:// address of the app's terms of use",
}
MUST_BE_HTTPS = ("TEAMS_WEBSITE_URL", "TEAMS_PRIVACY_URL", "TEAMS_TERMS_URL")
MUST_BE_GUID = ("TEAMS_APP_ID", "TEAMS_TENANT_ID")
PREFIX = {"SLACK_BOT_TOKEN": "xoxb-", "SLACK_APP_TOKEN": "xapp-"}


def load_settings(mode: str, env_file: str | Path | None = ".env", environ=None) -> Settings:
    """Read and check every setting `mode` uses. The process environment wins over .env."""
    if environ is None:
        if env_file and Path(env_file).is_file():
            load_dotenv(env_file, override=False)
        environ = os.environ
    get = lambda name: (environ.get(name) or "").strip() or None  # noqa: E731

    needs = _needs(mode, get)
    for name in needs + MAY_USE.get(mode, ()):
        value = get(name)
        if value is None and name not in needs:
            continue
        if value is None:
            raise ConfigError(f"{name} is not set: put {WHERE[name]} in the environment or .env")
        if name in PREFIX and not value.startswith(PREFIX[name]):
            raise ConfigError(f"{name} should start with {PREFIX[name]}: use {WHERE[name]}")
        if name in MUST_BE_HTTPS and not re.match(r"^https://[^\s/]+\.[^\s]+$", value):
            raise ConfigError(f"{name} should be an https:// address: use {WHERE[name]}")
        if name in MUST_BE_GUID and not GUID.match(value):
            raise ConfigError(f"{name} should be a GUID like 00000000-0000-0000-0000-000000000000: use {WHERE[name]}")

    return Settings(
        database_url=_database_url(get("DATABASE_URL") or DEFAULT_DATABASE_URL),
        cluster_tz=_time_zone(get("CLUSTER_TZ") or "Europe/London"),
        slack_api_url=_api_url(get("SLACK_API_URL") or SLACK_PUBLIC_API),
        bot_token=get("SLACK_BOT_TOKEN"),
        slack_client_id=get("SLACK_CLIENT_ID"),
        slack_client_secret=get("SLACK_CLIENT_SECRET"),
        signing_secret=get("SLACK_SIGNING_SECRET"),
        app_token=get("SLACK_APP_TOKEN"),
        host=get("HOST") or "0.0.0.0",
        port=_port(get("PORT") or "3000"),
        scheduler=_switch(get("SCHEDULER") or "on"),
        delivery_process=_switch(get("DELIVERY_PROCESS") or "on", "DELIVERY_PROCESS"),
        teams_app_id=get("TEAMS_APP_ID"),
        teams_app_password=get("TEAMS_APP_PASSWORD"),
        teams_tenant_id=get("TEAMS_TENANT_ID"),
        **(_teams_urls(get) if _calls_microsoft(mode, get) else {}),
        ballot_secret=_ballot_secret(get("BALLOT_KEY")),
        retention_days=_days(get("RETENTION_DAYS") or "30"),
        rate_limit_per_minute=_per_minute(get("RATE_LIMIT_PER_MINUTE") or "20"),
        delivery_lag_limit=_lag_limit(get("DELIVERY_LAG_LIMIT") or "300"),
        teams_publisher_name=get("TEAMS_PUBLISHER_NAME"),
        teams_website_url=get("TEAMS_WEBSITE_URL"),
        teams_privacy_url=get("TEAMS_PRIVACY_URL"),
        teams_terms_url=get("TEAMS_TERMS_URL"),
        teams_public_url=_public_url(get("TEAMS_PUBLIC_URL")),
        shared_file_days=_shared_days(get("SHARED_FILE_DAYS") or "7"),
        minutes_lock_days=_lock_days(get("MINUTES_LOCK_DAYS") or "14"),
        teams_targeted_messages=_switch(get("TEAMS_TARGETED_MESSAGES") or "off", "TEAMS_TARGETED_MESSAGES"),
    )


OAUTH = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


def _needs(mode: str, get) -> tuple[str, ...]:
    """What `mode` needs: with no SLACK_BOT_TOKEN but a SLACK_CLIENT_ID or SLACK_CLIENT_SECRET, the HTTP
    server (and a scheduler that delivers for Slack) is "Add to Slack" for many workspaces, which needs
    both of them (and the signing secret) instead of a bot token."""
    oauth = get("SLACK_BOT_TOKEN") is None and any(get(name) for name in OAUTH)
    if mode == "http" and oauth:
        return OAUTH + ("SLACK_SIGNING_SECRET",)
    if mode == "scheduler" and oauth:
        return OAUTH
    return NEEDS.get(mode, ())


BALLOT_KEY_MIN = 32  # characters: the voter hashes and seals are only as strong as this key
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def ballot_key(settings: Settings) -> bytes | None:
    """The key of anonymous ballots (voter hashes, sealed choices), never stored in the database: from
    BALLOT_KEY only. Never derived from the bot token or the Teams client secret: those are rotated (an
    Entra client secret expires), and a changed key would let a practice that voted vote again. None
    when unset: then no anonymous poll can be made (bot/__main__ refuses to start servers without it
    while one is open)."""
    return key_from(settings.ballot_secret) if settings.ballot_secret else None


def key_from(secret: str) -> bytes:
    """The ballot key from BALLOT_KEY's text (or the console's key file): the same derivation as when
    it could also come from a token, so hashes made under a given text stay valid."""
    return hashlib.sha256(b"clusterbot anonymous ballots\0" + secret.encode()).digest()


def console_ballot_key(settings: Settings) -> bytes | None:
    """The console's key: BALLOT_KEY if set, else its own settings file beside its SQLite database
    (`<database>.ballot-key`, readable by its owner only), made on first use and kept, so the next run
    knows the ballots of the last. An in-memory database dies with its process, and so may its key;
    a PostgreSQL console has no file of its own, so it needs BALLOT_KEY like the servers."""
    if settings.ballot_secret:
        return ballot_key(settings)
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if url.database in (None, "", ":memory:"):
        return key_from(secrets.token_urlsafe(32))
    path = Path(url.database + ".ballot-key")
    try:
        return key_from(_read_or_make_key(path))
    except OSError as error:
        raise ConfigError(f"Cannot read or write the console's ballot key {path} ({error.strerror}): "
                          "check the folder's permissions, or set BALLOT_KEY") from None


def _read_or_make_key(path: Path) -> str:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < BALLOT_KEY_MIN:
            raise ConfigError(f"The console's ballot key {path} holds no key of {BALLOT_KEY_MIN} characters or "
                              "more: put one back from a backup, or set BALLOT_KEY") from None
        return key
    key = secrets.token_urlsafe(32)
    with os.fdopen(descriptor, "w") as file:
        file.write(key + "\n")
    return key


def _ballot_secret(value: str | None) -> str | None:
    if value is not None and len(value) < BALLOT_KEY_MIN:
        raise ConfigError(f"BALLOT_KEY is {len(value)} characters; use at least {BALLOT_KEY_MIN} random ones, "
                          f"e.g. from {MAKE_A_KEY}")
    return value


def teams_configured(settings: Settings) -> bool:
    """Whether the TEAMS_ settings name a Teams bot (all three, or none: half a bot is one clear line)."""
    given = {"TEAMS_APP_ID": settings.teams_app_id, "TEAMS_APP_PASSWORD": settings.teams_app_password,
             "TEAMS_TENANT_ID": settings.teams_tenant_id}
    if not any(given.values()):
        return False
    for name, value in given.items():
        if not value:
            raise ConfigError(f"{name} is not set: put {WHERE[name]} in the environment or .env "
                              "(or unset the other TEAMS_ settings)")
    return True


def _calls_microsoft(mode: str, get) -> bool:
    """Teams and (with Teams settings) the scheduler; other modes never call Microsoft."""
    return mode == "teams" or (mode == "scheduler" and get("TEAMS_APP_ID") is not None)


def _teams_urls(get) -> dict:
    tenant = get("TEAMS_TENANT_ID")
    return {
        "teams_openid_url": _openid_url(get("TEAMS_OPENID_URL") or BOT_FRAMEWORK_OPENID),
        "teams_token_url": _url("TEAMS_TOKEN_URL", get("TEAMS_TOKEN_URL"), "Microsoft's login for your tenant")
        or MICROSOFT_LOGIN.format(tenant=tenant),
    }


def _database_url(value: str) -> str:
    try:
        backend = make_url(value).get_backend_name()
    except ArgumentError:
        backend = None
    if backend not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(
            "DATABASE_URL is not a database URL this bot can use: give sqlite:///clusterbot.db "
            "or postgresql://user:password@host:5432/dbname"
        )
    return value


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"CLUSTER_TZ “{value}” is not a time zone: use a name like Europe/London") from None
    return value


def _api_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"SLACK_API_URL “{value}” is not an http(s) URL: leave it unset to use {SLACK_PUBLIC_API}")
    return value if value.endswith("/") else value + "/"


def _url(name: str, value: str | None, default: str) -> str | None:
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} “{value}” is not an http(s) URL: leave it unset to use {default}")
    return value


def _openid_url(value: str) -> str:
    """The SDK finds the signing keys at …/keys beside …/openidconfiguration, as Bot Framework publishes
    them in every cloud; any other shape would silently check tokens against the wrong document."""
    _url("TEAMS_OPENID_URL", value, BOT_FRAMEWORK_OPENID)
    if not value.rstrip("/").endswith("/openidconfiguration"):
        raise ConfigError(f"TEAMS_OPENID_URL “{value}” should end in /openidconfiguration "
                          f"(the keys are read from …/keys beside it): leave it unset to use {BOT_FRAMEWORK_OPENID}")
    return value.rstrip("/")


def _switch(value: str, name: str = "SCHEDULER") -> bool:
    if value.lower() not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
        why = " (off for extra web workers)" if name == "SCHEDULER" else ""
        raise ConfigError(f"{name} “{value}” should be on or off{why}")
    return value.lower() in ("on", "true", "1", "yes")


def _days(value: str) -> int:
    if not value.isdecimal() or not 1 <= int(value) <= 3650:
        raise ConfigError(f"RETENTION_DAYS “{value}” is not a number of days: use a whole number from 1 to 3650, "
                          "e.g. 30")
    return int(value)


def _per_minute(value: str) -> int:
    if not value.isdecimal() or int(value) > 10_000:
        raise ConfigError(f"RATE_LIMIT_PER_MINUTE “{value}” is not a number of commands: use a whole number, "
                          "e.g. 20 (0 turns the limit off)")
    return int(value)


def _lag_limit(value: str) -> int:
    if not value.isdecimal() or not value.isascii() or not 30 <= int(value) <= 86400:
        raise ConfigError(f"DELIVERY_LAG_LIMIT “{value}” is not a number of seconds: use a whole number from 30 "
                          "to 86400, e.g. 300")
    return int(value)


def _port(value: str) -> int:
    if not value.isdecimal() or not 0 < int(value) < 65536:
        raise ConfigError(f"PORT “{value}” is not a port number: use a number from 1 to 65535, e.g. 3000")
    return int(value)


def _public_url(value: str | None) -> str | None:
    """Where shared files' links point. https only (the link is the file's only key, and Teams shows
    pictures only from https), except on this machine, for trying the bot locally."""
    if value is None:
        return None
    parsed = urlparse(value)
    local = parsed.scheme == "http" and parsed.hostname in ("localhost", "127.0.0.1", "::1")
    if not (parsed.scheme == "https" or local) or not parsed.netloc or parsed.query or parsed.fragment:
        raise ConfigError(f"TEAMS_PUBLIC_URL “{value}” should be the https:// address Teams reaches this server "
                          "at, e.g. https://clusterbot.example.scot (the one in your Azure Bot's messaging endpoint)")
    return value.rstrip("/")


def _shared_days(value: str) -> int:
    if not value.isdecimal() or not 1 <= int(value) <= 90:
        raise ConfigError(f"SHARED_FILE_DAYS “{value}” is not a number of days: use a whole number from 1 to 90, "
                          "e.g. 7")
    return int(value)


def _lock_days(value: str) -> int:
    if not value.isdecimal() or not 1 <= int(value) <= 3650:
        raise ConfigError(f"MINUTES_LOCK_DAYS “{value}” is not a number of days: use a whole number from 1 to 3650, "
                          "e.g. 14")
    return int(value)
