"""Guests (issue 22 #9): HSCP and council staff come into NHS Scotland's tenant as B2B guests, and a
guest could export the whole cluster workbook like its staff.

- member.guest: whether the person is a guest of their platform, as it said when they last acted in the
  cluster (NULL: not known yet), shown by `/cluster who`;
- cluster.guests_export: whether the cluster's leads let guests take files of its data (exports,
  reports, Word minutes); off by default.

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("guest", sa.Boolean(), nullable=True))
    with op.batch_alter_table("cluster") as batch:
        batch.add_column(sa.Column("guests_export", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("cluster") as batch:
        batch.drop_column("guests_export")
    with op.batch_alter_table("member") as batch:
        batch.drop_column("guest")
