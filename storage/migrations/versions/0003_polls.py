"""Polls and ballots.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "poll",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("short_id", sa.String(12), nullable=False),
        sa.Column("question", sa.String(300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("per_practice", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("pick", sa.Integer(), nullable=False),
        sa.Column("closes_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(32), nullable=True),
        sa.Column("posted_channel", sa.String(32), nullable=True),
        sa.Column("posted_ref", sa.String(64), nullable=True),
        sa.Column("submission_key", sa.String(64), nullable=True),
        sa.UniqueConstraint("cluster_id", "short_id", name="uq_poll_short_id"),
        sa.UniqueConstraint("cluster_id", "submission_key", name="uq_poll_submission"),
    )
    op.create_index("ix_poll_cluster_id", "poll", ["cluster_id"])
    op.create_index("ix_poll_closes_at", "poll", ["closes_at"])
    op.create_table(
        "ballot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("poll_id", sa.Integer(), sa.ForeignKey("poll.id"), nullable=False),
        sa.Column("voter_key", sa.String(48), nullable=False),
        sa.Column("practice_id", sa.Integer(), sa.ForeignKey("practice.id"), nullable=True),
        sa.Column("cast_by", sa.String(32), nullable=False),
        sa.Column("choices", sa.String(64), nullable=False),
        sa.Column("cast_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("poll_id", "voter_key", name="uq_ballot_voter"),
    )
    op.create_index("ix_ballot_poll_id", "ballot", ["poll_id"])


def downgrade() -> None:
    op.drop_index("ix_ballot_poll_id", "ballot")
    op.drop_table("ballot")
    op.drop_index("ix_poll_closes_at", "poll")
    op.drop_index("ix_poll_cluster_id", "poll")
    op.drop_table("poll")
