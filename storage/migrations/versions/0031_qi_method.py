"""The QI method (issue 24): driver diagrams, change ideas and PDSA cycles.

- topic_driver: a topic's primary (1, 2 …) and secondary (1.1, 1.2 …) drivers.
- change_idea: a change idea under a driver, with a cluster-wide id (C1, C2 …).
- pdsa_cycle: a cycle of an idea (C4.1, C4.2 …): plan and prediction, do, study, act, its measure and
  practice, and when its planner was asked how it went.

Revision ID: 0031
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0031"
down_revision = "0030"


def upgrade() -> None:
    op.create_table(
        "topic_driver",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topic.id"), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("topic_driver.id"), nullable=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("topic_id", "parent_id", "number", name="uq_topic_driver_number"),
    )
    op.create_index("ix_topic_driver_topic_id", "topic_driver", ["topic_id"])
    op.create_index("ix_topic_driver_parent_id", "topic_driver", ["parent_id"])
    op.create_index("ix_topic_driver_created_by", "topic_driver", ["created_by"])
    op.create_index("uq_topic_driver_primary_number", "topic_driver", ["topic_id", "number"], unique=True,
                    sqlite_where=sa.text("parent_id IS NULL"), postgresql_where=sa.text("parent_id IS NULL"))
    op.create_table(
        "change_idea",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("short_id", sa.String(length=12), nullable=False),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topic.id"), nullable=False),
        sa.Column("driver_id", sa.Integer(), sa.ForeignKey("topic_driver.id"), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("cluster_id", "short_id", name="uq_change_idea_short_id"),
    )
    for column in ("cluster_id", "topic_id", "driver_id", "created_by"):
        op.create_index(f"ix_change_idea_{column}", "change_idea", [column])
    op.create_table(
        "pdsa_cycle",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("idea_id", sa.Integer(), sa.ForeignKey("change_idea.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=2000), nullable=False),
        sa.Column("prediction", sa.String(length=2000), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("practice_id", sa.Integer(), sa.ForeignKey("practice.id"), nullable=True),
        sa.Column("measure_id", sa.Integer(), sa.ForeignKey("measure.id"), nullable=True),
        sa.Column("done", sa.String(length=2000), nullable=False),
        sa.Column("study", sa.String(length=2000), nullable=False),
        sa.Column("act", sa.String(length=8), nullable=True),
        sa.Column("act_note", sa.String(length=2000), nullable=False),
        sa.Column("planned_by", sa.String(length=255), nullable=False),
        sa.Column("planned_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("prompted_at", UTCDateTime(), nullable=True),
        sa.Column("submission_key", sa.String(length=255), nullable=True),
        sa.UniqueConstraint("idea_id", "number", name="uq_pdsa_cycle_number"),
    )
    for column in ("cluster_id", "idea_id", "measure_id", "planned_by"):
        op.create_index(f"ix_pdsa_cycle_{column}", "pdsa_cycle", [column])
    op.create_index("ix_pdsa_cycle_unprompted", "pdsa_cycle", ["due_on"], sqlite_where=sa.text("prompted_at IS NULL"),
                    postgresql_where=sa.text("prompted_at IS NULL"))


def downgrade() -> None:
    op.drop_table("pdsa_cycle")
    op.drop_table("change_idea")
    op.drop_table("topic_driver")
