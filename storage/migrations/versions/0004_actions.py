"""Actions, their notes, and the daily digest's claims.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "action",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("short_id", sa.String(12), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("practice_id", sa.Integer(), sa.ForeignKey("practice.id"), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topic.id"), nullable=True),
        sa.Column("source_link", sa.String(500), nullable=True),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("done_by", sa.String(32), nullable=True),
        sa.Column("submission_key", sa.String(64), nullable=True),
        sa.UniqueConstraint("cluster_id", "short_id", name="uq_action_short_id"),
        sa.UniqueConstraint("cluster_id", "submission_key", name="uq_action_submission"),
    )
    op.create_index("ix_action_cluster_id", "action", ["cluster_id"])
    op.create_index("ix_action_owner", "action", ["owner"])
    op.create_index("ix_action_due_on", "action", ["due_on"])
    op.create_table(
        "action_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("action_id", sa.Integer(), sa.ForeignKey("action.id"), nullable=False),
        sa.Column("by", sa.String(32), nullable=False),
        sa.Column("text", sa.String(500), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_action_note_action_id", "action_note", ["action_id"])
    op.create_table(
        "digest_sent",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("digest_sent")
    op.drop_index("ix_action_note_action_id", "action_note")
    op.drop_table("action_note")
    for index in ("ix_action_due_on", "ix_action_owner", "ix_action_cluster_id"):
        op.drop_index(index, "action")
    op.drop_table("action")
