"""Board viewers (issue 23): a Health Board manager reads the cluster's record and takes its report
without being a member, so they write nothing and count in no turnout.

- viewer: one row per person a lead made a viewer of a cluster (who, by whom, when).

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0027"
down_revision = "0026"


def upgrade() -> None:
    op.create_table(
        "viewer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("added_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("cluster_id", "user_id", name="uq_viewer_user"),
    )
    op.create_index("ix_viewer_cluster_id", "viewer", ["cluster_id"])
    op.create_index("ix_viewer_user_id", "viewer", ["user_id"])
    op.create_index("ix_viewer_added_by", "viewer", ["added_by"])


def downgrade() -> None:
    op.drop_index("ix_viewer_added_by", table_name="viewer")
    op.drop_index("ix_viewer_user_id", table_name="viewer")
    op.drop_index("ix_viewer_cluster_id", table_name="viewer")
    op.drop_table("viewer")
