"""/measure edit, retire, rebase and nudges, and the monthly data-due reminders."""

from datetime import date, datetime, timedelta

from analysis import periods as period_tools
from commands.context import Caller, Context
from commands.errors import Refusal
from commands.measures import news as measure_news
from commands.measures.core import (
    CHART_NAMES,
    CHARTS,
    MEASURE,
    _card,
    _goal,
    _name,
    _require_change,
    _text,
    describe_settings,
    find_measure,
    read_period,
)
from commands.registry import TICKS, subcommand
from commands.results import Code, Direct, Person, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import local_today, nth_working_day
from storage import clusters as cluster_store
from storage import measures as store
from storage.models import MEASURE_TEXT_MAX, Cluster, MeasureStatus, Practice

EDIT_EXAMPLE = "/measure edit D1 goal 85"
EDIT_WORDS = "name <text>, definition <text>, goal <value> (or goal none), higher is better, lower is better, " \
             "chart run|anhoej|xmr|p"
REBASE_EXAMPLE = "/measure rebase D1 from Apr 2026"
NUDGE_EXAMPLE = "/measure nudges 5"
MONTH_AHEAD = timedelta(hours=14)  # the earliest time zone is UTC+14
SYSTEM = "clusterbot"


@subcommand(MEASURE, "edit D1 <what> <new value>", EDIT_EXAMPLE,
            "change a measure's name, definition, goal, direction of good or chart", audited=True)
def edit(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    measure = find_measure(ctx, token, EDIT_EXAMPLE)
    _require_change(ctx, measure)
    word, value = parsing.split_first(rest)
    word = word.lower()
    if word == "name":
        measure.name = _name(value, EDIT_EXAMPLE)
    elif word == "definition":
        measure.definition = _text(value, "definition", MEASURE_TEXT_MAX, EDIT_EXAMPLE)
    elif word == "goal" and value:
        measure.goal = _goal(measure, value.split()[0], EDIT_EXAMPLE)
    elif word in ("higher", "lower"):
        measure.higher_is_better = word == "higher"
    elif word == "direction" and value.lower() in ("none", "neither"):
        measure.higher_is_better = None
    elif word == "chart" and value.lower() in CHARTS:
        measure.chart = CHARTS[value.lower()]
    else:
        raise Refusal(f"Say what to change: {EDIT_WORDS}.", example=EDIT_EXAMPLE)
    store.touch(session=ctx.session, measure=measure)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " changed ", Code(measure.short_id), ":"),
                           *_card(ctx, measure))
    reply.lines.append(line(f"Chart: {CHART_NAMES[measure.chart]}."))
    return reply


@subcommand(MEASURE, "retire D1", "/measure retire D1", "stop collecting a measure (its data stays)", audited=True)
def retire(ctx: Context, rest: str) -> Reply:
    measure = find_measure(ctx, parsing.split_first(rest)[0], "/measure retire D1")
    _require_change(ctx, measure)
    if measure.status == MeasureStatus.RETIRED:
        return Reply.tell(line(Code(measure.short_id), " is retired already."))
    measure.status, measure.retired_at, measure.retired_by = MeasureStatus.RETIRED, ctx.now(), ctx.caller.user_id
    store.touch(session=ctx.session, measure=measure)
    return Reply.announce(line(Person(ctx.caller.user_id), " retired ", Code(measure.short_id), f" {measure.name}: "
                               "no more data is asked for; what was recorded stays in charts and exports."))


@subcommand(MEASURE, "rebase D1 from <period>", REBASE_EXAMPLE,
            "start a new median from a period, after a sustained change (`off` undoes)", leads_only=True)
