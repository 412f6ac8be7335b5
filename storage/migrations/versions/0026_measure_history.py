"""A measure's history (issue 23): every change to a practice's figure, recorded, replaced or removed,
with who and when and the old and new figures. A removed figure leaves no point, so the history is kept
by measure, practice and period rather than by point (measure_point_history goes with its point).

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0026"
down_revision = "0025"


def upgrade() -> None:
    op.create_table(
        "measure_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("measure_id", sa.Integer(), sa.ForeignKey("measure.id"), nullable=False),
        sa.Column("practice_id", sa.Integer(), sa.ForeignKey("practice.id"), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("old_numerator", sa.Float(), nullable=True),
        sa.Column("old_denominator", sa.Float(), nullable=True),
        sa.Column("old_value", sa.Float(), nullable=True),
        sa.Column("new_numerator", sa.Float(), nullable=True),
        sa.Column("new_denominator", sa.Float(), nullable=True),
        sa.Column("new_value", sa.Float(), nullable=True),
        sa.Column("by", sa.String(255), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_measure_history_measure_id", "measure_history", ["measure_id"])
    op.create_index("ix_measure_history_by", "measure_history", ["by"])


def downgrade() -> None:
    op.drop_index("ix_measure_history_by", "measure_history")
    op.drop_index("ix_measure_history_measure_id", "measure_history")
    op.drop_table("measure_history")
