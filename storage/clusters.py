"""Data functions for clusters, practices and members (keyword-only, one session in)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, or_, update
from sqlmodel import Session, col, func, select

from storage import erasure
from storage.clock import now as now_of
from storage.models import DEFAULT_PLATFORM, Cluster, Member, Practice, Role


def find_cluster(*, session: Session, team_id: str, channel_id: str,
                 enterprise_id: str | None = None) -> Cluster | None:
    """The cluster in this channel, if the asker's workspace may use it: the workspace that set it up,
    or another workspace of the same Enterprise Grid organisation. A channel is at most one cluster."""
    found = find_cluster_by_channel(session=session, channel_id=channel_id)
    if found is None or not same_organisation(found, team_id=team_id, enterprise_id=enterprise_id):
        return None
    return found


def same_organisation(cluster: Cluster, *, team_id: str, enterprise_id: str | None) -> bool:
    """Slack Connect shares a channel (one id) with other organisations: only the cluster's own workspace,
    or its Enterprise Grid organisation, reaches the cluster through it."""
    return cluster.team_id == team_id or (enterprise_id is not None and cluster.enterprise_id == enterprise_id)


def lock_cluster(*, session: Session, cluster: Cluster) -> None:
    """Hold the cluster's row until the unit of work ends, so changes to its leads happen one at a time.
    PostgreSQL: a row lock (FOR NO KEY UPDATE, so inserts referencing the cluster are not held up).
    SQLite: every writer already holds the database's write lock from BEGIN IMMEDIATE."""
    session.exec(select(Cluster.id).where(Cluster.id == cluster.id).with_for_update(key_share=True)).first()


def create_cluster(
    *, session: Session, team_id: str, enterprise_id: str | None, channel_id: str, name: str,
    time_zone: str, lead_user_id: str, platform: str = DEFAULT_PLATFORM,
) -> Cluster:
    """A new cluster with its first lead, on `platform`."""
    cluster = Cluster(
        team_id=team_id, enterprise_id=enterprise_id, channel_id=channel_id, name=name,
        time_zone=time_zone, created_by=lead_user_id, platform=platform,
    )
    session.add(cluster)
    session.flush()
    session.add(Member(cluster_id=cluster.id, user_id=lead_user_id, role=Role.LEAD))
    session.flush()
    return cluster


@dataclass(frozen=True, slots=True)
class ClusterRow:
    """A cluster as one request reads it: its columns, not an ORM object. Every request loads one, and
    loading ORM objects was a third of a slash command's cost; frozen, so a change made to it by
    mistake fails at once instead of being silently not saved (changes go through functions here)."""

    id: int
    team_id: str
    enterprise_id: str | None
    channel_id: str
    name: str
    time_zone: str
    reminders: str
    created_by: str
    created_at: datetime
    platform: str
    guests_export: bool


@dataclass(frozen=True, slots=True)
class MemberRow:
    """The asker's membership as one request reads it (see ClusterRow)."""

    id: int
    cluster_id: int
    user_id: str
    practice_id: int | None
    role: str
    created_at: datetime
    guest: bool | None


def _columns(row_type, table, prefix: str) -> list:
    return [table.c[name].label(prefix + name) for name in row_type.__slots__]


# Statements run on every request are built once: building one (SQLAlchemy's operators and coercions)
# costs more than SQLite takes to run it. Lists that are only shown read plain rows, not ORM objects.
_CLUSTER_COLUMNS = _columns(ClusterRow, Cluster.__table__, "c_")
_MEMBER_COLUMNS = _columns(MemberRow, Member.__table__, "m_")
_WHEREABOUTS = (
    select(*_CLUSTER_COLUMNS, *_MEMBER_COLUMNS)
    .select_from(Cluster.__table__)
    .outerjoin(Member.__table__, and_(Member.cluster_id == Cluster.id, Member.user_id == bindparam("user_id")))
    .where(Cluster.channel_id == bindparam("channel_id"))
)
_ROSTER = (select(Member.user_id, Member.practice_id, Member.role, Member.guest)
           .where(Member.cluster_id == bindparam("cluster_id")).order_by(Member.created_at, Member.id))
_PRACTICE_ROWS = (select(Practice.id, Practice.code, Practice.name)
                  .where(Practice.cluster_id == bindparam("cluster_id"), col(Practice.archived_at).is_(None))
                  .order_by(Practice.code))

