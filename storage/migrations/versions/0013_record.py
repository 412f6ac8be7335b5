"""Meeting attendance, minute lines and decisions (issue 16).

Revision ID: 0013
Revises: 0012
"""

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    pass  # reserved: filled in by the change named above


def downgrade() -> None:
    pass
