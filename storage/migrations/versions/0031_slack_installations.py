"""Slack for many workspaces (issue 28): "Add to Slack" installations and their OAuth states.

- slack_installation: one row per workspace that installed the app (its bot token, refresh token and
  expiry: token rotation on), deleted when the app is uninstalled or its tokens revoked.
- slack_oauth_state: the state of each "Add to Slack" link, accepted once before it expires.

Revision ID: 0031
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0031"
down_revision = "0030"


def upgrade() -> None:
    op.create_table(
        "slack_installation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("enterprise_id", sa.String(length=255), nullable=True),
        sa.Column("team_id", sa.String(length=255), nullable=True),
        sa.Column("team_name", sa.String(length=80), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("app_id", sa.String(length=255), nullable=True),
        sa.Column("bot_id", sa.String(length=255), nullable=True),
        sa.Column("bot_user_id", sa.String(length=255), nullable=True),
        sa.Column("bot_scopes", sa.String(length=1024), nullable=False, server_default=""),
        sa.Column("bot_token", sa.String(length=512), nullable=False),
        sa.Column("bot_refresh_token", sa.String(length=512), nullable=True),
        sa.Column("bot_token_expires_at", UTCDateTime(), nullable=True),
        sa.Column("installed_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_slack_installation_team_id", "slack_installation", ["team_id"])
    op.create_table(
        "slack_oauth_state",
        sa.Column("state", sa.String(length=128), primary_key=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_slack_oauth_state_expires_at", "slack_oauth_state", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_slack_oauth_state_expires_at", table_name="slack_oauth_state")
    op.drop_table("slack_oauth_state")
    op.drop_index("ix_slack_installation_team_id", table_name="slack_installation")
    op.drop_table("slack_installation")
