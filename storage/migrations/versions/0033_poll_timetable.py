"""Polls on a timetable and edits to posted polls (issue 25).

- poll_schedule: a poll to be posted later (`opens <date>`) or again and again (`every <rule>`), each posting a
  new poll; next_at is when the next one goes, moved on by the tick that claims it.
- poll.remind / poll.reminded_at: the practices that have not voted are reminded once, one working day before
  the deadline (claimed with reminded_at); poll.schedule_id: the timetable that posted it.
- poll.edited_at / poll.edited: when a posted poll was last edited and what changed, shown on its card.

Revision ID: 0033
Revises: 0032
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0033"
down_revision = "0032"


def upgrade() -> None:
    op.create_table(
        "poll_schedule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("short_id", sa.String(length=12), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("remind", sa.Boolean(), nullable=False),
        sa.Column("recurrence", sa.String(length=200), nullable=True),
        sa.Column("clock", sa.String(length=5), nullable=False),
        sa.Column("closes_after_days", sa.Integer(), nullable=True),
        sa.Column("closes_clock", sa.String(length=5), nullable=True),
        sa.Column("next_at", UTCDateTime(), nullable=True),
        sa.Column("posted", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("stopped_at", UTCDateTime(), nullable=True),
        sa.Column("stopped_by", sa.String(length=255), nullable=True),
        sa.UniqueConstraint("cluster_id", "short_id", name="uq_poll_schedule_short_id"),
    )
    op.create_index("ix_poll_schedule_cluster_id", "poll_schedule", ["cluster_id"])
    op.create_index("ix_poll_schedule_next_at", "poll_schedule", ["next_at"])
    op.create_index("ix_poll_schedule_created_by", "poll_schedule", ["created_by"])
    op.create_index("ix_poll_schedule_stopped_by", "poll_schedule", ["stopped_by"])
    with op.batch_alter_table("poll") as batch:
        batch.add_column(sa.Column("remind", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("reminded_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("schedule_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("edited_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("edited", sa.JSON(), nullable=True))
        batch.create_foreign_key("fk_poll_schedule_id", "poll_schedule", ["schedule_id"], ["id"])
        batch.create_index("ix_poll_schedule_id", ["schedule_id"])


def downgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.drop_index("ix_poll_schedule_id")
        batch.drop_constraint("fk_poll_schedule_id", type_="foreignkey")
        for column in ("edited", "edited_at", "schedule_id", "reminded_at", "remind"):
            batch.drop_column(column)
    op.drop_index("ix_poll_schedule_stopped_by", table_name="poll_schedule")
    op.drop_index("ix_poll_schedule_created_by", table_name="poll_schedule")
    op.drop_index("ix_poll_schedule_next_at", table_name="poll_schedule")
    op.drop_index("ix_poll_schedule_cluster_id", table_name="poll_schedule")
    op.drop_table("poll_schedule")
