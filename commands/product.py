"""The product, platform-neutral: (command, text, caller) in, a Reply out.

Adapters (bot/) call `Clusterbot.handle` for typed commands, `press` for buttons and `submit`
for forms; nothing here knows about a platform.
"""

import difflib
import hashlib
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from commands import (
    audit,
    exports,
    families,  # noqa: F401  (importing it registers every family, in the declared order)
    home,
    shared,
)
from commands.cluster import usage_lines
from commands.context import Caller, Context
from commands.directory import Directory
from commands.errors import Refusal
from commands.kept import Kept
from commands.outbox_port import OutboxPort
from commands.rate import DEFAULT_PER_MINUTE, PostingRate
from commands.registry import AUDITED, BUTTONS, FAMILIES, FORMS, MEMBERS_ONLY, POSTED, TICKS, Family
from commands.results import (
    Audience,
    Button,
    Code,
    Direct,
    Post,
    Reply,
    Strong,
    Update,
    Upload,
    line,
    plain_text,
    reply_to_json,
)
from commands.text import dates
from commands.text.dates import local_today
from commands.text.parsing import refuse_posing_mentions
from storage import actions as action_store
from storage import clusters as store
from storage import events, names, outbox
from storage import shared_files as shared_store
from storage.clock import Clock, wall_clock
from storage.db import Conflict, Database, DatabaseUnavailable

log = logging.getLogger(__name__)
# Characters no stored text keeps: control characters (a NUL cannot even be stored in PostgreSQL), lone
# surrogates (not encodable), and U+FFFE/U+FFFF — none of which XML can hold, so one of them in a cell
# once made every later workbook fail to open.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

PURGE_EVERY = timedelta(hours=1)
# A message still unsent this long after it was queued is news nobody needs from a bot any more: dropped,
# not sent late (as a scheduled post refused for a day is given up: bot/delivery/retry.py). Messages with
# a time of their own say it (`Post.until`, `Direct.until`: a reminder's meeting, a digest's day).
USEFUL_FOR = timedelta(days=1)
UNAVAILABLE = "The cluster's database is temporarily unavailable. Nothing was changed: please try again shortly."
OUR_FAULT = ("Something went wrong on our side and nothing was changed. "
             "Please try again; if it keeps happening, tell your cluster lead.")

