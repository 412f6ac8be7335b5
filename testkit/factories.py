"""The one place the tests build a cluster. Riverside is the canonical one:

- the channel CCLUSTER is "Riverside Cluster", set up by ULEAD, its lead (in no practice);
- practices 80123 Riverside Medical Practice, 80456 Hillview Surgery and 80789 Burnside Health Centre;
- UGP and UPM in 80123, UNURSE in 80456, nobody in 80789;
- today is Thursday 26 November 2026, 10:00 GMT (testkit/clock.py).

A test that needs less or other (two practices, nobody in practice 80456, six practices) says so with
the factory's parameters rather than a copy of the set-up. The factory only types commands, through a
`say(typed, user=…, channel=…)` callable, so the same cluster is built through the platform-free driver
(`driver.say`, testkit/driver.py) or through signed Slack requests (`on_slack(app)`); every step is
checked, so a set-up that stopped working fails where it breaks, not in the test after.
"""

from collections.abc import Callable, Iterable

from commands.results import Tone
from testkit.slack_requests import dispatch_command

LEAD = "ULEAD"
# The ballot key of test products (BALLOT_KEY's derived key in a deployment): anonymous polls need one.
BALLOT_KEY = b"test ballot key, never a deployment's".ljust(32, b".")
CHANNEL = "CCLUSTER"
NAME = "Riverside Cluster"
PRACTICES = (("80123", "Riverside Medical Practice"), ("80456", "Hillview Surgery"),
             ("80789", "Burnside Health Centre"))
MEMBERS = {"UGP": "80123", "UPM": "80123", "UNURSE": "80456"}

Say = Callable[..., object]  # say(typed, *, user, channel) -> a driver's Said or a SlashResponse


def riverside(say: Say, *, practices: "int | Iterable[tuple[str, str]]" = 3, members: dict[str, str] | None = None,
              lead: str = LEAD, channel: str = CHANNEL, name: str = NAME) -> None:
    """Set up the cluster: `practices` is how many of PRACTICES (or the (code, name) pairs themselves);
    `members` maps each person to the practice they join, in order (MEMBERS by default)."""
    chosen = PRACTICES[:practices] if isinstance(practices, int) else tuple(practices)
    _ok(say(f"/cluster setup {name}", user=lead, channel=channel))
    for code, practice in chosen:
        _ok(say(f"/cluster practice add {code} {practice}", user=lead, channel=channel))
    for user, code in (MEMBERS if members is None else members).items():
        _ok(say(f"/cluster join {code}", user=user, channel=channel))


def on_slack(app) -> Say:
    """`say` as signed slash commands to the real Bolt app (testkit/slack_requests.py)."""
    def say(typed: str, *, user: str = LEAD, channel: str = CHANNEL):
        command, _, text = typed.partition(" ")
        return dispatch_command(app, command, text, user=user, channel=channel)
    return say


def _ok(answer) -> None:
    """A set-up step that did what it said (the driver's Said, or Slack's answer to a slash command)."""
    if hasattr(answer, "reply"):
        assert answer.reply.tone != Tone.PROBLEM, answer.text
    else:
        assert answer.status == 200 and not answer.text.startswith(":warning:"), answer.text
