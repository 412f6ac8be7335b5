"""python -m bot http|socket|console|teams|teams-package|migrate|manifest — one process, one mode.

Every expected failure at start (a bad setting, Slack refusing the token, a busy port) ends the
process with one line on stderr and exit code 2: no tracebacks for people to decipher.
"""

import argparse
import getpass
import logging
import signal
import sys
from pathlib import Path

from bot import logs
from bot.config import ConfigError, Settings, ballot_key, console_ballot_key, load_settings, teams_configured
from commands import Clusterbot
from storage.db import Database, DatabaseUnavailable

log = logging.getLogger("bot")


class StartupError(Exception):
    pass


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description="clusterbot: the GP cluster's administrator")
    modes = parser.add_subparsers(dest="mode", required=True, metavar="MODE")
    http = modes.add_parser("http", help="production HTTP server: POST /slack/events, GET /healthz")
    http.add_argument("--host", help="bind address (default HOST or 0.0.0.0)")
    http.add_argument("--port", type=int, help="port (default PORT or 3000)")
    http.add_argument("--threads", type=int, default=None,
                      help="request threads (default 1 on SQLite, 2 on PostgreSQL: docs/design.md, Performance)")
    modes.add_parser("socket", help="Socket Mode: no public URL needed")
    console = modes.add_parser("console", help="the whole product locally, with no Slack")
    console.add_argument("--user", default=getpass.getuser(), help="act as this person (default: your login)")
    console.add_argument("--channel", default="console", help="act in this channel (default: console)")
    scheduler = modes.add_parser("scheduler", help="only the scheduler (closes polls, queues reminders), no server; "
                                 "any platform: the Slack and Teams servers send what it queues")
    scheduler.add_argument("--tick", type=float, default=30, help="seconds between ticks (default 30)")
    modes.add_parser("migrate", help="bring the database schema up to date")
    export = modes.add_parser("export", help="write a cluster's whole workbook (.xlsx) to a file")
    export.add_argument("--channel", required=True, help="the cluster's channel id, e.g. C0123ABCD")
    export.add_argument("--out", required=True, help="the file to write, e.g. cluster.xlsx")
    teams = modes.add_parser("teams", help="the Microsoft Teams bot: POST /api/messages, GET /healthz")
    teams.add_argument("--host", help="bind address (default HOST or 0.0.0.0)")
    teams.add_argument("--port", type=int, help="port (default PORT or 3000)")
    package = modes.add_parser("teams-package", help="write the Teams app package (manifest.json and two icons)")
    package.add_argument("--out", default="clusterbot-teams.zip", help="the .zip to write")
    package.add_argument("--version", help="the app's version, three numbers like 1.2.0 (default: the project's); "
                         "raise it for every upload that changes the app")
    manifest = modes.add_parser("manifest", help="print the Slack app manifest (YAML)")
    manifest.add_argument("--url", help="HTTP mode: your https://…/slack/events URL (default: Socket Mode)")
    modes.add_parser("commands", help="every command, button and form, with the module that holds it")
    forget = modes.add_parser("forget", help="erase a person's name and id from every cluster and table "
                              "(UK GDPR right to erasure); their items stay, shown as by a former member")
    forget.add_argument("--person", required=True, help="their platform user id, e.g. U0123ABCD or 29:1abc…")
    access = modes.add_parser("subject-access", help="write everything held about a person to a workbook (.xlsx)")
    access.add_argument("--person", required=True, help="their platform user id, e.g. U0123ABCD or 29:1abc…")
    access.add_argument("--out", required=True, help="the file to write, e.g. person.xlsx")
    modes.add_parser("data-map", help="every table and column holding personal data: purpose, retention, erasure")
    add_backup_modes(modes)
    return parser.parse_args(argv)


def add_backup_modes(modes) -> None:
    backup = modes.add_parser("backup", help="copy the whole database to a file (SQLite's online backup; "
                              "pg_dump's custom format on PostgreSQL)")
    backup.add_argument("--out", required=True, help="the file to write, e.g. clusterbot-2026-12-05.backup")
    restore = modes.add_parser("restore", help="replace the database with a backup; refuses a database "
                               "holding data unless --force")
    restore.add_argument("file", help="a file written by `python -m bot backup`")
    restore.add_argument("--force", action="store_true", help="replace a database that already holds data")


