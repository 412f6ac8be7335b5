"""A poll closed at its deadline keeps track of announcing its result (claimed, then confirmed).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.add_column(sa.Column("announce_claimed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("announced_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.drop_column("announced_at")
        batch.drop_column("announce_claimed_at")
