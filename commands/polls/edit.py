"""Editing a posted poll (its creator or a lead), while it is open:

    /poll edit P2 question <text>       /poll edit P2 option <n> <text>       /poll edit P2 add <text>

Ballots hold option numbers, so an edit keeps every ballot; but changing the text of an option someone has
chosen changes what they voted for. That asks for `confirm` first, and those practices (or people) are told
what their choice now reads. Every change is marked on the card ("edited") and said to the channel once.
"""

from commands.context import Context
from commands.errors import Refusal
from commands.polls import core
from commands.registry import button, subcommand
from commands.results import Button, Code, Direct, Person, Reply, Strong, line
from commands.text import parsing
from commands.text.dates import describe
from commands.text.guard import refuse_patient_identifiers
from storage import clusters as cluster_store
from storage import poll_schedules as schedule_store
from storage import polls as store
from storage.models import POLL_OPTION_MAX, POLL_OPTIONS_MAX, POLL_QUESTION_MAX, Poll

EDIT_EXAMPLE = "/poll edit P2 option 2 Frailty register review"
FORMS = "question <text>, option <n> <text> or add <text>"
CONFIRM = "confirm"


def _text(words: str) -> str:
    return " ".join(words.strip().strip("\"“”„").split())


def _example(poll: Poll) -> str:
    return f"/poll edit {poll.short_id} option 1 {poll.options[0]}"


@subcommand(core.POLL, "edit P2 question|option <n>|add <text>", EDIT_EXAMPLE,
            "edit a posted poll's question or an option, or add an option (its creator or a lead)",
            members_only=True, audited=True)
