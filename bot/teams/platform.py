"""TeamsPlatform: the platform seam (bot/platform.py) over the Bot Connector, through the Teams SDK's
API client.

Delivery calls it from worker threads and expects each call to finish (or fail) within its own
timeout, so the SDK's asyncio client runs on one private event loop thread, and every call here
waits for its result there. Where a message goes comes from the conversation references stored
when the app was installed or first messaged (storage/conversations.py).

Names: Teams shows a person's name only with their activities and mentions. Names seen are stored
(storage/names.py) and read through an in-memory cache, so exports after a restart still show them.

Answers for one person in a channel go to their 1:1 chat with the bot (generally available: a proactive
message to the stored conversation, or one created for them in the tenant), with a short line in the
channel only where needed: when that chat is new to them, or cannot be opened. A card button's answer
goes back in the press's own invoke response (Universal Actions: bot/teams/inbound.py). With
TEAMS_TARGETED_MESSAGES on, answers for one person are targeted messages in the channel instead, a
preview feature a tenant may not have: where the Bot Connector refuses one, the answer goes 1:1, and
that conversation gets 1:1 answers straight away for a while (TARGETED_RETRY_AFTER).
"""

import asyncio
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta

import httpx
from microsoft_teams.api import Account, ApiClient, MessageActivityInput
from microsoft_teams.api.clients.conversation.params import CreateConversationParams
from microsoft_teams.common import ClientOptions

from bot.platform import Asker, NoAnswer, RateLimited, Refused
from bot.teams import cards
from bot.teams.auth import TokenUnavailable
from commands.results import Audience, Form, Person, Reply, Upload, line, plain_text
from commands.text.guard import find_patient_identifiers
from storage import conversations, names
from storage.db import Conflict, Database, DatabaseUnavailable
from storage.models import PERSON_NAME_MAX

log = logging.getLogger(__name__)

FILES = "/files/"  # GET /files/<token>: a file shared with a channel (bot/teams/__init__.py serves it)
KEPT_FOR_RETRY = 32  # files kept whose card is still to be posted (held in memory for a retry)
OFFER_LIFETIME = 24 * 3600.0  # seconds a file offered by consent card can still be accepted
REFUSALS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 413: "too_large"}
# What the Bot Connector answers a targeted message where they are not available (not enabled for the
# tenant, not supported in that kind of conversation, the preview withdrawn): the answer goes 1:1.
TARGETED_UNAVAILABLE = {400, 403, 404, 405, 501}
TARGETED_RETRY_AFTER = 3600.0  # seconds a conversation gets 1:1 answers before a targeted one is tried again
NAME_MISS_TTL = 60.0  # seconds before the database is asked again for a name it did not have
NAME_TTL = 3600.0  # seconds a name is shown from memory: an erasure (another process) reaches it within this
# Seconds a request waits for the Bot Connector to say whether its sender is a guest: asked before the
# answer, so a slow roster must not hold it up long (bot/front_door.Roster keeps answers and says None).
ROSTER_TIMEOUT = 3.0
# The short neutral lines a channel gets about an answer sent 1:1 (after the person's @mention).
CHAT_OPENED = (", I've sent you a message in our chat (Chat, then clusterbot): what is meant only for you "
               "goes there.")
CHAT_UNREACHABLE = (", I have an answer meant only for you, but couldn't open a chat with you. Open clusterbot "
                    "from Apps in Teams, then ask me again in our chat.")
GUEST_ROLES = {"guest", "anonymous"}  # userRole: "user" is the tenant's own; anonymous, a meeting's visitor
UNSHOWABLE = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff\ufffe\uffff]")