class Clusterbot:
    """The whole product behind a few calls. None of them raises: every failure is a Reply."""

    def __init__(self, db: Database, time_zone: str = "Europe/London",
                 clock: Clock = wall_clock, ballot_key: bytes | None = None, retention_days: int = 30,
                 rate_limit: int = DEFAULT_PER_MINUTE, minutes_lock_days: int = 14):
        self.db = db
        db.clock = clock  # its sessions stamp rows with the product's clock: one clock for both
        # The key behind anonymous ballots (voter hashes, sealed choices): outside the database by design,
        # the same in every process of a deployment and never derived from a secret that is rotated
        # (bot/config.ballot_key: BALLOT_KEY only). None: no anonymous polls (commands/polls.py says why).
        self.ballot_key = ballot_key
        self.time_zone = time_zone
        self.clock = clock  # tests turn it; everything the product calls "now" comes from here
        self.retention = timedelta(days=retention_days)  # sent outbox rows are kept this long
        self._purged_at: datetime | None = None  # by this process, on the machine's clock
        # user id -> name, for exports. Owned from here on: adapters add their platform's lookup
        # (`product.directory.serve(platform)`), never replace the directory.
        self.directory = Directory()
        self.kept = Kept()  # run-chart signals, by measure revision
        # Commands that post, per person per channel per minute (RATE_LIMIT_PER_MINUTE; 0: no limit)
        self.posting = PostingRate(rate_limit)
        self.minutes_lock_days = minutes_lock_days  # MINUTES_LOCK_DAYS: minutes read-only that long after a meeting

    def handle(self, command: str, text: str, caller: Caller) -> Reply:
        """A typed slash command."""
        text = printable(text)
        fam = FAMILIES.get(command)
        if fam is None:
            return Reply.problem(line(f"I don't know {command}. Try ", Code("/cluster help")))
        # A command that only reads (who, list, show) neither waits for nor holds up the writers.
        return self._unit_of_work(caller, lambda ctx: self._run(fam, text, ctx),
                                  f"{command} ({len(text)} characters)", read_only=_reads_only(fam, text),
                                  limited=True)

    def only_reads(self, command: str, text: str) -> bool:
        """Whether the command only reads (who, list, show): a registry lookup, no database."""
        fam = FAMILIES.get(command)
        return fam is not None and _reads_only(fam, printable(text))

    def has_later(self, command: str, text: str) -> bool:
        """Whether the command has a slow part for `finish` (an export): a registry lookup, no database."""
        fam = FAMILIES.get(command)
        sub, _ = fam.find(printable(text).split()) if fam else (None, 0)
        return sub is not None and sub.later is not None

    def finish(self, command: str, text: str, caller: Caller) -> Reply:
        """The slow part of a command whose quick answer said "preparing…" (exports). Silent otherwise."""
        text = printable(text)
        fam = FAMILIES.get(command)
        sub, taken = fam.find(text.split()) if fam else (None, 0)
        if sub is None or sub.later is None:
            return Reply()
        rest = _after(text, taken)

        def work(ctx: Context) -> Reply:
            try:
                _may_take_files(sub, fam, rest, ctx)  # checked again: the slow part runs on its own
                return sub.later(ctx, rest)
            except Refusal:
                return Reply()  # the quick part has already told the person what was wrong

        return self._unit_of_work(caller, work, f"{command} later ({len(text)} characters)", read_only=True)

    def home(self, user_id: str, team_id: str, enterprise_id: str | None = None) -> Reply:
        """The person's Home: each of their clusters at a glance, and help. `enterprise_id`: also the
        clusters of the person's organisation (a Teams tenant), for a 1:1 chat, which is in no team."""
        try:
            with self.db.session(read_only=True) as session:
                return home.home(self._context_for, session, team_id, user_id, enterprise_id)
        except DatabaseUnavailable:
            return Reply.problem(line(UNAVAILABLE))

    def joined(self, caller: Caller, *, bot_joined: bool, added_by: str | None = None) -> Reply:
        """Someone (or the bot itself) joined the channel `caller` names: a welcome, or how to set up.
        `added_by`: who added the bot, if the platform says (thanked by name in the welcome)."""
        return self._unit_of_work(caller, lambda ctx: home.welcome(ctx, bot_joined, added_by), "joined")

    def first_delivery(self, event_id: str) -> bool:
        """True the first time this platform event id is seen (a retried delivery is handled once)."""
        with self.db.session() as session:
            return events.first_time(session=session, event_id=event_id)

    def team_of(self, channel_id: str) -> str | None:
        """The team (workspace) of the cluster in `channel_id`, for a request from elsewhere that names it
        (a Teams button in a 1:1 chat). Only a lookup: whether the person may act there is the unit of
        work's rule, applied to the claimed channel."""
        try:
            with self.db.session(read_only=True) as session:
                found = store.find_cluster_by_channel(session=session, channel_id=channel_id)
        except DatabaseUnavailable:
            return None  # the unit of work that follows says so to the person
        return found.team_id if found is not None else None

    def newcomer_team(self, channel_id: str, user_id: str) -> str | None:
        """The team of the cluster in `channel_id` when the person is not (yet) its member: an adapter may
        then ask its platform whether they are in that team (a new member's practice picker, pressed away
        from the channel). None when there is no such cluster, they are a member, or the database is down."""
        try:
            with self.db.session(read_only=True) as session:
                found, member = store.whereabouts(session=session, channel_id=channel_id, user_id=user_id)
        except DatabaseUnavailable:
            return None
        return found.team_id if found is not None and member is None else None

    def cluster_channels(self, team_id: str) -> list[str]:
        """The channels of the clusters in a team (workspace), oldest first: where a person who joined the
        team is welcomed (Teams says a member joined in the team's first channel, whichever is the cluster's)."""
        if not team_id:
            return []
        try:
            with self.db.session(read_only=True) as session:
                return [c.channel_id for c in store.clusters_of_team(session=session, team_id=team_id)]
        except DatabaseUnavailable:
            return []

    def export(self, channel_id: str) -> "Upload | None":
        """The cluster workbook of the cluster in `channel_id` (for `python -m bot export`)."""
        with self.db.session(read_only=True) as session:
            found = store.find_cluster_by_channel(session=session, channel_id=channel_id)
            if found is None:
                return None
            ctx = self._context_for(session, found, Caller("clusterbot", channel_id, found.team_id))
            return exports.cluster_workbook(ctx).effects[0]

    def share(self, upload: Upload, keep_for: timedelta) -> str | None:
        """Keep a file shared with the cluster in `upload.channel` for `keep_for`, to be served by link
        (commands/shared.py): the link's token, or None when that channel is no cluster. Raises
        DatabaseUnavailable (the platform's delivery says so to the person)."""
        with self.db.session() as session:
            return shared.keep(session, upload, keep_for)

    def shared_file(self, token: str) -> "shared_store.Served | None":
        """The file a shared link's token opens, until it expires. Raises DatabaseUnavailable."""
        with self.db.session(read_only=True) as session:
            return shared_store.find(session=session, token=token)

    def press(self, action: str, value: str, caller: Caller) -> Reply:
        """A button click."""
        handler = BUTTONS.get(action)
        if handler is None:
            return Reply.problem(line("That button doesn't do anything any more. Try ", Code("/cluster help")))
        value = printable(value)

        def work(ctx: Context) -> Reply:
            if f"button {action}" in MEMBERS_ONLY:
                ctx.require_writer("that button")
            reply = handler(ctx, value)
            if f"button {action}" not in AUDITED:
                return reply
            return audit.after(ctx, reply, f"button {action}", audit.value_words(value))

        return self._unit_of_work(caller, work, f"button {action} ({len(value)} characters)")

    def submit(self, form: str, values: dict[str, str], context: dict, caller: Caller,
               submission_key: str | None = None) -> Reply:
        """A filled-in form. `submission_key` identifies the submission, so a repeat is harmless."""
        handler = FORMS.get(form)
        if handler is None:
            return Reply.problem(line("That form is out of date; please open it again."))
        values = {name: printable(value) for name, value in values.items()}
        # private_metadata comes back from the platform as the person's client sent it: only strings kept.
        context = {str(k): printable(v) for k, v in context.items() if isinstance(v, str)} \
            if isinstance(context, dict) else {}

        def work(ctx: Context) -> Reply:
            if f"form {form}" in MEMBERS_ONLY:
                ctx.require_writer("that form")
            reply = handler(ctx, _no_posing_mentions(values, caller), context)
            if f"form {form}" not in AUDITED:
                return reply
            return audit.after(ctx, reply, f"form {form}", audit.value_words(*context.values(), *values.values()))

        return self._unit_of_work(caller, work, f"form {form}", _bounded_key(submission_key), limited=True)

    def remember(self, key: str, channel: str, ref: str) -> None:
        """The platform posted the message `key` (from a Post effect) as `ref` in `channel`."""
        kind, _, item = key.partition(":")
        with self.db.session() as session:
            POSTED[kind].remember(session, int(item), channel, ref)

    def open_anonymous_polls(self) -> int | None:
        """How many anonymous polls are open in the whole database (None: it is unreachable). A process
        asks once, at start, whether it may run without a ballot key (bot/__main__)."""
        from storage import polls

        try:
            with self.db.session(read_only=True) as session:
                return polls.open_anonymous_polls(session=session)
        except DatabaseUnavailable:
            return None

    def outbox(self, platform: str, worker: str) -> OutboxPort:
        """The outbox as `platform`'s delivery `worker` sees it: the one way delivery reaches it."""
        return OutboxPort(self.db, platform, worker)

    def discard(self, key: str) -> None:
        """The platform refused to post `key` for good: forget what was created only to be posted."""
        kind, _, item = key.partition(":")
        with self.db.session() as session:
            POSTED[kind].discard(session, int(item))

    def current(self, key: str) -> Reply | None:
        """What the posted message `key` should show now (None if it no longer exists)."""
        kind, _, item = key.partition(":")
        with self.db.session(read_only=True) as session:
            return POSTED[kind].current(self._context_for, session, int(item))

    def live_cards(self, platform: str = "slack") -> list[tuple[str, str, str]]:
        """Every posted message on `platform` that still changes (open polls): (key, channel, ref),
        refreshed when that platform's delivery starts."""
        with self.db.session(read_only=True) as session:
            mine = store.channels_on(session=session, platform=platform)
            return [(f"{kind}:{item}", channel, ref) for kind, posted in POSTED.items() if posted.live
                    for item, channel, ref in posted.live(session) if channel in mine]

    def tick(self, now: datetime | None = None) -> list:
        """The scheduler's heartbeat: do what has fallen due (close polls at their deadline …) and
        return the messages to send. Each item is its own unit of work, claimed so that any number of
        processes ticking at once do it exactly once."""
        now = now or self.clock()
        effects: list = []
        for due, run in TICKS:
            try:
                with self.db.session(read_only=True) as session:  # asking what is due holds nobody up
                    items = due(session, now, self.time_zone)
            except DatabaseUnavailable:
                log.warning("database unavailable at tick")
                return effects
            for item in items:
                try:
                    with self.db.session() as session:
                        effects += _into_outbox(session, run(self._context_for, session, item, now), None, now)
                except Exception:
                    log.exception("scheduled work on %s failed", type(item).__name__)
        self._purge()
        return effects

    def _purge(self) -> int:
        """Forget outbox rows sent (or given up) longer ago than the retention, at most once an hour per
        process: the outbox kept every message ever sent. The outbox's times are the machine's."""
        moment = wall_clock()
        if self._purged_at is not None and moment - self._purged_at < PURGE_EVERY:
            return 0
        try:
            with self.db.session() as session:
                purged = outbox.purge(session=session, now=moment, keep=self.retention)
            with self.db.session() as session:  # names are stamped by the product's clock
                forgotten = names.forget_names(session=session, before=self.clock() - self.retention)
                action_store.forget_digest_days(session=session, before=(self.clock() - self.retention).date())
        except DatabaseUnavailable:
            return 0
        self._purged_at = moment
        if purged:
            log.info("outbox: %d sent rows older than %d days forgotten", purged, self.retention.days)
        if forgotten:
            log.info("names: %d of people in no cluster, unseen for %d days, forgotten", forgotten,
                     self.retention.days)
        return purged

    def _context_for(self, session, cluster_, caller: Caller, member=None, submission_key=None) -> Context:
        time_zone = cluster_.time_zone if cluster_ is not None else self.time_zone
        return Context(caller, session, cluster_, member, time_zone, submission_key, self.clock,
                       # a cluster's people are named by its platform (the scheduler's work has no caller)
                       self.directory.of(cluster_.platform if cluster_ is not None else caller.platform),
                       self.ballot_key, self.kept, self.minutes_lock_days)

    def _unit_of_work(self, caller: Caller, work: Callable[[Context], Reply], what: str,
                      submission_key: str | None = None, read_only: bool = False, limited: bool = False) -> Reply:
        """`_one_unit` (below), its examples never suggesting a planned day already past."""
        reply = self._one_unit(caller, work, what, submission_key, read_only, limited)
        return _dated_examples(reply, local_today(self.clock(), self.time_zone))

    def _one_unit(self, caller: Caller, work: Callable[[Context], Reply], what: str,
                  submission_key: str | None = None, read_only: bool = False, limited: bool = False) -> Reply:
        """One session: committed when `work` returns, rolled back whole when it refuses or fails.
        A unique-constraint conflict (two clicks at once) is retried once: the retry sees the winner.
        `limited`: a typed command or a form, refused (rolled back) past the person's posting rate when
        what it did would post to the channel or send messages (see `_take_turn`)."""
        turn: datetime | None = None
        try:
            for attempt in (1, 2):
                try:
                    with self.db.session(read_only) as session:
                        cluster_, member = self._whereabouts(session, caller)
                        reply = work(self._context_for(session, cluster_, caller, member, submission_key))
                        if limited and not read_only and _posts(reply):
                            turn = self._take_turn(caller)
                        if not read_only:
                            _note_guest(session, caller, member)
                            reply.effects = _into_outbox(session, reply.effects, caller, self.clock(),
                                                         cluster_.id if cluster_ is not None else None)
                        return reply
                except Conflict:
                    self._give_back(caller, turn)
                    turn = None
                    if attempt == 2:
                        raise
        except Refusal as refusal:
            self._give_back(caller, turn)
            return _refusal_reply(refusal)
        except DatabaseUnavailable:
            self._give_back(caller, turn)
            log.warning("database unavailable during %s", what)
            return Reply.problem(line(UNAVAILABLE))
        except Exception:
            self._give_back(caller, turn)
            log.exception("%s failed", what)
            return Reply.problem(line(OUR_FAULT))
        raise AssertionError("unreachable")

    def _take_turn(self, caller: Caller) -> datetime:
        """Count one posting command for the caller in this channel, or refuse it politely (the unit of
        work rolls back: nothing is kept). Only what posts is counted: lists and other answers for the
        person alone never are, so a person held back can still read. Buttons are not limited (`press`):
        a click acts on a message already posted, a vote replaces the practice's ballot and its card is
        updated in place at most once per interval, and a meeting agreeing ten topics in a row is work."""
        now = self.clock()
        again = self.posting.take(caller.channel_id, caller.user_id, now)
        if again is None:
            return now
        wait = max(1, math.ceil((again - now).total_seconds()))
        log.info("posting rate: a person refused (%d a minute)", self.posting.per_minute)
        raise Refusal(f"You've posted here {self.posting.per_minute} times in the last minute, the most the bot "
                      "takes from one person, so this wasn't done and nothing was changed. Please try again in "
                      f"{wait} second{'s' if wait != 1 else ''}. Lists and anything shown only to you still work.")

    def _give_back(self, caller: Caller, turn: datetime | None) -> None:
        """A counted command whose change was not committed does not count."""
        if turn is not None:
            self.posting.give_back(caller.channel_id, caller.user_id, turn)

    def _whereabouts(self, session, caller: Caller):
        found, member = store.whereabouts(session=session, channel_id=caller.channel_id, user_id=caller.user_id)
        if found is not None and not store.same_organisation(found, team_id=caller.team_id,
                                                             enterprise_id=caller.enterprise_id):
            raise Refusal("This channel is a cluster of another organisation's workspace. Its commands work "
                          "only from that workspace; to run your own cluster, set one up in a channel of yours.",
                          example="/cluster setup Riverside Cluster")
        if found is not None and member is None and caller.claimed:
            raise Refusal(f"You're not a member of the cluster “{found.name}”, so this can't be done from here. "
                          "Ask one of its leads to add you.", example="/cluster member add @you 80123")
        return found, member

    def _run(self, fam: Family, text: str, ctx: Context) -> Reply:
        words = text.split()
        sub, taken = fam.find(words) if words else fam.find([fam.default])
        if sub is None:
            return _not_a_subcommand(fam, words)
        refuse_posing_mentions(text, ctx.caller.platform)  # for every command: no id taken from posing text
        if sub.personal and ctx.cluster is None and ctx.caller.conversation == "personal":
            return self._in_each_cluster(sub, _after(text, taken), ctx)
        if sub.needs_cluster:
            ctx.require_cluster()
        if sub.leads_only:
            ctx.require_lead(f"{fam.command} {' '.join(sub.words)}")
        if sub.members_only:
            ctx.require_writer(f"{fam.command} {' '.join(sub.words)}")
        rest = _after(text, taken)
        _may_take_files(sub, fam, rest, ctx)
        reply = sub.handler(ctx, rest)
        if not sub.in_audit:
            return reply
        # In the change's own unit of work: no entry without its change, nor the reverse.
        return audit.after(ctx, reply, " ".join((fam.command, *sub.words)), audit.typed_words(rest),
                           person=sub.audit_person)


    def _in_each_cluster(self, sub, rest: str, ctx: Context) -> Reply:
        """A personal command in a 1:1 chat (the person's Home in Teams): answered for each of their
        clusters, under its name; buttons keep acting on their cluster's channel."""
        caller = ctx.caller
        found = store.memberships_anywhere(session=ctx.session, user_id=caller.user_id, team_id=caller.team_id,
                                           enterprise_id=caller.enterprise_id)
        if not found:
            raise Refusal("You're not in a cluster yet. Ask your Cluster Quality Lead which channel is your "
                          "cluster's, and join your practice there.", example="/cluster join 80123")
        answer = Reply.tell()
        for cluster_, member in found:
            here = replace(caller, channel_id=cluster_.channel_id, team_id=cluster_.team_id, claimed=False)
            reply = sub.handler(self._context_for(ctx.session, cluster_, here, member), rest)
            answer.lines.append(line(Strong(cluster_.name)))  # which cluster: said, even when there is one
            offset = len(answer.lines)
            answer.lines += reply.lines
            answer.line_buttons.update({offset + at: _for_channel(button, cluster_.channel_id)
                                        for at, button in reply.line_buttons.items()})
            answer.buttons += [_for_channel(button, cluster_.channel_id) for button in reply.buttons]
        return answer


