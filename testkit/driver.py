"""A platform-free test driver: the product's behaviour through `Clusterbot`, with no Slack and no Teams.

In the spirit of errbot's `testbot`: a test says what a person types, clicks or submits, and reads what
came back and what was sent. Everything a command sends afterwards (posts, card updates, direct
messages, files, the answer to the person) really goes through the product's delivery code
(bot/delivery/) to a `RecordingPlatform`, which implements the platform seam (bot/platform.py) and
keeps what it was given. Delivery runs in the test's own thread (`Delivery.flush`), so there is nothing
to wait for and nothing left running after the test.

    driver.say("/topic propose Asthma reviews", user="UGP")      # -> Said: .reply, .text, .in_channel …
    driver.click("poll.vote", "P1:1", user="UNURSE")            # a button
    driver.submit("meeting.schedule", {"title": …}, user=…)     # a filled-in form
    driver.posts, driver.dms("UGP"), driver.uploads, driver.told, driver.forms
    driver.tick(hours=1)                                        # turn the clock, run the scheduler's work

The Slack and Teams suites test their adapters (signatures, Block Kit, cards, response_url, ephemeral
messages); what the product decides is tested here. Texts are `plain_text`: no mrkdwn, a person is @id.
"""

import itertools
from dataclasses import dataclass, field

from bot import front_door
from bot.delivery import Delivery
from bot.platform import Asker
from commands import Caller, Clusterbot
from commands.results import Audience, Button, Form, Reply, Tone, Upload, plain_text
from testkit.clock import Clock

TEAM = "T0001"          # the same workspace as testkit/slack_requests.py, so rows look alike in both suites
CHANNEL = "CCLUSTER"


@dataclass
class Sent:
    """One call the product's delivery made to the platform."""

    kind: str                 # "post", "update", "direct", "tell", "upload" or "form"
    to: str                   # a channel, or a person for "direct", "tell" and "form"
    reply: Reply | None = None
    ref: str | None = None    # a post's reference; for "update", the message updated
    upload: Upload | None = None
    form: Form | None = None
    channel: str | None = None  # for "tell" and "form": the channel the person asked in

    @property
    def text(self) -> str:
        return plain_text(self.reply) if self.reply is not None else ""


class RecordingPlatform:
    """The platform seam, recording: every call is kept in `sent`, in order. Names come from `names`
    (else "Person <id>", as the Slack stand-in says); forms always open."""

    name = "driver"
    has_home = True  # records Home refreshes, as Slack would show them

    def __init__(self, names: dict[str, str] | None = None):
        self.names = dict(names or {})
        self.sent: list[Sent] = []
        self.homes: list[tuple[str, str]] = []
        self._refs = itertools.count(1)

    def post(self, channel: str, reply: Reply, *, team_id=None, marker=None) -> str:
        ref = f"ref-{next(self._refs)}"
        self.sent.append(Sent("post", channel, reply, ref))
        return ref

    def update(self, channel: str, ref: str, reply: Reply) -> None:
        self.sent.append(Sent("update", channel, reply, ref))

    def direct(self, user_id: str, reply: Reply, *, team_id=None) -> None:
        self.sent.append(Sent("direct", user_id, reply))

    def tell(self, asker: Asker, reply: Reply) -> None:
        self.sent.append(Sent("tell", asker.user_id, reply, channel=asker.channel_id))

    def upload(self, upload: Upload, *, team_id=None, user_id=None) -> None:
        self.sent.append(Sent("upload", upload.channel, upload.comment, upload=upload))

    def show_home(self, user_id: str, team_id: str, home: Reply) -> None:
        self.homes.append((user_id, team_id))

    def find_post(self, channel: str, marker: str) -> None:
        return None

    def open_form(self, asker: Asker, form: Form) -> bool:
        self.sent.append(Sent("form", asker.user_id, form=form, channel=asker.channel_id))
        return True

    def display_name(self, user_id: str) -> str:
        return self.names.get(user_id, f"Person {user_id}")

    def form_hint(self, form: Form) -> str:
        return "This takes a form."


