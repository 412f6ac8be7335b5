"""The scheduler only ticks: every 30 seconds it asks the product what has fallen due.

The database is the truth: work is claimed with a conditional UPDATE, and what it must send is
written to the outbox in the same transaction, so any number of bot processes (and restarts, and
missed ticks) still do each thing exactly once. Delivery, not the scheduler, sends it; the
scheduler sees only the `AfterAck` of bot/platform.py, whatever the platform.
"""

import logging
from collections.abc import Sequence
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.platform import AfterAck
from commands import Clusterbot
from commands.results import Reply
from storage.clock import wall_clock

log = logging.getLogger(__name__)

TICK_SECONDS = 30


def tick(product: Clusterbot, deliveries: Sequence[AfterAck] = ()) -> None:
    """One tick. Everything it must send is already in the outbox, marked with the platform that sends
    it; the deliveries of this process are only woken, so their platforms' share goes out at once."""
    try:
        effects = product.tick()
        for delivery in deliveries:
            delivery.after_ack(Reply.quiet(*effects))
    except Exception:
        log.exception("scheduler tick failed")


def _add_tick(scheduler, product: Clusterbot, deliveries: Sequence[AfterAck], seconds: float = TICK_SECONDS):
    scheduler.add_job(tick, "interval", args=(product, list(deliveries)), seconds=seconds, id="tick",
                      max_instances=1, coalesce=True, next_run_time=wall_clock())
    return scheduler


def start_in_background(product: Clusterbot, delivery: AfterAck) -> BackgroundScheduler:
    """Inside a server process: ticks on a thread beside it."""
    scheduler = _add_tick(BackgroundScheduler(timezone=UTC), product, [delivery])
    scheduler.start()
    return scheduler


def run_alone(product: Clusterbot, deliveries: Sequence[AfterAck] = (), seconds: float = TICK_SECONDS) -> None:
    """`python -m bot scheduler`: only ticks, for deployments whose servers run SCHEDULER=off. What
    falls due goes into the outbox marked with its cluster's platform, and each platform's delivery
    sends its own share: the servers' (Slack, Teams, or both on one database), and this process's
    own `deliveries` for the platforms it was given settings for (none is needed)."""
    log.info("clusterbot scheduler ticking every %s s; delivering for %s", seconds,
             ", ".join(d.platform.name for d in deliveries) or "no platform (the servers deliver)")
    _add_tick(BlockingScheduler(timezone=UTC), product, deliveries, seconds).start()