def _may_take_files(sub, fam: Family, rest: str, ctx: Context) -> None:
    """The one rule for files of the cluster's data (the registry marks which subcommands hand them out)."""
    if sub.takes_files(rest):
        ctx.require_may_take_files(f"{fam.command} {' '.join(sub.words)}")


def _note_guest(session, caller: Caller, member) -> None:
    """What the platform says about the person goes on their membership, for `/cluster who`: when they
    join (they had none before this unit of work) or when it no longer says what the platform says. A
    platform that did not say changes nothing; a member whose row already agrees costs no statement."""
    guest = caller.guest
    if guest is None and member is None and caller.ask_guest is not None:
        guest = caller.ask_guest()  # someone joining: worth the one wait, so `/cluster who` says it at once
    if guest is None or (member is not None and member.guest == guest):
        return
    store.note_guest(session=session, channel_id=caller.channel_id, user_id=caller.user_id, guest=guest)


def _for_channel(button: Button, channel: str) -> Button:
    """A button shown away from its cluster's channel names it (the click is then a claimed channel)."""
    return button if button.channel else replace(button, channel=channel)


SYNONYMS = {"delete": "remove", "del": "remove", "rm": "remove", "drop": "remove", "new": "add", "create": "add"}


def _not_a_subcommand(fam: Family, words: list[str]) -> Reply:
    """`help` lists the family's commands (not as an error); a typo gets "did you mean" with that one
    command's usage rather than the whole help."""
    if words and words[0].lower() in ("help", "?"):
        return Reply.tell(*usage_lines(fam))
    if not words:
        return Reply.problem(line(f"What should {fam.command} do?"), *usage_lines(fam))
    typed = " ".join(SYNONYMS.get(w.lower(), w.lower()) for w in words[:2])
    known = {" ".join(sub.words): sub for sub in fam.subcommands if sub.words}
    close = difflib.get_close_matches(typed, known, n=1, cutoff=0.6) or \
        difflib.get_close_matches(words[0].lower(), [w.split()[0] for w in known], n=1, cutoff=0.6)
    if not close:
        return Reply.problem(line(f"“{words[0][:40]}” isn't a {fam.command} command."), *usage_lines(fam))
    sub = known.get(close[0]) or next(s for w, s in known.items() if w.split()[0] == close[0])
    return Reply.problem(line(f"“{words[0][:40]}” isn't a {fam.command} command. Did you mean ",
                              Code(f"{fam.command} {' '.join(sub.words)}"), "?"),
                         line(Code(f"{fam.command} {sub.usage}"), f" — {sub.summary}"),
                         line("For example: ", Code(sub.example)),
                         line("Everything it can do: ", Code(f"{fam.command} help")))


