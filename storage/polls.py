"""Data functions for polls and ballots. Tallies are always counted from the ballots."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, insert, update
from sqlmodel import Session, col, func, or_, select

from analysis.poll_counts import borda
from storage import anonymity
from storage.models import Ballot, BallotCaster, Cluster, Poll, Practice
from storage.short_ids import next_short_id
from storage.types import built_upsert, upsert

POLL_PREFIX = "P"
BATCH = 2000  # rows per fetch when streaming a workbook's rows


def create_poll(*, session: Session, cluster: Cluster, poll: Poll) -> Poll:
    poll.cluster_id = cluster.id
    poll.short_id = next_short_id(session=session, cluster=cluster, prefix=POLL_PREFIX)
    session.add(poll)
    session.flush()
    return poll


@dataclass(frozen=True, slots=True)
class PollFields:
    """A poll as a click reads it: its columns, not an ORM object (storage.clusters.ClusterRow says why).
    Loading the ORM object was the largest single cost of a vote after the cluster's. Frozen: the poll
    changes only through the functions here."""

    id: int
    cluster_id: int
    short_id: str
    question: str
    options: list[str]
    per_practice: bool
    anonymous: bool
    hidden: bool
    pick: int
    closes_at: datetime | None
    created_by: str
    created_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    announced_at: datetime | None
    posted_channel: str | None
    posted_ref: str | None
    submission_key: str | None
    kind: str
    dots: int
    remind: bool
    reminded_at: datetime | None
    schedule_id: int | None
    edited_at: datetime | None
    edited: list[str] | None


# A vote runs these on every click: built once (building costs more than SQLite's running them).
_FIND_POLL = select(Poll).where(Poll.cluster_id == bindparam("cluster_id"), Poll.short_id == bindparam("short_id"))
_POLL_FIELDS = select(*(Poll.__table__.c[name] for name in PollFields.__slots__)) \
    .where(Poll.cluster_id == bindparam("cluster_id"), Poll.short_id == bindparam("short_id"))
_CURRENT_BALLOT = (select(Ballot.choices, Ballot.cast_by)
                   .where(Ballot.poll_id == bindparam("poll_id"), Ballot.voter_key == bindparam("voter_key"))
                   .with_for_update())


def find_poll(*, session: Session, cluster: Cluster, short_id: str) -> Poll | None:
    return session.exec(_FIND_POLL, params={"cluster_id": cluster.id, "short_id": short_id}).first()


def poll_fields(*, session: Session, cluster: Cluster, short_id: str) -> PollFields | None:
    """The poll as a plain row, for work that only reads it (a vote)."""
    row = session.connection().execute(_POLL_FIELDS, {"cluster_id": cluster.id, "short_id": short_id}).first()
    return PollFields(*row) if row is not None else None


def find_submitted_poll(*, session: Session, cluster: Cluster, submission_key: str) -> Poll | None:
    return session.exec(
        select(Poll).where(Poll.cluster_id == cluster.id, Poll.submission_key == submission_key)
    ).first()


def list_polls(*, session: Session, cluster: Cluster, closed_since: datetime) -> list[Poll]:
    """Open polls, and polls closed since `closed_since`, newest first."""
    return list(session.exec(
        select(Poll)
        .where(Poll.cluster_id == cluster.id,
               or_(col(Poll.closed_at).is_(None), col(Poll.closed_at) >= closed_since))
        .order_by(col(Poll.id).desc())
    ))


def remember_post(*, session: Session, poll_id: int, channel: str, ref: str) -> None:
    session.execute(update(Poll).where(Poll.id == poll_id).values(posted_channel=channel, posted_ref=ref))


def discard_unposted(*, session: Session, poll_id: int) -> None:
    """A poll that could not be posted never existed (it has no ballots: nobody could see it)."""
    poll = session.get(Poll, poll_id)
    if poll is not None and poll.posted_ref is None:
        session.delete(poll)
        session.flush()


def current_ballot(*, session: Session, poll: Poll, voter_key: str,
                   secret: bytes | None = None) -> tuple[list[int], str] | None:
    """The ballot's choices and who cast it, before a change (row-locked on PostgreSQL until the change
    commits, so the colleague told "changed from …" is told what really was there). `secret`: the ballot
    key, which opens an open anonymous poll's sealed choices."""
    row = session.connection().execute(_CURRENT_BALLOT, {"poll_id": poll.id, "voter_key": voter_key}).first()
    return (_read(secret, poll, row[0]), row[1]) if row else None


