"""Teams' twin of Slack's message shortcuts: an action-based message extension on a message.

The registry's SHORTCUTS ("Create cluster action" → the button `action.from_message`) become the app
package's `composeExtensions` commands (bot/teams/package.py), with the same ids. A person picks one from
a message's "…" menu; Teams then sends

- `composeExtension/fetchTask`: we answer with the product's form, prefilled with the message's text and
  carrying a link back to it, as a dialog (or a short note in the dialog saying why not);
- `composeExtension/submitAction`: the dialog's values, submitted through the product's front door like
  any form (`Clusterbot.submit`), with the same rules: a stranger from the tenant or a non-member is
  refused, and a channel named only by the dialog's own data is claimed (membership required there).

The conversation Teams vouches for is where the message is (`Turn.caller`), so the message's own channel
decides the cluster, as the Slack shortcut's channel does.
"""

import html
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.teams import cards
from commands.registry import SHORTCUTS
from commands.results import plain_text

FETCH, SUBMIT = "composeExtension/fetchTask", "composeExtension/submitAction"
INVOKES = (FETCH, SUBMIT)
COMMANDS = {action: (name, description) for name, action, description in SHORTCUTS}  # command id → its words
RESERVED = {"form", "context", "channel", "opener", "msteams", "action", "value"}
BREAKS = re.compile(r"<\s*(?:br\s*/?|/p|/div|/li)\s*>", re.IGNORECASE)
TAG = re.compile(r"<[^>]*>")
SPACES = re.compile(r"[ \t\xa0]+")
LINK_KEEPS = ("tenantId", "groupId", "parentMessageId")  # what opens the message; names and times stay out
NOT_HERE = ("“{name}” works on a message in your cluster's channel: open the message's … menu there, "
            "then More actions.")


def manifest_commands() -> list[dict]:
    """The package's composeExtensions commands: one action on a message per registry shortcut."""
    return [{"id": action, "type": "action", "title": name[:32], "description": description[:128],
             "context": ["message"], "fetchTask": True} for name, action, description in SHORTCUTS]


def answer(turn, activity: dict):
    """The Outcome of a message-extension invoke (`turn` is inbound.Turn: its caller and asker)."""
    from bot.teams.inbound import Outcome

    value = activity.get("value") if isinstance(activity.get("value"), dict) else {}
    command = str(value.get("commandId") or "")
    if command not in COMMANDS:
        return Outcome(body=cards.dialog_message("That action isn't one of mine any more."))
    if (activity.get("conversation") or {}).get("conversationType") == "personal":
        return Outcome(body=cards.dialog_message(NOT_HERE.format(name=COMMANDS[command][0])))
    if activity.get("name") == FETCH:
        return _fetch(turn, activity, command, value)
    return _submit(turn, activity, command, value)


def _fetch(turn, activity: dict, command: str, value: dict):
    from bot.teams.inbound import Outcome

    caller = turn.caller(activity)
    payload = value.get("messagePayload") if isinstance(value.get("messagePayload"), dict) else {}
    said = f"{message_link(payload.get('linkToMessage'))} {message_text(payload)}"
    reply = turn.product.press(command, said, caller)
    if reply.form is None:  # not a member, no cluster here, the database away: said in the dialog
        return Outcome(body=cards.dialog_message(plain_text(reply) or "That can't be done here."))
    opener = {"action": command, "value": said}
    card = cards.form_card(reply.form, channel=caller.channel_id, opener=opener)
    return Outcome(body=cards.dialog(reply.form, card))


def _submit(turn, activity: dict, command: str, value: dict):
    from bot.teams.inbound import Outcome

    data = value.get("data") if isinstance(value.get("data"), dict) else {}
    caller = turn.caller(activity, data.get("channel"))
    values = {str(k): "" if v is None else str(v) for k, v in data.items()
              if k not in RESERVED and isinstance(v, str | int | float | bool | type(None))}
    context = data.get("context") if isinstance(data.get("context"), dict) else {}
    reply = turn.product.submit(str(data.get("form") or ""), values, context, caller,
                                submission_key=f"teams:{activity.get('id')}")
    if reply.field_errors:
        opener = data.get("opener") if isinstance(data.get("opener"), dict) else {}
        # Only this command's own form opens again: the dialog's data is the sender's to write.
        again = turn.product.press(command, str(opener.get("value", "")), caller)
        if again.form is not None:
            card = cards.form_card(again.form, channel=caller.channel_id, opener={"action": command,
                                   "value": str(opener.get("value", ""))}, values=values, errors=reply.field_errors)
            return Outcome(body=cards.dialog(again.form, card))
        return Outcome(body=cards.dialog_message("; ".join(reply.field_errors.values())))
    return Outcome(reply=reply, asker=turn.asker(activity, caller))


def message_text(payload: dict) -> str:
    """The message's words: its HTML body as plain text, line breaks kept, a mention as the name shown,
    and nothing typed as "<@…>" posing as a person (only Teams' own mention entities are people)."""
    body = payload.get("body") if isinstance(payload.get("body"), dict) else {}
    content = str(body.get("content") or "")
    if str(body.get("contentType") or "").lower() == "html":
        content = html.unescape(TAG.sub("", BREAKS.sub("\n", content)))
    lines = (SPACES.sub(" ", each).strip() for each in content.replace("\r", "").split("\n"))
    return "\n".join(each for each in lines if each).replace("<@", "<\u200b@")


def message_link(link: object) -> str:
    """The message's link as Teams gives it, without the team's and channel's names or the time (they
    say nothing the link needs): scheme, host, path and the ids that open it. "" if not a web link."""
    if not isinstance(link, str) or not link.startswith("https://") or any(c.isspace() for c in link):
        return ""
    parts = urlsplit(link)
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k in LINK_KEEPS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), ""))