def _into_outbox(session, effects: list, caller: Caller | None, now: datetime, cluster_id: int | None = None) -> list:
    """Posts and DMs go into the outbox in the change's own transaction, so what is committed is sent
    even if this process dies next; each effect comes back marked with its row. A post made for the
    person who asked (a new poll's card) names them, so a refusal can be told to them.

    Each row names the platform that must send it: the request's, or, for the scheduler's work (no
    caller), the platform of the cluster it is for. The scheduler's card updates go into the outbox
    too (kind "update"), so a poll closed by a Slack process's tick updates a Teams card through the
    Teams process. A request's own updates stay in memory: its process serves that platform.

    Each row also names its cluster (the request's, or the one its channel or team belongs to), which
    the fair claim takes turns between, and how long it is worth sending (`_useful_for`), measured
    from `now` on the product's clock and kept as that long from now on the outbox's (the machine's)."""
    marked = []
    for effect in effects:
        if isinstance(effect, Post) and effect.outbox_id is None:
            asker = json.dumps([caller.user_id, caller.channel_id, caller.team_id]) if caller and effect.key else None
            platform, whose = _home(session, caller, cluster_id, channel_id=effect.channel)
            row_id = outbox.enqueue(session=session, kind="post", key=effect.key, channel=effect.channel,
                                     team_id=caller.team_id if caller else None, asker=asker, platform=platform,
                                     payload=reply_to_json(effect.reply), cluster_id=whose,
                                     useful_for=_useful_for(effect, now))
            effect = replace(effect, outbox_id=row_id)
        elif isinstance(effect, Direct) and effect.outbox_id is None:
            team_id = effect.team_id or (caller.team_id if caller else None)
            platform, whose = _home(session, caller, cluster_id, team_id=team_id)
            row_id = outbox.enqueue(session=session, kind="direct", channel=effect.user_id, team_id=team_id,
                                     platform=platform, payload=reply_to_json(effect.reply), cluster_id=whose,
                                     useful_for=_useful_for(effect, now))
            effect = replace(effect, outbox_id=row_id, team_id=team_id)
        elif isinstance(effect, Update) and caller is None:
            platform, whose = _home(session, None, cluster_id, channel_id=effect.channel)
            outbox.enqueue(session=session, kind="update", key=effect.key, channel=effect.channel, ref=effect.ref,
                           platform=platform, payload="", cluster_id=whose, useful_for=_useful_for(effect, now))
            continue  # sent by the outbox, not by whoever ticked
        marked.append(effect)
    return marked


