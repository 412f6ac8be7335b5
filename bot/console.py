"""The whole product with no Slack: one slash command per line, plain-text replies.

Lines may start with `as <person>` to act as someone else, so one script can play a whole
cluster. `@name` in a line is a mention of the person whose id is `name`.
"""

import re
import sys
from typing import TextIO

from commands import Clusterbot
from commands.context import Caller
from commands.results import Audience, Reply, Tone, plain_text

CONSOLE_TEAM = "T-CONSOLE"
AT_NAME = re.compile(r"(?<![<\w])@([A-Za-z0-9._-]+)")
ACT_AS = re.compile(r"^as\s+@?([A-Za-z0-9._-]+)\s+(.*)$", re.IGNORECASE)
BANNER = "clusterbot console: type a slash command (try /cluster help), or 'quit'."


def render(reply: Reply) -> str:
    text = plain_text(reply)
    if reply.tone == Tone.PROBLEM:
        text = "! " + text
    suffix = "   [posted to the channel]" if reply.audience == Audience.CHANNEL else "   [only you see this]"
    lines = text.splitlines() or [""]
    return "\n".join(lines[:1]) + suffix + "".join("\n" + ln for ln in lines[1:])


def run_line(product: Clusterbot, raw: str, caller: Caller) -> str | None:
    """The reply to one typed line, or None for a blank line or comment."""
    text = raw.strip()
    if not text or text.startswith("#"):
        return None
    acting = ACT_AS.match(text)
    if acting:
        caller = Caller(acting.group(1), caller.channel_id, caller.team_id)
        text = acting.group(2).strip()
    if not text.startswith("/"):
        return "! Type a slash command, e.g. /cluster help"
    command, _, rest = text.partition(" ")
    return render(product.handle(command.lower(), AT_NAME.sub(r"<@\1>", rest), caller))


def run_console(product: Clusterbot, *, user: str, channel: str, stdin: TextIO = sys.stdin,
                stdout: TextIO = sys.stdout) -> None:
    caller = Caller(user_id=user, channel_id=channel, team_id=CONSOLE_TEAM)
    interactive = stdin.isatty()
    if interactive:
        print(BANNER, file=stdout)
    while True:
        if interactive:
            print(f"{user}@#{channel}> ", end="", file=stdout, flush=True)
        raw = stdin.readline()
        if not raw or raw.strip().lower() in ("quit", "exit"):
            break
        out = run_line(product, raw, caller)
        if out is not None:
            if not interactive:
                print(f"{user}> {raw.strip()}", file=stdout)
            print(out, file=stdout, flush=True)
