"""QI topics, their moves and their notes.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "topic",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(150), nullable=False),
        sa.Column("why", sa.String(2000), nullable=False),
        sa.Column("aim", sa.String(2000), nullable=False),
        sa.Column("measure", sa.String(2000), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("practice_id", sa.Integer(), sa.ForeignKey("practice.id"), nullable=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("short_id", sa.String(12), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("proposed_by", sa.String(32), nullable=False),
        sa.Column("submission_key", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("cluster_id", "short_id", name="uq_topic_short_id"),
        sa.UniqueConstraint("cluster_id", "submission_key", name="uq_topic_submission"),
    )
    op.create_index("ix_topic_cluster_id", "topic", ["cluster_id"])
    op.create_table(
        "topic_move",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topic.id"), nullable=False),
        sa.Column("by", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(2000), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_topic_move_topic_id", "topic_move", ["topic_id"])
    op.create_table(
        "topic_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topic.id"), nullable=False),
        sa.Column("by", sa.String(32), nullable=False),
        sa.Column("step", sa.String(8), nullable=True),
        sa.Column("text", sa.String(2000), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_topic_note_topic_id", "topic_note", ["topic_id"])


def downgrade() -> None:
    for table in ("topic_note", "topic_move"):
        op.drop_index(f"ix_{table}_topic_id", table)
        op.drop_table(table)
    op.drop_index("ix_topic_cluster_id", "topic")
    op.drop_table("topic")
