"""Polls on a timetable: `opens <date> [HH:MM]` posts a poll later, `every <rule> [HH:MM]` (the meetings'
recurrence grammar, commands/text/recurrence.py) posts it again and again, each time as a new poll with its
own P id; `/poll scheduled` lists them and `/poll stop S1` stops one. And the automatic reminder: a poll
with a deadline reminds the practices that have not voted, once, on the working day before it closes
(Scottish bank holidays skipped), unless it was made with `remind off`.

The tick claims each posting by moving the schedule's next time on, and each reminder by stamping the
poll, in the same transaction as what it sends goes into the outbox: however many processes tick, each
goes out once.
"""

import logging
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from commands.context import Caller, Context
from commands.errors import Refusal
from commands.polls import core
from commands.registry import TICKS, subcommand
from commands.results import Code, Person, Post, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import (
    LOOKS_LIKE_CLOCK,
    deadline,
    describe,
    is_working_day,
    local_to_utc,
    parse_clock,
)
from commands.text.recurrence import describe_rule, first_day, next_day, parse_rule
from storage import poll_schedules as store
from storage import polls as poll_store
from storage.models import Cluster, Poll, PollSchedule

log = logging.getLogger(__name__)

OPENS_EXAMPLE = '/poll "Which audit next?" "Asthma" "Frailty" opens monday 09:00 closes friday'
EVERY_EXAMPLE = '/poll "Attending Thursday\'s meeting?" "Yes" "No" every monday 09:00 closes wednesday'
POSTING_CLOCK = time(9, 0)   # when a timetabled poll goes out unless a time is given
REMIND_CLOCK = time(10, 0)   # the automatic reminder goes at this local time on the working day before the close
REMIND_LOOKAHEAD = timedelta(days=10)  # the longest run of non-working days before a close (Christmas) fits
WORDS = {"opens", "every", "remind"}
core.SETTING_WORDS.update(WORDS)  # so that `closes <date>` stops at them


@dataclass
class Timetable:
    opens_at: datetime            # the first posting
    rule: str | None = None       # every …: an RRULE
    clock: time = POSTING_CLOCK
    closes_words: list[str] | None = None  # read from the first posting's day, not from today


def _stops() -> set[str]:
    return core.SETTING_WORDS | WORDS


def _take(words: list[str], start: int) -> tuple[list[str], int]:
    """The words of a setting's value: up to the next setting word."""
    end = start
    while end < len(words) and words[end].lower() not in _stops():
        end += 1
    return words[start:end], end


def read_settings(ctx: Context, draft: core.Draft, words: list[str]) -> list[str]:
    """Take `opens …`, `every …` and `remind on|off` out of a new poll's settings (and, for a timetabled
    poll, its `closes …`, which counts from the day it is posted)."""
    left: list[str] = []
    found: dict[str, list[str]] = {}  # opens, every, closes: the words of each
    i = 0
    while i < len(words):
        word = words[i].lower()
        if word == "remind":
            setting = words[i + 1].lower() if i + 1 < len(words) else ""
            if setting not in ("on", "off"):
                raise Refusal("After remind, say on or off: on (the default) reminds the practices that have not "
                              "voted once, the working day before the poll closes.",
                              example=core.CREATE_EXAMPLE + " remind off")
            draft.remind = setting == "on"
            i += 2
        elif word in ("opens", "every", "closes"):
            found[word], end = _take(words, i + 1)
            i = end
        else:
            left.append(words[i])
            i += 1
    if "opens" not in found and "every" not in found:
        return left + (["closes", *found["closes"]] if "closes" in found else [])
    if "opens" in found and "every" in found:
        raise Refusal("Give opens (post it once, later) or every (post it again and again), not both.",
                      example=EVERY_EXAMPLE)
    draft.timetable = _opens(ctx, found["opens"]) if "opens" in found else _every(ctx, found["every"])
    draft.timetable.closes_words = found.get("closes")
    return left


