"""Local stand-ins for Microsoft's side of Teams, all on one loopback HTTP server:

- OpenID metadata and JWKS (…/v1/.well-known/openidconfiguration and …/keys) with the test's own RSA
  key; `sign()` makes inbound JWTs exactly as Bot Framework does (RS256, kid, issuer
  https://api.botframework.com, audience = the app id, serviceurl claim, nbf/iat/exp);
- a client-credentials token endpoint (/<tenant>/oauth2/v2.0/token);
- a Bot Connector (/connector/v3/…) recording activities, targeted activities, updates, created
  conversations and file uploads to consent URLs (/upload/…), checking the bot's bearer token;
- the conversation members roster (GET …/v3/conversations/{id}/members/{user}): each person's userRole,
  "user" unless `roles` says otherwise ("guest" for an Entra B2B guest); `roster_asks` counts the calls;
- faults per route: slow answers, 429 + Retry-After, refusals; and a tenant without targeted messages
  (`targeted_refusal`: every targeted message refused with that status, as long as it is set).

Activity factories build what Teams sends: messages with mentions, card submits, dialog invokes,
conversation updates, file consent answers.
"""

import contextlib
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from testkit.local_http import LocalServer
from testkit.teams_ids import APP_ID, CHANNEL, TEAM, TENANT

ISSUER = "https://api.botframework.com"
PASSWORD = "test-app-password~1"
BOT_ID = f"28:{APP_ID}"
KID = "test-signing-key"


@dataclass
class Sent:
    method: str
    path: str
    body: dict | bytes
    query: str = ""

    @property
    def conversation(self) -> str:
        return self.path.split("/conversations/", 1)[-1].split("/", 1)[0].split(";")[0]

    @property
    def card(self) -> dict:
        """The Adaptive Card of a sent activity."""
        return self.body["attachments"][0]["content"]

    @property
    def text(self) -> str:
        """Every TextBlock of the card, one per line (markdown backslashes removed)."""
        blocks = [b for b in self.card.get("body", []) if b.get("type") == "TextBlock"]
        return "\n".join(b["text"] for b in blocks).replace("\\", "")


@dataclass
class Fault:
    status: int = 0          # answer this status instead (429 comes with Retry-After)
    times: int = 1           # for this many calls
    delay: float = 0.0       # seconds to wait first
    retry_after: float = 1.0


