"""Reading what people type: mentions, practice codes, names. Each failure is a Refusal with an example."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from commands.errors import Refusal
from commands.text.guard import find_patient_identifiers, refuse_patient_identifiers
from storage.mentions import MENTION as MENTIONED
from storage.models import NAME_MAX, PRACTICE_CODE_LENGTH

# Slack escapes a typed @mention to <@U123ABC|name> (or <@U123ABC>) when the command has
# should_escape on; other adapters (Teams' mention entities, the console's @name) produce the same form.
# Teams user ids look like 29:1AbC… (a colon), AAD object ids like GUIDs; the console's people may be
# Seònaid or o'neill (letters of any alphabet, apostrophes).
MENTION = re.compile(r"^<@([\w.:'’-]+)(?:\|[^>]*)?>$")
# What a person's id looks like on each platform. A "<@…>" or a form's person whose id does not is text
# posing as a person: a typed <@0101011237> (or a CHI number typed into the Teams dialog's Owner box)
# once became an action's owner, stored unscreened and written into the workbook.
PERSON_IDS = {
    "slack": re.compile(r"[UW][A-Z0-9]{2,20}"),          # U0G9QF9C6, W012A3CDE (Enterprise Grid)
    "teams": re.compile(r"29:[A-Za-z0-9_-]{1,250}"),     # the Bot Framework's ids of people: 29:1AbC…
    "console": re.compile(r"[\w.'’-]{0,80}[^\W\d_][\w.'’-]{0,80}"),  # a name: at least one letter
}
NOT_A_PERSON = ("Something written as a mention (<@…>) isn't a person. Type @ and pick the person from the list, "
                "so their name turns blue.")
QUOTES = {'"': '"', "“": "”", "”": "”", "„": "“"}
PRACTICE_CODE = re.compile(rf"^\d{{{PRACTICE_CODE_LENGTH}}}$")


def split_first(text: str) -> tuple[str, str]:
    """The first word and the rest, both stripped."""
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def mention(token: str, example: str) -> str:
    """The user id in an @mention, or a Refusal that shows how to mention someone."""
    if not token:
        raise Refusal("Say who: mention the person with @ so their name turns blue.", example=example)
    found = MENTION.match(token)
    if not found:
        raise Refusal(
            f"“{shorten(token)}” isn't a mention. Type @ and pick the person from the list, so their name turns blue.",
            example=example,
        )
    return found.group(1)


def looks_like_person(user_id: str, platform: str) -> bool:
    """Whether `user_id` has the shape of a person's id on `platform` (on a platform not listed here, the
    tests' driver, any listed platform's shape). A console name is also screened by the guard: it is text
    the person typed."""
    shapes = [PERSON_IDS[platform]] if platform in PERSON_IDS else list(PERSON_IDS.values())
    for shape in shapes:
        if shape.fullmatch(user_id):
            return shape is not PERSON_IDS["console"] or not find_patient_identifiers(user_id)
    return False


def refuse_posing_mentions(text: str, platform: str, field: str | None = None) -> str:
    """`text` unchanged, or a Refusal when a mention in it is not a person of `platform`: checked once for
    every command typed and every form value, whichever adapter it came through, so no command can take
    a user id from text posing as a mention."""
    if "<@" in text:
        for found in MENTIONED.finditer(text):
            if not looks_like_person(found.group(1), platform):
                raise Refusal(NOT_A_PERSON, field=field)
    return text


def person(value: str, platform: str, field: str, if_empty: str) -> str | None:
    """A form's person field (Slack's user picker gives an id; Teams' dialog has a box people type in):
    the user id, None when left empty, or a Refusal on `field` when it is not a person of `platform`. What
    was typed is not repeated back: it may be a patient's number."""
    value = value.strip()
    found = MENTION.match(value)
    user_id = found.group(1) if found else value
    if not user_id:
        return None
    if not looks_like_person(user_id, platform):
        raise Refusal(f"That isn't a person this platform knows. Leave it empty ({if_empty}), or pick the "
                      "person: where you can only type, mention them with @ in a message instead.", field=field)
    return user_id


def practice_code(token: str, example: str) -> str:
    if not token:
        raise Refusal("Give the practice code: the 5-digit code the Health Board uses.", example=example)
    if not PRACTICE_CODE.match(token):
        raise Refusal(f"“{shorten(token)}” isn't a practice code: it should be exactly 5 digits.", example=example)
    return token


