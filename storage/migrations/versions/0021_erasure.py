"""A person can be erased (UK GDPR Art. 17) and shown what is held about them (Art. 15) without reading
the whole database: every column holding a person's platform id is indexed (storage/data_map.py lists
them), so `python -m bot forget` and `subject-access` find that person's rows across every cluster with
one indexed statement per column. Also outbox.channel (a person's direct messages, a cluster's posts)
person_name.updated_at (the scheduler's purge of names of people in no cluster) and digest_sent.day
(the purge of the days a digest went, older than the retention).

Revision ID: 0021
Revises: 0020
"""

from alembic import op

revision = "0021"
down_revision = "0020"

PERSON_COLUMNS = (
    ("cluster", "created_by"), ("topic", "proposed_by"), ("topic_move", "by"), ("topic_note", "by"),
    ("poll", "created_by"), ("poll", "closed_by"), ("ballot", "cast_by"), ("ballot_caster", "user_id"),
    ("action", "created_by"), ("action", "done_by"), ("action_note", "by"), ("digest_sent", "user_id"),
    ("meeting", "created_by"), ("agenda_item", "by"), ("attendance", "user_id"), ("attendance", "by"),
    ("minute_line", "by"), ("decision", "by"), ("measure", "created_by"), ("measure", "retired_by"),
    ("measure_point", "recorded_by"), ("measure_point_history", "recorded_by"),
    ("measure_point_history", "replaced_by"), ("measure_nudge", "user_id"), ("conversation_ref", "user_id"),
)
OTHERS = (("ix_outbox_channel", "outbox", "channel"), ("ix_person_name_updated_at", "person_name", "updated_at"),
          ("ix_digest_sent_day", "digest_sent", "day"))


def upgrade() -> None:
    for table, column in PERSON_COLUMNS:
        op.create_index(f"ix_{table}_{column}", table, [column])
    for name, table, column in OTHERS:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _column in reversed(OTHERS):
        op.drop_index(name, table_name=table)
    for table, column in reversed(PERSON_COLUMNS):
        op.drop_index(f"ix_{table}_{column}", table_name=table)