def _opens(ctx: Context, words: list[str]) -> Timetable:
    if not words:
        raise Refusal("Say when it opens: a date, and a time if not 09:00.", example=OPENS_EXAMPLE)
    opens_at = deadline(words, now=ctx.now(), tz=ctx.time_zone, example=OPENS_EXAMPLE, default=POSTING_CLOCK)
    return Timetable(opens_at)


def _every(ctx: Context, words: list[str]) -> Timetable:
    clock = POSTING_CLOCK
    if words and LOOKS_LIKE_CLOCK.match(words[-1]):
        clock, words = parse_clock(words[-1], EVERY_EXAMPLE), words[:-1]
    rule = parse_rule(words, EVERY_EXAMPLE)
    now_local = ctx.now().astimezone(ZoneInfo(ctx.time_zone))
    day = first_day(rule, now_local, clock)
    return Timetable(local_to_utc(day, clock, ctx.time_zone), rule, clock)


def _local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


NOT_SETTINGS = {"question", "options", "closes_at", "remind", "timetable", "id", "cluster_id", "short_id",
                "created_by", "created_at", "submission_key"}


def _settings(draft: core.Draft) -> dict:
    """What the draft holds that a poll keeps in a column of its own (per_practice, pick, …, and the
    settings of any other kind of poll), for every poll the timetable posts."""
    columns = Poll.__table__.columns.keys()
    return {f.name: getattr(draft, f.name) for f in fields(draft) if f.name in columns and f.name not in NOT_SETTINGS}


def post_later(ctx: Context, draft: core.Draft) -> Reply | None:
    """A poll with `opens` or `every` is put on the timetable instead of posted now; said back with the
    dates understood."""
    plan = draft.timetable
    if not isinstance(plan, Timetable):
        return None
    cluster = ctx.require_cluster()
    first_local = _local(plan.opens_at, ctx.time_zone)
    when = describe(plan.opens_at, ctx.time_zone)
    days, closes_clock, first_close = None, None, None
    if plan.closes_words is not None:
        example = EVERY_EXAMPLE if plan.rule else OPENS_EXAMPLE
        try:
            first_close = deadline(plan.closes_words, now=plan.opens_at, tz=ctx.time_zone, example=example)
        except Refusal as refusal:
            if "has already passed" not in str(refusal):
                raise
            raise Refusal(f"It would close before it opens ({when}): closes counts from the day it opens, so "
                          "give a later day, like friday or in 3 days.", example=example) from None
        close_local = _local(first_close, ctx.time_zone)
        days, closes_clock = (close_local.date() - first_local.date()).days, close_local.time()
    schedule = store.create_schedule(session=ctx.session, cluster=cluster, schedule=PollSchedule(
        cluster_id=cluster.id, short_id="", question=draft.question, options=draft.options,
        settings=_settings(draft), remind=draft.remind, recurrence=plan.rule,
        clock=f"{plan.clock:%H:%M}" if plan.rule else f"{first_local:%H:%M}", closes_after_days=days,
        closes_clock=f"{closes_clock:%H:%M}" if closes_clock else None, next_at=plan.opens_at,
        created_by=ctx.caller.user_id))
    lines = [line(Person(ctx.caller.user_id), " put a poll on the timetable: ", Code(schedule.short_id), " ",
                  Strong(schedule.question))]
    if plan.rule:
        lines.append(line(f"Posted {describe_rule(plan.rule)} at {plan.clock:%H:%M}, each time as a new poll; "
                          "the first on ", Strong(when), "."))
    else:
        lines.append(line("It will be posted on ", Strong(when), "."))
    if first_close is not None:
        each = "Each closes" if plan.rule else "It closes"
        later = "the same day" if days == 0 else f"{days} day{'s' if days != 1 else ''} after it is posted"
        lines.append(line(f"{each} {later} at {closes_clock:%H:%M}", " (the first " if plan.rule else " (",
                          Strong(describe(first_close, ctx.time_zone)), ")",
                          "; practices that have not voted are reminded the working day before." if draft.remind
                          else "; no automatic reminder."))
    lines.append(line("See what is timetabled: ", Code("/poll scheduled"), " · stop it: ",
                      Code(f"/poll stop {schedule.short_id}")))
    return Reply.announce(*lines)