def cast_ballot(*, session: Session, poll: Poll, voter_key: str, practice_id: int | None, cast_by: str,
                choose: int, now: datetime, exactly: list[int] | None = None,
                secret: bytes | None = None) -> list[int]:
    """Record a choice atomically and return the ballot's choices afterwards.

    pick 1: the ballot becomes this option (an upsert: concurrent clicks leave exactly one ballot).
    pick N: the option is toggled in the ballot, under a row lock, so concurrent toggles are not lost.
    Raises TooManyChoices when a toggle would exceed `pick`.
    `secret` (anonymous polls): the choices are sealed with it (storage.anonymity), and a ballot that
    comes to choose nothing is deleted rather than kept empty (an empty seal would count as a ballot).
    """
    values = dict(poll_id=poll.id, voter_key=voter_key, practice_id=practice_id, cast_by=cast_by, cast_at=now)
    if poll.pick == 1 or exactly is not None:  # the ballot becomes exactly these options (typed votes)
        chosen = sorted(set(exactly)) if exactly is not None else [choose]
        if secret is not None and not chosen:
            session.execute(delete(Ballot).where(Ballot.poll_id == poll.id, Ballot.voter_key == voter_key))
            return chosen
        session.connection().execute(built_upsert(session, _set_ballot),
                                     {**values, "choices": _written(secret, poll, chosen)})
        return chosen
    session.execute(upsert(session, Ballot).values(**values, choices=_written(secret, poll, []))
                    .on_conflict_do_nothing())
    ballot = session.exec(
        select(Ballot).where(Ballot.poll_id == poll.id, Ballot.voter_key == voter_key).with_for_update()
    ).one()
    chosen = _read(secret, poll, ballot.choices)
    if choose in chosen:
        chosen.remove(choose)
    elif len(chosen) >= poll.pick:
        raise TooManyChoices(chosen)
    else:
        chosen = sorted([*chosen, choose])
    if secret is not None and not chosen:
        session.delete(ballot)
    else:
        ballot.choices, ballot.cast_by, ballot.cast_at = _written(secret, poll, chosen), cast_by, now
        session.add(ballot)
    session.flush()
    return chosen


def _written(secret: bytes | None, poll: Poll, chosen: list[int]) -> str:
    """Choices as stored: sealed on an open anonymous poll (given its key), plain option numbers otherwise."""
    return anonymity.seal(secret, poll.id, chosen) if secret is not None else ",".join(map(str, chosen))


def _read(secret: bytes | None, poll: Poll, text: str) -> list[int]:
    return anonymity.unseal(secret, poll.id, text) if secret is not None else parse_choices(text)


def anonymous_key(secret: bytes, poll: Poll, voter: str) -> str:
    """An anonymous ballot's voter key (storage.anonymity.anonymous_key)."""
    return anonymity.anonymous_key(secret, poll.id, voter)


def still_open(*, session: Session, poll_id: int) -> bool:
    """Whether the poll is still open, holding it open until this unit of work ends: a share lock on
    PostgreSQL, so a close (whose UPDATE waits for it) cannot read the ballots while this vote writes one
    and leave it sealed for ever. (SQLite's writers are serialised already.)"""
    closed_at = session.execute(select(Poll.closed_at).where(Poll.id == poll_id).with_for_update(read=True)).first()
    return closed_at is not None and closed_at[0] is None


def open_anonymous_polls(*, session: Session) -> int:
    """How many anonymous polls are open in the whole deployment (asked once, at start: is a key needed?)."""
    return session.exec(select(func.count()).select_from(Poll)
                        .where(col(Poll.anonymous).is_(True), col(Poll.closed_at).is_(None))).one()


