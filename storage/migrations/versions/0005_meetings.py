"""Meetings, agenda items and reminders; actions may name a meeting; clusters keep reminder defaults.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("short_id", sa.String(12), nullable=False),
        sa.Column("title", sa.String(150), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(300), nullable=False),
        sa.Column("recurrence", sa.String(200), nullable=True),
        sa.Column("reminders", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("submission_key", sa.String(64), nullable=True),
        sa.UniqueConstraint("cluster_id", "short_id", name="uq_meeting_short_id"),
        sa.UniqueConstraint("cluster_id", "submission_key", name="uq_meeting_submission"),
    )
    op.create_index("ix_meeting_cluster_id", "meeting", ["cluster_id"])
    op.create_index("ix_meeting_starts_at", "meeting", ["starts_at"])
    op.create_table(
        "agenda_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("by", sa.String(32), nullable=False),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_agenda_item_meeting_id", "agenda_item", ["meeting_id"])
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("offset", sa.String(8), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("skipped", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_reminder_meeting_id", "reminder", ["meeting_id"])
    op.create_index("ix_reminder_due_at", "reminder", ["due_at"])
    with op.batch_alter_table("action") as batch:
        batch.add_column(sa.Column("meeting_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_action_meeting_id", "meeting", ["meeting_id"], ["id"])
    with op.batch_alter_table("cluster") as batch:
        batch.add_column(sa.Column("reminders", sa.String(64), nullable=False, server_default="7d,1d"))


def downgrade() -> None:
    with op.batch_alter_table("cluster") as batch:
        batch.drop_column("reminders")
    with op.batch_alter_table("action") as batch:
        batch.drop_constraint("fk_action_meeting_id", type_="foreignkey")
        batch.drop_column("meeting_id")
    for table in ("reminder", "agenda_item"):
        op.drop_index(f"ix_{table}_meeting_id", table)
    op.drop_index("ix_reminder_due_at", "reminder")
    op.drop_table("reminder")
    op.drop_table("agenda_item")
    op.drop_index("ix_meeting_starts_at", "meeting")
    op.drop_index("ix_meeting_cluster_id", "meeting")
    op.drop_table("meeting")
