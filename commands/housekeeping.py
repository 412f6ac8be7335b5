"""Scheduled upkeep that is no feature of its own: what the scheduler's tick clears away."""

from datetime import timedelta

from commands.registry import TICKS
from storage import events, shared_files

KEEP_EVENT_IDS = timedelta(days=1)  # platforms retry a delivery for minutes, not days


def _old_events(session, now, time_zone: str) -> list[str]:
    return ["events"] if events.has_events_before(session=session, before=now - KEEP_EVENT_IDS) else []


def _forget_old_events(ctx_for, session, item: str, now) -> list:
    events.forget_events(session=session, before=now - KEEP_EVENT_IDS)
    return []


def _expired_files(session, now, time_zone: str) -> list[str]:
    return ["shared files"] if shared_files.has_expired(session=session, now=now) else []


def _forget_expired_files(ctx_for, session, item: str, now) -> list:
    """Files shared by link (commands/shared.py) are gone once their link has expired: one indexed DELETE."""
    shared_files.forget_expired(session=session, now=now)
    return []


TICKS.append((_old_events, _forget_old_events))
TICKS.append((_expired_files, _forget_expired_files))
