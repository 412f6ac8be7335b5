"""The meeting record's people (attendance, minute lines, decisions) get Teams-wide ids too.

Migration 0014 widened every platform id column that existed when it was written; the record's tables
(0013) landed after it, still at Slack's 32 characters, which PostgreSQL would enforce against a Teams id.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"

ID = 255
WIDENED = {  # table -> [(column, width before, width after, nullable)]
    "attendance": [("attendee", 48, ID + 8, False), ("user_id", 32, ID, True), ("by", 32, ID, False)],
    "minute_line": [("by", 32, ID, False)],
    "decision": [("by", 32, ID, False)],
}


def _resize(grow: bool) -> None:
    for table, columns in WIDENED.items():
        with op.batch_alter_table(table) as batch:
            for column, before, after, nullable in columns:
                old, new = (before, after) if grow else (after, before)
                batch.alter_column(column, existing_type=sa.String(old), type_=sa.String(new),
                                   existing_nullable=nullable)


def upgrade() -> None:
    _resize(grow=True)


def downgrade() -> None:
    _resize(grow=False)