def run_backup(args: argparse.Namespace, settings: Settings) -> None:
    """`backup` and `restore`: every expected failure is one line (storage/backup.py's BackupError)."""
    from commands import backups as backup

    try:
        if args.mode == "backup":
            backup.backup(settings.database_url, Path(args.out))
            print(f"Wrote {args.out}: a backup of the whole database")
            return
        revision = backup.restore(settings.database_url, Path(args.file), force=args.force)
    except backup.BackupError as error:
        raise StartupError(str(error)) from None
    print(f"Restored {args.file} (schema {revision}), then brought the schema up to date")


def start_database(settings: Settings) -> Database:
    """Migrate now if we can; if the database is down, carry on and heal on first use."""
    db = Database(settings.database_url)
    try:
        db.migrate()
    except DatabaseUnavailable as error:
        log.warning("database unavailable at start (%s); will retry on each request", str(error).splitlines()[0])
    return db


# Modes whose product takes votes or closes polls, so needs BALLOT_KEY once anonymous polls are open.
SERVES_VOTERS = ("http", "socket", "teams", "scheduler", "console")


def check_no_anonymous_polls(product: Clusterbot) -> None:
    """With no BALLOT_KEY a server starts only while no anonymous poll is open: their ballots need the key
    they were opened under (a new one would let everyone vote again). Without open ones it starts, says
    so in one line, and refuses to make anonymous polls (commands/polls/core.py) until the key is set."""
    open_polls = product.open_anonymous_polls()
    if open_polls:
        are = "polls are" if open_polls > 1 else "poll is"
        raise StartupError(f"BALLOT_KEY is not set and {open_polls} anonymous {are} "
                           "open: set it to the key they were opened with (before this version it was "
                           "derived from SLACK_BOT_TOKEN, else TEAMS_APP_PASSWORD: set BALLOT_KEY to that value) "
                           "in the environment or .env")
    if open_polls is None:
        log.warning("BALLOT_KEY is not set, and the database could not say whether anonymous polls are open: "
                    "those can be neither voted on nor closed until it is set")
    else:
        log.warning("BALLOT_KEY is not set: anonymous polls cannot be made until it is (see the README's settings)")


def slack_app(settings: Settings, product: Clusterbot, socket_mode: bool = False, serving: bool = True):
    """The Bolt app, after checking the bot token with Slack so a bad one is one clear line. A server
    (`serving`) delivers in a child process unless DELIVERY_PROCESS=off: its acks then never wait for
    delivery's work (bot/delivery/process.py); the scheduler, which answers no requests, in threads."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.slack import build_app
    from bot.slack.oauth import oauth_configured

    if oauth_configured(settings) and not socket_mode:
        # "Add to Slack": no token to check at start; each workspace's is read (and refreshed) per request
        return build_app(settings, product, delivery_process=serving and settings.delivery_process)
    try:
        WebClient(token=settings.bot_token, base_url=settings.slack_api_url, timeout=10).auth_test()
    except SlackApiError as error:
        raise StartupError(f"Slack refused SLACK_BOT_TOKEN ({error.response.get('error')}): "
                           "copy the Bot User OAuth Token again from your app's OAuth & Permissions page") from None
    except (SlackClientError, OSError) as error:
        raise StartupError(f"Could not reach Slack at {settings.slack_api_url} ({error}): "
                           "check the network or SLACK_API_URL") from None
    return build_app(settings, product, socket_mode=socket_mode,
                     delivery_process=serving and settings.delivery_process)


def _maybe_schedule(settings: Settings, product: Clusterbot, app) -> None:
    if settings.scheduler:
        from bot.scheduler import start_in_background

        start_in_background(product, app.delivery)
    else:
        log.info("scheduler off (SCHEDULER=off): run `python -m bot scheduler` somewhere")


def scheduler_deliveries(settings: Settings, product: Clusterbot) -> list:
    """`python -m bot scheduler` also delivers for each platform it has settings for: Slack with
    SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: each workspace's token), Teams with
    the TEAMS_ settings. With neither it only ticks, and the servers
    deliver what it queues."""
    from bot.slack.oauth import oauth_configured

    deliveries = []
    if settings.bot_token or oauth_configured(settings):
        deliveries.append(slack_app(settings, product, serving=False).delivery)
    if teams_configured(settings):
        from bot.delivery import Delivery

        deliveries.append(Delivery(teams_platform(settings, product), product).start())
    return deliveries


def teams_platform(settings: Settings, product: Clusterbot):
    """The Teams platform, after getting the bot's token once so bad credentials are one clear line."""
    from bot.teams import check_credentials, make_platform

    platform = make_platform(settings, product)
    problem = check_credentials(platform)
    if problem:
        raise StartupError(f"Could not get the bot's token from {settings.teams_token_url} ({problem}): check "
                           "TEAMS_APP_ID, TEAMS_APP_PASSWORD and TEAMS_TENANT_ID (or TEAMS_TOKEN_URL)")
    return platform