def edit(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    poll = core._poll(ctx, token, EDIT_EXAMPLE)
    ctx.require_owner_or_lead(poll.created_by, f"created {poll.short_id}", "/poll edit")
    if poll.closed_at:
        raise Refusal(f"{poll.short_id} closed on {describe(poll.closed_at, ctx.time_zone)}; a closed poll is kept "
                      "as it was decided. Start a new one if the question has changed.", example=core.CREATE_EXAMPLE)
    schedule_store.lock_poll(session=ctx.session, poll=poll)
    what, rest = parsing.split_first(rest)
    what = what.lower()
    if what == "question":
        return _question(ctx, poll, _text(rest))
    if what == "add":
        return _add(ctx, poll, _text(rest))
    if what == "option":
        number, rest = parsing.split_first(rest)
        words = rest.split()
        confirmed = bool(words) and words[-1].lower() == CONFIRM
        return _option(ctx, poll, number, _text(" ".join(words[:-1] if confirmed else words)), confirmed)
    raise Refusal(f"Say what to change on {poll.short_id}: {FORMS}.", example=_example(poll))


def _question(ctx: Context, poll: Poll, text: str) -> Reply:
    example = f"/poll edit {poll.short_id} question Which topic should we take on in spring?"
    if not text:
        raise Refusal("Give the new question.", example=example)
    if len(text) > POLL_QUESTION_MAX:
        raise Refusal(f"The question is {len(text)} characters; the limit is {POLL_QUESTION_MAX}.", example=example)
    refuse_patient_identifiers(text, "question")
    if text == poll.question:
        return Reply.tell(line(Code(poll.short_id), " already asks that. Nothing changed."))
    before = poll.question
    return _changed(ctx, poll, "question", dict(question=text),
                    line(Person(ctx.caller.user_id), " edited ", Code(poll.short_id), ": the question now reads ",
                         Strong(text), f" (it was “{before}”)."))


def _check_option(poll: Poll, text: str, example: str, besides: int | None = None) -> None:
    if not text:
        raise Refusal("Give the option's text.", example=example)
    if len(text) > POLL_OPTION_MAX:
        raise Refusal(f"That option is {len(text)} characters; the limit is {POLL_OPTION_MAX}.", example=example)
    for number, option in enumerate(poll.options, start=1):
        if number != besides and option.casefold() == text.casefold():
            raise Refusal(f"Option {number} already reads “{option}”: each option must be different.",
                          example=example)
    refuse_patient_identifiers(text, "option")


def _add(ctx: Context, poll: Poll, text: str) -> Reply:
    example = f"/poll edit {poll.short_id} add Polypharmacy reviews"
    if len(poll.options) >= POLL_OPTIONS_MAX:
        raise Refusal(f"{poll.short_id} has {len(poll.options)} options, the most a poll may have.",
                      example=_example(poll))
    _check_option(poll, text, example)
    number = len(poll.options) + 1
    return _changed(ctx, poll, f"option {number} added", dict(options=[*poll.options, text]),
                    line(Person(ctx.caller.user_id), " edited ", Code(poll.short_id), " ", Strong(poll.question),
                         f": added option {number}, “{text}”."))


def _option(ctx: Context, poll: Poll, number: str, text: str, confirmed: bool) -> Reply:
    if not (number.isdecimal() and number.isascii() and 1 <= int(number) <= len(poll.options)):
        raise Refusal(f"Give the option's number, from 1 to {len(poll.options)}, then its new text.",
                      example=_example(poll))
    n = int(number)
    example = f"/poll edit {poll.short_id} option {n} {text or poll.options[n - 1]}"
    _check_option(poll, text, example, besides=n)
    before = poll.options[n - 1]
    if text == before:
        return Reply.tell(line(f"Option {n} of ", Code(poll.short_id), " already reads that. Nothing changed."))
    chose = _who_chose(ctx, poll, n)
    # Whether anyone chose it is not said while choices are secret (anonymous) or results hidden: any ballot
    # at all asks for confirm.
    secret = poll.anonymous or poll.hidden
    anonymous_with_ballots = secret and store.count(session=ctx.session, poll=poll).ballots > 0
    if (chose or anonymous_with_ballots) and not confirmed:
        return _ask_to_confirm(ctx, poll, n, text, before, chose)
    options = list(poll.options)
    options[n - 1] = text
    heading = line(Person(ctx.caller.user_id), " edited ", Code(poll.short_id), " ", Strong(poll.question),
                   f": option {n} now reads “{text}” (it was “{before}”).")
    reply = _changed(ctx, poll, f"option {n}", dict(options=options), heading)
    if chose and not (poll.hidden or poll.anonymous):
        reply.lines.append(line(f"{_whom(poll, len(chose))} that chose it {'has' if len(chose) == 1 else 'have'} "
                                "been told; a ballot still chooses it unless changed."))
    elif poll.anonymous and anonymous_with_ballots:
        reply.lines.append(line("Ballots already cast for it now count for the new text: anyone can change theirs ",
                                "until the poll closes."))
    reply.effects += _tell_voters(ctx, poll, n, before, text, chose)
    return reply


def _whom(poll: Poll, n: int) -> str:
    noun = "practice" if poll.per_practice else "person"
    plural = "practices" if poll.per_practice else "people"
    return f"{n} {noun if n == 1 else plural}"


def _who_chose(ctx: Context, poll: Poll, n: int) -> list:
    """The ballots that choose option n (an anonymous poll's cannot be told apart: none)."""
    if poll.anonymous:
        return []
    return [b for b in store.ballots(session=ctx.session, poll=poll) if n in store.parse_choices(b.choices)]


def _ask_to_confirm(ctx: Context, poll: Poll, n: int, text: str, before: str, chose: list) -> Reply:
    if poll.anonymous:
        who = "Ballots have been cast on this anonymous poll, and some may choose it"
    elif poll.hidden:
        who = "Ballots have been cast, and some may choose it (its results are hidden until it closes)"
    elif poll.per_practice:
        names = {p.id: p.name for p in core._practices(ctx, ctx.cluster)}
        who = f"{_whom(poll, len(chose))} chose it ({', '.join(names.get(b.practice_id, '?') for b in chose)})"
    else:
        who = f"{_whom(poll, len(chose))} chose it"
    typed = f"/poll edit {poll.short_id} option {n} {text} {CONFIRM}"
    reply = Reply.tell(line(f"Option {n} of ", Code(poll.short_id), f" reads “{before}”. {who}: changing its text "
                            "changes what they voted for, and they will be told. Nothing is changed yet."),
                       line("To go ahead, click Confirm or type ", Code(typed)))
    reply.buttons = [Button("Confirm", "poll.edit.confirm", f"{poll.short_id}|{n}|{text}", style="primary")]
    return reply


@button("poll.edit.confirm", audited=True, members_only=True)
def confirm(ctx: Context, value: str) -> Reply:
    token, _, rest = value.partition("|")
    number, _, text = rest.partition("|")
    return edit(ctx, f"{token} option {number} {text} {CONFIRM}")


def _changed(ctx: Context, poll: Poll, what: str, values: dict, heading) -> Reply:
    if not schedule_store.edit_poll(session=ctx.session, poll=poll, now=ctx.now(), what=what, **values):
        return Reply.tell(line(Code(poll.short_id), " was closed a moment ago; nothing changed."))
    reply = Reply.announce(heading)
    reply.effects = core._refresh(poll)
    return reply


def _tell_voters(ctx: Context, poll: Poll, n: int, before: str, after: str, chose: list) -> list[Direct]:
    """Each practice (or person) whose ballot chooses option n hears what it now reads."""
    if not chose:
        return []
    if poll.per_practice:
        practices = {b.practice_id for b in chose}
        people = [m.user_id for m in cluster_store.list_members(session=ctx.session, cluster=ctx.cluster)
                  if m.practice_id in practices]
        whose = "your practice's ballot"
    else:
        people = [b.voter_key.removeprefix("person:") for b in chose if b.voter_key.startswith("person:")]
        whose = "your ballot"
    note = Reply.tell(line(Person(ctx.caller.user_id), f" changed option {n} of ", Code(poll.short_id), " ",
                           Strong(poll.question), f", which {whose} chooses: it was “{before}” and now reads "
                           f"“{after}”."),
                      line(f"{whose.capitalize()} still chooses option {n}. To change it, type ",
                           Code(f"/poll vote {poll.short_id} {n}"), " with the numbers you want, or click below."))
    note.buttons = [Button("Results", "poll.results", poll.short_id, channel=ctx.cluster.channel_id)]
    return [Direct(user, note, team_id=ctx.cluster.team_id, until=poll.closes_at) for user in people
            if user != ctx.caller.user_id]
