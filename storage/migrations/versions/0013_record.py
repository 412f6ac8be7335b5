"""Meeting attendance, minute lines and decisions (issue 16).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("attendee", sa.String(48), nullable=False),
        sa.Column("practice_id", sa.Integer(), sa.ForeignKey("practice.id"), nullable=True),
        sa.Column("user_id", sa.String(32), nullable=True),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("by", sa.String(32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("meeting_id", "attendee", name="uq_attendance_attendee"),
    )
    op.create_index("ix_attendance_meeting_id", "attendance", ["meeting_id"])
    op.create_table(
        "minute_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("by", sa.String(32), nullable=False),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_minute_line_meeting_id", "minute_line", ["meeting_id"])
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("meeting_id", sa.Integer(), sa.ForeignKey("meeting.id"), nullable=False),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topic.id"), nullable=True),
        sa.Column("by", sa.String(32), nullable=False),
        sa.Column("text", sa.String(1000), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_decision_cluster_id", "decision", ["cluster_id"])
    op.create_index("ix_decision_meeting_id", "decision", ["meeting_id"])


def downgrade() -> None:
    op.drop_index("ix_decision_meeting_id", "decision")
    op.drop_index("ix_decision_cluster_id", "decision")
    op.drop_table("decision")
    op.drop_index("ix_minute_line_meeting_id", "minute_line")
    op.drop_table("minute_line")
    op.drop_index("ix_attendance_meeting_id", "attendance")
    op.drop_table("attendance")