_PRACTICE_NAME = select(Practice.name).where(Practice.id == bindparam("practice_id"))
_SET_REMINDERS = update(Cluster.__table__).where(Cluster.id == bindparam("cluster_id")) \
    .values(reminders=bindparam("reminders"))
_SET_GUESTS_EXPORT = update(Cluster.__table__).where(Cluster.id == bindparam("cluster_id")) \
    .values(guests_export=bindparam("allowed"))
# By the unique (cluster_id, user_id) key; a row already saying so is left alone (no write).
_NOTE_GUEST = (update(Member.__table__)
               .where(Member.user_id == bindparam("b_user_id"),
                      Member.cluster_id == select(Cluster.id).where(Cluster.channel_id == bindparam("b_channel_id"))
                      .scalar_subquery(),
                      or_(col(Member.guest).is_(None), Member.guest != bindparam("b_guest")))
               .values(guest=bindparam("b_guest")))


def whereabouts(*, session: Session, channel_id: str, user_id: str) -> tuple[ClusterRow | None, MemberRow | None]:
    """The cluster in this channel and the person's membership of it, in one query, as plain rows."""
    row = session.connection().execute(_WHEREABOUTS, {"channel_id": channel_id, "user_id": user_id}).first()
    if row is None:
        return None, None
    values = tuple(row)
    split = len(ClusterRow.__slots__)
    member = MemberRow(*values[split:]) if values[split] is not None else None
    return ClusterRow(*values[:split]), member


def set_reminders(*, session: Session, cluster_id: int, offsets: str) -> None:
    """The cluster's default reminder offsets for new meetings (e.g. "7d,1d")."""
    session.connection().execute(_SET_REMINDERS, {"cluster_id": cluster_id, "reminders": offsets})


def set_guests_export(*, session: Session, cluster_id: int, allowed: bool) -> None:
    """Whether the cluster's guests may take files of its data (exports, reports, Word minutes)."""
    session.connection().execute(_SET_GUESTS_EXPORT, {"cluster_id": cluster_id, "allowed": allowed})


def note_guest(*, session: Session, channel_id: str, user_id: str, guest: bool) -> None:
    """Record whether the person is a guest on their membership of the cluster in this channel (if they
    have one): one indexed update, which writes only when the row said otherwise or nothing."""
    session.connection().execute(_NOTE_GUEST, {"b_channel_id": channel_id, "b_user_id": user_id, "b_guest": guest})


def roster(*, session: Session, cluster: Cluster) -> list:
    """Every member as a row of (user_id, practice_id, role, guest), in the order they joined: for showing."""
    return list(session.connection().execute(_ROSTER, {"cluster_id": cluster.id}))


def practice_name(*, session: Session, practice_id: int | None) -> str | None:
    """A practice's name by its id (a colleague's note on every vote that changes their ballot)."""
    if practice_id is None:
        return None
    return session.connection().execute(_PRACTICE_NAME, {"practice_id": practice_id}).scalar()


def practice_rows(*, session: Session, cluster: Cluster) -> list:
    """The current practices as rows of (id, code, name), by code: for showing."""
    return list(session.connection().execute(_PRACTICE_ROWS, {"cluster_id": cluster.id}))


def find_cluster_by_channel(*, session: Session, channel_id: str) -> Cluster | None:
    """A channel is at most one cluster (a unique key), so the channel alone finds it."""
    return session.exec(select(Cluster).where(Cluster.channel_id == channel_id)).first()


def platform_of(*, session: Session, channel_id: str | None = None, team_id: str | None = None) -> str:
    """The platform of the cluster in this channel, else of this team's clusters (a team or tenant is
    on one platform), else the default: where the scheduler's messages for them must be sent."""
    return home_of(session=session, channel_id=channel_id, team_id=team_id)[0]


def home_of(*, session: Session, channel_id: str | None = None, team_id: str | None = None
            ) -> tuple[str, int | None]:
    """The platform and id of the cluster in this channel, else of this team's first cluster, else
    (the default platform, None): where the scheduler's messages must be sent, and whose they are."""
    for where in ((Cluster.channel_id == channel_id) if channel_id else None,
                  (Cluster.team_id == team_id) if team_id else None):
        if where is not None:
            found = session.exec(select(Cluster.platform, Cluster.id).where(where).order_by(Cluster.id)
                                 .limit(1)).first()
            if found:
                return found[0], found[1]
    return DEFAULT_PLATFORM, None


def channels_on(*, session: Session, platform: str) -> set[str]:
    """The channels of every cluster on `platform`."""
    return set(session.exec(select(Cluster.channel_id).where(Cluster.platform == platform)))


