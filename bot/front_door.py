"""The front door: every adapter (Slack, Teams), the console and the tests' driver build the caller and
hand a reply on after the ack here, so a rule about who may act where is written once.

Last round the Teams adapter built its caller its own way and never marked a channel taken from a
card's data as claimed: anyone in the tenant could read any cluster's polls from a 1:1 chat.
"""

import contextlib
import functools
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from bot.platform import AfterAck, Asker
from commands.context import Caller
from commands.results import Reply

log = logging.getLogger(__name__)

GUEST_KEEP = 3600.0         # seconds an answer about a person is kept: guests rarely become staff, or back
GUEST_RETRY = 20.0          # seconds before a platform that did not answer is asked about that person again
GUEST_PEOPLE = 10_000       # people remembered at most (the oldest answers go first)
JSON_DEPTH = 64             # how deep a request's JSON may nest: a platform's own nests about a dozen deep


class NoWhere(ValueError):
    """A request that names no conversation at all: nothing can be done for it."""


def caller(*, platform: str, user_id: str, team_id: str, here: str | None, named: str | None = None,
           enterprise_id: str | None = None, personal: bool = False, guest: bool | None = None,
           roster: "Roster | None" = None, where: object = None) -> Caller:
    """Who asks, and in which cluster's channel.

    `here`: the conversation the platform itself vouches for (where a command was typed or a button
    clicked; None when it vouches for none, as for a Slack modal). `named`: a channel the request's own
    content names (a button's value, a form's private data, a card's data), which anyone can forge.
    The claimed-channel rule: a named channel that is not `here` is claimed, and the product then
    requires the person to be a member of the cluster there (`Clusterbot._whereabouts`). `personal`: the
    request came from a 1:1 chat with the bot (a Slack DM). `guest`: whether the platform says the person
    is a guest; None when it did not say. With a `roster` (asked about the person `where` they are), the
    guest is what the roster already knows, never waited for: a vote must not wait on a platform call.
    The caller can still ask and wait (`Caller.ask_guest`) where the answer decides something: a file of
    the cluster's data, a person joining."""
    named = named if isinstance(named, str) and named else None
    channel = named or here
    if not user_id or not channel:
        raise NoWhere("a request without a person or a conversation")
    ask_guest = None
    if roster is not None:
        guest = roster.known(user_id, where)
        ask_guest = functools.partial(roster.guest, user_id, where)
    return Caller(user_id=user_id, channel_id=channel, team_id=team_id or "", enterprise_id=enterprise_id or None,
                  claimed=named is not None and named != here, platform=platform,
                  conversation="personal" if personal else "channel", guest=guest, ask_guest=ask_guest)


