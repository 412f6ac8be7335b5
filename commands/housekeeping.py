"""Scheduled upkeep that is no feature of its own: what the scheduler's tick clears away."""

from datetime import timedelta

from commands.registry import TICKS
from storage import events

KEEP_EVENT_IDS = timedelta(days=1)  # platforms retry a delivery for minutes, not days


def _old_events(session, now, time_zone: str) -> list[str]:
    return ["events"] if events.has_events_before(session=session, before=now - KEEP_EVENT_IDS) else []


def _forget_old_events(ctx_for, session, item: str, now) -> list:
    events.forget_events(session=session, before=now - KEEP_EVENT_IDS)
    return []


TICKS.append((_old_events, _forget_old_events))
