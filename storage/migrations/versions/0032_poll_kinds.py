"""Poll kinds (issue 25): ranked polls (Borda count), dot votes and PICK charts. A poll says its kind and,
for a dot vote, how many dots a ballot spends; a PICK chart's ratings (impact and effort per option and
voter) are rows of pick_rating.

Revision ID: 0032
Revises: 0031
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0032"
down_revision = "0031"


def upgrade() -> None:
    with op.batch_alter_table("poll") as batch:
        batch.add_column(sa.Column("kind", sa.String(8), nullable=False, server_default="choice"))
        batch.add_column(sa.Column("dots", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "pick_rating",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("poll_id", sa.Integer(), sa.ForeignKey("poll.id"), nullable=False),
        sa.Column("voter_key", sa.String(263), nullable=False),
        sa.Column("practice_id", sa.Integer(), sa.ForeignKey("practice.id"), nullable=True),
        sa.Column("option", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("effort", sa.Integer(), nullable=False),
        sa.Column("rated_by", sa.String(255), nullable=False),
        sa.Column("rated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("poll_id", "voter_key", "option", name="uq_pick_rating"),
    )
    op.create_index("ix_pick_rating_poll_id", "pick_rating", ["poll_id"])
    op.create_index("ix_pick_rating_rated_by", "pick_rating", ["rated_by"])


def downgrade() -> None:
    op.drop_index("ix_pick_rating_rated_by", "pick_rating")
    op.drop_index("ix_pick_rating_poll_id", "pick_rating")
    op.drop_table("pick_rating")
    with op.batch_alter_table("poll") as batch:
        batch.drop_column("dots")
        batch.drop_column("kind")