# --- listing and stopping ------------------------------------------------------------------------

def _repeats(schedule: PollSchedule) -> str:
    if schedule.recurrence:
        return f"{describe_rule(schedule.recurrence)} at {schedule.clock}"
    return "once"


def _closes(schedule: PollSchedule) -> str:
    if schedule.closes_after_days is None:
        return "no deadline"
    days = schedule.closes_after_days
    return f"closes {'the same day' if days == 0 else f'{days} day' + ('s' if days != 1 else '') + ' later'} " \
           f"at {schedule.closes_clock}"


@subcommand(core.POLL, "scheduled", "/poll scheduled",
            "polls on the timetable (opens <date> or every <rule> after the options): when each is posted next")
def scheduled(ctx: Context, rest: str) -> Reply:
    cluster = ctx.require_cluster()
    schedules = store.active_schedules(session=ctx.session, cluster=cluster)
    if not schedules:
        return Reply.tell(line("No polls on the timetable. Post one later: ", Code(OPENS_EXAMPLE)))
    lines = [line(Strong(f"Polls on the timetable in {cluster.name}"))]
    for s in schedules:
        lines.append(line("• ", Code(s.short_id), " ", s.question, f" — next {describe(s.next_at, ctx.time_zone)}"
                          f" · {_repeats(s)} · {_closes(s)}", f" · posted {s.posted} so far" if s.posted else "",
                          " · by ", Person(s.created_by)))
    lines.append(line("Stop one: ", Code(f"/poll stop {schedules[0].short_id}")))
    return Reply.tell(*lines)


def _schedule(ctx: Context, token: str, example: str) -> PollSchedule:
    if token[:1] in ("P", "p") and token[1:].isdecimal():
        raise Refusal(f"{token.upper()} is a posted poll: stop takes a timetable's id (S1). To end a posted poll, "
                      "close it.", example=f"/poll close {token.upper()}")
    number = token[1:] if token[:1] in ("S", "s") else ""
    if not (number.isdecimal() and number.isascii() and len(number) <= 9):
        raise Refusal(f"“{token[:20]}” isn't a timetabled poll's id: they look like S1.", example="/poll scheduled")
    found = store.find_schedule(session=ctx.session, cluster=ctx.require_cluster(), short_id=f"S{int(number)}")
    if found is None:
        raise Refusal(f"There's no timetabled poll S{int(number)} in this cluster.", example="/poll scheduled")
    return found


@subcommand(core.POLL, "stop S1", "/poll stop S1", "stop a timetabled poll: no more postings (its creator or a lead)",
            members_only=True, audited=True)
def stop(ctx: Context, rest: str) -> Reply:
    example = "/poll stop S1"
    token, extra = parsing.split_first(rest)
    if not token:
        raise Refusal("Say which timetabled poll to stop (see the list).", example="/poll scheduled")
    if extra:
        raise Refusal("stop takes one id.", example=example)
    schedule = _schedule(ctx, token, example)
    ctx.require_owner_or_lead(schedule.created_by, f"timetabled {schedule.short_id}", "/poll stop")
    if not store.stop_schedule(session=ctx.session, schedule=schedule, by=ctx.caller.user_id, now=ctx.now()):
        return Reply.tell(line(Code(schedule.short_id), " is not on the timetable any more: nothing to stop."))
    posted = store.posted_by(session=ctx.session, schedule=schedule)
    kept = (f" The polls it posted ({', '.join(posted)}) stay as they are." if posted else "")
    return Reply.announce(line(Person(ctx.caller.user_id), " stopped ", Code(schedule.short_id), " ",
                               Strong(schedule.question), f": it will not be posted again.{kept}"))