def name(text: str, what: str, example: str, limit: int = NAME_MAX, field: str | None = None) -> str:
    """One line of text (a name, a title, a place): not empty, not too long, inner whitespace
    collapsed, no patient identifiers. `field`: the form field to show a problem on."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise Refusal(f"Give the {what}.", example=example, field=field)
    if len(cleaned) > limit:
        raise Refusal(f"That {what} is {len(cleaned)} characters; the limit is {limit}.", example=example,
                      field=field)
    return refuse_patient_identifiers(cleaned, what, field)


def shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def item_number(token: str, count: int, what: str, example: str) -> int:
    """A position in a numbered list (1 to `count`), as typed."""
    if not token.isdecimal() or not 1 <= int(token) <= count:
        which = f"from 1 to {count}" if count else "none yet"
        raise Refusal(f"Give the {what}'s number as listed ({which}).", example=example)
    return int(token)


def split_quoted(text: str, example: str) -> list[tuple[bool, str]]:
    """Words and "quoted phrases" (straight or curly quotes), in order: (was_quoted, text)."""
    tokens, i = [], 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in QUOTES:
            end = closing_quote(text, i + 1, QUOTES[char])
            if end < 0:
                raise Refusal("A quote is never closed: put each phrase in its own pair of quotes.", example=example)
            tokens.append((True, text[i + 1:end]))
            i = end + 1
        else:
            end = i
            while end < len(text) and not text[end].isspace() and text[end] not in QUOTES:
                end += 1
            tokens.append((False, text[i:end]))
            i = end
    return tokens


def closing_quote(text: str, start: int, preferred: str) -> int:
    """Slack may turn either quote curly, so any double quote closes a phrase."""
    for j in range(start, len(text)):
        if text[j] in (preferred, '"', "”", "“"):
            return j
    return -1


def find_item(ctx, token: str, *, prefix: str, noun: str, find, example: str):
    """The topic, poll or action a typed id (T3, P2, A7) names — in this cluster only: another
    cluster's T3 is simply unknown, and nothing about it is said."""
    found = re.match(rf"^[{prefix}{prefix.lower()}](\d{{1,9}})$", token or "")
    if not found:
        article = "an" if noun[0] in "aeiou" else "a"
        what = f"“{token}” isn't {article} {noun} id" if token else f"Say which {noun}"
        raise Refusal(f"{what}: {noun}s have ids like {prefix}3 (see /{noun} list).", example=example)
    short_id = f"{prefix}{int(found.group(1))}"
    item = find(session=ctx.session, cluster=ctx.require_cluster(), short_id=short_id)
    if item is None:
        raise Refusal(f"There's no {noun} {short_id} in this cluster.", example=f"/{noun} list")
    return item


@dataclass(frozen=True)
class Option:
    """A setting typed after free text: `keyword <value>`. `reads(value_words)` says whether the words
    read as this option's value; if not, the keyword is just a word of the text."""

    reads: Callable[[list[str]], bool]
    most: int = 1      # the most words its value takes
    least: int = 1


def split_options(words: list[str], options: dict[str, Option],
                  lone: Callable[[str], bool] = lambda word: False) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Free text followed by settings, as (text words, [(keyword, value words)]). Settings are read only
    as an unbroken tail in which every keyword is followed by something that reads as its value, so
    "to practice managers" or "Look at prescribing data" keep their words. `lone`: a single word that is
    a setting by itself (an @mention, whose keyword is "")."""

    @cache
    def tail(i: int) -> tuple | None:
        if i == len(words):
            return ()
        if lone(words[i]):
            rest = tail(i + 1)
            return None if rest is None else (("", (words[i],)), *rest)
        option = options.get(words[i].lower())
        if option is None:
            return None
        for size in range(option.least, option.most + 1):
            value = words[i + 1:i + 1 + size]
            if len(value) == size and option.reads(value):
                rest = tail(i + 1 + size)
                if rest is not None:
                    return ((words[i].lower(), value), *rest)
        return None

    for start in range(len(words) + 1):
        found = tail(start)
        if found is not None:
            return words[:start], [(keyword, list(value)) for keyword, value in found]
    raise AssertionError("the empty tail always reads")