@dataclass
class Said:
    """What the person who acted got back: the product's Reply (and, for an export, its slow part)."""

    reply: Reply
    later: Reply | None = None
    sent: list[Sent] = field(default_factory=list)  # what delivery sent because of this

    @property
    def text(self) -> str:
        return plain_text(self.reply)

    @property
    def tone(self) -> Tone:
        return self.reply.tone

    @property
    def audience(self) -> Audience:
        return self.reply.audience

    @property
    def in_channel(self) -> bool:
        return self.reply.audience == Audience.CHANNEL

    @property
    def buttons(self) -> list[Button]:
        return self.reply.buttons

    @property
    def form(self) -> Form | None:
        return self.reply.form

    @property
    def field_errors(self) -> dict[str, str]:
        return self.reply.field_errors


def refused(said: "Said | Reply", says: str) -> None:
    """A refusal: only for the person, marked as a problem, saying what was wrong."""
    reply = said.reply if isinstance(said, Said) else said
    text = plain_text(reply)
    assert reply.tone == Tone.PROBLEM and reply.audience == Audience.PERSON, text
    assert says in text, text


class Driver:
    """One person-and-channel at a time, against one product. `channel` and `team` are the defaults
    for every call; each call may name another channel (a second cluster)."""

    def __init__(self, product: Clusterbot, clock: Clock | None = None, *, channel: str = CHANNEL,
                 team: str = TEAM, names: dict[str, str] | None = None):
        self.product, self.clock, self.channel, self.team = product, clock, channel, team
        self.platform = RecordingPlatform(names)
        self.delivery = Delivery(self.platform, product, update_interval=0, home_interval=0)
        product.directory.serve(self.platform)  # names in exports: the product asks each platform it serves
        self._keys = itertools.count(1)
        # What the platform says of a person: `driver.guests["UHSCP"] = True` makes them a guest; None, a
        # platform that could not say (a roster call that failed). Everyone else is the organisation's own.
        self.guests: dict[str, bool | None] = {}

    # --- acting -------------------------------------------------------------------------------

    def caller(self, user: str = "ULEAD", channel: str | None = None, *, claimed: bool = False,
               personal: bool = False) -> Caller:
        # The driver's own platform: what its requests put in the outbox is what its delivery claims (and
        # clusters set up here live on it).
        # Through the front door, as every adapter: a claimed channel is named by the request's content
        # (a button in a DM, a form's context), not vouched for by the platform.
        where = channel or self.channel
        return front_door.caller(platform=self.platform.name, user_id=user, team_id=self.team,
                                 here=None if claimed else where, named=where if claimed else None, personal=personal,
                                 guest=self.guests.get(user, False))

    def say(self, typed: str, *, user: str = "ULEAD", channel: str | None = None, personal: bool = False) -> Said:
        """A typed command, "/topic propose …": its answer, and (for an export) its slow part too.
        `personal`: typed in the person's 1:1 chat with the bot (`channel` is that chat)."""
        command, _, text = typed.lstrip().partition(" ")
        if not command.startswith("/"):
            raise ValueError(f"a command starts with a slash: {typed!r}")
        caller = self.caller(user, channel, personal=personal)
        reply = self.product.handle(command.lower(), text, caller)
        start = len(self.platform.sent)
        self._deliver(reply, caller)
        later = None
        if self.product.has_later(command.lower(), text):
            later = self.product.finish(command.lower(), text, caller)
            self._deliver(later, caller)
        return Said(reply, later, self.platform.sent[start:])

    def click(self, action: str, value: str = "", *, user: str = "ULEAD", channel: str | None = None,
              claimed: bool = False) -> Said:
        """A button. `claimed`: the channel came from the button itself (a button in a DM names its
        cluster), so the person must be a member there."""
        caller = self.caller(user, channel, claimed=claimed)
        reply = self.product.press(action, value, caller)
        start = len(self.platform.sent)
        self._deliver(reply, caller)
        return Said(reply, None, self.platform.sent[start:])

    def press(self, button: Button, *, user: str = "ULEAD") -> Said:
        """A button the product offered, as it offered it."""
        return self.click(button.action, button.value, user=user, channel=button.channel,
                          claimed=button.channel is not None)

    def submit(self, form: "str | Form", values: dict[str, str] | None = None, *, user: str = "ULEAD",
               channel: str | None = None, context: dict | None = None, key: str | None = None) -> Said:
        """A filled-in form: by name, or a Form the product opened (then unnamed fields keep what it
        prefilled, and its context comes back unchanged). `key` identifies the submission (the same key
        twice is a double submit); each call gets a new one otherwise."""
        if isinstance(form, Form):
            values = {f.name: f.initial for f in form.fields} | dict(values or {})
            context = form.context if context is None else context
            form = form.name
        caller = self.caller(user, channel, claimed=True)  # a form's channel is its context's word only
        reply = self.product.submit(form, dict(values or {}), dict(context or {}), caller,
                                    submission_key=key or f"V{next(self._keys):04d}")
        start = len(self.platform.sent)
        if not reply.field_errors:
            self._deliver(reply, caller)
        return Said(reply, None, self.platform.sent[start:])

    def tick(self, **advance) -> list:
        """Turn the clock by `advance` (timedelta's words) and do the scheduler's work; its effects are
        delivered and returned."""
        if advance:
            assert self.clock is not None, "the driver was made without a clock"
            self.clock.advance(**advance)
        effects = self.product.tick()
        self.delivery.after_ack(Reply.quiet(*effects))
        self.delivery.flush()
        return effects

    def _deliver(self, reply: Reply, caller: Caller) -> None:
        front_door.hand_on(self.delivery, reply, Asker(caller.user_id, caller.channel_id, caller.team_id,
                                                       trigger="driver"))
        self.delivery.flush()

    # --- what was sent ----------------------------------------------------------------------------

    @property
    def sent(self) -> list[Sent]:
        return self.platform.sent

    def _of(self, kind: str, to: str | None = None) -> list[Sent]:
        return [s for s in self.platform.sent if s.kind == kind and (to is None or s.to == to)]

    @property
    def posts(self) -> list[Sent]:
        return self._of("post")

    def posted(self, channel: str | None = None) -> list[str]:
        """The texts posted to a channel (the driver's own by default)."""
        return [s.text for s in self._of("post", channel or self.channel)]

    def channel_texts(self, channel: str | None = None) -> list[str]:
        """Everything the channel saw, in order: posts, and answers meant for the whole channel (an
        announcement answering the person who made the change, posted where they made it)."""
        channel = channel or self.channel
        return [s.text for s in self.platform.sent
                if (s.kind == "post" and s.to == channel)
                or (s.kind == "tell" and s.channel == channel and s.reply.audience == Audience.CHANNEL)]

    @property
    def updates(self) -> list[Sent]:
        return self._of("update")

    def dms(self, user: str) -> list[str]:
        """The texts of the direct messages sent to `user`."""
        return [s.text for s in self._of("direct", user)]

    @property
    def directs(self) -> list[Sent]:
        return self._of("direct")

    @property
    def uploads(self) -> list[Upload]:
        return [s.upload for s in self._of("upload")]

    @property
    def told(self) -> list[Sent]:
        """Answers delivered to the person who acted."""
        return self._of("tell")

    @property
    def forms(self) -> list[Form]:
        return [s.form for s in self._of("form")]

    def forget(self) -> None:
        """Start recording afresh (after a set-up whose messages a test doesn't look at)."""
        self.platform.sent.clear()
