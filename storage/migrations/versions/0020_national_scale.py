"""What one deployment of every cluster needs so each command costs what its own cluster costs:

- action.meeting_id indexed: a meeting's actions (the report, the agenda, the record) were a full scan;
- open actions by due date, a partial index: the digest's every-morning question read every past-due
  action of every cluster, done ones included, to find the few open ones;
- polls closed by their deadline and not yet announced, a partial index: the tick's question read every poll;
- outbox.sent_at and failed_at indexed: the hourly purge of old messages read the whole outbox;
- measure.revision, counted up whenever a measure's data or settings change: what its run-chart signals
  were worked out from, so the agenda reads them instead of recharting every measure on every view;
- measure_settings.nudged_month: the month a cluster's data-due reminders went, so the tick stops
  recomputing who is missing data for every cluster on every tick for the rest of the month.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"

OPEN = sa.text("status = 'open'")
UNANNOUNCED = sa.text("announced_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_action_meeting_id", "action", ["meeting_id"])
    op.create_index("ix_action_open_due", "action", ["due_on"], sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("ix_poll_unannounced", "poll", ["closed_by"], sqlite_where=UNANNOUNCED,
                    postgresql_where=UNANNOUNCED)
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"])
    op.create_index("ix_outbox_failed_at", "outbox", ["failed_at"])
    with op.batch_alter_table("measure") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("measure_settings") as batch:
        batch.add_column(sa.Column("nudged_month", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("measure_settings") as batch:
        batch.drop_column("nudged_month")
    with op.batch_alter_table("measure") as batch:
        batch.drop_column("revision")
    op.drop_index("ix_outbox_failed_at", "outbox")
    op.drop_index("ix_outbox_sent_at", "outbox")
    op.drop_index("ix_poll_unannounced", "poll")
    op.drop_index("ix_action_open_due", "action")
    op.drop_index("ix_action_meeting_id", "action")