@dataclass
class TeamsStandIn:
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537,
                                                                                     key_size=2048))

    def __post_init__(self):
        self.sent: list[Sent] = []
        self.conversations: list[dict] = []
        self.uploads: dict[str, bytes] = {}
        # "post", "put", "create", "targeted", "token", "keys", "upload", "member" (the roster)
        self.faults: dict[str, Fault] = {}
        self.roles: dict[str, str] = {}   # user id -> userRole the roster answers ("user" otherwise)
        self.outsiders: set[str] = set()  # people the roster does not have (404: not in that team or chat)
        self.roster_asks: list[tuple[str, str]] = []  # (conversation, user) asked of the roster
        # Targeted messages are a preview feature: a tenant without them has every one refused, with this
        # status (the adapter treats 400, 403, 404, 405 and 501 alike: bot/teams/platform.py).
        self.targeted_refusal = 0
        self.targeted_refused = 0  # targeted messages refused so far
        self.key_fetches = 0
        self.token_requests: list[dict] = []
        self.bad_tokens = 0
        self.epoch = 0  # reset() counts up: a slow answer begun before a reset is not recorded after it
        self.access_token = "eyJ.bot-access-token." + uuid.uuid4().hex
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        self._http = LocalServer(self._handler())
        self.base = self._http.base
        self.service_url = f"{self.base}/connector/"
        self.openid_url = f"{self.base}/v1/.well-known/openidconfiguration"
        self.token_url = f"{self.base}/{TENANT}/oauth2/v2.0/token"

    def close(self) -> None:
        self._http.close()

    def reset(self) -> None:
        with self._lock:
            self.epoch += 1
            self.sent.clear()
            self.conversations.clear()
            self.uploads.clear()
            self.faults.clear()
            self.targeted_refusal = self.targeted_refused = 0
            self.token_requests.clear()
            self.bad_tokens = 0
            self.roles.clear()
            self.outsiders.clear()
            self.roster_asks.clear()

    # --- what was sent ---------------------------------------------------------------------------

    def posts(self, conversation: str | None = None) -> list[Sent]:
        """Messages everyone in `conversation` sees (in the channel itself or in one of its threads)."""
        return [s for s in self.sent if s.method == "POST" and "targeted" not in s.query.lower()
                and (conversation is None or s.conversation == conversation)]

    def targeted(self) -> list[Sent]:
        return [s for s in self.sent if "isTargetedActivity=true" in s.query]

    def updates(self) -> list[Sent]:
        return [s for s in self.sent if s.method == "PUT"]

    def wait_for(self, predicate, timeout: float = 60.0):
        """Delivery happens after the ack, on other threads: wait for what it should have sent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = predicate(self)
            if found:
                return found
            time.sleep(0.02)
        raise AssertionError(f"not sent within {timeout} s; sent: {[(s.method, s.path) for s in self.sent]}")

    # --- inbound JWTs ----------------------------------------------------------------------------

    def sign(self, *, audience: str = APP_ID, issuer: str = ISSUER, service_url: str | None = None,
             expires_in: float | None = 3600, key: rsa.RSAPrivateKey | None = None, kid: str = KID,
             extra: dict | None = None, without: tuple[str, ...] = ()) -> str:
        """`expires_in=None` leaves out `exp`; `extra` adds claims (an Entra token's `tid`, `azp` …);
        `without` leaves out the claims named."""
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience, "serviceurl": service_url or self.service_url,
                  "nbf": now - 5, "iat": now - 5, **({} if expires_in is None else {"exp": int(now + expires_in)}),
                  **(extra or {})}
        claims = {name: value for name, value in claims.items() if name not in without}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid})

    def headers(self, **claims) -> dict:
        return {"Authorization": f"Bearer {self.sign(**claims)}", "Content-Type": "application/json"}

    def _jwks(self) -> dict:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256", "endorsements": ["msteams"]}]}

    # --- the server ------------------------------------------------------------------------------

    def _fault(self, name: str) -> Fault | None:
        with self._lock:
            fault = self.faults.get(name)
            if fault is None:
                return None
            fault.times -= 1
            if fault.times <= 0:
                del self.faults[name]
            return fault

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status: int, body=None, headers: dict | None = None) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that gave up waiting
                    self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _faulted(self, name: str) -> bool:
                fault = standin._fault(name)
                if fault is None:
                    return False
                epoch = standin.epoch
                time.sleep(fault.delay)
                if epoch != standin.epoch:  # the stand-in was reset for another test meanwhile: its caller
                    self.close_connection = True  # gave up long ago, and the next test must not see this
                    return True
                if fault.status == 429:
                    self._answer(429, {"error": {"code": "TooManyRequests"}},
                                 {"Retry-After": str(fault.retry_after)})
                elif fault.status:
                    self._answer(fault.status, {"error": {"code": "Forbidden", "message": "refused"}})
                else:
                    return False
                return True

            def do_GET(self):
                if self.path.endswith("/openidconfiguration"):
                    return self._answer(200, {"issuer": ISSUER, "jwks_uri": f"{standin.base}/v1/.well-known/keys",
                                              "id_token_signing_alg_values_supported": ["RS256"]})
                if self.path.endswith("/keys"):
                    if self._faulted("keys"):
                        return None
                    with standin._lock:
                        standin.key_fetches += 1
                    return self._answer(200, standin._jwks())
                path = self.path.partition("?")[0]
                if "/v3/conversations/" in path and "/members/" in path:
                    return self._member(path)
                return self._answer(404, {"error": "not found"})

            def _member(self, path: str):
                """One member of a conversation, as the Bot Connector answers it (TeamsChannelAccount)."""
                if not self._authorised():
                    return None
                from urllib.parse import unquote

                conversation, _, user = path.split("/v3/conversations/", 1)[1].partition("/members/")
                conversation, user = unquote(conversation), unquote(user)
                with standin._lock:
                    standin.roster_asks.append((conversation, user))
                if self._faulted("member"):
                    return None
                with standin._lock:
                    role = standin.roles.get(user, "user")
                    outsider = user in standin.outsiders
                if outsider:
                    return self._answer(404, {"error": {"code": "NotFound", "message": "member not found"}})
                return self._answer(200, {"id": user, "name": f"Person {user[-4:]}", "aadObjectId": str(uuid.uuid4()),
                                          "userRole": role, "tenantId": TENANT})

            def do_POST(self):
                raw = self._body()
                if self.path.endswith("/oauth2/v2.0/token"):
                    return self._token(raw)
                if not self._authorised():
                    return None
                path, _, query = self.path.partition("?")
                if path.rstrip("/").endswith("/v3/conversations"):
                    if self._faulted("create"):
                        return None
                    body = json.loads(raw)
                    conversation = f"a:1{uuid.uuid4().hex}{uuid.uuid4().hex}"
                    with standin._lock:
                        standin.conversations.append({**body, "id": conversation})
                    return self._answer(201, {"id": conversation, "serviceUrl": standin.service_url})
                if "isTargetedActivity" in query and standin.targeted_refusal:
                    with standin._lock:
                        standin.targeted_refused += 1
                    return self._answer(standin.targeted_refusal, {"error": {
                        "code": "BadArgument", "message": "Targeted activities are not available"}})
                if self._faulted("targeted" if "isTargetedActivity" in query else "post"):
                    return None
                with standin._lock:
                    standin.sent.append(Sent("POST", path, json.loads(raw), query))
                    activity_id = f"{int(time.time() * 1000)}{next(standin._ids)}"
                return self._answer(201, {"id": activity_id})

            def do_PUT(self):
                raw = self._body()
                path, _, query = self.path.partition("?")
                if path.startswith("/upload/"):
                    if self._faulted("upload"):
                        return None
                    with standin._lock:
                        standin.uploads[path] = raw
                    return self._answer(201, {"id": path})
                if not self._authorised() or self._faulted("put"):
                    return None
                with standin._lock:
                    standin.sent.append(Sent("PUT", path, json.loads(raw), query))
                return self._answer(200, {"id": path.rsplit("/", 1)[-1]})

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {standin.access_token}":
                    return True
                with standin._lock:
                    standin.bad_tokens += 1
                self._answer(401, {"message": "Authorization has been denied for this request."})
                return False

            def _token(self, raw: bytes) -> None:
                from urllib.parse import parse_qsl

                form = dict(parse_qsl(raw.decode()))
                with standin._lock:
                    standin.token_requests.append(form)
                if self._faulted("token"):
                    return None
                if form.get("client_id") != APP_ID or form.get("client_secret") != PASSWORD:
                    return self._answer(401, {"error": "invalid_client"})
                return self._answer(200, {"token_type": "Bearer", "expires_in": 3599,
                                          "access_token": standin.access_token})

        return Handler


# --- activities as Teams sends them ---------------------------------------------------------------

_activity_ids = itertools.count(1)


def _base(kind: str, user: str, *, service_url: str, conversation: str, conversation_type: str = "channel",
          channel: str | None = CHANNEL, team: str | None = TEAM, name: str | None = None) -> dict:
    data = {"tenant": {"id": TENANT}}
    if conversation_type == "channel":
        data.update(teamsChannelId=channel, teamsTeamId=team, channel={"id": channel}, team={"id": team})
    return {
        "type": kind, "id": f"1732{next(_activity_ids):09d}", "timestamp": "2026-11-26T10:00:00.000Z",
        "serviceUrl": service_url, "channelId": "msteams",
        "from": {"id": user, "name": name or f"Person {user[-4:]}", "aadObjectId": str(uuid.uuid4())},
        "conversation": {"id": conversation, "conversationType": conversation_type, "tenantId": TENANT,
                         "isGroup": conversation_type != "personal"},
        "recipient": {"id": BOT_ID, "name": "clusterbot"},
        "channelData": data, "locale": "en-GB",
    }


def message(standin: TeamsStandIn, user: str, text: str, *, mentions: dict[str, str] | None = None,
            personal: str | None = None, channel: str = CHANNEL, bot_mention: bool = True) -> dict:
    """A message: in a channel "@clusterbot <text>" (a new thread), or in the 1:1 chat `personal`.
    `mentions` maps a name typed as @Name in `text` to that person's id."""
    entities, body = [], text
    for name, user_id in (mentions or {}).items():
        body = body.replace(f"@{name}", f"<at>{name}</at>")
        entities.append({"type": "mention", "text": f"<at>{name}</at>", "mentioned": {"id": user_id, "name": name}})
    if personal:
        activity = _base("message", user, service_url=standin.service_url, conversation=personal,
                         conversation_type="personal", channel=None, team=None)
    else:
        activity = _base("message", user, service_url=standin.service_url,
                         conversation=f"{channel};messageid={next(_activity_ids)}", channel=channel)
        if bot_mention:
            body = f"<at>clusterbot</at> {body}"
            entities.insert(0, {"type": "mention", "text": "<at>clusterbot</at>",
                                "mentioned": {"id": BOT_ID, "name": "clusterbot"}})
    activity.update(text=body, textFormat="plain", entities=entities)
    return activity


def submit(standin: TeamsStandIn, user: str, data: dict, *, channel: str = CHANNEL) -> dict:
    """An Action.Submit click on a card in a channel: a message whose value is the button's data."""
    activity = _base("message", user, service_url=standin.service_url, conversation=f"{channel};messageid=77",
                     channel=channel)
    activity.update(value=data, replyToId="77")
    return activity


def invoke(standin: TeamsStandIn, user: str, name: str, value: dict, *, channel: str = CHANNEL,
           personal: str | None = None) -> dict:
    if personal:
        activity = _base("invoke", user, service_url=standin.service_url, conversation=personal,
                         conversation_type="personal", channel=None, team=None)
    else:
        activity = _base("invoke", user, service_url=standin.service_url, conversation=f"{channel};messageid=77",
                         channel=channel)
    activity.update(name=name, value=value)
    return activity


def members_added(standin: TeamsStandIn, *ids: str, by: str, channel: str = CHANNEL) -> dict:
    activity = _base("conversationUpdate", by, service_url=standin.service_url, conversation=channel,
                     channel=channel)
    activity["membersAdded"] = [{"id": i} for i in ids]
    activity["channelData"]["eventType"] = "teamMemberAdded"
    return activity


def message_action(standin: TeamsStandIn, user: str, name: str, *, text: str = "", command: str = "action.from_message",
                   data: dict | None = None, channel: str = CHANNEL, personal: str | None = None,
                   author: str = "Jane Grant") -> dict:
    """A message extension's action on a message (the "…" menu): `name` "composeExtension/fetchTask" when
    it is picked, "composeExtension/submitAction" with the dialog's `data` when its form is submitted.
    The message's body is HTML, its link carries the team's and channel's names, as Teams sends them."""
    message_id = f"17{next(_activity_ids):011d}"
    where = personal or channel
    link = (f"https://teams.microsoft.com/l/message/{where}/{message_id}?tenantId={TENANT}&groupId=0d5b3c11-"
            f"aaaa-4bbb-8ccc-123456789abc&parentMessageId={message_id}&teamName=Riverside%20GPs&channelName="
            f"QI&createdTime={message_id}")
    payload = {"id": message_id, "messageType": "message", "createdDateTime": "2026-11-26T09:58:00.000Z",
               "linkToMessage": link, "body": {"contentType": "html", "content": text},
               "from": {"user": {"id": "6b1e9f2a-0000-4000-8000-00000000a11c", "displayName": author,
                                 "userIdentityType": "aadUser"}},
               "attachments": [], "mentions": [], "reactions": []}
    value = {"commandId": command, "commandContext": "message", "messagePayload": payload,
             "context": {"theme": "default"}}
    if data is not None:
        value["data"] = data
    return invoke(standin, user, name, value, channel=channel, personal=personal)