def run_teams(args: argparse.Namespace, settings: Settings, product: Clusterbot) -> None:
    from bot.delivery import Delivery
    from bot.teams import TeamsServer, build_app

    host, port = args.host or settings.host, args.port if args.port is not None else settings.port
    platform = teams_platform(settings, product)
    delivery = Delivery(platform, product).start()
    app, web = build_app(settings, product, platform, delivery)
    try:
        server = TeamsServer(app, web, host, port)
    except OSError as error:
        raise StartupError(f"Cannot listen on {host}:{port} ({error.strerror}): "
                           "choose another with --port or PORT") from None
    log.info("clusterbot for Teams listening on http://%s:%s (POST /api/messages, GET /healthz, GET /files/…)",
             host, server.port)
    if not settings.teams_public_url:
        log.warning("TEAMS_PUBLIC_URL is not set: charts and exports are offered only to the person who asked "
                    "(in their 1:1 chat), not shown in the cluster's channel")
    if settings.scheduler:
        from bot.scheduler import start_in_background

        start_in_background(product, delivery)
    else:
        log.info("scheduler off (SCHEDULER=off): run it in one process only")
    server.run()


def run_person(args: argparse.Namespace, settings: Settings) -> None:
    """The operator's erasure or subject access for one person, across the deployment."""
    from commands import erasure

    user_id = erasure.person_id(args.person)
    if user_id is None:
        raise StartupError(f"--person “{args.person[:40]}” isn't a user id: give it as the platform shows it, "
                           "e.g. U0123ABCD (Slack) or 29:1abc… (Teams)")
    db = Database(settings.database_url)
    db.migrate()
    if args.mode == "subject-access":
        content = erasure.subject_access(db, user_id)
        try:
            Path(args.out).write_bytes(content)
        except OSError as error:
            raise StartupError(f"Cannot write {args.out} ({error.strerror})") from None
        print(f"Wrote {args.out}: everything held about {user_id}, one sheet per kind of data")
        return
    forgotten = erasure.forget_everywhere(db, user_id)
    if forgotten.sole_lead_of:
        raise StartupError(f"{user_id} is the only lead of " + "; ".join(forgotten.sole_lead_of)
                           + ": nothing was erased. Ask that cluster to make someone else a lead first "
                           "(/cluster lead add), then run this again")
    if not forgotten.erased:
        print(f"Nothing is held about {user_id}")
        return
    rows = ", ".join(f"{table} {n}" for table, n in sorted(forgotten.erased.items()))
    print(f"Erased {user_id} from every cluster (rows changed or deleted: {rows}); "
          "their items are shown as by a former member")


