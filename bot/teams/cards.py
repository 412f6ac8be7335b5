"""Replies as Adaptive Cards, forms as dialogs (task modules), files shown by link or offered by consent.

Free text is escaped: Teams' card markdown would otherwise turn a practice name with * or _ into
emphasis, and a typed "<at>…</at>" into something that looks like a mention. A Person is an <at>
mention with its entity, so Teams shows (and notifies) the person.
"""

import re
from collections.abc import Callable

from commands.registry import FAMILIES, FORM_BUTTONS
from commands.results import (
    FORMER_MEMBER,
    FORMER_MEMBER_SHOWN,
    Button,
    Code,
    Form,
    FormField,
    Person,
    Reply,
    Strong,
    Tone,
    with_people,
)

CARD = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"  # what Teams renders on desktop, web and mobile
BUTTONS_PER_ROW = 5  # Teams shows at most 6 actions side by side; more wrap badly on mobile
OPEN_FORM = "Open form"
MARKDOWN = re.compile(r"([\\*_\[\]()~#`>|-])")
STYLE = {"primary": "positive", "danger": "destructive"}
BOT_NAME = "clusterbot"  # the app's short name in the package: what people @mention
_COMMANDS: dict[int, re.Pattern] = {}


def teams_words(text: str, *, personal: bool) -> str:
    """A command as a Teams user types it. Teams has no slash commands and hands a channel's (or group
    chat's) message to a bot only when it is @mentioned: "/cluster join 80123" reads "@clusterbot cluster
    join 80123" there, and "cluster join 80123" in the person's 1:1 chat."""
    pattern = _COMMANDS.get(len(FAMILIES))
    if pattern is None:
        names = "|".join(sorted((re.escape(c.lstrip("/")) for c in FAMILIES), key=len, reverse=True)) or "cluster"
        pattern = _COMMANDS[len(FAMILIES)] = re.compile(rf"(?<![\w/:.@-])/({names})\b")
    return pattern.sub(r"\1" if personal else rf"@{BOT_NAME} \1", text)

NameOf = Callable[[str], str]


def escape(text: str) -> str:
    """Plain text in card markdown: every markdown character shown as itself, no <at> from people."""
    return MARKDOWN.sub(r"\\\1", text).replace("<at", "<\u200bat")


def _segment(segment, name_of: NameOf, mentions: dict[str, dict], personal: bool) -> str:
    if isinstance(segment, Person) and segment.user_id == FORMER_MEMBER:
        return escape(FORMER_MEMBER_SHOWN)  # an erased person is no one to mention
    if isinstance(segment, Person):
        name = name_of(segment.user_id) or segment.user_id
        text = f"<at>{escape(name)}</at>"
        mentions.setdefault(segment.user_id, {"type": "mention", "text": text,
                                              "mentioned": {"id": segment.user_id, "name": name}})
        return text
    if isinstance(segment, Strong) and "<@" in segment.text:
        return f"**{_segment(segment.text, name_of, mentions, personal)}**"
    if isinstance(segment, Strong | Code):
        return f"**{escape(teams_words(segment.text, personal=personal))}**"
    if "<@" in segment:  # a person mentioned in stored free text: a mention if Teams has named them
        return "".join(_segment(part, name_of, mentions, personal) if isinstance(part, str)
                       else _mentioned_in_text(part, name_of, mentions) for part in with_people(segment))
    return escape(teams_words(segment, personal=personal))


def _mentioned_in_text(person: Person, name_of: NameOf, mentions: dict[str, dict]) -> str:
    # Free text can hold any id: only a person Teams has named becomes a mention (an unknown id in a
    # mention entity could make Teams refuse the whole message); anyone else is "someone".
    name = name_of(person.user_id)
    if not name or name == person.user_id:
        return "someone"
    return _segment(person, name_of, mentions, False)


def button_data(button: Button, channel: str | None) -> dict:
    """What a click sends back: the handler, its argument and the cluster's channel."""
    return {"action": button.action, "value": button.value, "channel": button.channel or channel}


def _action(button: Button, channel: str | None) -> dict:
    """A button as Universal Actions (Action.Execute, generally available): Teams sends the press as an
    adaptiveCard/action invoke and shows the answer in the invoke response to the presser alone. Older
    clients fall back to Action.Submit (a message the bot answers in the person's 1:1 chat). A button that
    only opens a form opens it as a dialog, in one click (task/fetch)."""
    if button.action in FORM_BUTTONS:
        action = open_form_action({"action": button.action, "value": button.value}, button.channel or channel,
                                  button.label)
    else:
        data = button_data(button, channel)
        action = {"type": "Action.Execute", "title": button.label[:60], "verb": button.action, "data": data,
                  "fallback": {"type": "Action.Submit", "title": button.label[:60], "data": data}}
    if button.style in STYLE:
        action["style"] = STYLE[button.style]
    return action


def _action_sets(actions: list[dict]) -> list[dict]:
    return [{"type": "ActionSet", "actions": actions[i:i + BUTTONS_PER_ROW]}
            for i in range(0, len(actions), BUTTONS_PER_ROW)]


def open_form_action(opener: dict, channel: str | None, title: str = OPEN_FORM) -> dict:
    """A button that opens a form as a dialog (task/fetch): the dialog asks `opener` again for the form,
    so nothing about the form has to be kept between the card and the click."""
    return {"type": "Action.Submit", "title": (title or OPEN_FORM)[:60],
            "data": {"msteams": {"type": "task/fetch"}, "action": "form.open", "opener": opener, "channel": channel}}


