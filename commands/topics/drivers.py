"""/topic driver, idea and diagram: a topic's driver diagram (aim → primary drivers → secondary drivers →
change ideas), as text on the topic's card and as a picture.

Drivers are numbered within their topic (1, 2 … and 1.1, 1.2 … under primary 1); change ideas have a cluster-wide
id (C1, C2 …) because PDSA cycles (C4.1) and the run chart name them. Numbers are not shifted: a removed driver
leaves a gap rather than renaming the ones people wrote down (a new one takes the number after the highest).
"""

import re
from datetime import datetime

from analysis import driver_diagram as drawing
from commands.context import Context
from commands.errors import Refusal
from commands.registry import subcommand
from commands.results import Code, Line, Person, Reply, Strong, Upload, line, plain_text
from commands.text import parsing
from commands.text.dates import local_today
from commands.text.guard import refuse_patient_identifiers
from commands.topics import core
from commands.topics.core import TOPIC, _topic
from storage import progress as progress_store
from storage import qi as store
from storage.models import DRIVER_TEXT_MAX, ChangeIdea, PdsaCycle, Topic, TopicDriver

DRIVER_EXAMPLE = "/topic driver T3 Reliable follow-up after discharge"
SECONDARY_EXAMPLE = "/topic driver T3 1 Discharge letters reach the practice the same day"
IDEA_EXAMPLE = "/topic idea T3 1.1 Ward clerk emails the discharge list daily"
DIAGRAM_EXAMPLE = "/topic diagram T3"
DRIVER_NUMBER = re.compile(r"^(\d{1,3})(?:\.(\d{1,3}))?$")
DRIVERS_MAX = 60   # drivers of one topic: a diagram anyone can read
IDEAS_MAX = 120    # change ideas of one topic


IDEA_ID = re.compile(r"^[Cc](\d{1,9})$")


def find_idea(ctx: Context, token: str, example: str) -> ChangeIdea:
    """The change idea a typed id (C4) names, in this cluster only."""
    found = IDEA_ID.match(token or "")
    if not found:
        what = f"“{parsing.shorten(token)}” isn't a change idea's id" if token else "Say which change idea"
        raise Refusal(f"{what}: change ideas have ids like C4 (see a topic's card).", example=example)
    idea = store.find_idea(session=ctx.session, cluster=ctx.require_cluster(), short_id=f"C{int(found.group(1))}")
    if idea is None:
        raise Refusal(f"There's no change idea C{int(found.group(1))} in this cluster.", example="/topic list")
    return idea


def label_of(driver: TopicDriver, by_id: dict[int, TopicDriver]) -> str:
    return f"{by_id[driver.parent_id].number}.{driver.number}" if driver.parent_id else str(driver.number)


def _driver(ctx: Context, topic: Topic, token: str, example: str) -> TopicDriver:
    found = DRIVER_NUMBER.match(token or "")
    if not found:
        raise Refusal(f"“{parsing.shorten(token)}” isn't a driver's number: primary drivers are 1, 2 …, secondary "
                      "ones 1.1, 1.2 …", example=example)
    drivers = store.drivers(session=ctx.session, topic=topic)
    primary = next((d for d in drivers if d.parent_id is None and d.number == int(found.group(1))), None)
    wanted = primary
    if primary is not None and found.group(2):
        wanted = next((d for d in drivers if d.parent_id == primary.id and d.number == int(found.group(2))), None)
    if wanted is None:
        raise Refusal(f"{topic.short_id} has no driver {token}. Its diagram: ", Code(f"/topic show {topic.short_id}"),
                      example=example)
    return wanted


def _words(value: str, what: str, example: str) -> str:
    text = " ".join(value.split())
    if not text:
        raise Refusal(f"Say the {what}.", example=example)
    if len(text) > DRIVER_TEXT_MAX:
        raise Refusal(f"The {what} is {len(text)} characters; a box in the diagram takes {DRIVER_TEXT_MAX}.",
                      example=example)
    return refuse_patient_identifiers(text, what)