def _posts(reply: Reply) -> bool:
    """Whether a reply reaches beyond the person who asked: shown in the channel, posted, or sent to others."""
    return reply.audience == Audience.CHANNEL or any(isinstance(e, Post | Direct | Upload) for e in reply.effects)


def _useful_for(effect, now: datetime) -> timedelta | None:
    """How long from `now` a queued message is worth sending. Its own time if it has one (a reminder:
    until its meeting starts; a digest: until its day ends; a poll's reminder: until the poll closes); a
    posted card (a new poll's): no limit, since it shows its state when it is sent and its poll needs it;
    anything else (a card update, an announcement, a result): USEFUL_FOR."""
    until = getattr(effect, "until", None)
    if until is not None:
        return max(until - now, timedelta(0))
    if isinstance(effect, Post) and effect.key:
        return None
    return USEFUL_FOR


def _bounded_key(key: str | None) -> str | None:
    """A platform's submission id, made to fit its column (255): a longer one (no platform sends one,
    but the field comes from outside) is kept as its digest, still the same for a repeat."""
    if key is None or len(key) <= 128:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _home(session, caller: Caller | None, cluster_id: int | None, *, channel_id: str | None = None,
          team_id: str | None = None) -> tuple[str, int | None]:
    """The platform that sends a row and the cluster it is for: a request's own (no query), else the
    cluster of the channel or team (the scheduler's work has no caller)."""
    if caller is not None:
        return caller.platform, cluster_id
    return store.home_of(session=session, channel_id=channel_id, team_id=team_id)


