"""Slack installations ("Add to Slack") and OAuth states. Keyword-only, one session in.

Only the Slack adapter uses these (bot/slack/oauth.py wraps them in Bolt's InstallationStore and
OAuthStateStore): no product rule reads them. Tokens are returned to the caller and never logged.
"""

from datetime import datetime

from sqlmodel import Session, col, delete, select

from storage.models import Cluster, Member, Outbox, SlackInstallation, SlackOAuthState


def _workspace(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool = False):
    """Rows of one workspace: an org-wide (Enterprise Grid) install is found by its enterprise alone."""
    if is_enterprise_install or (enterprise_id and not team_id):
        return [SlackInstallation.enterprise_id == enterprise_id, col(SlackInstallation.is_enterprise_install)]
    where = [SlackInstallation.team_id == team_id]
    if enterprise_id:
        where.append(SlackInstallation.enterprise_id == enterprise_id)
    return where


def save_installation(*, session: Session, installation: SlackInstallation) -> None:
    """The workspace's installation, replacing any earlier one (a reinstall, a rotated token)."""
    session.execute(delete(SlackInstallation).where(*_workspace(
        installation.enterprise_id, installation.team_id, installation.is_enterprise_install)))
    session.add(installation)


def find_installation(*, session: Session, enterprise_id: str | None, team_id: str | None,
                      is_enterprise_install: bool = False) -> SlackInstallation | None:
    if not team_id and not enterprise_id:
        return None
    found = session.exec(select(SlackInstallation).where(
        *_workspace(enterprise_id, team_id, is_enterprise_install))
        .order_by(col(SlackInstallation.installed_at).desc())).first()
    if found is None and enterprise_id and team_id and not is_enterprise_install:
        # a workspace of an organisation that installed the app org-wide
        return find_installation(session=session, enterprise_id=enterprise_id, team_id=None,
                                 is_enterprise_install=True)
    return found


def delete_installation(*, session: Session, enterprise_id: str | None, team_id: str | None) -> int:
    """Forget the workspace's tokens (uninstalled, or its tokens revoked); how many rows went."""
    if not team_id and not enterprise_id:
        return 0
    return session.execute(delete(SlackInstallation).where(*_workspace(enterprise_id, team_id))).rowcount


def installed_teams(*, session: Session) -> list[str]:
    return list(session.exec(select(SlackInstallation.team_id).where(col(SlackInstallation.team_id).is_not(None))))


def team_of_channel(*, session: Session, channel_id: str) -> str | None:
    """The workspace whose cluster has this channel, if one does."""
    return session.exec(select(Cluster.team_id).where(Cluster.channel_id == channel_id)).first()


def team_of_person(*, session: Session, user_id: str) -> str | None:
    """A workspace of a cluster the person is a member of, if any."""
    return session.exec(select(Cluster.team_id).join(Member, col(Member.cluster_id) == col(Cluster.id))
                        .where(Member.user_id == user_id)).first()


def stop_deliveries(*, session: Session, team_id: str, now: datetime, platform: str = "slack") -> int:
    """Give up every unsent Slack outbox row of the workspace (its clusters' posts, its DMs): the app
    is gone from it. The clusters' records stay."""
    clusters = select(Cluster.id).where(Cluster.team_id == team_id)
    return session.execute(
        Outbox.__table__.update()
        .where(Outbox.platform == platform, col(Outbox.sent_at).is_(None), col(Outbox.failed_at).is_(None),
               (Outbox.team_id == team_id) | col(Outbox.cluster_id).in_(clusters))
        .values(failed_at=now, last_error="app_uninstalled", lease_until=None)).rowcount


def issue_state(*, session: Session, state: str, expires_at: datetime, now: datetime) -> None:
    """A new state, and the expired ones cleared out (they are never accepted)."""
    session.execute(delete(SlackOAuthState).where(col(SlackOAuthState.expires_at) <= now))
    session.add(SlackOAuthState(state=state, expires_at=expires_at))


def consume_state(*, session: Session, state: str, now: datetime) -> bool:
    """Whether `state` was handed out and has not expired; it is accepted once (deleted here, in one
    statement, so two redirects with the same state cannot both pass)."""
    taken = session.execute(delete(SlackOAuthState).where(
        SlackOAuthState.state == state, col(SlackOAuthState.expires_at) > now)).rowcount
    return taken == 1
