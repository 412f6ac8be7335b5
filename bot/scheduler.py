"""The scheduler only ticks: every 30 seconds it asks the product what has fallen due and sends it.

The database is the truth: work is claimed with a conditional UPDATE before it is done, so any
number of bot processes (and restarts, and missed ticks) still do each thing exactly once.
"""

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from slack_sdk import WebClient

from bot.slack.deliver import carry_out
from commands import Clusterbot
from commands.results import Reply

log = logging.getLogger(__name__)

TICK_SECONDS = 30


def tick(product: Clusterbot, client: WebClient) -> None:
    try:
        carry_out(client, product, Reply.quiet(*product.tick()))
    except Exception:
        log.exception("scheduler tick failed")


def _add_tick(scheduler, product: Clusterbot, client: WebClient, seconds: float = TICK_SECONDS):
    scheduler.add_job(tick, "interval", args=(product, client), seconds=seconds, id="tick",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    return scheduler


def start_in_background(product: Clusterbot, client: WebClient) -> BackgroundScheduler:
    """Inside `http` and `socket`: ticks on a thread beside the server."""
    scheduler = _add_tick(BackgroundScheduler(timezone=UTC), product, client)
    scheduler.start()
    return scheduler


def run_alone(product: Clusterbot, client: WebClient, seconds: float = TICK_SECONDS) -> None:
    """`python -m bot scheduler`: only ticks, for deployments whose web workers run SCHEDULER=off."""
    log.info("clusterbot scheduler ticking every %s s", seconds)
    _add_tick(BlockingScheduler(timezone=UTC), product, client, seconds).start()
