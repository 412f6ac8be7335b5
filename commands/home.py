"""Each person's clusters at a glance (Slack's App Home), and a first minute that works (onboarding)."""

from collections import Counter

from commands.cluster import join
from commands.context import Caller, Context
from commands.measures import news as measure_news
from commands.polls import core as polls
from commands.registry import button, help_lines
from commands.results import Button, Code, Line, Person, Reply, Strong, line
from commands.text.dates import describe, describe_day, local_today
from commands.topics import drivers, progress
from storage import actions as action_store
from storage import clusters as cluster_store
from storage import meetings as meeting_store
from storage import polls as poll_store
from storage import progress as progress_store
from storage import qi as qi_store
from storage import topics as topic_store
from storage.models import ActionStatus, Cluster, Member, Practice, Role, TopicStatus

SOURCE_NAMES = {"practices": "our practices", "board": "Health Board", "hscp": "HSCP",
                "national": "national programme", "other": "other"}
SHOW = 10  # items per section: the Home tab holds 100 blocks at most


def home(ctx_for, session, team_id: str, user_id: str, enterprise_id: str | None = None) -> Reply:
    """The person's Home: one section per cluster they belong to, then help."""
    reply = Reply.tell()
    found = (cluster_store.memberships_anywhere(session=session, user_id=user_id, team_id=team_id,
                                                enterprise_id=enterprise_id) if enterprise_id
             else cluster_store.memberships(session=session, team_id=team_id, user_id=user_id))
    if not found:
        reply.lines += [
            line(Strong("Welcome to clusterbot")),
            line("You're not in a cluster yet. A GP cluster here is a channel: ask your Cluster Quality "
                 "Lead which one is yours, join it, and pick your practice with ", Code("/cluster join 80123"), "."),
            line("Setting a cluster up? In its channel, type ", Code("/cluster setup Riverside Cluster"), "."),
        ]
    for cluster, member in found:
        ctx = ctx_for(session, cluster, Caller(user_id, cluster.channel_id, team_id), member)
        _cluster_section(ctx, cluster, member, reply)
    reply.lines += [line(Strong("What you can do")), *help_lines()]
    return reply


def _add(reply: Reply, segments: Line, button: Button | None = None) -> None:
    if button:
        reply.line_buttons[len(reply.lines)] = button
    reply.lines.append(segments)


def _cluster_section(ctx: Context, cluster: Cluster, member: Member, reply: Reply) -> None:
    """A fixed number of queries, however many polls, measures or actions the cluster has."""
    practices = cluster_store.list_practices(session=ctx.session, cluster=cluster)
    practice = next((p for p in practices if p.id == member.practice_id), None)
    role = "you lead this cluster" if member.role == Role.LEAD else ""
    where = ", ".join(p for p in (practice.name if practice else "no practice yet", role) if p)
    reply.lines.append(line(Strong(cluster.name), f" ({where})"))
    today = local_today(ctx.now(), ctx.time_zone)

    mine = action_store.list_actions(session=ctx.session, cluster=cluster, limit=SHOW, which=action_store.ActionFilter(
        status=ActionStatus.OPEN, owner=member.user_id))
    reply.lines.append(line(Strong("Your open actions")))
    if not mine:
        reply.lines.append(line("None: nothing is waiting for you."))
    for action in sorted(mine, key=lambda a: (a.due_on is None or a.due_on >= today, a.due_on or today)):
        overdue = "⚠️ overdue · " if action.due_on and action.due_on < today else ""
        due = f"due {describe_day(action.due_on)}" if action.due_on else "no due date"
        _add(reply, line("• ", Code(action.short_id), " ", action.description, f" — {overdue}{due}"),
             Button("Done", "action.done", action.short_id, channel=cluster.channel_id))

    reply.lines += measure_news.data_due_lines(ctx, cluster, member.practice_id)

    open_polls = [p for p in poll_store.list_polls(session=ctx.session, cluster=cluster, closed_since=ctx.now())
                  if p.closed_at is None]
    keys = poll_store.voter_keys_of(session=ctx.session, polls=open_polls)
    waiting = [p for p in open_polls if not _has_voted(ctx, p, member, keys[p.id])]
    if waiting:
        reply.lines.append(line(Strong("Polls waiting for your (practice's) vote")))
    for poll in waiting[:SHOW]:
        reply.lines.append(line(Code(poll.short_id), " ", poll.question,
                                *((f" (closes {describe(poll.closes_at, ctx.time_zone)})",) if poll.closes_at else ())))
        for number, option in enumerate(poll.options, start=1):
            _add(reply, line(f"    {number}. ", option),
                 Button("Vote", "poll.vote", f"{poll.short_id}:{number}", channel=cluster.channel_id))

    upcoming = meeting_store.upcoming_meetings(session=ctx.session, cluster=cluster, since=ctx.now())
    if upcoming:
        meeting = upcoming[0]
        reply.lines.append(line(Strong("Next meeting")))
        _add(reply, line(Code(meeting.short_id), " ", meeting.title, f" — {describe(meeting.starts_at, ctx.time_zone)}",
                         *((" · ", meeting.place) if meeting.place else ())),
             Button("Agenda", "meeting.agenda", meeting.short_id, channel=cluster.channel_id))

    working = topic_store.list_topics(session=ctx.session, cluster=cluster,
                                      statuses=[TopicStatus.AGREED, TopicStatus.ACTIVE])
    if working:
        reply.lines.append(line(Strong("Topics the cluster is working on")))
        ids = [t.id for t in working[:SHOW]]
        scored = progress_store.scores_of(session=ctx.session, topic_ids=ids)
        counts = qi_store.counts_of(session=ctx.session, topic_ids=ids)  # one query, however many topics
        for t in working[:SHOW]:
            trail = progress.trail(scored.get(t.id, []))
            reply.lines += [line("• ", Code(t.short_id), f" {t.title} ({t.status}){trail}"),
                            line(f"    {drivers.at_a_glance(bool(t.aim), counts.get(t.id))}")]
    if member.role == Role.LEAD:
        _lead_summary(ctx, cluster, reply, today, practices, open_polls)


