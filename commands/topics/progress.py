"""/topic score: a topic's progress on the IHI / Life QI scale (0.5 intending … 5 outstanding), said back with
its label; once a month, on the measures' data-due day, each active topic's proposer (or the leads, when the
proposer has left) is asked for it with one-tap buttons. The history shows in `/topic show` and the Home."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from commands.context import Caller, Context
from commands.errors import Refusal
from commands.measures.admin import working_day
from commands.registry import TICKS, button, subcommand
from commands.results import Button, Code, Direct, Line, Person, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import describe_day, local_today
from commands.topics import core
from storage import progress as store
from storage.models import Cluster, Topic, TopicStatus

SCALE = store.SCALE  # the IHI / Life QI progress scale, in half-points (1 = 0.5 … 10 = 5)
SCORE_EXAMPLE = "/topic score T3 3.5"
MONTH_AHEAD = 14  # hours: the earliest time zone is UTC+14
SYSTEM = "clusterbot"


def number(halves: int) -> str:
    """2 -> "1", 7 -> "3.5"."""
    return str(halves // 2) if halves % 2 == 0 else f"{halves / 2:g}"


def described(halves: int) -> str:
    """"3 modest improvement"."""
    return f"{number(halves)} {SCALE[halves]}"


def read_score(word: str, example: str) -> int:
    """A typed score as half-points; anything off the half-point scale from 0.5 to 5 is refused."""
    text = word.strip().replace(",", ".").replace("½", ".5")
    try:
        halves = float(text) * 2
    except ValueError:
        halves = -1.0
    if halves != int(halves) or int(halves) not in SCALE:
        what = f"“{parsing.shorten(word, 12)}” isn't on the progress scale" if word else "Give the score"
        raise Refusal(f"{what}: use a half-point from 0.5 to 5 (0.5 intending, 1 forming, 1.5 planning, 2 activity, "
                      "2.5 changes tested, 3 modest improvement, 3.5 improvement, 4 significant, 4.5 sustainable, "
                      "5 outstanding).", example=example)
    return int(halves)


def score_buttons(topic: Topic, channel: str | None = None) -> list[Button]:
    return [Button(described(h), "topic.score", f"{topic.short_id}:{number(h)}", channel=channel) for h in SCALE]


@subcommand(core.TOPIC, "score T3 <0.5-5>", SCORE_EXAMPLE,
            "the topic's progress on the IHI scale (0.5 intending … 5 outstanding)", members_only=True)
def score(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    topic = core._topic(ctx, token, SCORE_EXAMPLE)
    word = parsing.split_first(rest)[0]
    example = f"/topic score {topic.short_id} 3.5"
    if not word:
        reply = Reply.tell(line("Where is ", Code(topic.short_id), f" {topic.title} on the progress scale? "
                                "Pick one, or type ", Code(example), "."))
        reply.buttons = score_buttons(topic)
        return reply
    return _give(ctx, topic, read_score(word, example))


def _give(ctx: Context, topic: Topic, halves: int) -> Reply:
    ctx.require_member("score topics")
    if topic.status in (TopicStatus.DROPPED,):
        raise Refusal(f"{topic.short_id} is dropped: scores are for topics the cluster is working on.",
                      example="/topic list active")
    before = store.scores(session=ctx.session, topic=topic, most=1)
    store.add_score(session=ctx.session, topic=topic, halves=halves, by=ctx.caller.user_id)
    was = f" (was {described(before[-1].halves)})" if before else ""
    return Reply.announce(line(Person(ctx.caller.user_id), " scored ", Code(topic.short_id), f" {topic.title}: ",
                               Strong(described(halves)), f" on the progress scale{was}."))


@button("topic.score", members_only=True)
def score_button(ctx: Context, value: str) -> Reply:
    token, _, word = value.partition(":")
    topic = core._topic(ctx, token, SCORE_EXAMPLE)
    return _give(ctx, topic, read_score(word, f"/topic score {topic.short_id} 3.5"))


# --- the history, in `/topic show` and the Home ----------------------------------------------------

def show_lines(ctx: Context, topic: Topic) -> list[Line]:
    history = store.scores(session=ctx.session, topic=topic)
    if not history:
        return []
    lines = [line(Strong("Progress (IHI scale)"))]
    for given in history:
        day = describe_day(given.at.astimezone(ZoneInfo(ctx.time_zone)).date())
        lines.append(line(f"• {day}: {described(given.halves)} (", Person(given.by), ")"))
    return lines


def trail(halves: list[int]) -> str:
    """" — progress 2 → 2.5 → 3 modest improvement" for a topic's line (nothing when never scored)."""
    if not halves:
        return ""
    return " — progress " + " → ".join([*(number(h) for h in halves[:-1]), described(halves[-1])])


core.SHOW_PARTS.append(show_lines)


# --- once a month, on the measures' data-due day --------------------------------------------------

def _asks_due(session, now: datetime, time_zone: str) -> list[int]:
    """Clusters whose data-due day this month has come and whose scores have not been asked this month."""
    latest = (now + timedelta(hours=MONTH_AHEAD)).date().replace(day=1)
    due = []
    for pending in store.asks_pending(session=session, before=latest):
        today = local_today(now, pending.time_zone or time_zone)
        if today >= working_day(today, pending.working_day) and pending.scores_month != today.replace(day=1):
            due.append(pending.cluster_id)
    return due


def _ask(ctx_for, session, cluster_id: int, now: datetime) -> list:
    cluster = session.get(Cluster, cluster_id)
    ctx = ctx_for(session, cluster, Caller(SYSTEM, cluster.channel_id, cluster.team_id))
    month = local_today(now, ctx.time_zone).replace(day=1)
    if not store.asks_sent(session=session, cluster=cluster, month=month):
        return []  # another process asked
    members, leads = store.people(session=session, cluster=cluster)
    effects = []
    for topic in store.active_topics(session=session, cluster=cluster):
        if not store.claim_ask(session=session, topic=topic, month=month):
            continue
        last = store.scores(session=session, topic=topic, most=1)
        reply = Reply.tell(
            line(Strong(f"Monthly progress score: {topic.short_id} {topic.title} ({cluster.name})")),
            line("Where is it now on the IHI progress scale? One tap records it for the cluster",
                 f"; last time: {described(last[-1].halves)}." if last else "."),
            line("Or type ", Code(f"/topic score {topic.short_id} 3"), " in the cluster's channel."))
        reply.buttons = score_buttons(topic, cluster.channel_id)
        for user in ([topic.proposed_by] if topic.proposed_by in members else leads):
            effects.append(Direct(user, reply, team_id=cluster.team_id))
    return effects


TICKS.append((_asks_due, _ask))
