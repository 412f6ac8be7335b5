"""Data functions for the QI method: a topic's driver diagram (drivers and change ideas) and the PDSA cycles
that test its ideas. Ids people type: drivers by number within their topic (1, 1.2), ideas cluster-wide (C4),
cycles by idea and number (C4.1)."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, update
from sqlmodel import Session, col, func, select

from storage.clock import now as now_of
from storage.models import ChangeIdea, Cluster, Measure, PdsaCycle, Practice, Topic, TopicDriver
from storage.short_ids import next_short_id

IDEA_PREFIX = "C"


# --- drivers -------------------------------------------------------------------------------------------

def drivers(*, session: Session, topic: Topic) -> list[TopicDriver]:
    """A topic's drivers, primaries and secondaries, in id order (callers arrange them by parent)."""
    return list(session.exec(select(TopicDriver).where(TopicDriver.topic_id == topic.id).order_by(TopicDriver.id)))


def add_driver(*, session: Session, topic: Topic, parent: TopicDriver | None, text: str, by: str) -> TopicDriver:
    parent_id = parent.id if parent else None
    last = session.exec(select(func.max(TopicDriver.number)).where(
        TopicDriver.topic_id == topic.id,
        TopicDriver.parent_id == parent_id if parent_id else col(TopicDriver.parent_id).is_(None))).one()
    driver = TopicDriver(topic_id=topic.id, parent_id=parent_id, number=(last or 0) + 1, text=text, created_by=by)
    _touch(session, topic)
    session.add(driver)
    session.flush()
    return driver


def update_driver(*, session: Session, driver: TopicDriver, text: str) -> None:
    driver.text = text
    session.add(driver)
    session.flush()


def remove_driver(*, session: Session, driver: TopicDriver) -> None:
    session.delete(driver)
    session.flush()


def _touch(session: Session, topic: Topic) -> None:
    topic.updated_at = now_of(session)
    session.add(topic)


# --- change ideas --------------------------------------------------------------------------------------

def add_idea(*, session: Session, cluster: Cluster, topic: Topic, driver: TopicDriver, text: str,
             by: str) -> ChangeIdea:
    idea = ChangeIdea(cluster_id=cluster.id, topic_id=topic.id, driver_id=driver.id, text=text, created_by=by,
                      short_id=next_short_id(session=session, cluster=cluster, prefix=IDEA_PREFIX))
    _touch(session, topic)
    session.add(idea)
    session.flush()
    return idea


def find_idea(*, session: Session, cluster: Cluster, short_id: str) -> ChangeIdea | None:
    return session.exec(select(ChangeIdea).where(ChangeIdea.cluster_id == cluster.id,
                                                 ChangeIdea.short_id == short_id)).first()


def ideas(*, session: Session, topic: Topic) -> list[ChangeIdea]:
    return list(session.exec(select(ChangeIdea).where(ChangeIdea.topic_id == topic.id).order_by(ChangeIdea.id)))


def update_idea(*, session: Session, idea: ChangeIdea, text: str | None = None,
                driver: TopicDriver | None = None) -> None:
    if text is not None:
        idea.text = text
    if driver is not None:
        idea.driver_id = driver.id
    session.add(idea)
    session.flush()


def remove_idea(*, session: Session, idea: ChangeIdea) -> None:
    session.delete(idea)
    session.flush()


# --- PDSA cycles ---------------------------------------------------------------------------------------

def add_cycle(*, session: Session, cluster: Cluster, idea: ChangeIdea, plan: str, prediction: str,
              due_on: date | None, practice_id: int | None, measure_id: int | None, by: str,
              submission_key: str | None = None) -> PdsaCycle:
    """The idea's next cycle (C4.1, then C4.2 …). The writer's lock (SQLite) or the unique (idea, number)
    constraint (PostgreSQL) keeps two plans from sharing a number."""
    last = session.exec(select(func.max(PdsaCycle.number)).where(PdsaCycle.idea_id == idea.id)).one()
    cycle = PdsaCycle(cluster_id=cluster.id, idea_id=idea.id, number=(last or 0) + 1, plan=plan,
                      prediction=prediction, due_on=due_on, practice_id=practice_id, measure_id=measure_id,
                      planned_by=by, submission_key=submission_key)
    session.add(cycle)
    session.flush()
    return cycle


