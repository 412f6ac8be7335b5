"""The audit log: what changed a cluster's register, roles or record, and every use of a command only its
leads may use; who, what, when and the ids it named, never the text typed. `/cluster audit` shows it to
the leads, and the cluster workbook has it whole.

What is audited is the registry's to say (a subcommand's `audited` or `leads_only`, a button's or form's
`audited`), and the product writes the entry in the change's own unit of work: an entry exists exactly
when its change was committed. Votes are never audited: an entry would say who voted when."""

import re
from zoneinfo import ZoneInfo

from commands.cluster import CLUSTER
from commands.context import Context
from commands.registry import subcommand
from commands.results import Code, Person, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import since_setting
from storage import audit as store
from storage import clusters as cluster_store
from storage.mentions import FORMER_MEMBER

AUDIT_EXAMPLE = "/cluster audit since 1/11/2026"
SHOWN = 40  # entries in one answer (a message has room for about 50 lines)
SCANNED = 4  # the first words of a command hold its ids and people; what follows is free text
ITEM_ID = re.compile(r"^[A-Za-z]{1,2}\d{1,6}(?:\.\d{1,3})?$")  # T3, M12, D1, C4.1
SEPARATORS = re.compile(r"[\s:|,;/]+")


def note(ctx: Context, what: str, words: list[str], *, person: bool = True) -> None:
    """Write the audit entry of a change `what` (e.g. "/cluster member add") that named `words`. `person`
    False: the person named is kept as "a former member" (the entry of their own erasure)."""
    cluster = ctx.cluster or cluster_store.find_cluster_by_channel(session=ctx.session,
                                                                   channel_id=ctx.caller.channel_id)
    if cluster is None:  # nothing was made (a setup refused before it made the cluster)
        return
    items, about = [], None
    for word in words:
        mention = parsing.MENTION.match(word)
        if mention:
            about = about or (mention.group(1) if person else FORMER_MEMBER)
        elif ITEM_ID.match(word) or parsing.PRACTICE_CODE.match(word):
            items.append(word.upper())
    store.record(session=ctx.session, cluster_id=cluster.id, user_id=ctx.caller.user_id, what=what,
                 items=items, person=about)


def after(ctx: Context, reply: Reply, what: str, words: list[str], *, person: bool = True) -> Reply:
    """The audit entry of a change that `reply` answers; none when the reply opens a form, which has
    changed nothing yet (its submission is audited)."""
    if reply.form is None:
        note(ctx, what, words, person=person)
    return reply


def typed_words(rest: str) -> list[str]:
    return rest.split()[:SCANNED]


def value_words(*values) -> list[str]:
    """The words of a button's value or a form's fields that may be ids, codes or mentions. A value with a
    space in it is free text, never an id: nothing of it is kept."""
    words: list[str] = []
    for value in values:
        value = value.strip() if isinstance(value, str) else ""
        if not value or len(value) > 300 or any(c.isspace() for c in value):
            continue
        words += [value] if parsing.MENTION.match(value) else [w for w in SEPARATORS.split(value) if w][:SCANNED]
    return words


@subcommand(CLUSTER, "audit [since <date>]", AUDIT_EXAMPLE,
            "who changed the register, roles and record, and when (leads)", leads_only=True, read_only=True)
def audit(ctx: Context, rest: str) -> Reply:
    cluster = ctx.require_cluster()
    since = since_setting(rest, ctx.now(), ctx.time_zone, "an audit", AUDIT_EXAMPLE)
    rows, total = store.latest(session=ctx.session, cluster_id=cluster.id, since=since, limit=SHOWN)
    if not rows:
        return Reply.tell(line("Nothing audited", " since then" if since else " yet",
                               ": the log holds changes to practices, people, leads and meeting records."))
    reply = Reply.tell(line(Strong(f"Audit log of {cluster.name}"), f" ({total}, newest first)"))
    for row in rows:
        zone = ZoneInfo(ctx.time_zone)
        reply.lines.append(line(f"{row.at.astimezone(zone):%d %b %Y %H:%M} · ", Person(row.user_id), " · ",
                                *_what(row.what), *((" · ", row.items) if row.items else ()),
                                *((" · ", Person(row.person)) if row.person else ())))
    if total > len(rows):
        reply.lines.append(line(f"…and {total - len(rows)} older: the cluster workbook has them all (sheet Audit): ",
                                Code("/cluster export")))
    return reply


def _what(what: str) -> tuple:
    return (Code(what),) if what.startswith("/") else (what,)

