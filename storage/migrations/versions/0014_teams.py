"""Teams: wider platform ids, conversation references (issue 14).

Every column holding a platform id (people, channels, teams, enterprises, message references, form
submissions, delivery ids) grows to 255 characters: Teams' ids do not fit Slack's 32. PostgreSQL
enforces the width, so without this a Teams cluster could not even be set up there.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0014"
down_revision = "0013"

ID = 255
# table -> [(column, width before, width after, nullable)]
WIDENED = {
    "cluster": [("team_id", 32, ID, False), ("enterprise_id", 32, ID, True), ("channel_id", 32, ID, False),
                ("created_by", 32, ID, False)],
    "member": [("user_id", 32, ID, False)],
    "topic": [("proposed_by", 32, ID, False), ("submission_key", 64, ID, True)],
    "topic_move": [("by", 32, ID, False)],
    "topic_note": [("by", 32, ID, False)],
    "poll": [("created_by", 32, ID, False), ("closed_by", 32, ID, True), ("posted_channel", 32, ID, True),
             ("posted_ref", 64, ID, True), ("submission_key", 64, ID, True)],
    "ballot": [("voter_key", 48, ID + 8, False), ("cast_by", 32, ID, False)],
    "action": [("owner", 32, ID, False), ("created_by", 32, ID, False), ("done_by", 32, ID, True),
               ("submission_key", 64, ID, True)],
    "action_note": [("by", 32, ID, False)],
    "digest_sent": [("team_id", 32, ID, False), ("user_id", 32, ID, False)],
    "meeting": [("created_by", 32, ID, False), ("submission_key", 64, ID, True)],
    "agenda_item": [("by", 32, ID, False)],
    "handled_event": [("event_id", 64, ID, False)],
    "measure": [("created_by", 32, ID, False), ("retired_by", 32, ID, True), ("submission_key", 64, ID, True)],
    "measure_point": [("recorded_by", 32, ID, False)],
    "measure_point_history": [("recorded_by", 32, ID, False), ("replaced_by", 32, ID, False)],
    "measure_nudge": [("user_id", 32, ID, False)],
}


def _resize(grow: bool) -> None:
    for table, columns in WIDENED.items():
        # PostgreSQL changes a varchar's width in place; SQLite (which never enforced it) rebuilds the table.
        with op.batch_alter_table(table) as batch:
            for column, before, after, nullable in columns:
                old, new = (before, after) if grow else (after, before)
                batch.alter_column(column, existing_type=sa.String(old), type_=sa.String(new),
                                   existing_nullable=nullable)


def upgrade() -> None:
    _resize(grow=True)
    op.create_table(
        "conversation_ref",
        sa.Column("conversation_id", sa.String(ID), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("service_url", sa.String(500), nullable=False),
        sa.Column("tenant_id", sa.String(ID), nullable=False),
        sa.Column("bot_id", sa.String(ID), nullable=False),
        sa.Column("team_id", sa.String(ID), nullable=True),
        sa.Column("user_id", sa.String(ID), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_conversation_ref_personal", "conversation_ref", ["tenant_id", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_conversation_ref_personal", "conversation_ref")
    op.drop_table("conversation_ref")
    _resize(grow=False)  # fails on PostgreSQL if a longer (Teams) id is stored: as it should, nothing is cut
