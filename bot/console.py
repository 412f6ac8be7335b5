"""The whole product with no Slack: one slash command per line, plain-text replies.

Exports are saved as files in the working folder.

Lines may start with `as <person>` (any name: `as Seònaid`, `as o'neill`) to act as someone else, so
one script can play a whole cluster. `@name` in a line is a mention of the person whose id is `name`.
Before each line the scheduler's work is done (polls past their deadline close), as the scheduler would in Slack modes.
`/home` shows the person's Home as text. The channel's id is the --channel given (`console` by default).
"""

import itertools
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from bot import front_door
from bot.delivery import Delivery
from commands import Clusterbot
from commands.context import Caller
from commands.results import Audience, Reply, Tone, Upload, plain_text

CONSOLE_TEAM = "T-CONSOLE"
# People's names as typed: letters of any alphabet (Seònaid), apostrophes (o'neill), dots and dashes.
NAME = r"[\w.'’-]+"
AT_NAME = re.compile(rf"(?<![<\w])@({NAME})")
# "as @sam /cluster who"; "as guest @sam /cluster export": Sam as a guest of the organisation (the console
# has no roster to ask, so this is how to try what a guest may do).
ACT_AS = re.compile(rf"^as\s+(guest\s+)?@?({NAME})\s+(.*)$", re.IGNORECASE)
BANNER = ("clusterbot console: type a slash command (try /cluster help), /home for your Home, or 'quit'.\n"
          "This channel's id is `{channel}` (for python -m bot export --channel {channel}).")
_refs = itertools.count(1)


def render(reply: Reply) -> str:
    text = plain_text(reply)
    if reply.tone == Tone.PROBLEM:
        text = "! " + text
    suffix = "   [posted to the channel]" if reply.audience == Audience.CHANNEL else "   [only you see this]"
    lines = text.splitlines() or [""]
    return "\n".join(lines[:1]) + suffix + "".join("\n" + ln for ln in lines[1:])


class ConsolePlatform:
    """The console behind the platform seam: what would be sent is printed (kept in `shown` until the
    line's output is written), files are saved in the working folder, updates and the Home are not
    shown (the console cannot edit what it printed; /poll results shows the live state)."""

    name = "console"
    has_home = False

    def __init__(self):
        self.shown: list[str] = []

    def post(self, channel: str, reply: Reply, *, team_id=None, marker=None) -> str:
        self.shown.append(render(reply))
        return f"console-{next(_refs)}"

    def update(self, channel: str, ref: str, reply: Reply) -> None:
        pass

    def direct(self, user_id: str, reply: Reply, *, team_id=None) -> None:
        self.shown.append(f"[direct message to @{user_id}]\n{plain_text(reply)}")

    def tell(self, asker, reply: Reply) -> None:
        self.shown.append(render(reply))

    def upload(self, upload: Upload, *, team_id=None, user_id=None) -> None:
        path = Path(upload.filename)
        path.write_bytes(upload.content)
        self.shown.append(render(upload.comment) + f"\n[file saved here: {path.resolve()}]")

    def show_home(self, user_id: str, team_id: str, home: Reply) -> None:
        """Never called (`has_home` is false): the console shows `/home` as an answer."""

    def find_post(self, channel: str, marker: str) -> None:
        return None

    def open_form(self, asker, form) -> bool:
        return False

    def display_name(self, user_id: str) -> str:
        return user_id

    def form_hint(self, form) -> str:
        return "The console has no forms."


def carry_out(product: Clusterbot, reply: Reply) -> list[str]:
    """Deliver the reply's effects (and anything else due in the outbox) now, in this thread, through
    the console platform; what was sent, as printed lines, in the order it was sent."""
    delivery = _delivery(product)
    delivery.after_ack(reply)
    delivery.flush()
    shown, delivery.platform.shown = delivery.platform.shown, []
    return shown


_deliveries: dict[int, Delivery] = {}


def _delivery(product: Clusterbot) -> Delivery:
    if id(product) not in _deliveries:
        _deliveries[id(product)] = Delivery(ConsolePlatform(), product, update_interval=0, home_interval=0)
    return _deliveries[id(product)]


def run_line(product: Clusterbot, raw: str, caller: Caller) -> str | None:
    """The reply to one typed line, or None for a blank line or comment."""
    text = raw.strip()
    if not text or text.startswith("#"):
        return None
    caller = replace(caller, platform=ConsolePlatform.name)  # what it posts, the console shows
    acting = ACT_AS.match(text)
    if acting:
        caller = replace(caller, user_id=acting.group(2), guest=bool(acting.group(1)))
        text = acting.group(3).strip()
    if text.lower() in ("/home", "home"):
        return f"[Home of @{caller.user_id}]\n" + plain_text(product.home(caller.user_id, caller.team_id))
    if not text.startswith("/"):
        return "! Type a slash command, e.g. /cluster help (or /home)"
    command, _, rest = text.partition(" ")
    command, rest = command.lower(), AT_NAME.sub(r"<@\1>", rest)
    reply = product.handle(command, rest, caller)
    shown = carry_out(product, reply)
    if not reply.is_silent:
        shown.insert(0, render(reply))
    later = product.finish(command, rest, caller)  # the slow part of an export, if any
    shown += carry_out(product, later) + ([render(later)] if not later.is_silent else [])
    return "\n".join(shown)


def run_console(product: Clusterbot, *, user: str, channel: str, stdin: TextIO = sys.stdin,
                stdout: TextIO = sys.stdout) -> None:
    caller = front_door.caller(platform=ConsolePlatform.name, user_id=user, team_id=CONSOLE_TEAM, here=channel,
                               guest=False)
    interactive = stdin.isatty()
    if interactive:
        print(BANNER.format(channel=channel), file=stdout)
    while True:
        if interactive:
            print(f"{user}@#{channel}> ", end="", file=stdout, flush=True)
        raw = stdin.readline()
        if not raw or raw.strip().lower() in ("quit", "exit"):
            break
        for scheduled in carry_out(product, Reply.quiet(*product.tick())):
            print(scheduled, file=stdout)
        out = run_line(product, raw, caller)
        if out is not None:
            if not interactive:
                print(f"{user}> {raw.strip()}", file=stdout)
            print(out, file=stdout, flush=True)
