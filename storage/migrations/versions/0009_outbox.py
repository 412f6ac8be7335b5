"""The delivery outbox (issue 11): what a committed change must send, written in its own transaction.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0009"
down_revision = "0008"

UNSENT = sa.text("sent_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(255), nullable=False),
        sa.Column("team_id", sa.String(255), nullable=True),
        sa.Column("asker", sa.String(1024), nullable=True),
        sa.Column("payload", sa.String(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("not_before", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("uncertain", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.String(64), nullable=True),
        sa.Column("ref", sa.String(255), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("failed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_outbox_unsent", "outbox", ["not_before"], sqlite_where=UNSENT, postgresql_where=UNSENT)


def downgrade() -> None:
    op.drop_index("ix_outbox_unsent", "outbox")
    op.drop_table("outbox")
