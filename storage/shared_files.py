"""Files shared with a cluster's channel, served by link until they expire (issue 22 #6).

The link's token is made here and handed out once; only its SHA-256 is stored and looked up, so a token
is compared by an index lookup of its hash (no byte-by-byte comparison to time), and the table alone
opens nothing. Expired files are forgotten by the housekeeping tick, one indexed DELETE.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.clock import now as now_of
from storage.models import SharedFile


@dataclass(frozen=True)
class Served:
    file_name: str
    content_type: str
    content: bytes


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def keep(*, session: Session, cluster_id: int, file_name: str, content_type: str, content: bytes,
         expires_at: datetime) -> str:
    """Store the file; return its token (256 random bits), which is never stored."""
    token = secrets.token_urlsafe(32)
    session.add(SharedFile(token_hash=_hash(token), cluster_id=cluster_id, file_name=file_name,
                           content_type=content_type, content=content, expires_at=expires_at))
    session.flush()
    return token


def find(*, session: Session, token: str) -> Served | None:
    """The file the token opens, unless it has expired (by the unit of work's clock)."""
    found = session.exec(select(SharedFile.file_name, SharedFile.content_type, SharedFile.content)
                         .where(SharedFile.token_hash == _hash(token),
                                col(SharedFile.expires_at) > now_of(session))).first()
    return Served(*found) if found is not None else None


def has_expired(*, session: Session, now: datetime) -> bool:
    return session.exec(select(SharedFile.id).where(col(SharedFile.expires_at) <= now).limit(1)).first() \
        is not None


def forget_expired(*, session: Session, now: datetime) -> None:
    session.execute(delete(SharedFile).where(col(SharedFile.expires_at) <= now))
