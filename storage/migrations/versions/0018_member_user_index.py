"""A person's memberships across clusters by their id (the 1:1 chat answers for each of their clusters;
the Home): an index on member.user_id, so the lookup reads that person's rows, not the table.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    op.create_index("ix_member_user_id", "member", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_member_user_id", table_name="member")
