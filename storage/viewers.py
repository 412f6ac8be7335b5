"""Board viewers of a cluster: people who read its record and take its report without belonging to it.
One indexed query each; a viewer is never a member (`/cluster viewer add` refuses a member)."""

from sqlalchemy import delete
from sqlmodel import Session, select

from storage.models import Viewer


def is_viewer(*, session: Session, cluster_id: int, user_id: str) -> bool:
    query = select(Viewer.id).where(Viewer.cluster_id == cluster_id, Viewer.user_id == user_id).limit(1)
    return session.exec(query).first() is not None


def add_viewer(*, session: Session, cluster_id: int, user_id: str, added_by: str) -> bool:
    """True when the person became a viewer; False when they already were."""
    if is_viewer(session=session, cluster_id=cluster_id, user_id=user_id):
        return False
    session.add(Viewer(cluster_id=cluster_id, user_id=user_id, added_by=added_by))
    session.flush()
    return True


def remove_viewer(*, session: Session, cluster_id: int, user_id: str) -> bool:
    """True when the person was a viewer (and no longer is)."""
    gone = session.execute(delete(Viewer).where(Viewer.cluster_id == cluster_id, Viewer.user_id == user_id))
    return gone.rowcount > 0


def list_viewers(*, session: Session, cluster_id: int) -> list[str]:
    """The viewers' user ids, in the order they were added."""
    query = select(Viewer.user_id).where(Viewer.cluster_id == cluster_id).order_by(Viewer.created_at, Viewer.id)
    return list(session.exec(query))