def clusters_of_team(*, session: Session, team_id: str) -> list[Cluster]:
    return list(session.exec(select(Cluster).where(Cluster.team_id == team_id).order_by(Cluster.id)))


def memberships_anywhere(*, session: Session, user_id: str, team_id: str, enterprise_id: str | None,
                         limit: int = 20) -> list[tuple[Cluster, Member]]:
    """Every cluster of this workspace or organisation (a Teams tenant, Slack's Enterprise Grid) the
    person belongs to, oldest first: for a 1:1 chat, which belongs to no team. Reads the person's own
    member rows (ix_member_user_id)."""
    same_place = Cluster.team_id == team_id
    if enterprise_id:
        same_place = or_(same_place, Cluster.enterprise_id == enterprise_id)
    return list(session.exec(
        select(Cluster, Member).join(Member, col(Member.cluster_id) == Cluster.id)
        .where(Member.user_id == user_id, same_place).order_by(Cluster.id).limit(limit)
    ))


def memberships(*, session: Session, team_id: str, user_id: str) -> list[tuple[Cluster, Member]]:
    """Every cluster of this workspace the person belongs to, oldest first."""
    return list(session.exec(
        select(Cluster, Member).join(Member, col(Member.cluster_id) == Cluster.id)
        .where(Cluster.team_id == team_id, Member.user_id == user_id).order_by(Cluster.id)
    ))


def find_practice(*, session: Session, cluster: Cluster, code: str, archived: bool = False) -> Practice | None:
    """The practice with this code; archived ones only when asked for."""
    query = select(Practice).where(Practice.cluster_id == cluster.id, Practice.code == code)
    if not archived:
        query = query.where(col(Practice.archived_at).is_(None))
    return session.exec(query).first()


def list_practices(*, session: Session, cluster: Cluster) -> list[Practice]:
    return list(session.exec(
        select(Practice)
        .where(Practice.cluster_id == cluster.id, col(Practice.archived_at).is_(None))
        .order_by(Practice.code)
    ))


def add_practice(*, session: Session, cluster: Cluster, code: str, name: str) -> Practice:
    """Register a practice, or bring back an archived one under its (possibly new) name."""
    practice = find_practice(session=session, cluster=cluster, code=code, archived=True)
    if practice is None:
        practice = Practice(cluster_id=cluster.id, code=code, name=name)
    else:
        practice.name, practice.archived_at = name, None
    session.add(practice)
    session.flush()
    return practice


def archive_practice(*, session: Session, practice: Practice) -> list[Member]:
    """Archive a practice; its people stay in the cluster with no practice. Returns those people."""
    people = list(session.exec(select(Member).where(Member.practice_id == practice.id)))
    for person in people:
        person.practice_id = None
        session.add(person)
    practice.archived_at = now_of(session)
    session.add(practice)
    session.flush()
    return people


def find_member(*, session: Session, cluster: Cluster, user_id: str) -> Member | None:
    return session.exec(
        select(Member).where(Member.cluster_id == cluster.id, Member.user_id == user_id)
    ).first()


def list_members(*, session: Session, cluster: Cluster) -> list[Member]:
    return list(session.exec(
        select(Member).where(Member.cluster_id == cluster.id).order_by(Member.created_at, Member.id)
    ))


def save_member(
    *, session: Session, cluster: Cluster, user_id: str, practice: Practice | None = None,
    role: Role | None = None,
) -> Member:
    """Add a person to the cluster or update them; only the fields given change."""
    member = find_member(session=session, cluster=cluster, user_id=user_id) or Member(
        cluster_id=cluster.id, user_id=user_id, role=Role.MEMBER
    )
    if practice is not None:
        member.practice_id = practice.id
    if role is not None:
        member.role = role
    session.add(member)
    session.flush()
    return member


def remove_member(*, session: Session, member: Member) -> None:
    """Out of the cluster; and if that was their last cluster, nothing queued to them is sent (a digest
    or reminder queued this morning would otherwise still reach someone who has left)."""
    session.delete(member)
    session.flush()
    if not erasure.in_any_cluster(session=session, user_id=member.user_id):
        erasure.drop_direct_messages(session=session, user_id=member.user_id, queued_only=True)


def count_leads(*, session: Session, cluster: Cluster) -> int:
    return session.exec(
        select(func.count()).select_from(Member)
        .where(Member.cluster_id == cluster.id, Member.role == Role.LEAD)
    ).one()


