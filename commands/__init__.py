"""The product, platform-neutral: (command, text, caller) in, a Reply out.

Adapters (bot/) call `Clusterbot.handle`; nothing here knows about Slack.
"""

import logging

from commands import cluster  # plugs the /cluster family into the registry
from commands.cluster import SETUP_EXAMPLE, usage_lines
from commands.context import Caller, Context
from commands.errors import Refusal
from commands.registry import FAMILIES, Family
from commands.results import Code, Reply, line
from storage import clusters as store
from storage.db import Database, DatabaseUnavailable

log = logging.getLogger(__name__)

UNAVAILABLE = "The cluster's database is temporarily unavailable. Nothing was changed: please try again shortly."


class Clusterbot:
    """The whole product behind one call."""

    def __init__(self, db: Database, time_zone: str = "Europe/London"):
        self.db = db
        self.time_zone = time_zone

    def handle(self, command: str, text: str, caller: Caller) -> Reply:
        """Run one slash command as one unit of work. Never raises: every failure is a Reply."""
        fam = FAMILIES.get(command)
        if fam is None:
            return Reply.problem(line(f"I don't know {command}. Try ", Code("/cluster help")))
        if not fam.ready:
            return Reply.tell(line(f"{command} is coming soon. For now: ", Code("/cluster help")))
        try:
            with self.db.session() as session:
                return self._run(fam, text, Context(caller, session, *self._whereabouts(session, caller),
                                                    time_zone=self.time_zone))
        except Refusal as refusal:
            return _refusal_reply(refusal)
        except DatabaseUnavailable:
            log.warning("database unavailable while handling %s", command)
            return Reply.problem(line(UNAVAILABLE))
        except Exception:
            log.exception("%s %r failed", command, text)
            return Reply.problem(line("Something went wrong on our side and nothing was changed. "
                                      "Please try again; if it keeps happening, tell your cluster lead."))

    def _whereabouts(self, session, caller: Caller):
        cluster = store.find_cluster(session=session, team_id=caller.team_id, channel_id=caller.channel_id)
        member = cluster and store.find_member(session=session, cluster=cluster, user_id=caller.user_id)
        return cluster, member

    def _run(self, fam: Family, text: str, ctx: Context) -> Reply:
        words = text.split()
        sub, taken = fam.find(words) if words else fam.find(["help"])
        if sub is None:
            heading = f"“{words[0]}” isn't a {fam.command} command." if words else f"What would you like {fam.command} to do?"
            return Reply.problem(line(heading), *usage_lines(fam))
        if sub.needs_cluster and ctx.cluster is None:
            raise Refusal("This channel isn't a cluster yet. A Cluster Quality Lead can make it one.",
                          example=SETUP_EXAMPLE)
        if sub.leads_only and not ctx.is_lead:
            raise Refusal(*_leads_only(ctx, f"{fam.command} {' '.join(sub.words)}"))
        parts = text.strip().split(None, taken)
        return sub.handler(ctx, parts[taken] if len(parts) > taken else "")


def _leads_only(ctx: Context, command: str) -> tuple:
    leads = [m.user_id for m in store.list_members(session=ctx.session, cluster=ctx.cluster) if m.role == "lead"]
    return ("Only the cluster's leads can use ", Code(command), ". Ask a lead: ", *cluster.people_list(leads), ".")


def _refusal_reply(refusal: Refusal) -> Reply:
    reply = Reply.problem(refusal.message)
    if refusal.example:
        reply.lines.append(line("For example: ", Code(refusal.example)))
    return reply
