"""Forms as Slack modals, and submitted modal state back into plain field values.

Each field is an input block whose block_id is the field's name and whose element's action_id
is VALUE, so `response_action: errors` can point at the field by name.
"""

import json

from bot.slack.render import blocks
from commands.results import Choice, Form, FormField, Reply

VALUE = "value"
PICKED = ("selected_date", "selected_time", "selected_user", "value")  # what each input type submits
TITLE_LIMIT = 24     # Slack: modal title and button text
OPTION_LIMIT = 75    # Slack: option text


def plain(text: str, limit: int = 2000) -> dict:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}


def _option(choice: Choice) -> dict:
    return {"text": plain(choice.label, OPTION_LIMIT), "value": choice.value}


def _element(field: FormField) -> dict:
    if field.kind == "person":
        return {"type": "users_select", "action_id": VALUE}
    if field.kind in ("date", "time"):
        element = {"type": "datepicker" if field.kind == "date" else "timepicker", "action_id": VALUE}
        if field.initial:
            element["initial_date" if field.kind == "date" else "initial_time"] = field.initial
        return element
    if field.kind == "choice":
        element = {"type": "static_select", "action_id": VALUE, "options": [_option(c) for c in field.choices]}
        initial = [c for c in field.choices if c.value == field.initial]
        if initial:
            element["initial_option"] = _option(initial[0])
        return element
    element = {"type": "plain_text_input", "action_id": VALUE, "multiline": field.kind == "long_text"}
    if field.max_length:
        element["max_length"] = field.max_length
    if field.initial:
        element["initial_value"] = field.initial
    return element


def _input(field: FormField) -> dict:
    block = {"type": "input", "block_id": field.name, "label": plain(field.label), "optional": field.optional,
             "element": _element(field)}
    if field.hint:
        block["hint"] = plain(field.hint)
    return block


def modal(form: Form, channel_id: str) -> dict:
    """The modal for a form; the channel and the form's context ride along in private_metadata."""
    return {
        "type": "modal",
        "callback_id": form.name,
        "title": plain(form.title, TITLE_LIMIT),
        "submit": plain(form.submit, TITLE_LIMIT),
        "close": plain("Cancel"),
        "private_metadata": json.dumps({"channel": channel_id, "context": form.context}),
        "blocks": [_input(f) for f in form.fields],
    }


def submitted_values(view: dict) -> dict[str, str]:
    """{field name: text or chosen value}; empty string for an optional field left empty."""
    values = {}
    for block_id, actions in (view.get("state") or {}).get("values", {}).items():
        state = actions.get(VALUE) or {}
        if "selected_option" in state:
            values[block_id] = (state["selected_option"] or {}).get("value", "")
        else:
            values[block_id] = next((state[k] for k in PICKED if state.get(k)), "")
    return values


def origin(view: dict) -> tuple[str, dict]:
    """The channel the form was opened from, and the form's context."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    return meta.get("channel", ""), meta.get("context") or {}


BLOCKS_LIMIT = 100  # Slack: blocks in a view


def home_view(reply: Reply) -> dict:
    """The App Home tab."""
    return {"type": "home", "blocks": blocks(reply)[:BLOCKS_LIMIT]}


def reading_modal(reply: Reply) -> dict:
    """A reply to show someone who pressed a button where no message can answer (the Home tab)."""
    shown = Reply(reply.lines, reply.audience, reply.tone)  # without buttons: read only
    return {"type": "modal", "title": plain("clusterbot", TITLE_LIMIT), "close": plain("Close"),
            "blocks": blocks(shown)[:BLOCKS_LIMIT]}
