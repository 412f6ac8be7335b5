"""A local stand-in for Slack's Web API: answers the methods the bot uses and records every call.

Tests point SLACK_API_URL at it. It speaks HTTP on loopback, so the real slack_sdk WebClient
(encodings, errors) is what gets exercised. It can be the world the bot lives in, not a friendly
one: `fail(method, error)` answers like Slack does when something is wrong, `latency` slows every
call, `delay` one method, `hold` keeps a method waiting until released (a latch), `throttle` and
`limit` answer 429 with Retry-After.

It also plays Slack's side of "Add to Slack" (OAuth v2): `authorize(team)` is a person approving the
install in their browser (a one-time code, as Slack puts in the redirect), oauth.v2.access exchanges
that code for the workspace's bot token and refresh token (token rotation: tokens expire after
`token_lifetime` seconds) and refreshes tokens (grant_type=refresh_token). With `strict_tokens`, a
Web API call whose token it did not hand out (or that expired) is answered invalid_auth, as Slack does.
"""

import base64
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl

from testkit.local_http import LocalServer

BOT_USER = "UBOT"
TEAM = "T0001"


@dataclass
class Call:
    method: str
    args: dict
    token: str | None
    at: float = field(default_factory=time.monotonic)  # when it arrived


class SlackStandIn:
    def __init__(self):
        self.calls: list[Call] = []
        self.failures: dict[str, str] = {}
        self.throttled: dict[str, list] = {}  # method -> [times left, Retry-After seconds]
        self.delays: dict[str, float] = {}    # method -> seconds to wait before answering
        self.latency = 0.0                     # seconds added to every Web API call and response_url post
        self.holds: dict[str, threading.Event] = {}  # method -> answered only once the event is set
        self.messages: dict[str, list[dict]] = {}  # channel -> messages posted (for conversations.history)
        self.rate_limits: dict[str, float] = {}  # method -> calls per second allowed, beyond which 429
        self.limit_scope: dict[str, str] = {}    # method -> "channel", "user" or "workspace"
        self._last_call: dict[tuple[str, str], float] = {}
        self.uploads: dict[str, bytes] = {}
        # user -> "restricted" (a multi-channel guest) or "ultra_restricted" (a single-channel guest), as
        # users.info says of a Slack guest account; everyone else is a full member
        self.guests: dict[str, str] = {}
        self.socket_url: str | None = None  # Socket Mode: the ws:// URL apps.connections.open gives out
        # OAuth: the app's credentials, one-time codes (code -> (team id, team name)), tokens it handed out
        # (token -> (team id, expires at, epoch seconds)), refresh tokens (refresh token -> team id)
        self.client_id, self.client_secret = "1111.2222", "test-client-secret-5c1e"
        self.codes: dict[str, tuple[str, str]] = {}
        self.tokens: dict[str, tuple[str, float]] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.token_lifetime = 43200  # seconds: Slack's rotating tokens last 12 hours
        self.strict_tokens = False
        self._lock = threading.Lock()
        self._counter = 0
        self._http = LocalServer(self._handler())
        self.url = f"{self._http.base}/api/"

    def close(self) -> None:
        self._http.close()

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.failures.clear()
            self.throttled.clear()
            self.delays.clear()
            self.uploads.clear()
            self.guests.clear()
            self.latency = 0.0
            for event in self.holds.values():
                event.set()
            self.holds.clear()
            self.messages.clear()
            self.rate_limits.clear()
            self.limit_scope.clear()
            self._last_call.clear()
            self.codes.clear()
            self.tokens.clear()
            self.refresh_tokens.clear()
            self.token_lifetime = 43200
            self.strict_tokens = False

    def fail(self, method: str, error: str) -> None:
        self.failures[method] = error

    def throttle(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer `method` with HTTP 429 and Retry-After, `times` times, as Slack does when rate limiting."""
        self.throttled[method] = [times, retry_after]

    def delay(self, method: str, seconds: float) -> None:
        self.delays[method] = seconds

    def hold(self, method: str) -> threading.Event:
        """Keep every call to `method` waiting until the returned event is set (a latch)."""
        self.holds[method] = threading.Event()
        return self.holds[method]

    def limit(self, method: str, per_second: float, per: str = "channel") -> None:
        """Answer 429 + Retry-After to calls of `method` closer together than Slack's rate tier allows,
        counted per channel, per user or for the whole workspace (`per`)."""
        self.rate_limits[method] = per_second
        self.limit_scope[method] = per

    def _over_limit(self, method: str, args: dict) -> float:
        """Seconds to wait, if this call breaks the method's rate limit; 0 if it is allowed."""
        per_second = self.rate_limits.get(method)
        if not per_second:
            return 0.0
        scope = self.limit_scope.get(method, "channel")
        key = (method, "" if scope == "workspace" else str(args.get(scope if scope != "user" else "user_id") or ""))
        with self._lock:
            now = time.monotonic()
            wait = self._last_call.get(key, -1e9) + 1 / per_second - now
            if wait > 0:
                return wait
            self._last_call[key] = now
            return 0.0

    @property
    def response_url(self) -> str:
        return self.url.replace("/api/", "/respond/T0001/1/abc")

    def wait_for(self, method: str, count: int = 1, timeout: float = 15) -> list[Call]:
        """Calls to `method`, once there are `count` of them (work done after an ack runs on a thread)."""
        deadline = time.monotonic() + timeout
        while len(self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {method} within {timeout} s; calls: {[c.method for c in self.calls]}")
            time.sleep(0.02)
        return self.calls_to(method)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def _next(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{prefix}{self._counter:06d}"

    def authorize(self, team: str, name: str = "") -> str:
        """Someone approved the install in workspace `team`: the code Slack's redirect carries."""
        code = self._next(f"code-{team}-")
        self.codes[code] = (team, name or f"Workspace {team}")
        return code

    def team_of(self, token: str | None) -> str | None:
        """The workspace a token was handed out for, while it is valid."""
        found = self.tokens.get(token or "")
        return found[0] if found and found[1] > time.time() else None

    def _token_for(self, team: str) -> dict:
        token, refresh = self._next(f"xoxe.xoxb-1-{team}-"), self._next(f"xoxe-1-{team}-")
        self.tokens[token] = (team, time.time() + self.token_lifetime)
        self.refresh_tokens[refresh] = team
        return {"access_token": token, "refresh_token": refresh, "expires_in": self.token_lifetime,
                "token_type": "bot", "scope": "commands,chat:write,im:write,users:read,files:write,channels:read,"
                "groups:read", "bot_user_id": BOT_USER, "app_id": "A0001"}

    def _oauth(self, args: dict) -> dict:
        if args.get("client_id") != self.client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if args.get("client_secret") != self.client_secret:
            return {"ok": False, "error": "bad_client_secret"}
        if args.get("grant_type") == "refresh_token":
            team = self.refresh_tokens.pop(args.get("refresh_token") or "", None)  # each is used once
            if team is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            return {"ok": True, **self._token_for(team), "team": {"id": team}, "enterprise": None}
        found = self.codes.pop(args.get("code") or "", None)  # a code is exchanged once
        if found is None:
            return {"ok": False, "error": "invalid_code"}
        team, name = found
        return {"ok": True, **self._token_for(team), "team": {"id": team, "name": name}, "enterprise": None,
                "is_enterprise_install": False, "authed_user": {"id": "UINSTALLER"}}

    def answer(self, method: str, args: dict, token: str | None = None) -> dict:
        if method in self.failures:
            return {"ok": False, "error": self.failures[method]}
        if method == "oauth.v2.access":
            return self._oauth(args)
        if self.strict_tokens and self.team_of(token) is None:
            return {"ok": False, "error": "invalid_auth"}
        if method == "apps.connections.open":
            if self.socket_url is None:
                return {"ok": False, "error": "no_socket_url_set_on_standin"}
            return {"ok": True, "url": self.socket_url}
        if method == "auth.test":
            return {"ok": True, "url": "https://example.slack.com/", "team": "Example", "user": "clusterbot",
                    "team_id": self.team_of(token) or TEAM, "user_id": BOT_USER, "bot_id": "BBOT"}
        if method in ("chat.postMessage", "chat.update"):
            ts = args.get("ts") or f"{self._next('17000')}.000100"
            if method == "chat.postMessage":
                with self._lock:
                    self.messages.setdefault(args.get("channel"), []).append(
                        {"ts": ts, "text": args.get("text"), "metadata": _loads(args.get("metadata"))})
            return {"ok": True, "channel": args.get("channel"), "ts": ts,
                    "message": {"text": args.get("text"), "ts": ts}}
        if method == "conversations.history":
            return {"ok": True, "messages": list(reversed(self.messages.get(args.get("channel"), [])))}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{self._next('17000')}.000200"}
        if method in ("views.open", "views.update", "views.publish", "views.push"):
            return {"ok": True, "view": {"id": self._next("V"), **_loads(args.get("view"))}}
        if method == "chat.getPermalink":
            return {"ok": True, "channel": args.get("channel"),
                    "permalink": f"https://example.slack.com/archives/{args.get('channel')}/p{args.get('message_ts')}"}
        if method == "users.info":
            user = args.get("user")
            guest = self.guests.get(user)
            return {"ok": True, "user": {"id": user, "name": user, "real_name": f"Person {user}",
                                         "tz": "Europe/London", "profile": {"display_name": user},
                                         "is_restricted": guest is not None,
                                         "is_ultra_restricted": guest == "ultra_restricted"}}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", "")).split(",")[0]}}
        if method == "files.getUploadURLExternal":
            file_id = self._next("F")
            return {"ok": True, "file_id": file_id, "upload_url": self.url.replace("/api/", f"/upload/{file_id}")}
        if method == "files.completeUploadExternal":
            files = _loads(args.get("files"))
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        return {"ok": False, "error": "unknown_method"}

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/respond/"):  # a response_url: Slack answers a bare "ok"
                    standin.calls.append(Call("response_url", _parse(body, "json"), None))
                    time.sleep(standin.latency)
                    if "response_url" in standin.holds:
                        standin.holds["response_url"].wait(30)
                    return self._send(200, b"ok", "text/plain")
                if self.path.startswith("/upload/"):
                    standin.uploads[self.path.rsplit("/", 1)[-1]] = body
                    return self._send(200, b"OK - uploaded", "text/plain")
                method = self.path.rsplit("/", 1)[-1]
                args = _parse(body, self.headers.get("Content-Type", ""))
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):  # oauth.v2.access: the app's client id and secret
                    client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                    args.update(client_id=client_id, client_secret=secret)
                    auth = ""
                token = auth.removeprefix("Bearer ") or args.get("token")
                standin.calls.append(Call(method, args, token))
                time.sleep(standin.latency + standin.delays.get(method, 0))
                if method in standin.holds:
                    standin.holds[method].wait(30)
                throttled = standin.throttled.get(method)
                over = standin._over_limit(method, args)
                if throttled and throttled[0] > 0 or over:
                    if throttled and throttled[0] > 0:
                        throttled[0] -= 1
                    wait = str(max(1, int(over + 0.999))) if over else str(throttled[1])
                    return self._send(429, b'{"ok": false, "error": "ratelimited"}', "application/json",
                                      {"Retry-After": wait})
                self._send(200, json.dumps(standin.answer(method, args, token)).encode(), "application/json")

            do_GET = do_POST

            def _send(self, status: int, data: bytes, content_type: str, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that gave up waiting
                    self.wfile.write(data)

        return Handler


def _parse(body: bytes, content_type: str) -> dict:
    if "json" in content_type:
        return json.loads(body or b"{}")
    return dict(parse_qsl(body.decode()))


def _loads(value) -> dict | list:
    if isinstance(value, str):
        return json.loads(value)
    return value or {}
