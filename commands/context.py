"""Who is asking, and where: everything a command knows about the platform."""

from dataclasses import dataclass

from sqlmodel import Session

from storage.models import Cluster, Member


@dataclass(frozen=True)
class Caller:
    """The person and place a command comes from. Ids are the platform's (Slack's) ids."""

    user_id: str
    channel_id: str
    team_id: str
    enterprise_id: str | None = None


@dataclass
class Context:
    """One unit of work: the caller, their session, their cluster and membership (if any)."""

    caller: Caller
    session: Session
    cluster: Cluster | None
    member: Member | None
    time_zone: str

    @property
    def is_lead(self) -> bool:
        return self.member is not None and self.member.role == "lead"
