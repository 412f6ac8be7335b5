"""People mentioned inside stored free text ("Ask <@U123> to share the list"): the form in which the
platforms hand mentions to the product (Slack's <@U123> or <@U123|name>; the Teams adapter turns a
mention entity into <@29:1…>). Renderers show them as people and files as names, never as ids."""

import re
from collections.abc import Callable

MENTION = re.compile(r"<@([^<>|\s]{1,255})(?:\|[^<>]*)?>")


def named(text: str, name_of: Callable[[str], str]) -> str:
    """Free text with each mentioned person's name in place of their id (workbooks, minutes)."""
    return MENTION.sub(lambda found: name_of(found.group(1)) or "someone", text) if "<@" in text else text
