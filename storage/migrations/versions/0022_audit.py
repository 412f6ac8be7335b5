"""The audit log: who changed a cluster's register, roles or record, or used a leads-only command, when,
and the ids it named (never the text typed). Read per cluster newest first, so indexed by (cluster, at);
user_id and person indexed so that a person can be found (and erased) without reading the whole log.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("what", sa.String(length=64), nullable=False),
        sa.Column("items", sa.String(length=200), nullable=False),
        sa.Column("person", sa.String(length=255), nullable=True),
    )
    op.create_index("ix_audit_entry_cluster_at", "audit_entry", ["cluster_id", "at"])
    op.create_index("ix_audit_entry_user_id", "audit_entry", ["user_id"])
    op.create_index("ix_audit_entry_person", "audit_entry", ["person"])


def downgrade() -> None:
    op.drop_table("audit_entry")
