"""Who is asking, and where: everything a command knows about the platform."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from commands.errors import Refusal
from commands.kept import Kept
from commands.results import Code, Person
from storage import clusters as store
from storage import viewers
from storage.clock import wall_clock
from storage.models import Cluster, Member, Role

SETUP_EXAMPLE = "/cluster setup Riverside Cluster"
GUESTS_EXPORT_ON = "/cluster guests export on"


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
    # Whether the person is a guest of their platform (a Teams tenant's B2B guest: HSCP, council staff; a
    # Slack guest account): True, False, or None when the platform was asked and did not say (a roster
    # call that failed). Guests take part but take no files of the cluster's data unless a lead allows it;
    # None is refused those files too, and nothing else. Work of the product's own (the scheduler) is no guest.
    guest: bool | None = False
    # Asks the platform and waits (the front door's roster): only where the answer decides something (a file
    # of the cluster's data, a person joining), since `guest` is what was known without waiting.
    ask_guest: Callable[[], bool | None] | None = field(default=None, compare=False, repr=False)


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
    minutes_lock_days: int = 14  # MINUTES_LOCK_DAYS: a meeting's minutes are read-only that long after it

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

    def is_viewer(self) -> bool:
        """Whether the caller is one of the cluster's Board viewers (read-only; never a member too)."""
        return self.member is None and self.cluster is not None and viewers.is_viewer(
            session=self.session, cluster_id=self.cluster.id, user_id=self.caller.user_id)

    def require_writer(self, doing: str) -> None:
        """The one rule for writing the cluster's record (the registry's `members_only`): members only.
        A stranger from the tenant and a Board viewer read; what they wrote would show as the cluster's own."""
        cluster = self.require_cluster()
        if self.member is not None:
            return
        if self.is_viewer():
            raise Refusal(f"You're a viewer of the cluster “{cluster.name}”: viewers read its record and take its "
                          "report, but only its members write it, so ", Code(doing), " wasn't done. Nothing was "
                          "changed.")
        raise Refusal(f"You're not a member of the cluster “{cluster.name}”, so ", Code(doing), " wasn't done: only "
                      "its members write its record. Join your practice first, or ask a lead to add you.",
                      example="/cluster join 80123")

    def require_owner_or_lead(self, owner: str, role: str, doing: str) -> None:
        """Refuse unless the caller is `owner` (who `role`, e.g. "created P2") or a lead, naming both."""
        if self.is_lead or self.caller.user_id == owner:
            return
        leads = [m.user_id for m in store.list_members(session=self.session, cluster=self.require_cluster())
                 if m.role == Role.LEAD]
        raise Refusal(f"Only whoever {role} (", Person(owner), ") or one of the cluster's leads (",
                      *people_list(leads), ") can use ", Code(doing), ".")

    def guest(self) -> bool | None:
        """Whether the caller is a guest, asking the platform (and waiting) if it was not yet known."""
        if self.caller.guest is None and self.caller.ask_guest is not None:
            return self.caller.ask_guest()
        return self.caller.guest

    def require_may_take_files(self, doing: str) -> None:
        """Refuse a guest of the platform a file of the cluster's data (an export, a report) unless the
        cluster's leads allow it; leads themselves are trusted whoever they are. A caller the
        platform could not place (guest None) is refused too, with a "try again": for this only."""
        if self.is_lead or self.guest() is False:
            return
        cluster = self.require_cluster()
        if self.is_viewer():
            return  # a lead made them a viewer to take the report, guest or not
        if cluster.guests_export:
            return
        if self.guest() is None:
            raise Refusal("I couldn't check whether you're a guest in this organisation (guests take files of "
                          "the cluster's data only if a lead allows it), so ", Code(doing),
                          " wasn't run. Nothing else is affected: please try again shortly.")
        leads = [m.user_id for m in store.list_members(session=self.session, cluster=cluster) if m.role == Role.LEAD]
        raise Refusal("Guests can join, vote and add actions here, but files of the cluster's data (",
                      Code(doing), ") are for its own staff unless a lead allows them for guests with ",
                      Code(GUESTS_EXPORT_ON), ". Ask a lead: ", *people_list(leads), ".")

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
