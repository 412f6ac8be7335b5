"""Partial indexes for the scheduler's every-tick questions: unsent reminders, meetings not yet ended.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

UNSENT = sa.text("sent_at IS NULL")
NOT_ENDED = sa.text("ended_at IS NULL AND status = 'scheduled'")


def upgrade() -> None:
    op.create_index("ix_reminder_unsent", "reminder", ["due_at"], sqlite_where=UNSENT, postgresql_where=UNSENT)
    op.create_index("ix_meeting_not_ended", "meeting", ["starts_at"], sqlite_where=NOT_ENDED,
                    postgresql_where=NOT_ENDED)


def downgrade() -> None:
    op.drop_index("ix_meeting_not_ended", "meeting")
    op.drop_index("ix_reminder_unsent", "reminder")
