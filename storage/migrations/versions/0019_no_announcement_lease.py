"""A poll's announcement is claimed and queued in one transaction, so it needs no lease: the column that
held it (always equal to announced_at since the outbox came) is dropped.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.drop_column("announce_claimed_at")


def downgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.add_column(sa.Column("announce_claimed_at", UTCDateTime(), nullable=True))
