"""The outbox's rows say which cluster they are for and how long they are worth sending:

- outbox.cluster_id: the claim takes each cluster's oldest due row before anyone's second, so one
  cluster's flood (hundreds of posts) cannot hold another cluster's reminder back; an index on
  (platform, cluster_id, not_before) of the rows still waiting makes that one probe per cluster;
- outbox.useful_until: a row still unsent after it (a meeting's reminder once the meeting began, a
  digest after its day) is dropped and counted, never sent late. NULL, as every older row has: no limit;
- ix_outbox_unsent holds only rows still waiting (not those given up), which the claim and /healthz's
  oldest due row read in order: dropped rows no longer lie in their way.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0023"
down_revision = "0022"

WAITING = sa.text("sent_at IS NULL AND failed_at IS NULL")
UNSENT = sa.text("sent_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("cluster_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("useful_until", UTCDateTime(), nullable=True))
    op.create_index("ix_outbox_fair", "outbox", ["platform", "cluster_id", "not_before"],
                    sqlite_where=WAITING, postgresql_where=WAITING)
    op.drop_index("ix_outbox_unsent", "outbox")
    op.create_index("ix_outbox_unsent", "outbox", ["not_before"], sqlite_where=WAITING, postgresql_where=WAITING)


def downgrade() -> None:
    op.drop_index("ix_outbox_unsent", "outbox")
    op.create_index("ix_outbox_unsent", "outbox", ["not_before"], sqlite_where=UNSENT, postgresql_where=UNSENT)
    op.drop_index("ix_outbox_fair", "outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("useful_until")
        batch.drop_column("cluster_id")
