"""What the product works out from data that change rarely and keeps for the next view: held by the
product (one per process, so one per database), under keys that name the revision of the data it was
worked out from, so a change is never served stale; least recently used first out."""

from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock
from typing import Any

KEEP = 4096  # entries: a deployment's active measures, several times over


class Kept:
    def __init__(self, size: int = KEEP):
        self._size = size
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = Lock()  # request threads share it

    def found(self, keys: list[Hashable]) -> dict[Hashable, Any]:
        """Those of `keys` kept, each now the most recently used."""
        with self._lock:
            found = {k: self._kept[k] for k in keys if k in self._kept}
            for key in found:
                self._kept.move_to_end(key)
        return found

    def keep(self, worked_out: dict[Hashable, Any]) -> None:
        with self._lock:
            self._kept.update(worked_out)
            for key in worked_out:
                self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)