def _reads_only(fam: Family, text: str) -> bool:
    """Whether the subcommand `text` runs (the family's default when it is empty) only reads."""
    words = text.split()
    sub, _ = fam.find(words) if words else fam.find([fam.default])
    return sub is not None and sub.read_only


def _after(text: str, words: int) -> str:
    """The text after its first `words` words (the subcommand's own)."""
    parts = text.strip().split(None, words)
    return parts[words] if len(parts) > words else ""


def _no_posing_mentions(values: dict[str, str], caller: Caller) -> dict[str, str]:
    """The form's values, each checked as typed commands are (a mention must be one of the platform's
    people), the problem shown on its field."""
    for name, value in values.items():
        refuse_posing_mentions(value, caller.platform, field=name)
    return values


def printable(text: str) -> str:
    """Without the characters CONTROL names; new lines and tabs stay."""
    return CONTROL.sub("", text) if isinstance(text, str) else ""


def _dated_examples(reply: Reply, today) -> Reply:
    """Command examples (Code that starts with "/") in the reply's lines with planned dates already past
    moved ahead (commands/text/dates.py, future_example): a hint never suggests a day gone by."""
    for index, ln in enumerate(reply.lines):
        if any(isinstance(s, Code) and s.text.startswith("/") and dates.PLANNED.search(s.text) for s in ln):
            reply.lines[index] = type(ln)(Code(dates.future_example(s.text, today))
                                          if isinstance(s, Code) and s.text.startswith("/") else s for s in ln)
    return reply


def _refusal_reply(refusal: Refusal) -> Reply:
    if refusal.field:
        return Reply(field_errors={refusal.field: plain_text(Reply([refusal.message]))})
    reply = Reply.problem(refusal.message)
    if refusal.example:
        reply.lines.append(line("For example: ", Code(refusal.example)))
    return reply
