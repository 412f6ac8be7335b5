"""Tables. Every row below the cluster carries cluster_id, so one cluster never reaches another's data."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime, utcnow

NAME_MAX = 80  # cluster and practice names
PRACTICE_CODE_LENGTH = 5


def _created_at() -> datetime:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Role(StrEnum):
    LEAD = "lead"
    MEMBER = "member"


class ClusterBase(SQLModel):
    name: str = Field(max_length=NAME_MAX)
    time_zone: str = Field(default="Europe/London", max_length=64)


class Cluster(ClusterBase, table=True):
    """A GP cluster: one Slack channel inside one workspace (team)."""

    __table_args__ = (UniqueConstraint("team_id", "channel_id", name="uq_cluster_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    enterprise_id: str | None = Field(default=None, max_length=32)
    channel_id: str = Field(max_length=32)
    created_by: str = Field(max_length=32)
    created_at: datetime = _created_at()


class PracticeBase(SQLModel):
    code: str = Field(sa_column=Column(String(PRACTICE_CODE_LENGTH), nullable=False))
    name: str = Field(max_length=NAME_MAX)


class Practice(PracticeBase, table=True):
    """A member practice. Removing one archives it, so later ballots and actions keep their practice."""

    __table_args__ = (UniqueConstraint("cluster_id", "code", name="uq_practice_code"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    created_at: datetime = _created_at()
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class Member(SQLModel, table=True):
    """A person in a cluster: at most one practice, and a role (lead or member)."""

    __table_args__ = (UniqueConstraint("cluster_id", "user_id", name="uq_member_user"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    user_id: str = Field(max_length=32)
    practice_id: int | None = Field(default=None, foreign_key="practice.id")
    role: str = Field(default=Role.MEMBER, max_length=16)
    created_at: datetime = _created_at()


class ShortIdCounter(SQLModel, table=True):
    """The last number handed out per cluster and prefix (T, P, A, M)."""

    __tablename__ = "short_id_counter"

    cluster_id: int = Field(foreign_key="cluster.id", primary_key=True)
    prefix: str = Field(max_length=4, primary_key=True)
    last: int = Field(default=0)