# --- the tick: postings and reminders --------------------------------------------------------------

def _due_postings(session, now: datetime, time_zone: str) -> list[int]:
    return store.due_schedules(session=session, now=now)


def _next_posting(schedule: PollSchedule, tz: str, after: datetime) -> datetime | None:
    """The posting after `after` (a missed run, the bot being down, is skipped, not posted late twice)."""
    if not schedule.recurrence:
        return None
    clock = parse_clock(schedule.clock, EVERY_EXAMPLE)
    day = _local(schedule.next_at, tz).date()
    while True:
        day = next_day(schedule.recurrence, day, clock)
        moment = local_to_utc(day, clock, tz)
        if moment > after:
            return moment


def _post(ctx_for, session, item: int, now: datetime) -> list:
    schedule = session.get(PollSchedule, item)
    cluster = session.get(Cluster, schedule.cluster_id)
    ctx = ctx_for(session, cluster, Caller(core.SYSTEM, cluster.channel_id, cluster.team_id))
    if schedule.settings.get("anonymous") and ctx.ballot_key is None:  # left due until a process with the key posts it
        log.warning("poll schedule %s is due but anonymous and BALLOT_KEY is not set", schedule.id)
        return []
    due_at = schedule.next_at
    if not store.claim_posting(session=session, schedule=schedule, due_at=due_at,
                               then=_next_posting(schedule, cluster.time_zone, now)):
        return []  # another process posted it
    closes_at = None
    if schedule.closes_after_days is not None:
        day = _local(due_at, cluster.time_zone).date() + timedelta(days=schedule.closes_after_days)
        closes_at = local_to_utc(day, parse_clock(schedule.closes_clock, EVERY_EXAMPLE), cluster.time_zone)
        if closes_at <= now:  # so late that it would close before anyone saw it
            log.warning("poll schedule %s: a posting was missed (its deadline has passed)", schedule.id)
            return []
    poll = poll_store.create_poll(session=session, cluster=cluster, poll=Poll(
        **{k: v for k, v in schedule.settings.items() if k in Poll.__table__.columns and k not in NOT_SETTINGS},
        cluster_id=cluster.id, short_id="", question=schedule.question, options=list(schedule.options),
        closes_at=closes_at, created_by=schedule.created_by, remind=schedule.remind, schedule_id=schedule.id))
    return [Post(f"poll:{poll.id}", cluster.channel_id, core.card(ctx, poll))]


def remind_at(closes_at: datetime, tz: str) -> datetime:
    """The automatic reminder's time: REMIND_CLOCK on the last working day before the closing day."""
    day: date = _local(closes_at, tz).date() - timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return local_to_utc(day, REMIND_CLOCK, tz)


def _due_reminders(session, now: datetime, time_zone: str) -> list[int]:
    """Polls whose reminder time has come. A poll made after its reminder time (it closes the next working
    day) is not reminded: everyone has just seen it."""
    due = []
    for poll_id, closes_at, created_at, tz in store.reminder_candidates(session=session, now=now,
                                                                       within=REMIND_LOOKAHEAD):
        at = remind_at(closes_at, tz)
        if created_at < at <= now:
            due.append(poll_id)
    return due


def _remind(ctx_for, session, item: int, now: datetime) -> list:
    if not store.claim_reminder(session=session, poll_id=item, now=now):
        return []  # another process reminded, or it closed
    poll = session.get(Poll, item)
    cluster = session.get(Cluster, poll.cluster_id)
    ctx = ctx_for(session, cluster, Caller(core.SYSTEM, cluster.channel_id, cluster.team_id))
    return core.reminders(ctx, poll, core.not_voted(ctx, poll), asked_by=None)


core.SETTING_READERS.append(read_settings)
core.BEFORE_POSTING.append(post_later)
TICKS.append((_due_postings, _post))
TICKS.append((_due_reminders, _remind))
