"""Who is asking, and where: everything a command knows about the platform."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from commands.errors import Refusal
from commands.kept import Kept
from commands.results import Code, Person
from storage import clusters as store
from storage.clock import wall_clock
from storage.models import Cluster, Member, Role

SETUP_EXAMPLE = "/cluster setup Riverside Cluster"


@dataclass(frozen=True)
class Caller:
    """The person and place a command comes from. Ids are the platform's (Slack's) ids."""

    user_id: str
    channel_id: str
    team_id: str
    enterprise_id: str | None = None
    # The channel was read from the request's own content (a button's value, a form's private_metadata),
    # not vouched for by the platform: the person must then be a member of the cluster it names.
    claimed: bool = False
    # The platform the request came through ("slack", "teams", "console"): a cluster set up from it
    # lives there, and what the request must post is sent by that platform's delivery.
    platform: str = "slack"
    # What kind of conversation the request came from: "channel" (a channel, or a group chat), or
    # "personal" (a 1:1 chat with the bot, Slack's DM): there, personal commands answer for each of the
    # person's clusters, and no cluster can be set up.
    conversation: str = "channel"


@dataclass
class Context:
    """One unit of work: the caller, their session, their cluster and membership (if any)."""

    caller: Caller
    session: Session
    # A request's own cluster and membership are plain rows (storage.clusters.ClusterRow, MemberRow);
    # the scheduler's and the Home tab's work hands in ORM objects. Both are only read here.
    cluster: Cluster | store.ClusterRow | None
    member: Member | store.MemberRow | None
    time_zone: str
    submission_key: str | None = None
    clock: "Callable[[], datetime]" = wall_clock
    directory: "Callable[[str], str]" = field(default=lambda user_id: user_id)  # user id -> name
    # BALLOT_KEY's key: anonymous ballots' voter hashes and sealed choices (storage.anonymity); never stored.
    # None: this deployment has none, so no anonymous poll can be made, voted on or closed.
    ballot_key: bytes | None = None
    kept: Kept = field(default_factory=Kept)  # what was worked out from rarely changing data (the product's)

    def now(self) -> datetime:
        return self.clock()

    @property
    def is_lead(self) -> bool:
        return self.member is not None and self.member.role == Role.LEAD

    def require_cluster(self) -> Cluster | store.ClusterRow:
        if self.cluster is None:
            raise Refusal("This channel isn't a cluster yet. A Cluster Quality Lead can make it one.",
                          example=SETUP_EXAMPLE)
        return self.cluster

    def require_member(self, doing: str) -> None:
        """Refuse unless the caller is a member of this cluster (any practice, or none)."""
        if self.member is None:
            self.require_cluster()
            raise Refusal(f"Only members of this cluster can {doing}. Join your practice first.",
                          example="/cluster join 80123")

    def require_owner_or_lead(self, owner: str, role: str, doing: str) -> None:
        """Refuse unless the caller is `owner` (who `role`, e.g. "created P2") or a lead, naming both."""
        if self.is_lead or self.caller.user_id == owner:
            return
        leads = [m.user_id for m in store.list_members(session=self.session, cluster=self.require_cluster())
                 if m.role == Role.LEAD]
        raise Refusal(f"Only whoever {role} (", Person(owner), ") or one of the cluster's leads (",
                      *people_list(leads), ") can use ", Code(doing), ".")

    def require_lead(self, doing: str) -> None:
        """Refuse unless the caller leads this cluster, naming who can do it instead. Leads' work on a
        cluster happens one at a time (its row is locked) and checks the caller's role as it is now, so
        two leads demoting each other at once cannot both succeed."""
        cluster = self.require_cluster()
        store.lock_cluster(session=self.session, cluster=cluster)
        if isinstance(self.member, Member):
            self.session.expire(self.member)  # read again below, not from the session's memory
        self.member = store.find_member(session=self.session, cluster=cluster, user_id=self.caller.user_id)
        if self.is_lead:
            return
        leads = [m.user_id for m in store.list_members(session=self.session, cluster=self.require_cluster())
                 if m.role == Role.LEAD]
        raise Refusal("Only the cluster's leads can use ", Code(doing), ". Ask a lead: ", *people_list(leads), ".")


def people_list(user_ids) -> tuple:
    """People as a comma-separated run of segments."""
    segments: list = []
    for i, user_id in enumerate(user_ids):
        segments.extend([", "] if i else [])
        segments.append(Person(user_id))
    return tuple(segments) or ("none",)
