"""Which platform a cluster lives on, and which platform sends each outbox row.

Slack and Teams processes may share one database. Without this, any process's delivery workers would
claim any outbox row, and a Slack process would try to post a Teams cluster's reminder to Slack. Rows
default to Slack (the only platform before Teams); a cluster or unsent row whose channel id has a colon
is Teams' (Teams ids are "19:…@thread.tacv2", "a:…", "29:…"; Slack's are letters and digits only). An
outbox row may now also be
an "update" of a posted card (the scheduler closing a poll), so that the process serving the card's
platform sends it, whichever process ticked.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    for table in ("cluster", "outbox"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("platform", sa.String(16), nullable=False, server_default="slack"))
    op.execute("UPDATE cluster SET platform = 'teams' WHERE channel_id LIKE '%:%'")
    op.execute("UPDATE outbox SET platform = 'teams' WHERE channel LIKE '%:%' AND sent_at IS NULL")


def downgrade() -> None:
    for table in ("cluster", "outbox"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("platform")