def run(args: argparse.Namespace) -> None:
    if args.mode == "commands":
        from commands.registry import listing

        sys.stdout.write(listing())
        return
    if args.mode == "manifest":
        from bot.slack.manifest import manifest_yaml

        sys.stdout.write(manifest_yaml(args.url, oauth=bool(args.url) and oauth_wanted()))
        return
    if args.mode == "data-map":
        from commands.erasure import data_map

        sys.stdout.write(data_map())
        return
    settings = load_settings(args.mode)
    if args.mode in ("forget", "subject-access"):
        run_person(args, settings)
        return
    if args.mode == "teams-package":
        from bot.teams.package import Publisher, write_package

        publisher = Publisher(settings.teams_publisher_name, settings.teams_website_url, settings.teams_privacy_url,
                              settings.teams_terms_url)
        try:
            write_package(args.out, settings.teams_app_id, publisher, args.version)
        except ValueError as error:
            raise StartupError(f"--version: {error}") from None
        except OSError as error:
            raise StartupError(f"Cannot write {args.out} ({error.strerror})") from None
        print(f"Wrote {args.out}: upload it in Teams (Apps › Manage your apps › Upload an app)")
        return
    if args.mode in ("backup", "restore"):
        run_backup(args, settings)
        return
    if args.mode == "migrate":
        db = Database(settings.database_url)
        db.migrate()
        print(f"Database is up to date: {db.engine.url.render_as_string(hide_password=True)}")
        return
    db = start_database(settings)
    key = console_ballot_key(settings) if args.mode == "console" else ballot_key(settings)
    product = Clusterbot(db, settings.cluster_tz, ballot_key=key, retention_days=settings.retention_days,
                         rate_limit=settings.rate_limit_per_minute)
    if args.mode == "scheduler":
        teams_configured(settings)  # half a Teams bot is its one line, before any other
    if key is None and args.mode in SERVES_VOTERS:
        check_no_anonymous_polls(product)
    if args.mode == "export":
        upload = product.export(args.channel)
        if upload is None:
            raise StartupError(f"No cluster in channel {args.channel}: give the channel id where /cluster setup ran")
        try:
            Path(args.out).write_bytes(upload.content)
        except OSError as error:
            raise StartupError(f"Cannot write {args.out} ({error.strerror})") from None
        print(f"Wrote {args.out}: {upload.title}")
        return
    if args.mode == "console":
        from bot.console import run_console

        run_console(product, user=args.user, channel=args.channel)
    elif args.mode == "scheduler":
        from bot.scheduler import run_alone

        run_alone(product, scheduler_deliveries(settings, product), seconds=args.tick)
    elif args.mode == "socket":
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        app = slack_app(settings, product, socket_mode=True)
        _maybe_schedule(settings, product, app)
        try:
            SocketModeHandler(app, settings.app_token).start()
        finally:
            app.delivery.stop()
    elif args.mode == "teams":
        run_teams(args, settings, product)
    elif args.mode == "http":
        from bot.server import make_server

        host, port = args.host or settings.host, args.port if args.port is not None else settings.port
        app = slack_app(settings, product)
        try:
            server = make_server(app, db, host, port, threads=args.threads)
        except OSError as error:
            raise StartupError(f"Cannot listen on {host}:{port} ({error.strerror}): "
                               "choose another with --port or PORT") from None
        log.info("clusterbot listening on http://%s:%s (POST /slack/events, GET /healthz%s)", host,
                 server.effective_port, ", GET /slack/install" if getattr(app, "oauth_flow", None) else "")
        _maybe_schedule(settings, product, app)
        try:
            server.run()  # until SIGTERM or Ctrl-C (waitress closes its sockets and returns)
        finally:
            app.delivery.stop()  # the delivery child ends what it is sending, then exits


def oauth_wanted() -> bool:
    """Whether the manifest is for "Add to Slack": SLACK_CLIENT_ID set (environment or .env) and no
    SLACK_BOT_TOKEN, as `http` then runs."""
    settings = load_settings("manifest")
    return bool(settings.slack_client_id and not settings.bot_token)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    logs.configure()  # one line per record, no bodies or user text (bot/logs.py)
    args = parse_args(argv)
    if args.mode in ("http", "socket", "scheduler"):
        # Service managers (systemd, `docker stop`) stop a process with SIGTERM, whose default ends it at
        # once: its delivery child would live on, sending and claiming outbox rows, until it noticed
        # (up to a second), and rows it had claimed would wait for their lease. Ended as on Ctrl-C
        # instead, the server stops the child first. (Teams' server, uvicorn, handles SIGTERM itself.)
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        run(args)
    except (ConfigError, StartupError) as error:
        print(f"clusterbot: {error}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as error:
        print(f"clusterbot: the database is unreachable ({str(error).splitlines()[0]}): "
              "check DATABASE_URL and that the server is running", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