def _has_voted(ctx: Context, poll, member: Member, keys: set[str]) -> bool:
    if poll.per_practice and member.practice_id is None:
        return True  # nothing to ask of someone in no practice
    return polls.has_voted(ctx, poll, member, keys)


def _lead_summary(ctx: Context, cluster: Cluster, reply: Reply, today, practices: list[Practice],
                  open_polls: list) -> None:
    reply.lines.append(line(Strong("For leads: the cluster at a glance")))
    turnout = polls.turnouts(ctx, open_polls, cluster, practices)
    for poll in open_polls:
        reply.lines.append(line("• Poll ", Code(poll.short_id), f" {poll.question}: {turnout[poll.id].words(poll)}"))
    overdue = action_store.action_counts(session=ctx.session, cluster=cluster, today=today, soon=today,
                                         which=action_store.ActionFilter(status=ActionStatus.OPEN,
                                                                         due_before=today))
    if overdue.overdue:
        by_practice = ", ".join(f"{name} {n}" for name, n, _ in overdue.by_practice if n)
        reply.lines.append(line(f"• Overdue actions: {overdue.overdue} ({by_practice})"))
    else:
        reply.lines.append(line("• No overdue actions."))
    sources = Counter(t.source for t in topic_store.list_topics(
        session=ctx.session, cluster=cluster, statuses=[s.value for s in TopicStatus if s != TopicStatus.DROPPED]))
    if sources:
        reply.lines.append(line("• Topics by source: " + ", ".join(f"{SOURCE_NAMES[s]} {n}"
                                                                  for s, n in sources.most_common())))


# --- onboarding ----------------------------------------------------------------------------------

def welcome(ctx: Context, bot_joined: bool, added_by: str | None = None) -> Reply:
    """Someone joined a channel. A new member of a cluster gets a practice picker; the bot, added to a
    channel that is not a cluster yet, says how to make it one."""
    if ctx.cluster is None:
        if not bot_joined:
            return Reply()
        thanks = [" Thanks for adding me, ", Person(added_by), "."] if added_by else []
        return Reply.announce(
            line("Hello! I'm clusterbot, the cluster's administrator: QI topics, polls by practice, the action "
                 "log and meetings.", *thanks),
            line("This channel isn't a cluster yet. The Cluster Quality Lead can make it one: ",
                 Code("/cluster setup Riverside Cluster")))
    if bot_joined or (ctx.member is not None and ctx.member.practice_id is not None):
        return Reply()
    practices = cluster_store.list_practices(session=ctx.session, cluster=ctx.cluster)
    reply = Reply.tell(line(Strong(f"Welcome to {ctx.cluster.name}!"), " Which practice are you from?"))
    if not practices:
        reply.lines.append(line("No practices are registered yet; a lead adds them with ",
                                Code("/cluster practice add 80123 Riverside Medical Practice"), "."))
    reply.buttons = [Button(f"{p.name} ({p.code})", "cluster.join", p.code) for p in practices[:SHOW * 2]]
    reply.lines.append(line("Not from a practice (HSCP, Health Board)? You can still take part; ",
                            Code("/cluster help"), " shows everything."))
    return reply


@button("cluster.join")
def join_button(ctx: Context, value: str) -> Reply:
    ctx.require_cluster()
    return join(ctx, value)

