"""Erasing a person (UK GDPR Art. 17) and gathering what is held about them (Art. 15), driven by the
data map (storage/data_map.py): a column the map calls a person's id is erased and read here without a
line of code of its own. Keyword-only, one session in.

Every statement finds the person through an indexed column (migration 0021 indexes each person id), and a
lead's erasure is bounded by their cluster (SCOPE), so cost follows the person's rows, never the database.
"""

import json
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import String, Table, and_, cast, delete, literal, or_, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from storage import data_map
from storage.data_map import SCOPE, Erase
from storage.mentions import FORMER_MEMBER, without_mentions_of
from storage.models import Cluster, Member, Outbox, Role

PERSON_KEY, FORMER_KEY = "person:", "former:"
# Held about a person but by no one cluster: erased by the operator's erasure, or by a lead's once the
# person is in no cluster any more (their name, 1:1 chat, digest days and direct messages).
PERSONAL_TABLES = ("person_name", "conversation_ref", "digest_sent")


def _t(name: str) -> Table:
    return data_map.tables()[name]


def in_cluster(name: str, cluster_id: int) -> ColumnElement:
    """Rows of table `name` that belong to the cluster, following foreign keys up to it (each indexed)."""
    table, path = _t(name), SCOPE[name]
    if path == "id":
        return table.c.id == cluster_id
    if path == "cluster_id":
        return table.c.cluster_id == cluster_id
    key, parent = path
    return table.c[key].in_(select(_t(parent).c.id).where(in_cluster(parent, cluster_id)))


def _clusters_of_rows(name: str, where: ColumnElement):
    """The ids of the clusters the matching rows of `name` belong to."""
    table, path = _t(name), SCOPE[name]
    if path in ("id", "cluster_id"):
        return select(table.c[path]).where(where)
    key, parent = path
    return _clusters_of_rows(parent, _t(parent).c.id.in_(select(table.c[key]).where(where)))


def clusters_touched(*, session: Session, user_id: str) -> list[int]:
    """Every cluster where the person is a member or named in a person column: one indexed query each."""
    found: set[int] = set()
    for name, column, _p in data_map.person_ids():
        if name in SCOPE:
            found.update(session.execute(_clusters_of_rows(name, _t(name).c[column] == user_id)).scalars())
    return sorted(found)


def sole_lead_of(*, session: Session, user_id: str, cluster_ids: list[int] | None = None) -> list[Cluster]:
    """Clusters of which the person is the only lead: erasing them would leave the cluster without one."""
    query = select(Member.cluster_id).where(Member.user_id == user_id, Member.role == Role.LEAD)
    if cluster_ids is not None:
        query = query.where(Member.cluster_id.in_(cluster_ids))
    led = list(session.execute(query).scalars())
    sole = []
    for cluster_id in led:
        leads = session.execute(select(Member.user_id).where(Member.cluster_id == cluster_id,
                                                              Member.role == Role.LEAD).limit(2)).all()
        if len(leads) == 1:
            sole.append(session.get(Cluster, cluster_id))
    return sole


def erase(*, session: Session, user_id: str, cluster_id: int | None = None) -> Counter:
    """Remove the person's id and name: from one cluster's rows (a lead's erasure), or, with no cluster,
    from every table of the deployment (the operator's). Facts of the record stay, attributed to the
    marker shown as "a former member"; rows that are only about the person go. How many rows per table."""
    counts: Counter = Counter()
    clusters = [cluster_id] if cluster_id is not None else clusters_touched(session=session, user_id=user_id)
    for cid in clusters:  # before the ids go: they are how the operator's erasure finds the clusters
        counts += _mentions(session, user_id, cid)
        counts += _cluster_posts(session, user_id, cid)
    for name, column, via in data_map.keyed():
        counts[name] += _keys(session, name, column, via, user_id, cluster_id)
    for name, column, personal in data_map.person_ids():
        if name not in SCOPE:
            continue
        table = _t(name)
        where = table.c[column] == user_id
        if cluster_id is not None:
            where = and_(where, in_cluster(name, cluster_id))
        if personal.erase == Erase.DELETE:
            counts[name] += session.execute(delete(table).where(where)).rowcount
        else:
            counts[name] += session.execute(update(table).where(where).values({column: FORMER_MEMBER})).rowcount
    if cluster_id is None or not in_any_cluster(session=session, user_id=user_id):
        counts += forget_personal(session=session, user_id=user_id)
    session.flush()
    return +counts


def in_any_cluster(*, session: Session, user_id: str) -> bool:
    return session.execute(select(Member.id).where(Member.user_id == user_id).limit(1)).first() is not None


def forget_personal(*, session: Session, user_id: str) -> Counter:
    """What is held about a person in no cluster: their name, 1:1 chat, digest days, and every direct
    message to them, sent or queued (a digest or reminder queued for someone gone is not sent)."""
    counts: Counter = Counter()
    for name in PERSONAL_TABLES:
        table = _t(name)
        counts[name] += session.execute(delete(table).where(table.c.user_id == user_id)).rowcount
    counts["outbox"] += drop_direct_messages(session=session, user_id=user_id)
    return counts


