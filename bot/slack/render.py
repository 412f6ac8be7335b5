"""Replies as Block Kit. Free text is escaped, so names never ping, link or inject markup."""

from commands.results import Audience, Button, Code, Person, Reply, Segment, Strong, Tone

SECTION_LIMIT = 3000  # Slack's limit on a section block's text
ACTIONS_LIMIT = 25    # Slack's limit on elements in one actions block
ACTION_SUFFIX = "|"   # action_id = "<action>|<index>"


def action_name(action_id: str) -> str:
    return action_id.split(ACTION_SUFFIX, 1)[0]


def escape(text: str) -> str:
    """Slack's three control characters; with them escaped, <!channel> is just text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(segment: Segment) -> str:
    if isinstance(segment, Person):
        return f"<@{segment.user_id}>"
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


def blocks(reply: Reply) -> list[dict]:
    """Section blocks of whole lines, each under Slack's size limit."""
    sections, current = [], ""
    for text in reply_lines(reply):
        text = text or " "
        if current and len(current) + 1 + len(text) > SECTION_LIMIT:
            sections.append(current)
            current = ""
        current = f"{current}\n{text}" if current else text[:SECTION_LIMIT]
    if current:
        sections.append(current)
    rendered = [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections]
    if reply.buttons:
        for start in range(0, len(reply.buttons), ACTIONS_LIMIT):
            chunk = enumerate(reply.buttons[start:start + ACTIONS_LIMIT], start=start)
            rendered.append({"type": "actions", "elements": [_button(b, i) for i, b in chunk]})
    return rendered


def _button(button: Button, index: int) -> dict:
    # action_ids must be unique within a message, and several buttons may share an action (poll.vote).
    element = {"type": "button", "text": {"type": "plain_text", "text": button.label[:75], "emoji": True},
               "action_id": f"{button.action}{ACTION_SUFFIX}{index}", "value": button.value}
    if button.style:
        element["style"] = button.style
    return element


def message(reply: Reply) -> dict:
    """Fallback text (for notifications) and blocks."""
    return {"text": "\n".join(reply_lines(reply))[:SECTION_LIMIT], "blocks": blocks(reply)}


def reply_payload(reply: Reply) -> dict:
    """Arguments for ack() or respond(): visibility, fallback text and blocks."""
    return {"response_type": "in_channel" if reply.audience == Audience.CHANNEL else "ephemeral", **message(reply)}