def reply_card(reply: Reply, name_of: NameOf, *, channel: str | None = None,
               opener: dict | None = None, personal: bool = False) -> tuple[dict, list[dict]]:
    """The card for a reply, and the mention entities its text needs. `personal`: it goes to a 1:1 chat
    (commands are then shown without the @mention a channel needs)."""
    mentions: dict[str, dict] = {}
    body: list[dict] = []
    for index, ln in enumerate(reply.lines):
        text = "".join(_segment(s, name_of, mentions, personal) for s in ln) or " "
        block = {"type": "TextBlock", "text": text, "wrap": True}
        if index == 0 and reply.tone == Tone.PROBLEM:
            block.update(text="⚠️ " + text, color="attention")
        body.append(block)
        if index in reply.line_buttons:
            body += _action_sets([_action(reply.line_buttons[index], channel)])
    actions = [_action(b, channel) for b in reply.buttons]
    if reply.form is not None and opener is not None:  # one click: the form's own name opens it
        form_button = open_form_action(opener, channel, reply.form.title)
        form_button["style"] = "positive"
        body = _action_sets([form_button]) + body
    body += _action_sets(actions)
    card = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body or
            [{"type": "TextBlock", "text": " "}]}
    entities = list(mentions.values())
    if entities:
        card["msteams"] = {"entities": entities, "width": "Full"}
    else:
        card["msteams"] = {"width": "Full"}
    return card, entities


def attachment(card: dict) -> dict:
    return {"contentType": CARD, "content": card}


# --- forms as dialogs ------------------------------------------------------------------------------

def _input(field: FormField, value: str, error: str | None) -> list[dict]:
    base = {"id": field.name, "label": field.label + ("" if field.optional else " *"), "isRequired": not field.optional}
    if field.kind == "choice":
        element = {**base, "type": "Input.ChoiceSet", "style": "compact", "value": value,
                   "choices": [{"title": c.label, "value": c.value} for c in field.choices]}
    elif field.kind == "date":
        element = {**base, "type": "Input.Date", "value": value}
    elif field.kind == "time":
        element = {**base, "type": "Input.Time", "value": value}
    else:  # text, long_text and person (typed as an @mention or a name)
        element = {**base, "type": "Input.Text", "value": value, "isMultiline": field.kind == "long_text"}
        if field.max_length:
            element["maxLength"] = field.max_length
        if field.hint:
            element["placeholder"] = field.hint
    elements = [element]
    if error:  # Teams shows a field's own errorMessage only for client-side checks; ours come from the server
        elements.append({"type": "TextBlock", "text": "⚠️ " + escape(error), "color": "attention", "wrap": True,
                         "spacing": "None", "size": "Small"})
    return elements


def form_card(form: Form, *, channel: str | None, opener: dict, values: dict | None = None,
              errors: dict[str, str] | None = None) -> dict:
    """The dialog's card: the form's fields (with what was typed and what was wrong, on a second try) and
    a submit button carrying what the submission needs: the form, its context and where it came from."""
    values, errors = values or {}, errors or {}
    body: list[dict] = []
    for field in form.fields:
        body += _input(field, values.get(field.name, field.initial), errors.get(field.name))
    submit = {"type": "Action.Submit", "title": form.submit[:60], "style": "positive",
              "data": {"form": form.name, "context": form.context, "channel": channel, "opener": opener}}
    return {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body, "actions": [submit]}


def dialog(form: Form, card: dict) -> dict:
    """The task/fetch (or task/submit) answer that shows `card` as a dialog."""
    return {"task": {"type": "continue", "value": {"title": form.title[:80], "width": "medium", "height": "large",
                                                   "card": attachment(card)}}}


def dialog_message(text: str) -> dict:
    """The task/submit answer that closes the dialog with a short note."""
    return {"task": {"type": "message", "value": teams_words(text, personal=False)[:200]}}


# --- files ---------------------------------------------------------------------------------------

def file_consent(filename: str, size: int, context: dict, description: str) -> dict:
    """Teams' way of sending a file to a person: they accept, Teams gives an upload URL, the bot PUTs."""
    return {"contentType": "application/vnd.microsoft.teams.card.file.consent", "name": filename,
            "content": {"description": description[:200], "sizeInBytes": size,
                        "acceptContext": context, "declineContext": context}}


def file_info(upload_info: dict) -> dict:
    """The card that shows the uploaded file in the chat, once it is there."""
    return {"contentType": "application/vnd.microsoft.teams.card.file.info",
            "contentUrl": upload_info.get("contentUrl"), "name": upload_info.get("name"),
            "content": {"uniqueId": upload_info.get("uniqueId"), "fileType": upload_info.get("fileType")}}


def size_words(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def show_file(card: dict, url: str, filename: str, title: str, size: int, days: int) -> dict:
    """A file shared with the channel, added to the card that announces it: a picture shown inline (the
    link opens it full size), any other file as its name, size and a download button. Both are served
    by the bot's own endpoint (`url`), for `days`."""
    body = [block for block in card["body"] if block.get("text") != " "]
    if filename.lower().endswith(".png"):
        body.append({"type": "Image", "url": url, "altText": title[:200], "size": "Stretch",
                     "selectAction": {"type": "Action.OpenUrl", "title": "Open the picture", "url": url}})
        label = "Open full size"
    else:
        body.append({"type": "TextBlock", "text": f"📎 **{escape(filename)}** ({size_words(size)})", "wrap": True})
        label = "Download"
    body.append({"type": "ActionSet", "actions": [{"type": "Action.OpenUrl", "title": label, "url": url}]})
    body.append({"type": "TextBlock", "text": f"The link works for {days} day{'' if days == 1 else 's'}.",
                 "wrap": True, "size": "Small", "isSubtle": True, "spacing": "None"})
    card["body"] = body
    return card
