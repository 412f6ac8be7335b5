"""People mentioned inside stored free text ("Ask <@U123> to share the list"): the form in which the
platforms hand mentions to the product (Slack's <@U123> or <@U123|name>; the Teams adapter turns a
mention entity into <@29:1…>). Renderers show them as people and files as names, never as ids."""

import re
from collections.abc import Callable

MENTION = re.compile(r"<@([^<>|\s]{1,255})(?:\|[^<>]*)?>")


def named(text: str, name_of: Callable[[str], str]) -> str:
    """Free text with each mentioned person's name in place of their id (workbooks, minutes)."""
    return MENTION.sub(lambda found: name_of(found.group(1)) or "someone", text) if "<@" in text else text


# What an erased person's id becomes wherever the cluster's record keeps the fact but not the person
# (an action's owner, a decision's author): shown as FORMER_MEMBER_SHOWN by every renderer. It cannot
# be a platform's id (Slack's are capitals and digits, Teams' "29:…" or GUIDs), so no one is mentioned.
FORMER_MEMBER = "former-member"
FORMER_MEMBER_SHOWN = "a former member"


def without_mentions_of(text: str, user_id: str) -> str:
    """Free text with every mention of `user_id` (<@id> or <@id|name>) written as "a former member"."""
    if f"<@{user_id}" not in text:
        return text
    return MENTION.sub(lambda found: FORMER_MEMBER_SHOWN if found.group(1) == user_id else found.group(0), text)
