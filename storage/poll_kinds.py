"""Ballots of ranked polls and dot votes, and the ratings of PICK charts (commands/polls/kinds.py).

A ranked or dot ballot is a Ballot row whose choices keep their order and repeats ("3,1,2": 3 first;
"1,1,3": two dots on 1, one on 3). A typed ballot replaces the whole ballot in one upsert; a click changes
it under a row lock (the insert first, so SQLite's writer lock is held too), so concurrent clicks on one
practice's ballot are never lost. Tallies are counted from the ballots.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage import polls as poll_store
from storage.models import Ballot, PickRating, Poll
from storage.types import built_upsert, upsert


def parse(text: str) -> list[int]:
    """A ranked or dot ballot's option numbers, in order, repeats kept."""
    return [int(c) for c in text.split(",") if c]


def _text(choices: list[int]) -> str:
    return ",".join(map(str, choices))


def set_ballot(*, session: Session, poll: Poll, voter_key: str, practice_id: int | None, cast_by: str,
               now: datetime, choices: list[int]) -> None:
    """The ballot becomes exactly `choices` (an upsert: concurrent typed ballots leave one row each)."""
    session.connection().execute(built_upsert(session, poll_store._set_ballot), dict(
        poll_id=poll.id, voter_key=voter_key, practice_id=practice_id, cast_by=cast_by, cast_at=now,
        choices=_text(choices)))


def change_ballot(*, session: Session, poll: Poll, voter_key: str, practice_id: int | None, cast_by: str,
                  now: datetime, change: Callable[[list[int]], list[int]]) -> tuple[list[int], list[int]]:
    """Apply `change` to the ballot as it is now, under a row lock; (before, after). `change` may raise
    to refuse (nothing is written)."""
    session.execute(upsert(session, Ballot).values(poll_id=poll.id, voter_key=voter_key, practice_id=practice_id,
                                                   cast_by=cast_by, cast_at=now, choices="")
                    .on_conflict_do_nothing())
    ballot = session.exec(select(Ballot).where(Ballot.poll_id == poll.id, Ballot.voter_key == voter_key)
                          .with_for_update()).one()
    before = parse(ballot.choices)
    after = change(list(before))
    if after != before:
        ballot.choices, ballot.cast_at = _text(after), now
        if after:
            ballot.cast_by = cast_by
        session.add(ballot)
        session.flush()
    return before, after


def ballot_groups(*, session: Session, poll: Poll) -> list[tuple[str, int | None, int]]:
    """(choices, practice id, how many ballots) for the poll's ballots that choose something."""
    from sqlmodel import func

    return [tuple(r) for r in session.exec(
        select(Ballot.choices, Ballot.practice_id, func.count())
        .where(Ballot.poll_id == poll.id, Ballot.choices != "")
        .group_by(Ballot.choices, Ballot.practice_id))]


# --- PICK charts ----------------------------------------------------------------------------

def _set_rating(insert):
    statement = insert(PickRating).values(**{c: bindparam(c) for c in RATING_VALUES})
    return statement.on_conflict_do_update(index_elements=["poll_id", "voter_key", "option"],
                                           set_={c: statement.excluded[c] for c in RATING_CHANGES})


RATING_VALUES = ("poll_id", "voter_key", "practice_id", "option", "impact", "effort", "rated_by", "rated_at")
RATING_CHANGES = ("impact", "effort", "rated_by", "rated_at", "practice_id")


def rate(*, session: Session, poll: Poll, voter_key: str, practice_id: int | None, rated_by: str, now: datetime,
         ratings: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """Record the voter's ratings (option -> (impact, effort)), replacing earlier ones of those options;
    the voter's ballot then lists every option it has rated. Returns what it held before, of those options."""
    before = {o: (i, e) for o, i, e in session.exec(
        select(PickRating.option, PickRating.impact, PickRating.effort)
        .where(PickRating.poll_id == poll.id, PickRating.voter_key == voter_key,
               col(PickRating.option).in_(list(ratings))))}
    statement = built_upsert(session, _set_rating)
    for option, (impact, effort) in sorted(ratings.items()):
        session.connection().execute(statement, dict(
            poll_id=poll.id, voter_key=voter_key, practice_id=practice_id, option=option, impact=impact,
            effort=effort, rated_by=rated_by, rated_at=now))
    rated = sorted(session.exec(select(PickRating.option).where(PickRating.poll_id == poll.id,
                                                               PickRating.voter_key == voter_key)))
    set_ballot(session=session, poll=poll, voter_key=voter_key, practice_id=practice_id, cast_by=rated_by,
               now=now, choices=rated)
    return before


def ratings(*, session: Session, poll: Poll) -> list[PickRating]:
    """Every rating of the poll, by option and then voter."""
    return list(session.exec(select(PickRating).where(PickRating.poll_id == poll.id)
                             .order_by(PickRating.option, PickRating.id)))


def ratings_of(*, session: Session, poll: Poll, voter_key: str) -> dict[int, tuple[int, int]]:
    """One voter's ratings: option -> (impact, effort)."""
    return {o: (i, e) for o, i, e in session.exec(
        select(PickRating.option, PickRating.impact, PickRating.effort)
        .where(PickRating.poll_id == poll.id, PickRating.voter_key == voter_key))}
