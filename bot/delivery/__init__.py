"""Delivery: what is sent to a platform after a request was answered (docs/design.md, Delivery).

`service.Delivery` puts together the queue (`queue.py`), coalesced refreshes (`coalesce.py`), the
outbox through the product's port (commands/outbox_port.py) and the retry policy (`retry.py`);
`process.DeliveryProcess` runs one in a child process, over a platform its factory makes there."""

from bot.delivery.service import Delivery

__all__ = ["Delivery"]