def drop_direct_messages(*, session: Session, user_id: str, queued_only: bool = False) -> int:
    """Direct messages to the person (their id is the channel): all, or those not yet sent."""
    where = Outbox.channel == user_id
    if queued_only:
        where = and_(where, Outbox.sent_at.is_(None), Outbox.failed_at.is_(None))
    return session.execute(delete(Outbox).where(where)).rowcount


def _keys(session: Session, name: str, column: str, via: str, user_id: str, cluster_id: int | None) -> int:
    """"person:<id>" keys become "former:<row id>": unique per row, as the keys' constraints need."""
    table = _t(name)
    where = and_(table.c[via] == user_id, table.c[column] == PERSON_KEY + user_id)
    if cluster_id is not None:
        where = and_(where, in_cluster(name, cluster_id))
    former = literal(FORMER_KEY) + cast(table.c.id, String)
    return session.execute(update(table).where(where).values({column: former})).rowcount


def _mentions(session: Session, user_id: str, cluster_id: int) -> Counter:
    """Free text of the cluster mentioning the person: each mention written as "a former member". The
    LIKE reads only the cluster's rows (its index); the rows that match are few."""
    counts: Counter = Counter()
    for name, column in data_map.free_text():
        table = _t(name)
        text = cast(table.c[column], String)  # poll options are JSON
        found = session.execute(select(table.c.id, table.c[column]).where(
            in_cluster(name, cluster_id), text.contains(f"<@{user_id}", autoescape=True))).all()
        for row_id, value in found:
            rewritten = ([without_mentions_of(v, user_id) for v in value] if isinstance(value, list)
                         else without_mentions_of(value, user_id))
            session.execute(update(table).where(table.c.id == row_id).values({column: rewritten}))
            counts[name] += 1
    return counts


def _cluster_posts(session: Session, user_id: str, cluster_id: int) -> Counter:
    """The cluster's posts, and direct messages to its other members, in the outbox (queued, or sent and
    kept for the retention) naming the person ("… gave you an action"): their id becomes the marker,
    mentions in quoted text "a former member", and no one is told of a refusal on their behalf. Found by
    the outbox's channel index: the cluster's channel and its members' ids."""
    channel = session.execute(select(Cluster.channel_id).where(Cluster.id == cluster_id)).scalar_one()
    members = session.execute(select(Member.user_id).where(Member.cluster_id == cluster_id,
                                                          Member.user_id != user_id)).scalars()
    quoted = json.dumps(user_id)
    found = session.execute(select(Outbox.id, Outbox.payload, Outbox.asker).where(
        Outbox.channel.in_([channel, *members]), or_(Outbox.payload.contains(user_id, autoescape=True),
                                       Outbox.asker.contains(user_id, autoescape=True)))).all()
    for row_id, payload, asker in found:
        payload = without_mentions_of(payload.replace(quoted, json.dumps(FORMER_MEMBER)), user_id)
        session.execute(update(Outbox).where(Outbox.id == row_id).values(
            payload=payload, asker=None if asker and quoted in asker else asker))
    return Counter({"outbox": len(found)} if found else {})


# --- subject access ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Held:
    """One kind of data held about the person: a table's rows naming them, every column as stored."""

    table: str
    columns: list[str]
    rows: list[tuple]


def held_about(*, session: Session, user_id: str) -> list[Held]:
    """Everything held about the person, one entry per table: rows naming them by id (one indexed query
    per table), the cluster's free text mentioning them, and the messages sent or queued to them."""
    by_table: dict[str, list[ColumnElement]] = {}
    for name, column, _p in data_map.person_ids():
        by_table.setdefault(name, []).append(_t(name).c[column] == user_id)
    for name, _column, via in data_map.keyed():
        by_table.setdefault(name, []).append(_t(name).c[via] == user_id)
    by_table.setdefault("outbox", []).append(Outbox.channel == user_id)
    held = []
    for name, conditions in by_table.items():
        table = _t(name)
        rows = [tuple(r) for r in session.execute(select(table).where(or_(*conditions))).all()]
        if rows:
            held.append(Held(name, [c.name for c in table.columns], rows))
    mentions = _mentioning(session, user_id)
    if mentions:
        held.append(Held("mentions", ["table", "column", "row id", "text"], mentions))
    return held


def _mentioning(session: Session, user_id: str) -> list[tuple]:
    found = []
    for cluster_id in clusters_touched(session=session, user_id=user_id):
        for name, column in data_map.free_text():
            table = _t(name)
            found += [(name, column, row_id, value) for row_id, value in session.execute(
                select(table.c.id, table.c[column]).where(
                    in_cluster(name, cluster_id),
                    cast(table.c[column], String).contains(f"<@{user_id}", autoescape=True)))]
    return found