def voter_keys(*, session: Session, poll: Poll) -> set[str]:
    """The voter keys of the ballots that choose something."""
    return set(session.exec(select(Ballot.voter_key).where(Ballot.poll_id == poll.id, Ballot.choices != "")))


def voter_keys_of(*, session: Session, polls: list[Poll]) -> dict[int, set[str]]:
    """poll id -> the voter keys of its ballots that choose something, for several polls in one query."""
    found: dict[int, set[str]] = {p.id: set() for p in polls}
    if found:
        for poll_id, key in session.exec(select(Ballot.poll_id, Ballot.voter_key)
                                         .where(col(Ballot.poll_id).in_(found), Ballot.choices != "")):
            found[poll_id].add(key)
    return found


def _set_ballot(insert):
    statement = insert(Ballot).values(**{c: bindparam(c) for c in BALLOT_VALUES})
    return statement.on_conflict_do_update(index_elements=["poll_id", "voter_key"],
                                           set_={c: statement.excluded[c] for c in BALLOT_CHANGES})


BALLOT_VALUES = ("poll_id", "voter_key", "practice_id", "cast_by", "cast_at", "choices")
BALLOT_CHANGES = ("choices", "cast_by", "cast_at", "practice_id")


def _claim_caster(insert):
    # On a repeat the no-op update returns the practice already claimed: one statement, not an insert
    # and a select (the update also waits for, then reads, a claim another vote is committing).
    statement = insert(BallotCaster).values(poll_id=bindparam("poll_id"), user_id=bindparam("user_id"),
                                            practice_id=bindparam("practice_id"))
    return statement.on_conflict_do_update(index_elements=["poll_id", "user_id"],
                                           set_={"practice_id": BallotCaster.practice_id}) \
        .returning(BallotCaster.practice_id)


def claim_caster(*, session: Session, poll: Poll, user_id: str, practice_id: int) -> int:
    """The practice this person casts ballots for on this poll: `practice_id` the first time, and the
    same practice ever after (a unique key, so two votes at once cannot claim two practices)."""
    # Core, not the ORM's statement handling: these rows are never objects in the session.
    return session.connection().execute(built_upsert(session, _claim_caster), {
        "poll_id": poll.id, "user_id": user_id, "practice_id": practice_id}).scalar_one()


class TooManyChoices(Exception):
    def __init__(self, chosen: list[int]):
        super().__init__(chosen)
        self.chosen = chosen


def has_ballot(*, session: Session, poll: Poll, voter_key: str) -> bool:
    return session.exec(
        select(Ballot.id).where(Ballot.poll_id == poll.id, Ballot.voter_key == voter_key, Ballot.choices != "")
    ).first() is not None


def parse_choices(text: str) -> list[int]:
    return [int(c) for c in text.split(",") if c]


def ballots(*, session: Session, poll: Poll) -> list[Ballot]:
    """Ballots that choose something (a pick-N ballot toggled back to nothing does not count)."""
    return list(session.exec(
        select(Ballot).where(Ballot.poll_id == poll.id, Ballot.choices != "").order_by(Ballot.id)
    ))


def tally(poll: Poll, cast: list[Ballot]) -> list[int]:
    """Counts per option (index 0 is option 1) from a list of ballots: the plain reference that tests and
    benchmarks check `count` against."""
    counts = [0] * len(poll.options)
    for ballot in cast:
        for choice in _countable(ballot.choices):
            counts[choice - 1] += 1
    return counts


@dataclass(frozen=True)
class Count:
    options: list[int]   # ballots choosing each option (index 0 is option 1)
    ballots: int         # ballots that choose something
    practices: set[int]  # practices that have a ballot


def count(*, session: Session, poll: Poll) -> Count:
    """The tally, counted by the database from the ballots (grouped, so it stays cheap with many)."""
    rows = session.exec(
        select(Ballot.choices, Ballot.practice_id, func.count())
        .where(Ballot.poll_id == poll.id, Ballot.choices != "")
        .group_by(Ballot.choices, Ballot.practice_id)
    )
    return _counted(len(poll.options), rows)


