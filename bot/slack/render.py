"""Replies as Block Kit. Free text is escaped, so names never ping, link or inject markup."""

import json

from commands.results import (
    FORMER_MEMBER,
    FORMER_MEMBER_SHOWN,
    Audience,
    Button,
    Code,
    Person,
    Reply,
    Segment,
    Strong,
    Tone,
)

SECTION_LIMIT = 3000  # Slack's limit on a section block's text
ACTIONS_LIMIT = 25    # Slack's limit on elements in one actions block
ACTION_SUFFIX = "|"   # action_id = "<action>|<index>"


def action_name(action_id: str) -> str:
    return action_id.split(ACTION_SUFFIX, 1)[0]


def button_value(button: Button) -> str:
    """The button's value; with the cluster's channel when it is shown elsewhere (a DM, App Home)."""
    return json.dumps([button.channel, button.value]) if button.channel else button.value


def read_button_value(value: str) -> tuple[str | None, str]:
    """(cluster channel or None, value) from what button_value wrote."""
    if value.startswith("["):
        try:
            channel, inner = json.loads(value)
            return str(channel), str(inner)
        except (ValueError, TypeError):
            pass
    return None, value


def escape(text: str) -> str:
    """Slack's three control characters; with them escaped, <!channel> is just text."""
    if "&" not in text and "<" not in text and ">" not in text:  # most text: a roster renders 100 pieces
        return text
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(segment: Segment) -> str:
    if type(segment) is str:  # plain text, the commonest segment
        return escape(segment)
    if isinstance(segment, Person):  # an erased person is no one to mention
        return FORMER_MEMBER_SHOWN if segment.user_id == FORMER_MEMBER else f"<@{segment.user_id}>"
    if isinstance(segment, Strong):
        return f"*{escape(segment.text)}*"
    if isinstance(segment, Code):
        return f"`{escape(segment.text)}`"
    return escape(segment)


def reply_lines(reply: Reply) -> list[str]:
    lines = ["".join(mrkdwn(s) for s in ln) for ln in reply.lines]
    if reply.tone == Tone.PROBLEM and lines:
        lines[0] = ":warning: " + lines[0]
    return lines


def _sections(texts: list[str]) -> list[dict]:
    """Section blocks of whole lines, each under Slack's size limit."""
    sections, current = [], ""
    for text in texts:
        text = text or " "
        if current and len(current) + 1 + len(text) > SECTION_LIMIT:
            sections.append(current)
            current = ""
        current = f"{current}\n{text}" if current else text[:SECTION_LIMIT]
    if current:
        sections.append(current)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections]


def blocks(reply: Reply, lines: list[str] | None = None) -> list[dict]:
    """Sections for the text (a line with its own button gets its own section, the button beside it),
    then the reply's buttons in actions blocks. `lines`: the reply's lines, if already rendered."""
    rendered, run = [], []
    for index, text in enumerate(reply_lines(reply) if lines is None else lines):
        if index in reply.line_buttons:
            rendered += _sections(run)
            run = []
            rendered.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_LIMIT] or " "},
                             "accessory": _button(reply.line_buttons[index], index)})
        else:
            run.append(text)
    rendered += _sections(run)
    if reply.buttons:
        for start in range(0, len(reply.buttons), ACTIONS_LIMIT):
            chunk = enumerate(reply.buttons[start:start + ACTIONS_LIMIT], start=start + len(reply.lines))
            rendered.append({"type": "actions", "elements": [_button(b, i) for i, b in chunk]})
    return rendered


def _button(button: Button, index: int) -> dict:
    # action_ids must be unique within a message, and several buttons may share an action (poll.vote).
    element = {"type": "button", "text": {"type": "plain_text", "text": button.label[:75], "emoji": True},
               "action_id": f"{button.action}{ACTION_SUFFIX}{index}", "value": button_value(button)}
    if button.style:
        element["style"] = button.style
    return element


def message(reply: Reply) -> dict:
    """Fallback text (for notifications) and blocks."""
    lines = reply_lines(reply)  # once: a long list (/cluster who) is hundreds of segments
    return {"text": "\n".join(lines)[:SECTION_LIMIT], "blocks": blocks(reply, lines)}


def reply_payload(reply: Reply) -> dict:
    """Arguments for ack() or respond(): visibility, fallback text and blocks."""
    return {"response_type": "in_channel" if reply.audience == Audience.CHANNEL else "ephemeral", **message(reply)}
