"""/topic aim: a topic's aim, said back as STAN (Specific, Time-bound, Aligned, Numeric; Improving Together, 2017).

The aim is always stored: the answer coaches on what it lacks (how much? by when? which measure shows it?),
never refuses it. A first aim is better written down and improved than held back until it is perfect.
"""

import re

from commands.context import Context
from commands.errors import Refusal
from commands.registry import form, subcommand
from commands.results import Code, Form, FormField, Line, Person, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import MONTH
from commands.topics.core import TOPIC, _may_edit, _text, _topic
from storage import measures as measure_store
from storage import topics as store
from storage.models import TOPIC_TEXT_MAX, MeasureStatus, Topic, TopicBase

AIM_EXAMPLE = "/topic aim T3 90% of patients discharged after an asthma admission reviewed within 14 days by June 2027"
NUMBER = re.compile(r"\d|\b(?:half|third|quarter|twice|double|halve|all|none|every)\b", re.IGNORECASE)
# A month (but "may" only after by/in/before/until/end of: "we may improve" names no date), a year, a date, or
# "by the end of …".
MONTHS_BUT_MAY = "|".join(m for m in MONTH.split("|") if m != "may")
WHEN = re.compile(rf"\b(?:{MONTHS_BUT_MAY})\b|\b(?:by|in|before|until|end of)\s+may\b|\b20\d\d\b|"
                  r"\b\d{1,2}/\d{1,2}\b|\b(?:by|before|until)\s+(?:the\s+)?"
                  r"(?:end|start|spring|summer|autumn|winter|next|christmas|easter|q[1-4])\b", re.IGNORECASE)
SPECIFIC_WORDS = 6  # fewer words than this rarely say what changes, for whom


def stan(ctx: Context, topic: Topic) -> list[Line]:
    """The aim read back against STAN: what it has, and a question for what it lacks."""
    aim = topic.aim.strip()
    if not aim:
        return [line("No aim yet. What are we trying to accomplish, by how much, by when? ",
                     Code(f"/topic aim {topic.short_id} <aim>"))]
    measures = [m for m in measure_store.list_measures(session=ctx.session, cluster=ctx.require_cluster())
                if m.topic_id == topic.id and m.status == MeasureStatus.ACTIVE]
    number = NUMBER.search(aim)
    when = WHEN.search(aim)
    words = len(aim.split())
    lines = [
        line("• Specific: ", "yes, it says what changes" if words >= SPECIFIC_WORDS else
             "say what will change, for whom (which patients, which practices)?"),
        line("• Time-bound: ", f"yes (“{when.group(0).strip()}”)" if when else "by when? Add a date, e.g. by June."),
        line("• Aligned: ", *(("yes, measured by ", *_ids(measures)) if measures else
                              ("which measure will show it? Add one: ",
                               Code(f"/measure add {topic.short_id} <name>")))),
        line("• Numeric: ", f"yes (“{number.group(0)}…”)" if number else "how much? Say by how much, e.g. 90% or "
             "from 1 in 3 to 1 in 10."),
    ]
    missing = sum(not ok for ok in (words >= SPECIFIC_WORDS, when, measures, number))
    verdict = "It reads as a STAN aim." if not missing else \
        f"{missing} thing{'s' if missing > 1 else ''} to add when you can; the aim is saved as it is."
    return [*lines, line(verdict)]


def _ids(measures) -> list:
    out: list = []
    for i, measure in enumerate(measures[:4]):
        out += [", " if i else "", Code(measure.short_id), f" {measure.name}"]
    return out


def _save(ctx: Context, topic: Topic, text: str, field: str | None = None) -> Reply:
    if not _may_edit(ctx, topic) and topic.proposed_by != ctx.caller.user_id:
        raise Refusal(f"Only whoever proposed {topic.short_id}, or a lead, can set its aim.", field=field,
                      example=None if field else f"/topic show {topic.short_id}")
    data = TopicBase.model_validate(topic, from_attributes=True)
    data.aim = _text(text, "aim", TOPIC_TEXT_MAX, field)
    store.update_topic(session=ctx.session, topic=topic, data=data)
    reply = Reply.announce(line(Person(ctx.caller.user_id), " set the aim of ", Code(topic.short_id), " ",
                                topic.title, ":"), line(Strong("Aim:"), " ", topic.aim),
                           line(Strong("Read as STAN (Specific, Time-bound, Aligned, Numeric):")), *stan(ctx, topic))
    return reply


def aim_form(topic: Topic) -> Form:
    return Form("topic.aim", f"Aim of {topic.short_id}", "Save", (
        FormField("aim", "What are we trying to accomplish, by how much, by when?", "long_text",
                  max_length=TOPIC_TEXT_MAX, initial=topic.aim,
                  hint="e.g. 90% of patients discharged after an asthma admission reviewed within 14 days by June"),
    ), {"topic": topic.short_id})


@subcommand(TOPIC, "aim T3 [<aim>]", AIM_EXAMPLE,
            "set a topic's aim; it is read back as STAN (how much? by when? which measure?)", members_only=True)
def aim(ctx: Context, rest: str) -> Reply:
    token, text = parsing.split_first(rest)
    topic = _topic(ctx, token, AIM_EXAMPLE)
    if not text.strip():
        return Reply(lines=[line("Or type it: ", Code(f"/topic aim {topic.short_id} <aim>"))], form=aim_form(topic))
    return _save(ctx, topic, text)


@form("topic.aim", members_only=True)
def submit_aim(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    topic = _topic(ctx, context.get("topic", ""), AIM_EXAMPLE)
    text = values.get("aim") or ""
    if not text.strip():
        raise Refusal("Write the aim (it can be improved later).", field="aim")
    return _save(ctx, topic, text, "aim")