class Roster:
    """Whether a person is a guest of their platform, asked of it at most once per person per GUEST_KEEP
    (a busy channel makes no call per message), for every adapter alike.

    `ask(user_id, where)` is the platform's lookup (Teams: the conversation member's userRole; Slack:
    users.info); it returns True or False, or raises when the platform did not answer (slow, refused,
    rate limited). Then the answer is None, for GUEST_RETRY seconds: the product refuses files of the
    cluster's data to a caller it cannot place, and nothing else, so joining and voting never wait on it."""

    def __init__(self, ask: Callable[[str, object], bool], *, keep: float = GUEST_KEEP, retry: float = GUEST_RETRY,
                 people: int = GUEST_PEOPLE, clock: Callable[[], float] = time.monotonic):
        self._ask, self._keep, self._retry, self._people, self._clock = ask, keep, retry, people, clock
        self._known: OrderedDict[str, tuple[bool | None, float]] = OrderedDict()  # user -> (answer, until)
        self._lock = threading.Lock()
        self._asking: dict[str, Future] = {}  # people being looked up in the background
        self._background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="roster")

    def guest(self, user_id: str, where: object = None) -> bool | None:
        """True for a guest, False for a member of the organisation, None if the platform did not say.
        Waits for the answer: a lookup already under way for the person is waited for, not repeated."""
        with self._lock:
            known = self._cached(user_id)
            pending = self._asking.get(user_id)
        if known is not None:
            return known[0]
        if pending is not None:
            with contextlib.suppress(Exception):  # the lookup itself logged and cached what it could
                pending.result()
            with self._lock:
                known = self._cached(user_id)
            return known[0] if known is not None else None
        return self._lookup(user_id, where)

    def known(self, user_id: str, where: object = None) -> bool | None:
        """What is known about the person now, without waiting: not known (None), their answer is fetched
        in the background, one lookup per person at a time, so the next request knows."""
        with self._lock:
            known = self._cached(user_id)
            if known is not None:
                return known[0]
            if user_id in self._asking or len(self._asking) >= self._people:
                return None
            with contextlib.suppress(RuntimeError):  # shutting down
                self._asking[user_id] = self._background.submit(self._fetch, user_id, where)
        return None

    def _cached(self, user_id: str) -> tuple[bool | None, float] | None:
        known = self._known.get(user_id)
        return known if known is not None and known[1] > self._clock() else None

    def _fetch(self, user_id: str, where: object) -> None:
        try:
            self._lookup(user_id, where)
        finally:
            with self._lock:
                self._asking.pop(user_id, None)

    def _lookup(self, user_id: str, where: object) -> bool | None:
        now = self._clock()
        try:
            answer: bool | None = bool(self._ask(user_id, where))
        except Exception as error:  # the platform's trouble: said as "couldn't check", never a failed request
            log.warning("could not ask whether a person is a guest: %s", type(error).__name__)
            answer = None
        with self._lock:
            self._known.pop(user_id, None)
            self._known[user_id] = (answer, now + (self._keep if answer is not None else self._retry))
            while len(self._known) > self._people:
                self._known.popitem(last=False)
        return answer

    def forget(self) -> None:
        with self._lock:
            self._known.clear()


def json_object(raw: bytes | str, *, depth: int = JSON_DEPTH) -> dict | None:
    """A request's body as one JSON object nested at most `depth` deep; None for anything else (not JSON,
    not UTF-8, not an object, or nested deeper), which the adapter answers 400: the sender's fault.
    Python's parser raises RecursionError, not ValueError, at about a thousand levels (a 500 once), and a
    body a little shallower than that still parses, then breaks whatever walks it (a validator, a
    repr, a log line) on a thread with less stack to spare: both are refused here, for every adapter."""
    try:
        parsed = json.loads(raw)
    except (ValueError, TypeError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(parsed, dict) or _deeper_than(parsed, depth):
        return None
    return parsed


def _deeper_than(value: object, depth: int) -> bool:
    """Whether `value` nests objects or arrays more than `depth` deep (walked without recursion)."""
    level: list[tuple[object, int]] = [(value, 1)]
    while level:
        item, at = level.pop()
        if at > depth:
            return True
        inner = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        level.extend((each, at + 1) for each in inner if isinstance(each, dict | list))
    return False


def hand_on(delivery: AfterAck, reply: Reply, asker: Asker | None, *, answered: bool = False) -> None:
    """The one after-the-ack policy: the reply's effects go to delivery; a form opens where the platform
    opens forms from a trigger (a Slack modal), and if it cannot, the person is told the reply's words
    instead (which say how to type it); otherwise the reply is told to the person, unless `answered`
    (its words already went back in the acknowledgement, as a Slack slash command's do)."""
    if reply.form is not None and asker is not None and asker.trigger:
        delivery.after_ack(Reply(effects=reply.effects), asker)
        delivery.run_now(lambda: _open_or_tell(delivery, asker, reply), bucket=asker.channel_id)
    elif answered:
        delivery.after_ack(Reply(effects=reply.effects), asker)
    else:
        delivery.after_ack(reply, asker)


def _open_or_tell(delivery: AfterAck, asker: Asker, reply: Reply) -> None:
    if not delivery.platform.open_form(asker, reply.form):
        delivery.after_ack(Reply(reply.lines, reply.audience, reply.tone, reply.buttons,
                                 line_buttons=reply.line_buttons), asker)