def rebase(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    measure = find_measure(ctx, token, REBASE_EXAMPLE)
    word, when = parsing.split_first(rest)
    if word.lower() in ("off", "none", "undo"):
        measure.rebases = []
        store.touch(session=ctx.session, measure=measure)
        return Reply.announce(line(Person(ctx.caller.user_id), " removed the rebases of ", Code(measure.short_id),
                                   ": one median again, from the first 12 points."))
    if word.lower() != "from" or not when:
        raise Refusal("Say the first period of the new baseline after “from”.", example=REBASE_EXAMPLE)
    period = read_period(ctx, measure, when, REBASE_EXAMPLE)
    measure.rebases = sorted({*measure.rebases, period.isoformat()})
    store.touch(session=ctx.session, measure=measure)
    label = period_tools.label(period, measure.frequency)
    return Reply.announce(line(Person(ctx.caller.user_id), " rebased ", Code(measure.short_id), f" {measure.name} "
                               f"from {label}: the median starts again there, from its first 12 points."))


@subcommand(MEASURE, "nudges <working day>|off", NUDGE_EXAMPLE,
            "which working day of the month data-due reminders go (default 5)", leads_only=True)
def nudges(ctx: Context, rest: str) -> Reply:
    word = parsing.split_first(rest)[0].lower().rstrip("stndrh") or ""
    if word in ("off", "of", "never"):
        day = 0
    elif word.isdigit() and 1 <= int(word) <= 20:
        day = int(word)
    else:
        current = store.nudge_day(session=ctx.session, cluster=ctx.require_cluster())
        now = f"the {_ordinal(current)} working day" if current else "off"
        raise Refusal(f"Give a working day of the month from 1 to 20, or off (now: {now}).", example=NUDGE_EXAMPLE)
    store.set_nudge_day(session=ctx.session, cluster=ctx.require_cluster(), day=day)
    if not day:
        return Reply.announce(line(Person(ctx.caller.user_id), " turned data-due reminders off."))
    return Reply.announce(line(Person(ctx.caller.user_id), " set data-due reminders for the ", Strong(_ordinal(day)),
                               " working day of each month: practices that haven't recorded last period hear then."))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- data-due reminders ------------------------------------------------------------------------------

def working_day(month: date, n: int) -> date:
    """The nth working day of the month `month` falls in, Scottish bank holidays skipped."""
    return nth_working_day(month, n)


def _nudges_due(session, now: datetime, time_zone: str) -> list[int]:
    """Clusters whose reminder day this month has come and whose reminders have not gone this month
    (late rather than never). One query; once a cluster's reminders went, it is not asked about again
    until next month."""
    latest = (now + MONTH_AHEAD).date().replace(day=1)  # no cluster's month is later than this one
    due = []
    for pending in store.nudges_pending(session=session, before=latest):
        today = local_today(now, pending.time_zone or time_zone)
        if today >= working_day(today, pending.working_day) and pending.nudged_month != today.replace(day=1):
            due.append(pending.cluster_id)
    return due


def missing_by_practice(ctx: Context) -> dict[int, list[tuple]]:
    """practice id -> [(measure, period)] for every active measure the practice has not recorded last period."""
    cluster = ctx.require_cluster()
    practices = cluster_store.list_practices(session=ctx.session, cluster=cluster)
    return measure_news.missing_data(ctx, cluster, [p.id for p in practices])


def _send_nudges(ctx_for, session, cluster_id: int, now: datetime) -> list:
    cluster = session.get(Cluster, cluster_id)
    ctx = ctx_for(session, cluster, Caller(SYSTEM, cluster.channel_id, cluster.team_id))
    month = local_today(now, ctx.time_zone).replace(day=1)  # one reminder per person per month
    if not store.nudges_sent(session=session, cluster=cluster, month=month):
        return []  # another process sent them
    missing = missing_by_practice(ctx)
    effects = []
    already = store.nudged(session=session, cluster=cluster, period=month)
    for member in store.members_of_practices(session=session, cluster=cluster, practice_ids=set(missing)):
        if member.user_id in already or not store.claim_nudge(session=session, cluster=cluster,
                                                              user_id=member.user_id, period=month):
            continue  # sent already, by this process or another
        practice = session.get(Practice, member.practice_id)
        reply = Reply.tell(line(Strong(f"Data due for {practice.name} in {cluster.name}")))
        for measure, period in missing[member.practice_id][:measure_news.MAX_DUE]:
            typed = period_tools.typed(period, measure.frequency)
            reply.lines.append(line("• ", Code(measure.short_id), f" {measure.name} ({describe_settings(measure)}) "
                                    f"for {period_tools.label(period, measure.frequency)}: ",
                                    Code(f"/measure record {measure.short_id} {typed} 42/120")))
        reply.lines += measure_news.more_due(missing[member.practice_id])
        reply.lines.append(line("Type it in the cluster's channel. ", Code("/measure nudges off"),
                                " (leads) stops these reminders."))
        effects.append(Direct(member.user_id, reply, team_id=cluster.team_id))
    return effects


TICKS.append((_nudges_due, _send_nudges))