def find_cycle(*, session: Session, idea: ChangeIdea, number: int) -> PdsaCycle | None:
    return session.exec(select(PdsaCycle).where(PdsaCycle.idea_id == idea.id, PdsaCycle.number == number)).first()


def find_submitted_cycle(*, session: Session, cluster: Cluster, submission_key: str) -> PdsaCycle | None:
    return session.exec(select(PdsaCycle).where(PdsaCycle.cluster_id == cluster.id,
                                                PdsaCycle.submission_key == submission_key)).first()


def save_cycle(*, session: Session, cycle: PdsaCycle) -> None:
    cycle.updated_at = now_of(session)
    session.add(cycle)
    session.flush()


@dataclass(frozen=True)
class CycleRow:
    """A cycle with its idea and topic: what lists, charts and workbooks show."""

    cycle: PdsaCycle
    idea: ChangeIdea
    topic: Topic

    @property
    def short_id(self) -> str:
        return f"{self.idea.short_id}.{self.cycle.number}"


def _rows(session: Session, *where) -> list[CycleRow]:
    query = (select(PdsaCycle, ChangeIdea, Topic).join(ChangeIdea, ChangeIdea.id == PdsaCycle.idea_id)
             .join(Topic, Topic.id == ChangeIdea.topic_id).where(*where)
             .order_by(ChangeIdea.id, PdsaCycle.number))
    return [CycleRow(c, i, t) for c, i, t in session.exec(query)]


def cycles(*, session: Session, cluster: Cluster, topic: Topic | None = None, idea: ChangeIdea | None = None,
           planned_by: str | None = None) -> list[CycleRow]:
    where = [PdsaCycle.cluster_id == cluster.id]
    if topic is not None:
        where.append(ChangeIdea.topic_id == topic.id)
    if idea is not None:
        where.append(PdsaCycle.idea_id == idea.id)
    if planned_by is not None:
        where.append(PdsaCycle.planned_by == planned_by)
    return _rows(session, *where)


def cycles_of_measure(*, session: Session, measure: Measure) -> list[CycleRow]:
    return _rows(session, PdsaCycle.measure_id == measure.id)


def cycles_on_measures(*, session: Session, cluster: Cluster) -> list[CycleRow]:
    """Every cycle of the cluster that names a measure (one query, for a workbook's every measure)."""
    return _rows(session, PdsaCycle.cluster_id == cluster.id, col(PdsaCycle.measure_id).is_not(None))


def idea_cycles(*, session: Session, topic: Topic) -> dict[int, list[PdsaCycle]]:
    """idea id -> its cycles in order, for a topic's diagram and card (one query)."""
    out: dict[int, list[PdsaCycle]] = {}
    for row in _rows(session, ChangeIdea.topic_id == topic.id):
        out.setdefault(row.idea.id, []).append(row.cycle)
    return out


def prompts_due(*, session: Session, before: date) -> list[int]:
    """Cycles whose `by` date is before `before`, not yet studied and whose planner has not been asked."""
    return list(session.exec(select(PdsaCycle.id).where(
        col(PdsaCycle.prompted_at).is_(None), col(PdsaCycle.due_on).is_not(None), PdsaCycle.due_on < before,
        PdsaCycle.study == "").order_by(PdsaCycle.id)))


def claim_prompt(*, session: Session, cycle_id: int, now: datetime) -> bool:
    """Mark the cycle's study prompt as sent; False when another process (or an earlier tick) did."""
    claimed = session.execute(update(PdsaCycle).where(PdsaCycle.id == cycle_id, col(PdsaCycle.prompted_at).is_(None))
                              .values(prompted_at=now))
    return claimed.rowcount == 1


@dataclass(frozen=True)
class CycleExportRow:
    """A cycle as the cluster's workbook lists it: ids and codes, its texts, who planned it and when."""

    cycle: str            # C4.1
    topic: str            # T3
    topic_title: str
    idea: str             # C4 and its text
    idea_text: str
    plan: str
    prediction: str
    due_on: date | None
    practice_code: str | None
    measure: str | None   # D1
    done: str
    study: str
    act: str | None
    act_note: str
    planned_by: str
    planned_at: datetime


