"""The scheduler only ticks: every 30 seconds it asks the product what has fallen due.

The database is the truth: work is claimed with a conditional UPDATE, and what it must send is
written to the outbox in the same transaction, so any number of bot processes (and restarts, and
missed ticks) still do each thing exactly once. Delivery, not the scheduler, sends it; the
scheduler sees only the `Delivery` of bot/platform.py, whatever the platform.
"""

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.platform import Delivery
from commands import Clusterbot
from commands.results import Reply

log = logging.getLogger(__name__)

TICK_SECONDS = 30


def tick(product: Clusterbot, delivery: Delivery) -> None:
    try:
        delivery.after_ack(Reply.quiet(*product.tick()))
    except Exception:
        log.exception("scheduler tick failed")


def _add_tick(scheduler, product: Clusterbot, delivery: Delivery, seconds: float = TICK_SECONDS):
    scheduler.add_job(tick, "interval", args=(product, delivery), seconds=seconds, id="tick",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    return scheduler


def start_in_background(product: Clusterbot, delivery: Delivery) -> BackgroundScheduler:
    """Inside a server process: ticks on a thread beside it."""
    scheduler = _add_tick(BackgroundScheduler(timezone=UTC), product, delivery)
    scheduler.start()
    return scheduler


def run_alone(product: Clusterbot, delivery: Delivery, seconds: float = TICK_SECONDS) -> None:
    """`python -m bot scheduler`: only ticks (and delivers), for deployments whose web workers run
    SCHEDULER=off."""
    log.info("clusterbot scheduler ticking every %s s", seconds)
    _add_tick(BlockingScheduler(timezone=UTC), product, delivery, seconds).start()
