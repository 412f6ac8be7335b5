"""Conversation references: where a proactive (Teams) message goes. Keyword-only, one session in."""

from sqlmodel import Session, col, select

from storage.clock import now as now_of
from storage.models import ConversationRef
from storage.types import upsert

PERSONAL = "personal"


def save_reference(*, session: Session, conversation_id: str, kind: str, service_url: str, tenant_id: str,
                   bot_id: str, team_id: str | None = None, user_id: str | None = None) -> None:
    """Insert or bring up to date (a service URL can move) in one statement, so two first messages at
    once cannot collide."""
    values = {"kind": kind, "service_url": service_url, "tenant_id": tenant_id, "bot_id": bot_id,
              "team_id": team_id, "user_id": user_id if kind == PERSONAL else None, "updated_at": now_of(session)}
    statement = upsert(session, ConversationRef).values(conversation_id=conversation_id, **values)
    session.execute(statement.on_conflict_do_update(index_elements=["conversation_id"], set_=values))


def find_reference(*, session: Session, conversation_id: str) -> ConversationRef | None:
    return session.get(ConversationRef, conversation_id)


def find_personal(*, session: Session, tenant_id: str, user_id: str) -> ConversationRef | None:
    """The person's 1:1 chat with the bot, if they have one (the newest, should there be several)."""
    return session.exec(
        select(ConversationRef).where(ConversationRef.tenant_id == tenant_id, ConversationRef.user_id == user_id,
                                      ConversationRef.kind == PERSONAL)
        .order_by(col(ConversationRef.updated_at).desc())
    ).first()


def any_reference(*, session: Session, tenant_id: str | None = None) -> ConversationRef | None:
    """Some conversation in the tenant: its service URL and bot id serve to open a new 1:1 chat."""
    query = select(ConversationRef).order_by(col(ConversationRef.updated_at).desc())
    if tenant_id:
        query = query.where(ConversationRef.tenant_id == tenant_id)
    return session.exec(query).first()
