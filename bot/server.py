"""The production HTTP server: waitress serving Bolt's WSGI adapter, plus /healthz."""

import json
import logging
from dataclasses import dataclass
from http import HTTPStatus

from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest
from waitress.server import create_server

from bot.slack import dispatch
from storage.db import Database

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack's payloads are a few kilobytes (a full modal's state is the largest); 1 MB is generous.
MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """waitress's limits, chosen rather than inherited. A public port still wants a reverse proxy in
    front (README): these keep one slow or greedy client from taking the server, not a crowd."""

    connections: int = 500        # open sockets at once (waitress's select loop tops out near 1,000)
    channel_timeout: int = 10     # seconds a connection may sit idle or half-sent; Slack sends at once
    cleanup_interval: int = 2     # how often idle connections are looked for
    body: int = MAX_BODY          # larger bodies get 413 before they are read
    headers: int = 16 * 1024      # Slack's headers are well under 2 KB


def _respond(start_response, status: str, body: dict) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def wsgi_app(app: App, db: Database):
    """Routes: POST /slack/events to Bolt, GET /healthz to the database check, everything else 404."""
    def application(environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method in ("GET", "HEAD"):
            if not db.is_healthy():
                return _respond(start_response, "503 Service Unavailable", {"status": "database unavailable"})
            delivery = getattr(app, "delivery", None)
            if delivery is not None and not delivery.is_running():
                return _respond(start_response, "503 Service Unavailable", {"status": "delivery not running"})
            lag = getattr(app, "lag", None)
            behind = lag.behind() if lag is not None else None
            if behind is not None:  # running, but a due message has waited past DELIVERY_LAG_LIMIT
                return _respond(start_response, "503 Service Unavailable",
                                {"status": "delivery behind", "oldest_due_seconds": int(behind)})
            return _respond(start_response, "200 OK", {"status": "ok"})
        flow = getattr(app, "oauth_flow", None)  # "Add to Slack" (bot/slack/oauth.py), when configured
        if flow is not None and path in (flow.install_path, flow.redirect_uri_path):
            if method not in ("GET", "HEAD"):
                return _respond(start_response, "405 Method Not Allowed", {"error": "GET only"})
            return _to_oauth_flow(flow, path, environ, start_response)
        if path == EVENTS_PATH:
            if method != "POST":
                return _respond(start_response, "405 Method Not Allowed", {"error": "POST only"})
            return _to_bolt(app, environ, start_response)
        return _respond(start_response, "404 Not Found", {"error": "not found"})

    return application


def _to_oauth_flow(flow, path: str, environ, start_response) -> list[bytes]:
    """The install page, or Slack's redirect back with a code (and the state the install page gave)."""
    query = environ.get("QUERY_STRING", "")
    if len(query) > 4096:
        return _respond(start_response, "414 URI Too Long", {"error": "query too long"})
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    request = BoltRequest(body="", query=query, headers=headers)
    response = (flow.handle_installation if path == flow.install_path else flow.handle_callback)(request)
    return _send(response, start_response)


def _send(response: BoltResponse, start_response) -> list[bytes]:
    data = response.body.encode() if isinstance(response.body, str) else response.body
    start_response(f"{response.status} {HTTPStatus(response.status).phrase}", [
        *((name, value) for name, values in response.headers.items() for value in values
          if name.lower() != "content-length"),
        ("Content-Length", str(len(data))),
    ])
    return [data]


def _to_bolt(app: App, environ, start_response) -> list[bytes]:
    length = environ.get("CONTENT_LENGTH") or "0"
    if not length.isdecimal() or not length.isascii():
        return _respond(start_response, "400 Bad Request", {"error": "bad content length"})
    if int(length) > MAX_BODY:  # refused before reading a byte of it
        log.warning("refused a %s-byte body", length)
        return _respond(start_response, "413 Content Too Large", {"error": "body too large"})
    raw = environ["wsgi.input"].read(int(length)) if int(length) else b""
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    headers["content-type"] = environ.get("CONTENT_TYPE", "")
    return _send(dispatch(app, raw, headers, environ.get("QUERY_STRING", "")), start_response)


# waitress warns "Task queue depth is N" whenever a request waits for a thread. With one or two threads
# a burst of clicks queues by design, each for a few milliseconds, so only a queue this deep (a backlog
# of the order of a second) is worth a warning.
QUEUE_WARNING_DEPTH = 100


class DeepQueuesOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        depth = record.args[0] if isinstance(record.args, tuple) and record.args else None
        return not isinstance(depth, int) or depth >= QUEUE_WARNING_DEPTH


logging.getLogger("waitress.queue").addFilter(DeepQueuesOnly())  # once, for every server of this process


def default_threads(db: Database | None) -> int:
    """Request threads: 1 on SQLite, 2 on PostgreSQL. A request is a few milliseconds of CPU, and Python
    runs one thread at a time; SQLite's driver lets go of the interpreter for every row it steps, so with
    several busy threads each row hands the interpreter to another thread. Measured (docs/design.md,
    Performance): `/cluster who` at 16 clients on SQLite made about 2× the requests a second with 1 thread
    as with 8 or 2; poll clicks' ack p99 was lower with 1 (SQLite) or 2 (PostgreSQL) than with 8.
    PostgreSQL keeps a second thread to use the interpreter while the other waits on the network.
    Slow clients do not hold a thread: waitress reads and writes in its own loop."""
    return 1 if db is None or db.engine.dialect.name == "sqlite" else 2


def make_server(app: App, db: Database, host: str, port: int, threads: int | None = None,
                limits: Limits = Limits()):
    """A waitress server, bound and ready; call .run() to serve. Port 0 picks a free port. `threads`:
    request threads (default_threads when not given)."""
    return create_server(
        wsgi_app(app, db), host=host, port=port, threads=threads or default_threads(db), ident="clusterbot",
        connection_limit=limits.connections, channel_timeout=limits.channel_timeout,
        cleanup_interval=limits.cleanup_interval, max_request_body_size=limits.body,
        max_request_header_size=limits.headers,
    )
