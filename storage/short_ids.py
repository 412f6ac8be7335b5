"""Per-cluster short ids people type: T3, P2, A7, M1, D1."""

from sqlalchemy import update
from sqlmodel import Session

from storage.models import Cluster, ShortIdCounter
from storage.types import upsert


def next_short_id(*, session: Session, cluster: Cluster, prefix: str) -> str:
    """The next per-cluster id (T1, T2 …). An atomic UPDATE … RETURNING, so concurrent requests
    never share a number: the row lock (PostgreSQL) or write lock (SQLite) serialises them."""
    bump = (
        update(ShortIdCounter)
        .where(ShortIdCounter.cluster_id == cluster.id, ShortIdCounter.prefix == prefix)
        .values(last=ShortIdCounter.last + 1)
        .returning(ShortIdCounter.last)
    )
    number = session.execute(bump).scalar_one_or_none()
    if number is None:
        session.execute(
            upsert(session, ShortIdCounter)
            .values(cluster_id=cluster.id, prefix=prefix, last=0)
            .on_conflict_do_nothing()
        )
        number = session.execute(bump).scalar_one()
    return f"{prefix}{number}"
