"""People's names kept across restarts (issue 14): Teams tells a bot a person's name only with their
activities and mentions, so names learnt are stored, and exports after a restart show names, not ids.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0017"
down_revision = "0016"

ID = 255


def upgrade() -> None:
    op.create_table(
        "person_name",
        sa.Column("user_id", sa.String(ID), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("person_name")
