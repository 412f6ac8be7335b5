"""What a command returns: a small, platform-neutral reply that each adapter renders its own way.

Text is a list of lines; each line is a tuple of segments. Plain strings are free text that the
renderer escapes; the wrappers below mark what the renderer should show specially.
"""

import json
from dataclasses import dataclass, field
from enum import StrEnum

from storage.mentions import FORMER_MEMBER, FORMER_MEMBER_SHOWN, MENTION


@dataclass(frozen=True)
class Person:
    """Someone in the workspace, by platform user id (Slack shows a name, the console @id)."""

    user_id: str


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Code:
    """Something to type as it is: a command, a practice code, a T3-style id."""

    text: str


Segment = str | Person | Strong | Code
Line = tuple[Segment, ...]


class Audience(StrEnum):
    PERSON = "person"    # only the person who asked (Slack: ephemeral)
    CHANNEL = "channel"  # everyone in the cluster channel


class Tone(StrEnum):
    DONE = "done"
    INFO = "info"
    PROBLEM = "problem"


@dataclass(frozen=True)
class Button:
    """A button under a reply. `action` names a handler in the registry; `value` is its argument."""

    label: str
    action: str
    value: str = ""
    style: str | None = None  # "primary" or "danger"
    channel: str | None = None  # the cluster's channel, when the button is shown elsewhere (a DM)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"            # "text", "long_text", "choice", "date", "time" or "person"
    optional: bool = False
    max_length: int | None = None
    initial: str = ""
    choices: tuple[Choice, ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class Form:
    """A form to fill in (Slack: a modal). Submitted values come back to the handler named `name`,
    with `context` (e.g. which topic is being edited) unchanged."""

    name: str
    title: str
    submit: str
    fields: tuple[FormField, ...]
    context: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Post:
    """Post `reply` to `channel` as a message the product keeps a reference to (e.g. a poll, so
    votes can update it). The adapter reports the reference back with Clusterbot.remember(key, …)."""

    key: str | None  # "poll:12"; None for a message nobody needs to find again
    channel: str
    reply: "Reply"
    outbox_id: int | None = field(default=None, compare=False)  # set once it is in the outbox


@dataclass(frozen=True)
class Update:
    """Bring a message posted earlier up to date. Its content is read when it is sent
    (Clusterbot.current), after the change is committed, so concurrent changes cannot leave an
    older version showing."""

    key: str        # the Post's key, e.g. "poll:12"
    channel: str
    ref: str


@dataclass(frozen=True)
class Direct:
    """A direct message to one person. `team_id` says where the person is (a Slack workspace, a Teams
    tenant) for platforms that need it to open the conversation."""

    user_id: str
    reply: "Reply"
    team_id: str | None = field(default=None, compare=False)
    outbox_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class HomeChanged:
    """Something a person's Home shows has changed: show it again. `opened`: they are looking at it
    (they opened it, or pressed a button on it), so it is shown whatever else is going on."""

    user_id: str
    team_id: str
    opened: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Upload:
    """A file for the channel (an Excel export), with a short message."""

    channel: str
    filename: str
    title: str
    content: bytes
    comment: "Reply"


@dataclass
class Reply:
    lines: list[Line] = field(default_factory=list)
    audience: Audience = Audience.PERSON
    tone: Tone = Tone.INFO
    buttons: list[Button] = field(default_factory=list)
    form: Form | None = None                                 # open this form for the person
    field_errors: dict[str, str] = field(default_factory=dict)  # a form submission to correct
    effects: list["Post | Update | Direct | Upload | HomeChanged"] = field(default_factory=list)  # more to send
    line_buttons: dict[int, Button] = field(default_factory=dict)  # a button beside line n (e.g. Done)

    @property
    def is_silent(self) -> bool:
        """Nothing to tell anyone (e.g. a repeated form submission that was already handled)."""
        return not (self.lines or self.form or self.field_errors)

    @classmethod
    def quiet(cls, *effects: "Post | Update | Direct") -> "Reply":
        """Nothing to say to the person; the effects say it."""
        return cls(effects=list(effects))

    @classmethod
    def announce(cls, *lines: Line) -> "Reply":
        """A change everyone in the cluster should see."""
        return cls(list(lines), Audience.CHANNEL, Tone.DONE)

    @classmethod
    def tell(cls, *lines: Line) -> "Reply":
        """An answer for the person who asked only."""
        return cls(list(lines), Audience.PERSON, Tone.INFO)

    @classmethod
    def problem(cls, *lines: Line) -> "Reply":
        return cls(list(lines), Audience.PERSON, Tone.PROBLEM)


def line(*segments: Segment) -> Line:
    return segments


def with_people(text: str) -> list:
    """Free text split into plain text and the people it mentions (Person segments), so every
    renderer shows a person as a person, never as a platform id."""
    if "<@" not in text:
        return [text]
    parts: list = []
    at = 0
    for found in MENTION.finditer(text):
        if found.start() > at:
            parts.append(text[at:found.start()])
        parts.append(Person(found.group(1)))
        at = found.end()
    if at < len(text):
        parts.append(text[at:])
    return parts


def plain_text(reply: Reply) -> str:
    """The reply with no markup at all: for logs, notifications' fallback text and tests."""
    return "\n".join("".join(_plain(s) for s in ln) for ln in reply.lines)


def _plain(segment: Segment) -> str:
    if isinstance(segment, Person):
        return FORMER_MEMBER_SHOWN if segment.user_id == FORMER_MEMBER else f"@{segment.user_id}"
    if isinstance(segment, Code):
        return segment.text
    text = segment.text if isinstance(segment, Strong) else segment
    return MENTION.sub(lambda found: f"@{found.group(1)}", text) if "<@" in text else text


# --- a Reply as JSON: what the outbox stores until a worker sends it --------------------------------

_SEGMENTS = {"p": Person, "s": Strong, "c": Code}


def _segment_json(segment: Segment):
    if isinstance(segment, str):
        return segment
    tag = {Person: "p", Strong: "s", Code: "c"}[type(segment)]
    return {tag: segment.user_id if isinstance(segment, Person) else segment.text}


def _segment_from(value) -> Segment:
    if isinstance(value, str):
        return value
    (tag, text), = value.items()
    return _SEGMENTS[tag](text)


def _button_json(button: Button) -> dict:
    return {"label": button.label, "action": button.action, "value": button.value, "style": button.style,
            "channel": button.channel}


def reply_to_json(reply: Reply) -> str:
    """The message part of a reply (lines, buttons, tone, audience). Effects and forms are not
    messages, so they are not stored."""
    return json.dumps({
        "lines": [[_segment_json(s) for s in ln] for ln in reply.lines],
        "audience": reply.audience.value, "tone": reply.tone.value,
        "buttons": [_button_json(b) for b in reply.buttons],
        "line_buttons": {str(i): _button_json(b) for i, b in reply.line_buttons.items()},
    }, ensure_ascii=False)


def reply_from_json(text: str) -> Reply:
    data = json.loads(text)
    return Reply(lines=[tuple(_segment_from(s) for s in ln) for ln in data["lines"]],
                 audience=Audience(data["audience"]), tone=Tone(data["tone"]),
                 buttons=[Button(**b) for b in data["buttons"]],
                 line_buttons={int(i): Button(**b) for i, b in data["line_buttons"].items()})