def _may_change(ctx: Context, by: str) -> bool:
    return ctx.is_lead or by == ctx.caller.user_id


# --- the diagram as data ---------------------------------------------------------------------------

def state_of(cycles: list[PdsaCycle]) -> str:
    """An idea's PDSA state from its latest cycle (a key of driver_diagram.STATES)."""
    if not cycles:
        return "untested"
    last = cycles[-1]
    return last.act or ("studied" if last.study else "doing" if last.done else "planned")


STATE_WORDS = {k: v[0] for k, v in drawing.STATES.items()}


def diagram_of(ctx: Context, topic: Topic) -> drawing.Diagram:
    drivers = store.drivers(session=ctx.session, topic=topic)
    by_id = {d.id: d for d in drivers}
    cycles = store.idea_cycles(session=ctx.session, topic=topic)
    shapes = {d.id: drawing.Driver(label_of(d, by_id), d.text) for d in drivers}
    for driver in drivers:
        if driver.parent_id:
            shapes[driver.parent_id].children.append(shapes[driver.id])
    for idea in store.ideas(session=ctx.session, topic=topic):
        tried = cycles.get(idea.id, [])
        shapes[idea.driver_id].ideas.append(drawing.Idea(
            idea.short_id, idea.text, state_of(tried), ", ".join(f"{idea.short_id}.{c.number}" for c in tried)))
    return drawing.Diagram(f"{topic.short_id} {topic.title}", topic.aim,
                           [shapes[d.id] for d in drivers if d.parent_id is None])


def diagram_lines(ctx: Context, topic: Topic) -> list[Line]:
    """The driver diagram as text, for the topic's card (core's `show` calls it through its hook)."""
    diagram = diagram_of(ctx, topic)
    if not diagram.drivers:
        return [line(Strong("Driver diagram")), line("No drivers yet. What must change to reach the aim? ",
                                                      Code(f"/topic driver {topic.short_id} <primary driver>"))]
    lines = [line(Strong("Driver diagram"), " (picture: ", Code(f"/topic diagram {topic.short_id}"), ")")]

    def ideas(driver: drawing.Driver, indent: str) -> None:
        for idea in driver.ideas:
            cycles = f": {idea.cycles}" if idea.cycles else ""
            lines.append(line(indent, "→ ", Code(idea.label), f" {idea.text} [PDSA {STATE_WORDS[idea.state]}{cycles}]"))

    for primary in diagram.drivers:
        lines.append(line(f"{primary.label}. ", primary.text))
        ideas(primary, "    ")
        for secondary in primary.children:
            lines.append(line(f"    {secondary.label} ", secondary.text))
            ideas(secondary, "        ")
    return lines


core.SHOW_PARTS.append(diagram_lines)


# --- typed commands --------------------------------------------------------------------------------

@subcommand(TOPIC, "driver T3 [<n>] <driver>", SECONDARY_EXAMPLE,
            "add a primary driver (1, 2 …) or, with its number, a secondary one under it (1.1, 1.2 …)",
            members_only=True)
