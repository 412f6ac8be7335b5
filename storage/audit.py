"""Data functions for the audit log: one row per audited change, read per cluster, newest first."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from storage.models import AUDIT_ITEMS_MAX, AUDIT_WHAT_MAX, AuditEntry


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    user_id: str
    what: str
    items: str
    person: str | None


def record(*, session: Session, cluster_id: int, user_id: str, what: str, items: list[str],
           person: str | None) -> None:
    """One audited change, in the change's own transaction: rolled back with it if it fails."""
    session.add(AuditEntry(cluster_id=cluster_id, user_id=user_id, what=what[:AUDIT_WHAT_MAX],
                           items=_bounded(items), person=person))


def _bounded(items: list[str]) -> str:
    kept, size = [], 0
    for item in dict.fromkeys(items):
        if size + len(item) + 1 > AUDIT_ITEMS_MAX:
            break
        kept.append(item)
        size += len(item) + 1
    return " ".join(kept)


def latest(*, session: Session, cluster_id: int, since: datetime | None, limit: int) -> tuple[list[AuditRow], int]:
    """The newest `limit` entries of the cluster (since `since`), and how many there are in all."""
    where = [AuditEntry.cluster_id == cluster_id]
    if since is not None:
        where.append(col(AuditEntry.at) >= since)
    total = session.exec(select(func.count()).select_from(AuditEntry).where(*where)).one()
    rows = session.exec(select(AuditEntry.at, AuditEntry.user_id, AuditEntry.what, AuditEntry.items,
                               AuditEntry.person)
                        .where(*where).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit))
    return [AuditRow(*row) for row in rows], total


def rows(*, session: Session, cluster_id: int) -> Iterator[AuditRow]:
    """Every entry of the cluster, oldest first, streamed (for the workbook)."""
    query = (select(AuditEntry.at, AuditEntry.user_id, AuditEntry.what, AuditEntry.items, AuditEntry.person)
             .where(AuditEntry.cluster_id == cluster_id).order_by(AuditEntry.at, AuditEntry.id))
    for row in session.exec(query.execution_options(yield_per=500)):
        yield AuditRow(*row)
