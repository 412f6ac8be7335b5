"""Clusters, practices, members and the short-id counter.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "cluster",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(32), nullable=True),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("team_id", "channel_id", name="uq_cluster_channel"),
    )
    op.create_table(
        "practice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(5), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("archived_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("cluster_id", "code", name="uq_practice_code"),
    )
    op.create_index("ix_practice_cluster_id", "practice", ["cluster_id"])
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("practice_id", sa.Integer(), sa.ForeignKey("practice.id"), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("cluster_id", "user_id", name="uq_member_user"),
    )
    op.create_index("ix_member_cluster_id", "member", ["cluster_id"])
    op.create_table(
        "short_id_counter",
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), primary_key=True),
        sa.Column("prefix", sa.String(4), primary_key=True),
        sa.Column("last", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("short_id_counter")
    op.drop_index("ix_member_cluster_id", "member")
    op.drop_table("member")
    op.drop_index("ix_practice_cluster_id", "practice")
    op.drop_table("practice")
    op.drop_table("cluster")
