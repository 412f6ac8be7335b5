"""Measures and run-chart data (issue 15): measures, their data points and replaced values, data-due nudges.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_table(
        "measure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("short_id", sa.String(12), nullable=False),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topic.id"), nullable=False),
        sa.Column("name", sa.String(150), nullable=False),
        sa.Column("definition", sa.String(1000), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("rate_per", sa.Integer(), nullable=False),
        sa.Column("higher_is_better", sa.Boolean(), nullable=True),
        sa.Column("frequency", sa.String(8), nullable=False),
        sa.Column("goal", sa.Float(), nullable=True),
        sa.Column("chart", sa.String(8), nullable=False),
        sa.Column("rebases", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.Column("retired_by", sa.String(32), nullable=True),
        sa.Column("submission_key", sa.String(64), nullable=True),
        sa.UniqueConstraint("cluster_id", "short_id", name="uq_measure_short_id"),
        sa.UniqueConstraint("cluster_id", "submission_key", name="uq_measure_submission"),
    )
    op.create_index("ix_measure_cluster_id", "measure", ["cluster_id"])
    op.create_index("ix_measure_topic_id", "measure", ["topic_id"])
    op.create_table(
        "measure_point",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("measure_id", sa.Integer(), sa.ForeignKey("measure.id"), nullable=False),
        sa.Column("practice_id", sa.Integer(), sa.ForeignKey("practice.id"), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("recorded_by", sa.String(32), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("measure_id", "practice_id", "period", name="uq_measure_point"),
    )
    op.create_index("ix_measure_point_measure_id", "measure_point", ["measure_id"])
    op.create_table(
        "measure_point_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("point_id", sa.Integer(), sa.ForeignKey("measure_point.id"), nullable=False),
        sa.Column("numerator", sa.Float(), nullable=True),
        sa.Column("denominator", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("recorded_by", sa.String(32), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("replaced_by", sa.String(32), nullable=False),
        sa.Column("replaced_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_measure_point_history_point_id", "measure_point_history", ["point_id"])
    op.create_table(
        "measure_nudge",
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("period", sa.Date(), primary_key=True),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "measure_settings",
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), primary_key=True),
        sa.Column("nudge_working_day", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("measure_settings")
    op.drop_table("measure_nudge")
    op.drop_index("ix_measure_point_history_point_id", "measure_point_history")
    op.drop_table("measure_point_history")
    op.drop_index("ix_measure_point_measure_id", "measure_point")
    op.drop_table("measure_point")
    op.drop_index("ix_measure_topic_id", "measure")
    op.drop_index("ix_measure_cluster_id", "measure")
    op.drop_table("measure")
