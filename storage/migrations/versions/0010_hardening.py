"""Hardening: anonymous ballots, one practice ballot per person (issue 12).

- A channel is at most one cluster: the unique key moves from (team_id, channel_id) to channel_id.
  A shadow cluster made before this (a second workspace's /cluster setup on the same channel) is
  detached: its channel id becomes "shadow-<cluster id>", so the channel answers as the first cluster.
- ballot_caster: who cast which practice's ballot (no choice), so a person casts one practice's ballot.
- Anonymous ballots lose what identified them: practice, caster, time, and a voter key naming the
  practice or person (the key is not recoverable here: such a ballot becomes "closed:<id>").

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute(sa.text(
        "UPDATE cluster SET channel_id = 'shadow-' || CAST(id AS VARCHAR(20)) WHERE id NOT IN "
        "(SELECT MIN(id) FROM cluster GROUP BY channel_id)"
    ))
    with op.batch_alter_table("cluster") as batch:
        batch.drop_constraint("uq_cluster_channel", type_="unique")
        batch.create_unique_constraint("uq_cluster_channel_id", ["channel_id"])
    op.create_table(
        "ballot_caster",
        sa.Column("poll_id", sa.Integer(), sa.ForeignKey("poll.id"), primary_key=True),
        sa.Column("user_id", sa.String(length=255), primary_key=True),
        sa.Column("practice_id", sa.Integer(), sa.ForeignKey("practice.id"), nullable=False),
    )
    op.execute(sa.text(
        "UPDATE ballot SET voter_key = 'closed:' || CAST(id AS VARCHAR(20)), practice_id = NULL, cast_by = '', "
        "cast_at = (SELECT created_at FROM poll WHERE poll.id = ballot.poll_id) "
        "WHERE poll_id IN (SELECT id FROM poll WHERE anonymous) AND voter_key NOT LIKE 'anon:%'"
    ))


def downgrade() -> None:
    op.drop_table("ballot_caster")
    with op.batch_alter_table("cluster") as batch:
        batch.drop_constraint("uq_cluster_channel_id", type_="unique")
        batch.create_unique_constraint("uq_cluster_channel", ["team_id", "channel_id"])
