"""Meetings that carry on (issue 25): carry-forward, calendar invites and the minutes lock.

- meeting.carried_at: when its uncovered agenda items and open actions went on to the next meeting (set
  now for every meeting already ended, so nothing from before this version is carried);
- meeting.invite_uid, sequence, invited_at, recurrence_id: its .ics invite (stable UID, SEQUENCE raised on
  every move, whether one was posted, a moved occurrence's original start);
- meeting.minutes_lock: a lead's word on the minutes ("open" or "locked"; NULL: MINUTES_LOCK_DAYS decides);
- agenda_item.covered_at: marked covered at the meeting; agenda_item.carried_from: the meeting it came from.

Revision ID: 0030
Revises: 0029
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0030"
down_revision = "0029"


def upgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("carried_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("invite_uid", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("sequence", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("invited_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("recurrence_id", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("minutes_lock", sa.String(length=8), nullable=True))
    with op.batch_alter_table("agenda_item") as batch:
        batch.add_column(sa.Column("covered_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("carried_from", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_agenda_item_carried_from", "meeting", ["carried_from"], ["id"])
    # Meetings that ended before this version have had their follow-up: nothing of theirs is carried now.
    op.execute("UPDATE meeting SET carried_at = ended_at WHERE ended_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("agenda_item") as batch:
        batch.drop_constraint("fk_agenda_item_carried_from", type_="foreignkey")
        batch.drop_column("carried_from")
        batch.drop_column("covered_at")
    with op.batch_alter_table("meeting") as batch:
        for column in ("minutes_lock", "recurrence_id", "invited_at", "sequence", "invite_uid", "carried_at"):
            batch.drop_column(column)
