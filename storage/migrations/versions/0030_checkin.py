"""Progress scores and the monthly practice check-in (issue 24).

- progress_score: every score a topic was given on the IHI / Life QI scale (half-points), by whom, when.
- progress_ask: a topic's monthly progress question, claimed before it is sent (once a month).
- checkin_settings: a cluster's check-in day and time, and the months the tick did its monthly work.
- checkin_round: one month's check-in of a cluster (reminder and digest times, claimed when done).
- checkin_answer: a practice's answer to a round (one per practice, editable until the digest).

Revision ID: 0030
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0030"
down_revision = "0027"

NOT_REMINDED = sa.text("reminded_at IS NULL")
NOT_DIGESTED = sa.text("digested_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "progress_score",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topic.id"), nullable=False),
        sa.Column("halves", sa.Integer(), nullable=False),
        sa.Column("by", sa.String(length=255), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_progress_score_topic_at", "progress_score", ["topic_id", "at"])
    op.create_index("ix_progress_score_by", "progress_score", ["by"])
    op.create_table(
        "progress_ask",
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topic.id"), primary_key=True),
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "checkin_settings",
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), primary_key=True),
        sa.Column("working_day", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("opened_month", sa.Date(), nullable=True),
        sa.Column("scores_month", sa.Date(), nullable=True),
    )
    op.create_table(
        "checkin_round",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("remind_at", UTCDateTime(), nullable=False),
        sa.Column("digest_at", UTCDateTime(), nullable=False),
        sa.Column("reminded_at", UTCDateTime(), nullable=True),
        sa.Column("digested_at", UTCDateTime(), nullable=True),
        sa.UniqueConstraint("cluster_id", "month", name="uq_checkin_round_month"),
    )
    op.create_index("ix_checkin_round_remind", "checkin_round", ["remind_at"], sqlite_where=NOT_REMINDED,
                    postgresql_where=NOT_REMINDED)
    op.create_index("ix_checkin_round_digest", "checkin_round", ["digest_at"], sqlite_where=NOT_DIGESTED,
                    postgresql_where=NOT_DIGESTED)
    op.create_table(
        "checkin_answer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("checkin_round.id"), nullable=False),
        sa.Column("practice_id", sa.Integer(), sa.ForeignKey("practice.id"), nullable=False),
        sa.Column("tested", sa.String(length=1000), nullable=False),
        sa.Column("blockers", sa.String(length=1000), nullable=False),
        sa.Column("data", sa.String(length=1000), nullable=False),
        sa.Column("by", sa.String(length=255), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("round_id", "practice_id", name="uq_checkin_answer_practice"),
    )
    op.create_index("ix_checkin_answer_round_id", "checkin_answer", ["round_id"])
    op.create_index("ix_checkin_answer_by", "checkin_answer", ["by"])


def downgrade() -> None:
    op.drop_index("ix_checkin_answer_by", table_name="checkin_answer")
    op.drop_index("ix_checkin_answer_round_id", table_name="checkin_answer")
    op.drop_table("checkin_answer")
    op.drop_index("ix_checkin_round_digest", table_name="checkin_round")
    op.drop_index("ix_checkin_round_remind", table_name="checkin_round")
    op.drop_table("checkin_round")
    op.drop_table("checkin_settings")
    op.drop_table("progress_ask")
    op.drop_index("ix_progress_score_by", table_name="progress_score")
    op.drop_index("ix_progress_score_topic_at", table_name="progress_score")
    op.drop_table("progress_score")
