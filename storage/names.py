"""People's names as their platform last showed them (storage/models.PersonName). Keyword-only, one
session in. Names are not trusted text: the caller cleans them (bot/teams/platform.py)."""

from datetime import datetime

from sqlalchemy import delete, exists
from sqlmodel import Session, col

from storage.clock import now as now_of
from storage.models import Member, PersonName
from storage.types import upsert


def save_name(*, session: Session, user_id: str, name: str) -> None:
    """Insert or bring up to date in one statement, so two processes learning a name at once cannot collide."""
    values = {"name": name, "updated_at": now_of(session)}
    statement = upsert(session, PersonName).values(user_id=user_id, **values)
    session.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_=values))


def find_name(*, session: Session, user_id: str) -> str | None:
    found = session.get(PersonName, user_id)
    return found.name if found is not None else None


def forget_names(*, session: Session, before: datetime) -> int:
    """Forget the names of people in no cluster that were last seen before `before`: a name is kept to
    show the person in a cluster's exports and minutes, which someone in no cluster is not. How many."""
    in_a_cluster = exists().where(Member.user_id == PersonName.user_id)
    return session.execute(delete(PersonName).where(col(PersonName.updated_at) < before, ~in_a_cluster)).rowcount
