"""Data functions for actions, their notes, the daily digest and the action log export."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, delete, literal
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col, func, select

from storage.clock import now as now_of
from storage.models import Action, ActionNote, ActionStatus, Cluster, DigestSent, Meeting, Member, Practice, Topic
from storage.short_ids import next_short_id
from storage.types import upsert

ACTION_PREFIX = "A"


def create_action(*, session: Session, cluster: Cluster, action: Action) -> Action:
    action.cluster_id = cluster.id
    action.short_id = next_short_id(session=session, cluster=cluster, prefix=ACTION_PREFIX)
    session.add(action)
    session.flush()
    return action


def find_action(*, session: Session, cluster: Cluster, short_id: str) -> Action | None:
    return session.exec(select(Action).where(Action.cluster_id == cluster.id, Action.short_id == short_id)).first()


def find_submitted_action(*, session: Session, cluster: Cluster, submission_key: str) -> Action | None:
    return session.exec(
        select(Action).where(Action.cluster_id == cluster.id, Action.submission_key == submission_key)
    ).first()


@dataclass(frozen=True)
class ActionFilter:
    """Which actions: by status, owner, practice, due before a day, changed since a day."""

    status: str | None = None
    owner: str | None = None
    practice_id: int | None = None
    due_before: date | None = None
    since: datetime | None = None
    # A reporting period: actions raised before its end that were still open, or were done, in it.
    created_before: datetime | None = None
    live_since: datetime | None = None

    def apply(self, query, cluster: Cluster):
        query = query.where(Action.cluster_id == cluster.id)
        if self.status:
            query = query.where(Action.status == self.status)
        if self.owner:
            query = query.where(Action.owner == self.owner)
        if self.practice_id:
            query = query.where(Action.practice_id == self.practice_id)
        if self.due_before:
            query = query.where(col(Action.due_on) < self.due_before)
        if self.since:
            query = query.where(col(Action.updated_at) >= self.since)
        if self.created_before:
            query = query.where(col(Action.created_at) < self.created_before)
        if self.live_since:
            query = query.where((Action.status == ActionStatus.OPEN) | (col(Action.done_at) >= self.live_since))
        return query


def _by_due_date(query):
    """Soonest due first; actions with no due date last."""
    return query.order_by(col(Action.due_on).is_(None), col(Action.due_on), col(Action.id))


def list_actions(*, session: Session, cluster: Cluster, which: ActionFilter, limit: int) -> list[Action]:
    return list(session.exec(_by_due_date(which.apply(select(Action), cluster)).limit(limit)))


def count_actions(*, session: Session, cluster: Cluster, which: ActionFilter) -> int:
    return session.exec(which.apply(select(func.count()).select_from(Action), cluster)).one()


def touch(*, session: Session, action: Action) -> Action:
    action.updated_at = now_of(session)
    session.add(action)
    session.flush()
    return action


def add_note(*, session: Session, action: Action, by: str, text: str) -> ActionNote:
    note = ActionNote(action_id=action.id, by=by, text=text)
    session.add(note)
    touch(session=session, action=action)
    return note


def count_notes(*, session: Session, action: Action) -> int:
    """How many notes the action has (one count on the action_id index)."""
    return session.exec(select(func.count()).select_from(ActionNote).where(ActionNote.action_id == action.id)).one()


def action_notes(*, session: Session, action: Action) -> list[ActionNote]:
    return list(session.exec(select(ActionNote).where(ActionNote.action_id == action.id).order_by(ActionNote.id)))


# --- the daily digest ------------------------------------------------------------------------

_OWNER_IS_MEMBER = (col(Member.cluster_id) == Action.cluster_id) & (col(Member.user_id) == Action.owner)


def owners_with_actions_due(*, session: Session, until: date, not_sent_on: date) -> list[tuple[str, str]]:
    """(team id, owner) of everyone in the action's cluster with an open action due on or before `until`
    (or overdue) who has not had a digest on `not_sent_on`. Someone taken out of the cluster, or erased
    (their actions' owner is then no one), is sent nothing."""
    sent = (col(DigestSent.team_id) == Cluster.team_id) & (col(DigestSent.user_id) == Action.owner) & (
        col(DigestSent.day) == not_sent_on)
    query = (
        select(Cluster.team_id, Action.owner)
        .join(Cluster, col(Action.cluster_id) == Cluster.id)
        .join(Member, _OWNER_IS_MEMBER)
        .join(DigestSent, sent, isouter=True)
        .where(Action.status == ActionStatus.OPEN, col(Action.due_on) <= until, col(DigestSent.user_id).is_(None))
        .distinct()
        .order_by(Cluster.team_id, Action.owner)
    )
    return [tuple(row) for row in session.exec(query)]


def forget_digest_days(*, session: Session, before: date) -> int:
    """Forget which days people were sent a digest before `before`: only today's row is ever asked about."""
    return session.execute(delete(DigestSent).where(col(DigestSent.day) < before)).rowcount


def claim_digest(*, session: Session, team_id: str, user_id: str, day: date) -> bool:
    """True for exactly one caller per person per day, however many processes try."""
    inserted = session.execute(
        upsert(session, DigestSent).values(team_id=team_id, user_id=user_id, day=day, sent_at=now_of(session))
        .on_conflict_do_nothing().returning(DigestSent.user_id)
    )
    return inserted.first() is not None  # (rowcount is not reliable for ON CONFLICT DO NOTHING on psycopg)


def digest_actions(*, session: Session, team_id: str, owner: str, until: date) -> list[tuple[Action, Cluster]]:
    query = (
        select(Action, Cluster)
        .join(Cluster, col(Action.cluster_id) == Cluster.id)
        .join(Member, _OWNER_IS_MEMBER)
        .where(Cluster.team_id == team_id, Action.owner == owner, Action.status == ActionStatus.OPEN,
               col(Action.due_on) <= until)
        .order_by(col(Action.due_on), col(Action.id))
    )
    return list(session.exec(query))


# --- the export --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ActionRow:
    short_id: str
    description: str
    owner: str
    practice_code: str | None
    practice_name: str | None
    due_on: date | None
    status: str
    topic: str | None
    topic_title: str | None
    topic_status: str | None
    meeting: str | None
    meeting_title: str | None
    notes: str | None  # every note on it, oldest first, one a line
    created_by: str
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    source_link: str | None


def _notes_of_action(session: Session):
    """One cell's worth of an action's notes, oldest first: a correlated subquery, so 100,000 actions
    are still read in one streamed SELECT (the notes index makes each lookup cheap)."""
    if session.get_bind().dialect.name == "postgresql":
        joined = func.string_agg(ActionNote.text, postgresql.aggregate_order_by(literal("\n"), ActionNote.id))
    else:  # SQLite walks the action_id index in insertion order
        joined = func.group_concat(ActionNote.text, "\n")
    return select(joined).where(ActionNote.action_id == Action.id).scalar_subquery()


def action_rows(*, session: Session, cluster: Cluster, which: ActionFilter) -> Iterator[ActionRow]:
    """Every matching action with its practice, topic, meeting and notes, streamed in batches (bounded
    memory)."""
    query = which.apply(
        select(Action.short_id, Action.description, Action.owner, Practice.code, Practice.name, Action.due_on,
               Action.status, Topic.short_id, Topic.title, Topic.status, Meeting.short_id, Meeting.title,
               _notes_of_action(session), Action.created_by, Action.created_at, Action.done_at,
               Action.done_by, Action.source_link)
        .join(Practice, col(Action.practice_id) == Practice.id, isouter=True)
        .join(Topic, col(Action.topic_id) == Topic.id, isouter=True)
        .join(Meeting, col(Action.meeting_id) == Meeting.id, isouter=True),
        cluster,
    )
    # Plain columns, not ORM objects: no identity map to fill, about ten times faster to read.
    for row in session.execute(_by_due_date(query).execution_options(yield_per=2000)):
        yield ActionRow(*row)


@dataclass(frozen=True)
class ActionCounts:
    overdue: int
    due_soon: int
    open_later: int
    done: int
    by_practice: list[tuple[str, int, int]]       # practice name, open, done
    by_owner: list[tuple[str, int, int, int]]     # owner, open, overdue, done

    @property
    def total(self) -> int:
        return self.overdue + self.due_soon + self.open_later + self.done


def action_counts(*, session: Session, cluster: Cluster, which: ActionFilter, today: date,
                  soon: date) -> ActionCounts:
    """The summary sheet's figures, counted by the database."""
    is_open = Action.status == ActionStatus.OPEN
    overdue = is_open & (col(Action.due_on) < today)
    due_soon = is_open & (col(Action.due_on) >= today) & (col(Action.due_on) <= soon)
    done = Action.status == ActionStatus.DONE

    def total(condition) -> int:
        return session.exec(which.apply(select(func.count()).select_from(Action).where(condition), cluster)).one()

    n_open = total(is_open)
    n_overdue, n_soon = total(overdue), total(due_soon)
    as_int = lambda condition: func.sum(case((condition, 1), else_=0))  # noqa: E731
    by_practice = session.exec(
        which.apply(select(func.coalesce(Practice.name, "(no practice)"), as_int(is_open), as_int(done))
                    .select_from(Action).join(Practice, col(Action.practice_id) == Practice.id, isouter=True), cluster)
        .group_by(Practice.name).order_by(func.coalesce(Practice.name, "~"))
    ).all()
    by_owner = session.exec(
        which.apply(select(Action.owner, as_int(is_open), as_int(overdue), as_int(done)).select_from(Action), cluster)
        .group_by(Action.owner).order_by(Action.owner)
    ).all()
    return ActionCounts(n_overdue, n_soon, n_open - n_overdue - n_soon, total(done),
                        [tuple(int(v or 0) if i else v for i, v in enumerate(r)) for r in by_practice],
                        [tuple(int(v or 0) if i else v for i, v in enumerate(r)) for r in by_owner])
