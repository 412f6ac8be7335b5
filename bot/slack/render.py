"""Replies as Block Kit. Free text is escaped, so names never ping, link or inject markup."""

from commands.results import Audience, Code, Person, Reply, Segment, Strong, Tone

SECTION_LIMIT = 3000  # Slack's limit on a section block's text


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
    return [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections]


def reply_payload(reply: Reply) -> dict:
    """Arguments for ack() or a response_url post: visibility, fallback text and blocks."""
    text = "\n".join(reply_lines(reply))
    return {
        "response_type": "in_channel" if reply.audience == Audience.CHANNEL else "ephemeral",
        "text": text[:SECTION_LIMIT],
        "blocks": blocks(reply),
    }