def _counted(options_count: int, rows) -> Count:
    """A Count from (choices, practice id, ballots) groups."""
    options, ballots_cast, practices = [0] * options_count, 0, set()
    for choices, practice_id, n in rows:
        for choice in _countable(choices):
            options[choice - 1] += n
        ballots_cast += n
        if practice_id is not None:
            practices.add(practice_id)
    return Count(options, ballots_cast, practices)


def _countable(choices: str) -> list[int]:
    """A ballot's options for a tally: none while sealed (an open anonymous poll shows no counts; its
    ballots still count as ballots)."""
    return [] if anonymity.is_sealed(choices) else parse_choices(choices)


def extend_poll(*, session: Session, poll: Poll, closes_at: datetime) -> bool:
    """A new deadline for a poll still open; False if it closed meanwhile. The reminder before the close
    (commands/polls/timetable.py) goes again before the new deadline."""
    moved = session.execute(update(Poll).where(Poll.id == poll.id, col(Poll.closed_at).is_(None))
                            .values(closes_at=closes_at, reminded_at=None)).rowcount == 1
    session.refresh(poll)
    return moved


def close_poll(*, session: Session, poll: Poll, by: str, now: datetime, secret: bytes | None = None) -> bool:
    """Close the poll if nobody has yet. True for exactly one caller, however many race. An anonymous
    poll needs `secret`, its ballot key, to open its sealed choices."""
    claimed = session.execute(
        update(Poll).where(Poll.id == poll.id, col(Poll.closed_at).is_(None)).values(closed_at=now, closed_by=by)
    ).rowcount == 1
    session.refresh(poll)
    if claimed and poll.anonymous:
        forget_anonymous_voters(session=session, poll=poll, secret=secret)
    return claimed


def forget_anonymous_voters(*, session: Session, poll: Poll, secret: bytes | None) -> None:
    """At the close nothing may link an anonymous ballot to anyone, even with the key. The sealed ballots
    are opened and deleted, and the choices written afresh as new rows in the order of the choices
    themselves (so their ids and places carry nothing else), each "closed:<n>"; who cast which practice's
    ballot is deleted. (On SQLite, secure_delete overwrites what is deleted: storage.db.)"""
    opened = []
    for text in session.exec(select(Ballot.choices).where(Ballot.poll_id == poll.id)):
        if anonymity.is_sealed(text) and secret is None:
            raise ValueError("closing an anonymous poll needs its ballot key")
        chosen = anonymity.unseal(secret or b"", poll.id, text)
        if chosen:
            opened.append(",".join(map(str, chosen)))
    session.execute(delete(Ballot).where(Ballot.poll_id == poll.id))
    session.execute(delete(BallotCaster).where(BallotCaster.poll_id == poll.id))
    if opened:
        session.execute(insert(Ballot), [
            dict(poll_id=poll.id, voter_key=f"closed:{n}", practice_id=None, cast_by="", choices=choices,
                 cast_at=poll.created_at) for n, choices in enumerate(sorted(opened), start=1)])


_ANNOUNCEABLE = (Poll.closed_by == "deadline", col(Poll.announced_at).is_(None))


def unannounced_polls(*, session: Session, now: datetime) -> list[int]:
    """Polls closed at their deadline whose result is not yet in the outbox."""
    return list(session.exec(select(Poll.id).where(*_ANNOUNCEABLE).order_by(Poll.id)))


def claim_announcement(*, session: Session, poll_id: int, now: datetime) -> bool:
    """True for exactly one caller: the one that puts the result in the outbox, in this same
    transaction (so the claim needs no lease: it commits with the announcement or not at all)."""
    return session.execute(
        update(Poll).where(Poll.id == poll_id, *_ANNOUNCEABLE).values(announced_at=now)
    ).rowcount == 1



def due_polls(*, session: Session, now: datetime) -> list[int]:
    """Open polls whose deadline has passed, in every cluster."""
    return list(session.exec(
        select(Poll.id).where(col(Poll.closed_at).is_(None), col(Poll.closes_at) <= now).order_by(Poll.closes_at)
    ))


