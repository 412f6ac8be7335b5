"""People's names for exports and minutes, from the platforms that know them.

The product owns one `Directory` from its construction; an adapter adds its platform's lookup to it
(`serve`), and none replaces another's. A request's names are asked of its caller's platform (`of`);
where that platform is not served here, of each platform served, in the order they were added, until
one knows it. A person no platform knows is shown by their id.
"""

import threading
from collections.abc import Callable

from storage.mentions import FORMER_MEMBER, FORMER_MEMBER_SHOWN


class Directory:
    def __init__(self) -> None:
        self._lookups: dict[str, Callable[[str], str]] = {}
        self._lock = threading.Lock()

    def serve(self, platform) -> None:
        """Names from `platform` (its `name` and `display_name`, as bot/platform.Platform has them). The
        same platform served again (a restarted adapter in one process) replaces only its own lookup."""
        with self._lock:
            self._lookups = {**self._lookups, platform.name: platform.display_name}

    def of(self, platform_name: str) -> Callable[[str], str]:
        """Names as the caller's platform knows them (a Teams id is never asked of Slack); every platform
        served here if that one is not."""
        lookup = self._lookups.get(platform_name)
        return (lambda user_id: _asked(lookup, user_id) or user_id) if lookup else self

    def __call__(self, user_id: str) -> str:
        for lookup in self._lookups.values():
            name = _asked(lookup, user_id)
            if name:
                return name
        return user_id


def _asked(lookup: Callable[[str], str], user_id: str) -> str | None:
    """The platform's name for the person, or None if it could only say their id back. An erased
    person's marker is not asked of any platform."""
    if user_id == FORMER_MEMBER:
        return FORMER_MEMBER_SHOWN
    name = lookup(user_id)
    return name if name and name != user_id else None
