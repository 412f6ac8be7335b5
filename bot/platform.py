"""The platform seam: what every chat adapter (Slack, Teams, the console) implements.

The product (commands/) answers with a Reply and its effects. The delivery component
(bot/delivery/) sends those effects, after the request has been acknowledged, through exactly
one `Platform`. Delivery and the scheduler only ever see this interface, never a Slack or Teams
client, so a second platform is an adapter and nothing more.

A platform call ends in one of four ways, and delivery treats each differently:
- it returns: sent (a Post returns the platform's reference to the message);
- `Refused`: the platform said no for good (not in the channel, file too big): tell the person,
  don't retry;
- `RateLimited`: try again after `retry_after` seconds, without holding anyone up meanwhile;
- `NoAnswer`: no answer in time. The message MAY have arrived: never treat it as refused; retry
  after asking the platform whether it arrived (`find_post`), where the platform can say.
"""

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from commands.results import Form, Reply, Upload


class SendError(Exception):
    """A platform call that did not succeed."""


class Refused(SendError):
    """The platform refused, and asking again will not help. `code` is the platform's own word for why
    ("not_in_channel"); `person_text` is what to tell the person, phrased for this platform."""

    def __init__(self, code: str, person_text: str = ""):
        super().__init__(code)
        self.code = code
        self.person_text = person_text


class RateLimited(SendError):
    """Too many calls: the platform asks us to wait `retry_after` seconds (HTTP 429 + Retry-After)."""

    def __init__(self, retry_after: float, bucket: str = ""):
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after
        self.bucket = bucket  # what is limited (a method, a channel): other buckets carry on


class NoAnswer(SendError):
    """Timed out or the connection broke: the call may or may not have taken effect."""


@dataclass(frozen=True)
class Asker:
    """Where a message goes when it is not simply "the channel": the person who asked, in the place
    they asked. `handle` is the platform's way back to that request (Slack: a response_url), `trigger`
    what lets it open a form for them (Slack: a trigger_id, valid for 3 seconds), and `surface` where
    they were ("channel", or "home" for a button on Slack's Home tab)."""

    user_id: str
    channel_id: str
    team_id: str
    handle: str | None = None
    trigger: str | None = None
    surface: str = "channel"


@runtime_checkable
class Platform(Protocol):
    """One chat platform. Every method may raise `SendError` subclasses; none may block for long
    (each uses its own client timeout)."""

    name: str  # "slack", "teams", "console": for logs and for the platform's own phrasing
    has_home: bool  # a Home a person opens (Slack's App Home): kept fresh by delivery while they look

    def post(self, channel: str, reply: Reply, *, team_id: str | None = None, marker: str | None = None) -> str:
        """Post a message to a channel; return the platform's reference to it (Slack: ts; Teams: activity
        id). `marker` is a stable id of this delivery that `find_post` can look for afterwards."""
        ...

    def update(self, channel: str, ref: str, reply: Reply) -> None:
        """Replace the content of a message posted earlier."""
        ...

    def direct(self, user_id: str, reply: Reply, *, team_id: str | None = None) -> None:
        """A direct (1:1) message to one person."""
        ...

    def tell(self, asker: Asker, reply: Reply) -> None:
        """An answer only the person who asked sees (Slack: ephemeral; Teams: targeted or 1:1), or, when
        `reply.audience` is the channel, an answer in the channel where they asked."""
        ...

    def upload(self, upload: Upload, *, team_id: str | None = None, user_id: str | None = None) -> None:
        """A file for the channel (or the person, where the platform offers files only 1:1)."""
        ...

    def show_home(self, user_id: str, team_id: str, home: Reply) -> None:
        """Show the person their Home (`product.home`, rendered by delivery). Called only where
        `has_home` is true."""
        ...

    def find_post(self, channel: str, marker: str) -> str | None:
        """The reference of a recent message posted with `marker`, if it arrived; None if it did not or
        the platform cannot tell (then delivery posts again: at least once)."""
        ...

    def open_form(self, asker: Asker, form: Form) -> bool:
        """Open a form for the person; False if the platform would not (then they are told instead)."""
        ...

    def display_name(self, user_id: str) -> str:
        """A person's name, for exports; their id when the platform can't say."""
        ...

    def form_hint(self, form: Form) -> str:
        """How this platform phrases "this takes a form": shown when a form cannot be opened here."""
        ...


class AfterAck(Protocol):
    """What an adapter hands work to after the ack: `bot.delivery.Delivery` in the process, or
    `bot.delivery.process.DeliveryProcess` in a child."""

    platform: Platform

    def after_ack(self, reply: Reply, asker: Asker | None = None) -> None:
        """Send what `reply` still needs (its answer to `asker`, updates, uploads, Home) off the request
        thread; the durable posts and DMs it committed are already in the outbox."""
        ...

    def wake(self) -> None:
        """New outbox rows were committed: look now rather than at the next poll."""
        ...

    def run_now(self, job, bucket: str = "") -> None:
        """Any other platform call the adapter must make after its ack (opening a form), on a worker."""
        ...

    def is_running(self) -> bool:
        """Whether anything handed over will be sent (for /healthz: a server whose delivery has stopped
        must not look healthy while nothing is posted)."""
        ...