class TeamsPlatform:
    name = "teams"
    has_home = False  # Teams has no Home tab: a person's lists answer in their 1:1 chat

    def __init__(self, *, db: Database, app_id: str, tenant_id: str, token, timeout: float = 10.0,
                 default_service_url: str | None = None, public_url: str | None = None,
                 share: "Callable[[Upload, timedelta], str | None] | None" = None, share_days: int = 7,
                 targeted: bool = False):
        self.db, self.app_id, self.tenant_id, self.timeout = db, app_id, tenant_id, timeout
        self.targeted = targeted  # TEAMS_TARGETED_MESSAGES: a preview feature, off unless asked for
        # Files for a whole channel are kept by the product (`share`: Clusterbot.share) and shown from this
        # server's GET /files/<token> at `public_url`; without one, they are offered 1:1 as before.
        self.public_url = public_url.rstrip("/") if public_url else None
        self._share = share
        self._kept: dict[int, tuple[Upload, str]] = {}  # files kept but not yet shown: id -> (file, token)
        self.share_for = timedelta(days=share_days)
        self.bot_id = f"28:{app_id}"
        self._token = token
        self._default_service_url = default_service_url
        self._apis: dict[str, ApiClient] = {}
        self._names: dict[str, tuple[str, float]] = {}  # user id -> (name, until): a cache of storage/names.py
        self._no_name: dict[str, float] = {}  # user id -> when to ask the database again
        self._untargeted: dict[str, float] = {}  # conversation -> until when answers there go 1:1
        # conversation -> (service URL, kind): a cache of storage/conversations.py, so an answer still
        # finds its way while the database is down (the database stays the truth across processes)
        self._conversations: dict[str, tuple[str, str]] = {}
        self._unstored: set[str] = set()  # known here, not yet in the database
        self.targeted_retry_after = TARGETED_RETRY_AFTER
        self._offers: dict[str, tuple[Upload, str, float]] = {}  # consent token -> (file, person, expiry)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name="teams-api", daemon=True).start()
        self.background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="teams-files")

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self.background.shutdown(wait=False)

    # --- names ---------------------------------------------------------------------------------

    def learn_name(self, user_id: str | None, name: str | None) -> None:
        """Names arrive with every activity and mention; Teams has no cheap lookup by id. A name new to
        this process is compared with the stored one (one read per person), and stored if it differs."""
        name = _clean_name(name)
        if not user_id or not name:
            return
        with self._lock:
            if self._remembered(user_id, time.monotonic()) == name:
                return
        try:
            with self.db.session(read_only=True) as session:
                stored = names.find_name(session=session, user_id=user_id)
            if stored != name:
                with self.db.session() as session:
                    names.save_name(session=session, user_id=user_id, name=name)
        except (DatabaseUnavailable, Conflict):  # shown from memory until the next time they are seen
            log.warning("a person's name could not be stored (database unavailable)")
        with self._lock:
            self._remember(user_id, name)
            self._no_name.pop(user_id, None)

    def display_name(self, user_id: str) -> str:
        """The name Teams last showed us, from the cache or the database; the id if it never has."""
        now = time.monotonic()
        with self._lock:
            name = self._remembered(user_id, now)
            if name is not None or self._no_name.get(user_id, 0.0) > now:
                return name or user_id
        try:
            with self.db.session(read_only=True) as session:
                name = names.find_name(session=session, user_id=user_id)
        except DatabaseUnavailable:
            return user_id
        with self._lock:
            if name:
                self._remember(user_id, name)
            else:
                if len(self._no_name) > 10_000:
                    self._no_name = {k: until for k, until in self._no_name.items() if until > now}
                self._no_name[user_id] = now + NAME_MISS_TTL
        return name or user_id

    def _remembered(self, user_id: str, now: float) -> str | None:
        """The name in memory while it is fresh (call with the lock held)."""
        found = self._names.get(user_id)
        return found[0] if found is not None and found[1] > now else None

    def _remember(self, user_id: str, name: str) -> None:
        """Keep a name for NAME_TTL (call with the lock held); expired names are swept as the cache grows."""
        now = time.monotonic()
        if len(self._names) > 10_000:
            self._names = {k: v for k, v in self._names.items() if v[1] > now}
        self._names[user_id] = (name, now + NAME_TTL)

    # --- guests ---------------------------------------------------------------------------------

    def is_guest(self, user_id: str, where: tuple[str, str]) -> bool:
        """Whether the tenant counts the person a guest (Entra B2B: HSCP and council staff): the Bot
        Connector's conversation member's userRole, asked of `where` = (conversation, service URL): the
        team, for a channel's message, or the chat. Raises when it does not say (no answer in
        ROSTER_TIMEOUT, refused, rate limited, no userRole): bot/front_door.Roster makes that None."""
        conversation, service_url = where
        if not conversation or not service_url:
            raise NoAnswer("no conversation to ask")
        member = self._call(lambda api: api.conversations.get_member_by_id(conversation, user_id), service_url,
                            bucket=f"roster:{conversation}", timeout=ROSTER_TIMEOUT)
        role = (getattr(member, "user_role", None) or "").lower()
        if not role:
            raise NoAnswer("no userRole")
        return role in GUEST_ROLES

    def in_team(self, user_id: str, where: tuple[str, str]) -> bool:
        """Whether the team `where` = (team, service URL) has the person, as its roster says. Anything but a
        member's answer (not found, refused, no answer in ROSTER_TIMEOUT) is no."""
        team, service_url = where
        if not team or not service_url:
            return False
        try:
            self._call(lambda api: api.conversations.get_member_by_id(team, user_id), service_url,
                       bucket=f"roster:{team}", timeout=ROSTER_TIMEOUT)
        except (Refused, NoAnswer, RateLimited):
            return False
        return True

    def form_hint(self, form: Form) -> str:
        return f"This takes a form: press “{form.title}” on my card to fill it in."

    def open_form(self, asker: Asker, form: Form) -> bool:
        return False  # Teams opens a dialog only from a card button (task/fetch), never unasked

    def show_home(self, user_id: str, team_id: str, home: Reply) -> None:
        """Never called (`has_home` is false)."""

    def find_post(self, channel: str, marker: str) -> str | None:
        """The Bot Connector cannot read a conversation's messages (GET of an activity, or of a channel's
        history, needs Microsoft Graph and its own permissions), and takes no idempotency key: a post
        whose answer was lost is posted again (at least once; docs/design.md, Delivery)."""
        return None

    # --- sending -------------------------------------------------------------------------------

    def post(self, channel: str, reply: Reply, *, team_id: str | None = None, marker: str | None = None) -> str:
        service_url = self._service_url(channel)
        sent = self._call(lambda api: api.conversations.create_activity(channel, self._message(reply, channel)),
                          service_url, bucket=channel)
        return sent.id

    def update(self, channel: str, ref: str, reply: Reply) -> None:
        service_url = self._service_url(channel)
        self._call(lambda api: api.conversations.update_activity(channel, ref, self._message(reply, channel)),
                   service_url, bucket=channel)

    def direct(self, user_id: str, reply: Reply, *, team_id: str | None = None) -> None:
        conversation, service_url = self._personal_chat(user_id)
        message = self._message(reply, None, personal=True)
        self._call(lambda api: api.conversations.create_activity(conversation, message), service_url,
                   bucket=conversation)

    def tell(self, asker: Asker, reply: Reply) -> None:
        """To the channel (in the thread where they asked), or to the person only: in their 1:1 chat (where
        they asked, or proactively), or, with TEAMS_TARGETED_MESSAGES on, a targeted message in the channel
        that only they see (1:1 where targeted messages are unavailable). Never the whole channel."""
        where = asker.handle or asker.channel_id
        service_url = self._service_url(where)
        personal = self._is_personal(where)
        message = self._message(reply, asker.channel_id, personal=personal)
        if reply.audience == Audience.CHANNEL or personal:
            self._call(lambda api: api.conversations.create_activity(where, message), service_url, bucket=where)
            return
        conversation = where.split(";")[0]
        if self.targeted and not self._targeted_unavailable(conversation):
            message.recipient = Account(id=asker.user_id, name=self.display_name(asker.user_id))
            try:
                self._call(lambda api: api.conversations.activities_client.create_targeted(where, message),
                           service_url, bucket=where, raw_statuses=TARGETED_UNAVAILABLE)
                return
            except httpx.HTTPStatusError as error:
                log.warning("targeted messages unavailable here (HTTP %d): answers go 1:1 for %.0f s",
                            error.response.status_code, self.targeted_retry_after)
                with self._lock:
                    self._untargeted[conversation] = time.monotonic() + self.targeted_retry_after
        self._tell_personally(asker, reply, where=where, service_url=service_url)

    def _targeted_unavailable(self, conversation: str) -> bool:
        with self._lock:
            until = self._untargeted.get(conversation)
            if until is not None and until <= time.monotonic():
                del self._untargeted[conversation]
                until = None
        return until is not None

    def _tell_personally(self, asker: Asker, reply: Reply, *, where: str | None = None,
                         service_url: str | None = None) -> None:
        """The answer in the person's 1:1 chat (created as for a DM), its buttons still acting on the
        cluster's channel. Where they asked (`where`, a channel's thread) gets a short neutral line only
        when needed: the chat is new to them (they may not look there), or it cannot be opened (the
        answer is then not sent: the line says where to ask instead). Nothing of the answer is in it."""
        try:
            chat, chat_url, created = self._open_personal_chat(asker.user_id)
        except Refused:
            if where is None:
                raise
            log.warning("a 1:1 chat could not be opened for an answer: said in the channel instead")
            self._neutral_line(where, service_url, asker.user_id, CHAT_UNREACHABLE)
            return
        message = self._message(reply, asker.channel_id, personal=True)
        self._call(lambda api: api.conversations.create_activity(chat, message), chat_url, bucket=chat)
        if created and where is not None:
            self._neutral_line(where, service_url, asker.user_id, CHAT_OPENED)

    def _neutral_line(self, where: str, service_url: str | None, user_id: str, words: str) -> None:
        note = self._message(Reply.tell(line(Person(user_id), words)), None)
        self._call(lambda api: api.conversations.create_activity(where, note), service_url or self._service_url(where),
                   bucket=where)

    def upload(self, upload: Upload, *, team_id: str | None = None, user_id: str | None = None) -> None:
        """A file for the channel is shown there by link (`_share_in_channel`). A file for one person (or
        any file, where no TEAMS_PUBLIC_URL is set): Teams bots send files only into a 1:1 chat, after the
        person accepts (FileConsentCard): the file is offered there and the channel gets a line saying so."""
        if upload.audience == Audience.CHANNEL and self.public_url and self._share is not None:
            self._share_in_channel(upload)
            return
        if not user_id:
            raise Refused("no_person", "Teams can only send a file to the person who asked for it.")
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._forget_old_offers()
            self._offers[token] = (upload, user_id, time.monotonic() + OFFER_LIFETIME)
        conversation, service_url = self._personal_chat(user_id)
        offer = MessageActivityInput.model_validate({"type": "message", "attachments": [cards.file_consent(
            upload.filename, len(upload.content), {"offer": token, "channel": upload.channel}, upload.title)]})
        self._call(lambda api: api.conversations.create_activity(conversation, offer), service_url,
                   bucket=conversation)
        note = Reply(list(upload.comment.lines) + [line("I've sent the file to ", Person(user_id),
                                                        " in a chat with me: accept it there to download it.")],
                     audience=Audience.CHANNEL, tone=upload.comment.tone)
        self.post(upload.channel, note, team_id=team_id)

    def _share_in_channel(self, upload: Upload) -> None:
        """Everyone in the channel sees what is shared: the file is kept in the database (a link of 256
        random bits that expires) and the channel gets a card showing it, a picture inline, any other
        file with a download button. Why not the channel's own files: a bot can put a file there only
        through Microsoft Graph, with permissions this bot does not ask for (README, tenant admin)."""
        with self._lock:  # a retry (after a 429, or the database) reuses the file kept on the first try
            kept = self._kept.get(id(upload))
        token = kept[1] if kept is not None and kept[0] is upload else None
        if token is None:
            token = self._share(upload, self.share_for)  # DatabaseUnavailable: delivery tries again shortly
            if token is None:
                raise Refused("not_a_cluster", "That channel isn't a cluster any more, so the file wasn't shared.")
            with self._lock:
                while len(self._kept) >= KEPT_FOR_RETRY:
                    del self._kept[next(iter(self._kept))]
                self._kept[id(upload)] = (upload, token)
        card, _ = cards.reply_card(upload.comment, self.display_name, channel=upload.channel)
        cards.show_file(card, f"{self.public_url}{FILES}{token}", upload.filename, upload.title,
                        len(upload.content), self.share_for.days)
        message = MessageActivityInput.model_validate({
            "type": "message", "summary": cards.teams_words(plain_text(upload.comment), personal=False)[:200],
            "attachments": [cards.attachment(card)]})
        self._call(lambda api: api.conversations.create_activity(upload.channel, message),
                   self._service_url(upload.channel), bucket=upload.channel)
        with self._lock:
            self._kept.pop(id(upload), None)

    def accept_file(self, conversation: str, service_url: str, consent: dict, user_id: str) -> None:
        """The person accepted (or declined) a file offer: put the file where Teams said, then show it.
        Only the person it was offered to can answer it: anyone else's answer (a copied card, a replayed
        context) is refused, uploads nothing and leaves the offer for its person."""
        context = consent.get("context") if isinstance(consent.get("context"), dict) else {}
        token = str(context.get("offer"))
        with self._lock:
            offer = self._offers.get(token)
            someone_else = offer is not None and offer[1] != user_id
            if not someone_else:
                self._offers.pop(token, None)
        if someone_else:
            log.warning("a file offer was answered by someone it was not offered to: refused")
            self._say(conversation, service_url, "That file was offered to someone else, so I haven't sent it to "
                      "you. Ask for the export yourself if you need it.")
            return
        if consent.get("action") != "accept":
            return
        if offer is None or offer[2] < time.monotonic():
            self._say(conversation, service_url, "That file offer has expired. Ask for the export again.")
            return
        upload, info = offer[0], consent.get("uploadInfo")
        size = len(upload.content)
        url = info.get("uploadUrl") if isinstance(info, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            # Teams always sends an upload URL; anything else is a malformed answer, not a crash.
            log.warning("a file consent answer had no usable upload URL: refused")
            self._say(conversation, service_url, "I couldn't upload the file. Please ask for the export again.")
            return
        try:
            answer = httpx.put(url, content=upload.content, timeout=self.timeout * 3,
                               headers={"Content-Range": f"bytes 0-{size - 1}/{size}",
                                        "Content-Length": str(size)})
            answer.raise_for_status()
        except httpx.HTTPError as error:
            log.warning("file upload to the consent URL failed: %s", type(error).__name__)
            self._say(conversation, service_url, "I couldn't upload the file. Please ask for the export again.")
            return
        shown = MessageActivityInput.model_validate({"type": "message", "attachments": [cards.file_info(info)]})
        self._call(lambda api: api.conversations.create_activity(conversation, shown), service_url,
                   bucket=conversation)

    # --- inside --------------------------------------------------------------------------------

    def _say(self, conversation: str, service_url: str, text: str) -> None:
        message = self._message(Reply.problem(line(text)), None, personal=True)
        self._call(lambda api: api.conversations.create_activity(conversation, message), service_url,
                   bucket=conversation)

    def _forget_old_offers(self) -> None:
        now = time.monotonic()
        for token in [t for t, (_, _, until) in self._offers.items() if until < now]:
            del self._offers[token]

    def _message(self, reply: Reply, channel: str | None, *, personal: bool = False) -> MessageActivityInput:
        card, _ = cards.reply_card(reply, self.display_name, channel=channel,
                                   opener=getattr(reply, "teams_opener", None), personal=personal)
        return MessageActivityInput.model_validate({
            "type": "message", "summary": cards.teams_words(plain_text(reply), personal=personal)[:200],
            "attachments": [cards.attachment(card)]})

    def remember_conversation(self, conversation: str, kind: str, service_url: str, tenant: str, bot_id: str,
                              team_id: str | None, user_id: str | None) -> None:
        """Where a conversation is answered (its service URL) and what kind it is: kept in memory, and
        in the database for other processes and restarts (skipped, and tried on the next activity,
        while the database is down)."""
        with self._lock:
            if self._conversations.get(conversation) == (service_url, kind) and conversation not in self._unstored:
                return
            if len(self._conversations) > 50_000:
                self._conversations.clear()
            self._conversations[conversation] = (service_url, kind)
        try:
            with self.db.session() as session:
                conversations.save_reference(session=session, conversation_id=conversation, kind=kind,
                                             service_url=service_url, tenant_id=tenant, bot_id=bot_id,
                                             team_id=team_id, user_id=user_id)
        except (DatabaseUnavailable, Conflict):
            log.warning("a conversation reference could not be stored (database unavailable)")
            with self._lock:
                self._unstored.add(conversation)  # stored on the next activity from there
            return
        with self._lock:
            self._unstored.discard(conversation)

    def _known_conversation(self, conversation: str) -> tuple[str, str] | None:
        with self._lock:
            return self._conversations.get(conversation.split(";")[0])

    def _is_personal(self, conversation: str) -> bool:
        known = self._known_conversation(conversation)
        if known is not None:
            return known[1] == conversations.PERSONAL
        try:
            with self.db.session(read_only=True) as session:
                found = conversations.find_reference(session=session, conversation_id=conversation.split(";")[0])
        except DatabaseUnavailable:
            return conversation.startswith("a:")  # Teams' 1:1 chat ids; channels and group chats start 19:
        return found is not None and found.kind == conversations.PERSONAL

    def _service_url(self, conversation: str) -> str:
        known = self._known_conversation(conversation)
        if known is not None:
            return known[0]
        with self.db.session(read_only=True) as session:
            found = (conversations.find_reference(session=session, conversation_id=conversation.split(";")[0])
                     or conversations.any_reference(session=session, tenant_id=self.tenant_id))
        if found is not None:
            return found.service_url
        if self._default_service_url:
            return self._default_service_url
        raise Refused("no_conversation_reference", "I haven't been added to this conversation yet.")

    def _personal_chat(self, user_id: str) -> tuple[str, str]:
        """The person's 1:1 chat with the bot: the stored one, or a new one created in the tenant."""
        chat, service_url, _ = self._open_personal_chat(user_id)
        return chat, service_url

    def _open_personal_chat(self, user_id: str) -> tuple[str, str, bool]:
        """(chat, service URL, whether it was created just now): the conversation reference stored when the
        person installed the app or wrote to the bot, else a new 1:1 conversation in the tenant (the bot is
        in a team of theirs), stored for next time."""
        with self.db.session(read_only=True) as session:
            found = conversations.find_personal(session=session, tenant_id=self.tenant_id, user_id=user_id)
        if found is not None:
            return found.conversation_id, found.service_url, False
        service_url = self._service_url("")
        params = CreateConversationParams.model_validate({
            "members": [{"id": user_id}], "tenantId": self.tenant_id, "channelData": {"tenant": {"id": self.tenant_id}},
            "isGroup": False, "bot": {"id": self.bot_id}})
        created = self._call(lambda api: api.conversations.create(params), service_url, bucket=user_id)
        with self.db.session() as session:
            conversations.save_reference(session=session, conversation_id=created.id, kind=conversations.PERSONAL,
                                         service_url=created.service_url or service_url, tenant_id=self.tenant_id,
                                         bot_id=self.bot_id, user_id=user_id)
        return created.id, created.service_url or service_url, True

    def _api(self, service_url: str) -> ApiClient:
        with self._lock:
            api = self._apis.get(service_url)
            if api is None:
                api = ApiClient(service_url, ClientOptions(timeout=self.timeout, token=self._token))
                self._apis[service_url] = api
            return api

    def _call(self, make, service_url: str, *, bucket: str, raw_statuses: frozenset | set = frozenset(),
              timeout: float | None = None):
        """Run one SDK call on the private loop; its outcome as the platform seam's outcomes (an HTTP
        status in `raw_statuses` is raised as it came, for the caller to handle). `timeout`: a shorter
        wait than the client's own, for a call on a request's path."""
        api = self._api(service_url)
        future = asyncio.run_coroutine_threadsafe(make(api), self._loop)
        try:
            return future.result(timeout=timeout if timeout is not None else self.timeout + 2)
        except FutureTimeout:
            future.cancel()
            raise NoAnswer("timed out") from None
        except httpx.HTTPStatusError as error:
            if error.response.status_code in raw_statuses:
                raise
            raise _outcome(error.response, bucket) from None
        except (httpx.TimeoutException, httpx.TransportError) as error:
            raise NoAnswer(type(error).__name__) from None
        except TokenUnavailable as error:  # nothing was sent; a later try may find the token endpoint well
            raise NoAnswer(str(error)) from None


def _outcome(response: httpx.Response, bucket: str) -> Exception:
    status = response.status_code
    if status == 429:
        try:
            wait = float(response.headers.get("Retry-After", "1"))
        except ValueError:
            wait = 1.0
        return RateLimited(wait, bucket)
    if status >= 500:
        return NoAnswer(f"HTTP {status}")  # the Bot Connector may have taken it: look before trying again
    code = REFUSALS.get(status, f"http_{status}")
    text = "I'm not in that conversation any more: add me to the team again." if status in (403, 404) else ""
    return Refused(code, text)


def _clean_name(name) -> str:
    """A name as it may be stored and shown: printable, one line, not too long, and never one that holds
    what looks like a patient identifier (a name is free text the person chose)."""
    if not isinstance(name, str):
        return ""
    name = " ".join(UNSHOWABLE.sub("", name).split())[:PERSON_NAME_MAX].strip()
    return "" if find_patient_identifiers(name) else name