@dataclass(frozen=True)
class PollRow:
    """A poll with its result, for the cluster workbook."""

    short_id: str
    question: str
    options: list[str]
    counts: list[int]
    per_practice: bool
    anonymous: bool
    created_by: str
    created_at: datetime
    closes_at: datetime | None
    closed_at: datetime | None
    ballots: int
    # Results shown only once closed: a workbook shows none while it is open. Anonymous polls too, since
    # counts that move as a practice votes would say how it voted (the live card shows turnout only).
    hidden: bool = False
    # "choice", "ranked" (counts are Borda points), "dots" (counts are dots) or "pick" (counts are how many
    # rated each option): commands/polls/kinds.py.
    kind: str = "choice"


@dataclass(frozen=True)
class BallotRow:
    """A ballot of a non-anonymous poll, for the cluster workbook."""

    poll_short_id: str
    practice_code: str | None
    practice_name: str | None
    cast_by: str
    choices: list[str]
    cast_at: datetime


def poll_rows(*, session: Session, cluster: Cluster) -> list[PollRow]:
    """Every poll of the cluster with its tally: the ballots of all of them counted in one grouped query."""
    groups: dict[int, list[tuple[str, int | None, int]]] = {}
    for poll_id, choices, practice_id, n in session.exec(
        select(Ballot.poll_id, Ballot.choices, Ballot.practice_id, func.count())
        .join(Poll, col(Ballot.poll_id) == Poll.id)
        .where(Poll.cluster_id == cluster.id, Ballot.choices != "")
        .group_by(Ballot.poll_id, Ballot.choices, Ballot.practice_id)
    ):
        groups.setdefault(poll_id, []).append((choices, practice_id, n))
    rows = []
    for poll in session.exec(select(Poll).where(Poll.cluster_id == cluster.id).order_by(Poll.id)):
        counted = _counted(len(poll.options), groups.get(poll.id, ()))
        counts = counted.options
        if poll.kind == "ranked":  # a ballot's order is its meaning: Borda points (analysis/poll_counts.py)
            counts = borda(len(poll.options), ((parse_choices(c), n) for c, _, n in groups.get(poll.id, ())))
        rows.append(PollRow(poll.short_id, poll.question, poll.options, counts, poll.per_practice,
                            poll.anonymous, poll.created_by, poll.created_at, poll.closes_at, poll.closed_at,
                            counted.ballots, poll.hidden or poll.anonymous, poll.kind))
    return rows


def ballot_rows(*, session: Session, cluster: Cluster) -> Iterator[BallotRow]:
    """Ballots of non-anonymous polls only: an anonymous poll's ballots never leave the database, and a
    hidden-results poll's none until it closes. Plain columns, streamed in batches (bounded memory); each
    poll's options are read once, not with every ballot."""
    shown = (Poll.cluster_id == cluster.id, col(Poll.anonymous).is_(False),
             col(Poll.hidden).is_(False) | col(Poll.closed_at).is_not(None))
    options = dict(session.exec(select(Poll.id, Poll.options).where(*shown)).all())
    query = (
        select(Ballot.poll_id, Poll.short_id, Practice.code, Practice.name, Ballot.cast_by, Ballot.choices,
               Ballot.cast_at)
        .join(Poll, col(Ballot.poll_id) == Poll.id)
        .join(Practice, col(Ballot.practice_id) == Practice.id, isouter=True)
        .where(*shown, Ballot.choices != "")
        .order_by(Poll.id, Ballot.id)
    )
    for poll_id, short_id, code, name, cast_by, choices, cast_at in session.execute(
            query.execution_options(yield_per=BATCH)):
        yield BallotRow(short_id, code, name, cast_by, [options[poll_id][c - 1] for c in parse_choices(choices)],
                        cast_at)


RECENTLY = timedelta(days=30)


def open_posted_polls(*, session: Session) -> list[tuple[int, str, str]]:
    """Open polls whose card is posted: (id, channel, ref), for a refresh when a process starts."""
    return [tuple(r) for r in session.execute(
        select(Poll.id, Poll.posted_channel, Poll.posted_ref)
        .where(col(Poll.closed_at).is_(None), col(Poll.posted_ref).is_not(None)))]