def driver(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    topic = _topic(ctx, token, DRIVER_EXAMPLE)
    first, text = parsing.split_first(rest)
    parent = None
    if first.isdigit():
        parent = _driver(ctx, topic, first, SECONDARY_EXAMPLE.replace("T3", topic.short_id))
    else:
        text = rest
    text = _words(text, "driver", DRIVER_EXAMPLE.replace("T3", topic.short_id))
    if len(store.drivers(session=ctx.session, topic=topic)) >= DRIVERS_MAX:
        raise Refusal(f"{topic.short_id} has {DRIVERS_MAX} drivers, the most a diagram shows. Remove one first.",
                      example=f"/topic driver remove {topic.short_id} 2")
    added = store.add_driver(session=ctx.session, topic=topic, parent=parent, text=text, by=ctx.caller.user_id)
    label = f"{parent.number}.{added.number}" if parent else str(added.number)
    kind = f"secondary driver {label} (under {parent.number}. {parent.text})" if parent else f"primary driver {label}"
    return Reply.announce(
        line(Person(ctx.caller.user_id), f" added {kind} to ", Code(topic.short_id), " ", topic.title, ": ", text),
        line("Next: a change idea to test, ", Code(f"/topic idea {topic.short_id} {label} <idea>"),
             *(("; or a secondary driver, ", Code(f"/topic driver {topic.short_id} {label} <driver>"))
               if not parent else ())))


@subcommand(TOPIC, "idea T3 <driver> <change idea>", IDEA_EXAMPLE,
            "add a change idea under a driver (gets a cluster-wide id, C1, C2 …)", members_only=True)
def idea(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    topic = _topic(ctx, token, IDEA_EXAMPLE)
    example = IDEA_EXAMPLE.replace("T3", topic.short_id)
    number, text = parsing.split_first(rest)
    if not number:
        raise Refusal("Say which driver the idea serves (1, or 1.2) and the idea.", example=example)
    under = _driver(ctx, topic, number, example)
    text = _words(text, "change idea", example)
    if len(store.ideas(session=ctx.session, topic=topic)) >= IDEAS_MAX:
        raise Refusal(f"{topic.short_id} has {IDEAS_MAX} change ideas, the most a diagram shows. Remove one first.",
                      example="/topic idea remove C1")
    added = store.add_idea(session=ctx.session, cluster=ctx.require_cluster(), topic=topic, driver=under, text=text,
                           by=ctx.caller.user_id)
    return Reply.announce(
        line(Person(ctx.caller.user_id), " added change idea ", Code(added.short_id), " to ", Code(topic.short_id),
             f" (driver {number}. {under.text}): ", text),
        line("Test it on a small scale: ", Code(f"/pdsa plan {added.short_id} <what we will test> predict "
                                                "<what we expect>")))


@subcommand(TOPIC, "driver edit T3 <n> <driver>", "/topic driver edit T3 1.2 Letters reach the practice within a day",
            "reword a driver (yours, or any for leads)", members_only=True)
def driver_edit(ctx: Context, rest: str) -> Reply:
    example = "/topic driver edit T3 1.2 Letters reach the practice within a day"
    token, rest = parsing.split_first(rest)
    topic = _topic(ctx, token, example)
    number, text = parsing.split_first(rest)
    found = _driver(ctx, topic, number, example)
    if not _may_change(ctx, found.created_by):
        raise Refusal("Only whoever added driver ", Code(number), " (", Person(found.created_by),
                      ") or a lead can change it.", example=f"/topic show {topic.short_id}")
    before = found.text
    store.update_driver(session=ctx.session, driver=found, text=_words(text, "driver", example))
    return Reply.announce(line(Person(ctx.caller.user_id), f" reworded driver {number} of ", Code(topic.short_id),
                               ": ", found.text, " (was: ", before, ")"))


@subcommand(TOPIC, "driver remove T3 <n>", "/topic driver remove T3 1.2",
            "remove a driver that has no secondary drivers or ideas under it", members_only=True, audited=True)
def driver_remove(ctx: Context, rest: str) -> Reply:
    example = "/topic driver remove T3 1.2"
    token, rest = parsing.split_first(rest)
    topic = _topic(ctx, token, example)
    number = parsing.split_first(rest)[0]
    found = _driver(ctx, topic, number, example)
    if not _may_change(ctx, found.created_by):
        raise Refusal("Only whoever added driver ", Code(number), " (", Person(found.created_by),
                      ") or a lead can remove it.", example=f"/topic show {topic.short_id}")
    children = [d for d in store.drivers(session=ctx.session, topic=topic) if d.parent_id == found.id]
    under = [i.short_id for i in store.ideas(session=ctx.session, topic=topic) if i.driver_id == found.id]
    if children or under:
        what = ", ".join([*(f"driver {number}.{d.number}" for d in children), *under][:6])
        raise Refusal(f"Driver {number} still has {what} under it: remove or move those first, so no idea loses "
                      "its place in the diagram.", example=f"/topic idea move {under[0]} 1" if under else
                      f"/topic driver remove {topic.short_id} {number}.{children[0].number}")
    store.remove_driver(session=ctx.session, driver=found)
    return Reply.announce(line(Person(ctx.caller.user_id), f" removed driver {number} from ", Code(topic.short_id),
                               ": ", found.text))


def _idea_owned(ctx: Context, token: str, example: str, doing: str) -> ChangeIdea:
    found = find_idea(ctx, token, example)
    if not _may_change(ctx, found.created_by):
        raise Refusal(f"Only whoever added {found.short_id} (", Person(found.created_by),
                      f") or a lead can {doing} it.", example=f"/pdsa list {found.short_id}")
    return found


@subcommand(TOPIC, "idea edit C4 <change idea>", "/topic idea edit C4 Ward clerk emails the list by noon",
            "reword a change idea (yours, or any for leads)", members_only=True)
def idea_edit(ctx: Context, rest: str) -> Reply:
    example = "/topic idea edit C4 Ward clerk emails the list by noon"
    token, text = parsing.split_first(rest)
    found = _idea_owned(ctx, token, example, "change")
    before = found.text
    store.update_idea(session=ctx.session, idea=found, text=_words(text, "change idea", example))
    return Reply.announce(line(Person(ctx.caller.user_id), " reworded ", Code(found.short_id), ": ", found.text,
                               " (was: ", before, ")"))


@subcommand(TOPIC, "idea move C4 <driver>", "/topic idea move C4 2.1",
            "move a change idea under another driver of its topic", members_only=True)
def idea_move(ctx: Context, rest: str) -> Reply:
    example = "/topic idea move C4 2.1"
    token, number = parsing.split_first(rest)
    found = _idea_owned(ctx, token, example, "move")
    topic = ctx.session.get(Topic, found.topic_id)
    under = _driver(ctx, topic, number.strip(), example)
    store.update_idea(session=ctx.session, idea=found, driver=under)
    return Reply.announce(line(Person(ctx.caller.user_id), " moved ", Code(found.short_id), f" under driver "
                               f"{number.strip()} of ", Code(topic.short_id), ": ", under.text))


@subcommand(TOPIC, "idea remove C4", "/topic idea remove C4",
            "remove a change idea that has no PDSA cycles", members_only=True, audited=True)
def idea_remove(ctx: Context, rest: str) -> Reply:
    example = "/topic idea remove C4"
    found = _idea_owned(ctx, parsing.split_first(rest)[0], example, "remove")
    tried = store.cycles(session=ctx.session, cluster=ctx.require_cluster(), idea=found)
    if tried:
        raise Refusal(f"{found.short_id} has {len(tried)} PDSA cycle{'s' if len(tried) > 1 else ''} "
                      f"({', '.join(r.short_id for r in tried[:5])}): what was learned stays in the record. "
                      "Record that it was abandoned instead.", example=f"/pdsa act {tried[-1].short_id} abandon <why>")
    store.remove_idea(session=ctx.session, idea=found)
    return Reply.announce(line(Person(ctx.caller.user_id), " removed change idea ", Code(found.short_id), ": ",
                               found.text))


@subcommand(TOPIC, "diagram T3", DIAGRAM_EXAMPLE, "the topic's driver diagram as a picture in the channel",
            later=lambda ctx, rest: _upload(ctx, rest))
def diagram(ctx: Context, rest: str) -> Reply:
    topic = _diagram_topic(ctx, rest)
    return Reply.tell(line(f"Drawing the driver diagram of {topic.short_id}…"))


def _diagram_topic(ctx: Context, rest: str) -> Topic:
    topic = _topic(ctx, parsing.split_first(rest)[0], DIAGRAM_EXAMPLE)
    if not store.drivers(session=ctx.session, topic=topic):
        raise Refusal(f"{topic.short_id} has no drivers yet, so there is no diagram to draw. Add the first: ",
                      Code(f"/topic driver {topic.short_id} <primary driver>"),
                      example=DRIVER_EXAMPLE.replace("T3", topic.short_id))
    return topic


def picture(ctx: Context, topic: Topic) -> bytes:
    return drawing.render(diagram_of(ctx, topic))


def _upload(ctx: Context, rest: str) -> Reply:
    topic = _diagram_topic(ctx, rest)
    cluster = ctx.require_cluster()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", cluster.name).strip("-").lower() or "cluster"
    name = f"{slug}-{topic.short_id.lower()}-driver-diagram-{local_today(ctx.now(), ctx.time_zone):%Y-%m-%d}.png"
    comment = Reply.announce(line(Person(ctx.caller.user_id), " shared the driver diagram of ", Code(topic.short_id),
                                  " ", topic.title, "."))
    return Reply.quiet(Upload(cluster.channel_id, name, f"{topic.short_id} driver diagram", picture(ctx, topic),
                              comment))


# --- the Board report's QI story ---------------------------------------------------------------------

def qi_stories(ctx: Context, cluster, short_ids: list[str], until: datetime | None = None) -> list:
    """Each topic (of `short_ids`) with drivers, cycles or progress scores, as the Board report tells it
    (reports/qi.py); scores given before `until` (the period's end; None: up to now), read in one query."""
    from reports.qi import QiStory  # openpyxl: imported only when a report is written

    topics = store.story_topics(session=ctx.session, cluster=cluster, short_ids=short_ids)
    ids = [t.id for t in topics]
    histories = progress_store.histories(session=ctx.session, topic_ids=ids, until=until)
    drawn = store.with_drivers(session=ctx.session, topic_ids=ids)
    tested: dict[int, list] = {}
    for row in store.cycles(session=ctx.session, cluster=cluster):  # every cycle of the cluster: one query
        tested.setdefault(row.topic.id, []).append(row)
    stories = []
    for topic in topics:  # a topic with a diagram reads it (and draws it); one without costs nothing more
        rows, has_drivers = tested.get(topic.id, []), topic.id in drawn
        scores = [(s.at, s.halves, s.by) for s in histories.get(topic.id, [])]
        if not (has_drivers or rows or scores):
            continue
        text = [plain_text(Reply([ln])) for ln in diagram_lines(ctx, topic)[1:]]
        stories.append(QiStory(topic.short_id, topic.title, topic.aim, text,
                               [(r.short_id, r.cycle.plan, r.cycle.prediction, r.cycle.study, r.cycle.act,
                                 r.cycle.act_note) for r in rows],
                               picture(ctx, topic) if has_drivers else None, scores))
    return stories


# --- the Home: the QI method of a topic at a glance ---------------------------------------------------------

def at_a_glance(has_aim: bool, counts: store.QiCounts | None) -> str:
    """"aim set · 2 change ideas · cycles in progress: 1 planned, 1 doing" (storage.qi.counts_of's figures)."""
    counts = counts or store.QiCounts()
    ideas = f"{counts.ideas} change idea{'' if counts.ideas == 1 else 's'}" if counts.ideas else "no change ideas yet"
    steps = [f"{n} {word}" for n, word in ((counts.planned, "planned"), (counts.doing, "doing"),
                                           (counts.studied, "studied")) if n]
    cycles = [f"cycles in progress: {', '.join(steps)}"] if steps else ["no cycles in progress"] if counts.ideas else []
    return " · ".join(["aim set" if has_aim else "no aim yet", ideas, *cycles])