def export_rows(*, session: Session, cluster: Cluster) -> list[CycleExportRow]:
    measures = {m.id: m.short_id for m in session.exec(select(Measure).where(Measure.cluster_id == cluster.id))}
    codes = {p.id: p.code for p in session.exec(select(Practice).where(Practice.cluster_id == cluster.id))}
    return [CycleExportRow(r.short_id, r.topic.short_id, r.topic.title, r.idea.short_id, r.idea.text, r.cycle.plan,
                           r.cycle.prediction, r.cycle.due_on, codes.get(r.cycle.practice_id),
                           measures.get(r.cycle.measure_id), r.cycle.done, r.cycle.study, r.cycle.act,
                           r.cycle.act_note, r.cycle.planned_by, r.cycle.planned_at)
            for r in cycles(session=session, cluster=cluster)]


# --- the QI method at a glance (the Home) and at the meeting (the agenda) -------------------------------

@dataclass(frozen=True)
class QiCounts:
    """A topic's change ideas and its cycles in progress (not yet acted on), by step."""

    ideas: int = 0
    planned: int = 0
    doing: int = 0
    studied: int = 0


def counts_of(*, session: Session, topic_ids: list[int]) -> dict[int, QiCounts]:
    """topic id -> its QiCounts, for many topics in one query (topics with no idea are left out)."""
    if not topic_ids:
        return {}
    open_ = col(PdsaCycle.id).is_not(None) & col(PdsaCycle.act).is_(None)

    def counted(condition):
        return func.sum(case((open_ & condition, 1), else_=0))

    rows = session.exec(
        select(ChangeIdea.topic_id, func.count(func.distinct(ChangeIdea.id)),
               counted((PdsaCycle.done == "") & (PdsaCycle.study == "")),
               counted((PdsaCycle.done != "") & (PdsaCycle.study == "")),
               counted(PdsaCycle.study != ""))
        .join(PdsaCycle, col(PdsaCycle.idea_id) == ChangeIdea.id, isouter=True)
        .where(col(ChangeIdea.topic_id).in_(topic_ids)).group_by(ChangeIdea.topic_id))
    return {topic_id: QiCounts(ideas, planned or 0, doing or 0, studied or 0)
            for topic_id, ideas, planned, doing, studied in rows}


def agenda_cycles(*, session: Session, cluster: Cluster, since: datetime | None, day: date) -> list[CycleRow]:
    """Cycles a meeting on `day` should hear about, in one query: not yet acted on, and either not studied with
    a `by` date on or before the day, or with what was done (or studied) recorded since `since` (the previous
    meeting; None: ever)."""
    moved = PdsaCycle.updated_at > since if since is not None else col(PdsaCycle.id).is_not(None)
    unstudied_due = (PdsaCycle.study == "") & col(PdsaCycle.due_on).is_not(None) & (PdsaCycle.due_on <= day)
    recorded = ((PdsaCycle.done != "") | (PdsaCycle.study != "")) & moved
    return _rows(session, PdsaCycle.cluster_id == cluster.id, col(PdsaCycle.act).is_(None),
                 unstudied_due | recorded)


def story_topics(*, session: Session, cluster: Cluster, short_ids: list[str]) -> list[Topic]:
    """The cluster's topics of `short_ids`, in that order, in one query (the Board report's QI sheets)."""
    if not short_ids:
        return []
    found = {t.short_id: t for t in session.exec(select(Topic).where(Topic.cluster_id == cluster.id,
                                                                     col(Topic.short_id).in_(short_ids)))}
    return [found[s] for s in short_ids if s in found]


def with_drivers(*, session: Session, topic_ids: list[int]) -> set[int]:
    """Which of the topics have a driver diagram: one query."""
    if not topic_ids:
        return set()
    return set(session.exec(select(TopicDriver.topic_id).where(col(TopicDriver.topic_id).in_(topic_ids)).distinct()))
