"""The operator's erasure and subject access for one person across the deployment (`python -m bot forget`
and `subject-access`); a lead's erasure in their own cluster is `/cluster forget` (commands/cluster.py).
Each is one unit of work: all of it or nothing."""

from dataclasses import dataclass, field

from storage import erasure
from storage.clock import wall_clock
from storage.data_map import listing
from storage.db import Database
from storage.mentions import MENTION


@dataclass
class Forgotten:
    erased: dict[str, int] = field(default_factory=dict)  # rows per table
    sole_lead_of: list[str] = field(default_factory=list)  # clusters refused: they would have no lead


def person_id(typed: str) -> str | None:
    """A user id as typed on the command line: bare (U0123ABCD, 29:1…) or as a mention (<@U0123ABCD>)."""
    typed = typed.strip()
    found = MENTION.fullmatch(typed)
    typed = found.group(1) if found else typed
    return typed if typed and not any(c.isspace() for c in typed) else None


def forget_everywhere(db: Database, user_id: str) -> Forgotten:
    """Erase the person from every cluster and every table; refused whole if they are some cluster's only
    lead (that cluster's lead must first make someone else a lead)."""
    with db.session() as session:
        sole = erasure.sole_lead_of(session=session, user_id=user_id)
        if sole:
            return Forgotten(sole_lead_of=[f"{c.name} (channel {c.channel_id})" for c in sole])
        return Forgotten(erased=dict(erasure.erase(session=session, user_id=user_id)))


def data_map() -> str:
    """Every table and column holding personal data: what, why, how long, and what erasure does."""
    return listing()


def subject_access(db: Database, user_id: str) -> bytes:
    from reports import subject_access as workbook

    with db.session(read_only=True) as session:
        held = erasure.held_about(session=session, user_id=user_id)
    return workbook.write(user_id, held, wall_clock())
