"""Files shared with a cluster's channel, served by link (issue 22 #6): a Teams bot can send files only
to one person, by file consent, so a chart or export announced to the cluster is kept here and shown in
the channel from the bot's own endpoint, to whoever holds the unguessable link, until it expires.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0024"
down_revision = "0023"


def upgrade() -> None:
    op.create_table(
        "shared_file",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("cluster_id", sa.Integer(), sa.ForeignKey("cluster.id"), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_shared_file_token_hash", "shared_file", ["token_hash"], unique=True)
    op.create_index("ix_shared_file_expires_at", "shared_file", ["expires_at"])
    op.create_index("ix_shared_file_cluster_id", "shared_file", ["cluster_id"])


def downgrade() -> None:
    op.drop_index("ix_shared_file_cluster_id", "shared_file")
    op.drop_index("ix_shared_file_expires_at", "shared_file")
    op.drop_index("ix_shared_file_token_hash", "shared_file")
    op.drop_table("shared_file")
