"""/poll kinds beyond choosing (issue 25): ranked polls (Borda count), dot votes and PICK charts.

They are polls like any other — the same ids, ballots (one per practice unless per person), deadlines,
turnout, reminders and close — so they plug into commands/polls/core.py through its hooks: their setting
words (`ranked`, `dots 5`), their card, their votes and their result. The counting rules are in
analysis/poll_counts.py, the PICK picture in analysis/pick_chart.py, the ballots in storage/poll_kinds.py.

- Ranked: a ballot orders some or all options (`/poll vote P2 3 1 2`: 3 first). Clicking the card's
  options ranks them in the order clicked; clicking a ranked one takes it out.
- Dots: a ballot spends up to N dots, several on one option if it likes (`/poll vote P2 1 1 3`); the card's
  + and − buttons add and take back one dot.
- PICK chart: each ballot rates each option's impact and effort 1–5 (`/poll rate P3 2 impact 4 effort 2`,
  or the form); the result is a 2×2 picture and each option's quadrant in words.

Ranked and dot ballots keep their order and repeats, which an anonymous ballot's seal (a set of options)
cannot: these kinds are not offered anonymous.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from analysis import poll_counts
from commands.context import Context
from commands.errors import Refusal
from commands.polls import core
from commands.registry import button, form, item_command, subcommand
from commands.results import (
    Button,
    Choice,
    Code,
    Direct,
    Form,
    FormField,
    HomeChanged,
    Line,
    Person,
    Reply,
    Strong,
    Upload,
    line,
)
from commands.text import parsing
from commands.text.dates import describe, local_today
from storage import clusters as cluster_store
from storage import poll_kinds as kind_store
from storage import polls as poll_store
from storage.models import Cluster, Poll

POLL = core.POLL
DOTS_MAX = 20  # a dot ballot's choices column holds 20 two-digit option numbers
RANKED_EXAMPLE = '/poll "Which topic first?" "Asthma reviews" "Frailty register" "Sepsis" ranked'
DOTS_EXAMPLE = '/poll "Where should our effort go?" "Asthma reviews" "Frailty register" "Sepsis" dots 5'
PICK_EXAMPLE = '/poll pick-chart "Which change ideas?" "Recall letters" "Pharmacist clinic" "Text reminders"'
RATINGS = (1, 2, 3, 4, 5)

# Where `/poll pick-chart T3` finds a topic's change ideas: a function (ctx, topic token) -> the ideas'
# texts, which the change-idea family (the topic's driver diagram) registers when it exists. Until then
# the typed options are the way.
CHANGE_IDEAS: list[Callable[[Context, str], list[str]]] = []


def topic_change_ideas(ctx: Context, token: str) -> list[str]:
    """A topic's change ideas as options ("C4 Text reminders"), in the order of its driver diagram; a topic
    with more than a poll's options is refused, so nobody rates a list that silently lost some."""
    from storage import qi as qi_store
    from storage import topics as topic_store

    short_id = token.upper()
    topic = topic_store.find_topic(session=ctx.session, cluster=ctx.require_cluster(), short_id=short_id)
    if topic is None:
        raise Refusal(f"There's no topic {short_id} in this cluster.", example="/topic list")
    ideas = qi_store.ideas(session=ctx.session, topic=topic)
    if len(ideas) < core.POLL_OPTIONS_MIN:
        raise Refusal(f"{short_id} has {len(ideas)} change idea{'' if len(ideas) == 1 else 's'}; a PICK chart "
                      f"needs at least {core.POLL_OPTIONS_MIN}. Add them to its driver diagram first.",
                      example=f"/topic idea {short_id} 1 Text reminders the day before")
    if len(ideas) > core.POLL_OPTIONS_MAX:
        raise Refusal(f"{short_id} has {len(ideas)} change ideas; a PICK chart takes at most "
                      f"{core.POLL_OPTIONS_MAX}. Write the ones to rate as options, each in quotes.",
                      example=PICK_EXAMPLE)
    return [f"{idea.short_id} {idea.text}"[:core.POLL_OPTION_MAX] for idea in ideas]


CHANGE_IDEAS.append(topic_change_ideas)


# --- the setting words ---------------------------------------------------------------------

def _ranked_word(draft: core.Draft, words: list[str], i: int) -> int:
    draft.kind = "ranked"
    return i + 1


def _dots_word(draft: core.Draft, words: list[str], i: int) -> int:
    number = words[i + 1] if i + 1 < len(words) else ""
    if not (number.isdecimal() and number.isascii()):
        raise Refusal(f"Say how many dots each ballot spends, 1 to {DOTS_MAX}: dots 5.", example=DOTS_EXAMPLE)
    draft.kind, draft.dots = "dots", int(number)
    return i + 2


_dots_word.shown = "dots <n>"  # as the list of settings shows it
core.KIND_WORDS.update({"ranked": _ranked_word, "dots": _dots_word})


def _check(draft: core.Draft, where: dict) -> None:
    if draft.kind == "choice":
        return
    noun = {"ranked": "A ranked poll", "dots": "A dot vote", "pick": "A PICK chart"}[draft.kind]
    example = {"ranked": RANKED_EXAMPLE, "dots": DOTS_EXAMPLE, "pick": PICK_EXAMPLE}[draft.kind]
    if draft.pick != 1:
        raise Refusal(f"{noun} takes no pick <n>: a ballot says as much as it likes.", example=example,
                      field=where.get("pick"))
    if draft.anonymous:
        raise Refusal(f"{noun} can't be anonymous: its ballots keep an order or a count that a sealed ballot "
                      "cannot. Leave out anonymous (or hide the results until it closes: hidden).", example=example)
    if draft.kind == "dots" and not 1 <= draft.dots <= DOTS_MAX:
        raise Refusal(f"A dot vote gives each ballot 1 to {DOTS_MAX} dots; you gave {draft.dots}.",
                      example=DOTS_EXAMPLE, field=where.get("dots"))


core.DRAFT_CHECKS.append(_check)

core.FORM_FIELDS.extend([
    FormField("kind", "Kind of poll", "choice", initial="choice", choices=(
        Choice("choice", "Choose options"), Choice("ranked", "Ranked (Borda count)"),
        Choice("dots", "Dot vote"))),
    FormField("dots", "Dots per ballot (a dot vote)", optional=True, initial="5", max_length=2),
])


def _read_form(values: dict[str, str], draft: core.Draft) -> None:
    kind = values.get("kind") or "choice"
    draft.kind = kind if kind in ("choice", "ranked", "dots") else "choice"
    if draft.kind == "dots":
        dots = (values.get("dots") or "").strip()
        if not (dots.isdecimal() and dots.isascii()):
            raise Refusal(f"Give a number of dots, 1 to {DOTS_MAX}, like 5.", field="dots")
        draft.dots = int(dots)


core.FORM_READERS.append(_read_form)


# --- counting -------------------------------------------------------------------------------

def _groups(ctx: Context, poll: Poll) -> list[tuple[list[int], int | None, int]]:
    return [(kind_store.parse(c), p, n) for c, p, n in kind_store.ballot_groups(session=ctx.session, poll=poll)]


def _scores(poll: Poll, groups) -> list[int]:
    pairs = [(choices, n) for choices, _, n in groups]
    if poll.kind == "ranked":
        return poll_counts.borda(len(poll.options), pairs)
    return poll_counts.dots(len(poll.options), pairs)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _unit(poll: Poll) -> str:
    return "point" if poll.kind == "ranked" else "dot"


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _names(poll: Poll, numbers: list[int]) -> str:
    """One option as it is written; several quoted, so commas inside options read right."""
    if len(numbers) == 1:
        return poll.options[numbers[0] - 1]
    return core._names([poll.options[n - 1] for n in numbers])


def _order_lines(poll: Poll, scores: list[int]) -> list[Line]:
    """The full order, places shared by ties ("2nd=")."""
    lines = []
    for place, score, numbers in poll_counts.standings(scores):
        tied = "=" if len(numbers) > 1 else ""
        each = " each" if len(numbers) > 1 else ""
        lines.append(line(f"{_ordinal(place)}{tied} ", _names(poll, numbers),
                          f" — {_plural(score, _unit(poll))}{each}"))
    return lines


def _winner(poll: Poll, scores: list[int], total: int) -> tuple:
    places = poll_counts.standings(scores)
    place, top, numbers = places[0]
    unit = _unit(poll)
    share = f", {round(100 * top / total)}% of the dots" if poll.kind == "dots" and total else ""
    if top == 0:
        return ("no ballots were cast.",) if total == 0 else (f"every option has 0 {unit}s.",)
    if len(numbers) == 1:
        return (_names(poll, numbers), f" ({_plural(top, unit)}{share}).")
    return ("a tie between ", _names(poll, numbers), f" ({_plural(top, unit)} each{share}).")


# --- ranked and dot cards, votes and results ----------------------------------------------------

def _rule_words(poll: Poll) -> str:
    n = len(poll.options)
    if poll.kind == "ranked":
        return (f"ranked: a first choice scores {n - 1}, a second {n - 2}"
                f"{', and so on' if n > 3 else ''}; an option left unranked scores 0 (Borda count)")
    return f"dot vote: each ballot spends up to {_plural(poll.dots, 'dot')}, several on one option if it likes"


def _ordered_card(ctx: Context, poll: Poll) -> Reply:
    cluster = ctx.session.get(Cluster, poll.cluster_id)
    groups = _groups(ctx, poll)
    scores = _scores(poll, groups)
    total = sum(scores)
    visible = core._counts_visible(poll)
    lines: list[Line] = [line(Strong(f"{poll.short_id} · {poll.question}"))]
    for number, (option, score) in enumerate(zip(poll.options, scores, strict=True), start=1):
        shown = ""
        if visible:
            share = f" ({round(100 * score / total)}%)" if poll.kind == "dots" and total else ""
            shown = f"  {core._bar(score, max(scores))} {_plural(score, _unit(poll))}{share}"
        lines.append(line(f"{number}. ", option, shown))
    lines.append(line(core.turnouts(ctx, [poll], cluster)[poll.id].words(poll), " · ",
                      core._rules(poll, ctx.time_zone)))
    lines.append(line(_rule_words(poll), "."))
    if poll.closed_at:
        said, _ = _ordered_result(ctx, poll)
        lines += said
        lines.append(core._participation(ctx, poll, poll_store.count(session=ctx.session, poll=poll)))
    reply = Reply.announce(*lines)
    if poll.closed_at:
        return reply
    example = _vote_example(poll)
    if poll.kind == "ranked":
        reply.lines.append(line("Click the options in your order of preference (your first choice first; click a "
                                "ranked one again to take it out), or type the whole ranking: ", Code(example), "."))
        reply.buttons = [Button(f"{n}. {o}", "poll.vote", f"{poll.short_id}:{n}")
                         for n, o in enumerate(poll.options, start=1)]
    else:
        reply.lines.append(line("+ puts a dot on an option and − takes one back, or type where all your dots go: ",
                                Code(example), "."))
        reply.buttons = []
        for n, o in enumerate(poll.options, start=1):
            reply.buttons += [Button(f"+ {n}. {o}", "poll.vote", f"{poll.short_id}:{n}"),
                              Button(f"− {n}", "poll.dot_take", f"{poll.short_id}:{n}")]
    reply.buttons += [Button("Results", "poll.results", poll.short_id),
                      Button("Close (creator or leads)", "poll.close", poll.short_id)]
    return reply


def _vote_example(poll: Poll) -> str:
    n = len(poll.options)
    if poll.kind == "ranked":
        return f"/poll vote {poll.short_id} " + " ".join(str(i) for i in [*range(2, n + 1), 1][:3])
    spend = ([1] * min(2, poll.dots) + [min(3, n)] * (poll.dots > 2))[:poll.dots]
    return f"/poll vote {poll.short_id} " + " ".join(map(str, spend))


def _ordered_result(ctx: Context, poll: Poll) -> tuple[list[Line], list]:
    groups = _groups(ctx, poll)
    scores = _scores(poll, groups)
    total = sum(scores)
    how = "Borda count" if poll.kind == "ranked" else "dots"
    said = [line(Strong(f"Result ({how}):"), " ", *_winner(poll, scores, total))]
    if total:
        said.append(line(Strong("Full order:")))
        said += _order_lines(poll, scores)
    if poll.kind == "dots" and total and poll.per_practice:
        said += _practice_shares(ctx, poll, groups, total)
    return said, []


def _practice_shares(ctx: Context, poll: Poll, groups, total: int) -> list[Line]:
    """Each practice's dots: where they went, and its share of all the dots spent."""
    names = {p.id: p.name for p in core._practices(ctx, ctx.session.get(Cluster, poll.cluster_id))}
    spent: dict[int | None, list[int]] = {}
    for choices, practice_id, n in groups:
        for option in choices * n:
            spent.setdefault(practice_id, []).append(option)
    lines = [line(Strong("Each practice's dots:"))]
    for practice_id, options in sorted(spent.items(), key=lambda kv: names.get(kv[0], "~")):
        where = ", ".join(f"{options.count(o)} on {poll.options[o - 1]}" for o in sorted(set(options)))
        lines.append(line(f"• {names.get(practice_id, 'a former practice')}: ",
                          f"{_plural(len(options), 'dot')} ({round(100 * len(options) / total)}% of all): {where}"))
    return lines


def _ballot_words(poll: Poll, choices: list[int]) -> str:
    if not choices:
        return "nothing yet" if poll.kind == "dots" else "nothing ranked"
    if poll.kind == "ranked":
        return ", ".join(f"{_ordinal(place)} {poll.options[n - 1]}" for place, n in enumerate(choices, start=1))
    return ", ".join(f"{choices.count(n)} on {poll.options[n - 1]}" for n in sorted(set(choices)))


def _ordered_vote(ctx: Context, poll: Poll, choose: int = 0, exactly: list[int] | None = None,
                  take: bool = False) -> Reply:
    n = len(poll.options)
    example = _vote_example(poll)
    for number in exactly if exactly is not None else [choose]:
        if not 1 <= number <= n:
            raise Refusal(f"{poll.short_id} has options 1 to {n}.", example=example)
    voter, member = core._voter(ctx, poll)
    if poll.per_practice:
        core._one_practice_per_person(ctx, poll, member)
    key = core.voter_key(ctx, poll, voter)
    whose = "Your practice's" if poll.per_practice else "Your"
    noun, reads = ("ranking", "reads") if poll.kind == "ranked" else ("dots", "read")
    practice_id = member.practice_id if poll.per_practice else None
    current = poll_store.current_ballot(session=ctx.session, poll=poll, voter_key=key)
    before, before_by = current or ([], "")
    if exactly is not None:
        if poll.kind == "ranked" and len(set(exactly)) != len(exactly):
            twice = next(x for x in exactly if exactly.count(x) > 1)
            raise Refusal(f"Option {twice} is there twice: a ranking names each option once, first choice first. "
                          f"Nothing was changed: {whose.lower()} ranking still reads {_ballot_words(poll, before)}.",
                          example=example)
        if poll.kind == "dots" and len(exactly) > poll.dots:
            raise Refusal(f"A ballot on {poll.short_id} spends up to {_plural(poll.dots, 'dot')}; you typed "
                          f"{len(exactly)}. Nothing was changed: {whose.lower()} dots still read "
                          f"{_ballot_words(poll, before)}.", example=example)
        after = list(exactly)
        if after != before:
            kind_store.set_ballot(session=ctx.session, poll=poll, voter_key=key, practice_id=practice_id,
                                  cast_by=member.user_id, now=ctx.now(), choices=after)
    else:
        def change(choices: list[int]) -> list[int]:
            if poll.kind == "ranked":
                return [c for c in choices if c != choose] if choose in choices else [*choices, choose]
            if take:
                if choose not in choices:
                    raise Refusal(f"{whose} dots on {poll.short_id} have none on {choose}. "
                                  f"{poll.options[choose - 1]} to take back; they read {_ballot_words(poll, choices)}.",
                                  example=example)
                choices.remove(choose)
                return choices
            if len(choices) >= poll.dots:
                raise Refusal(f"Nothing was changed: {whose.lower()} {_plural(poll.dots, 'dot')} on {poll.short_id} "
                              f"are all spent ({_ballot_words(poll, choices)}). Take one back with − first, or type "
                              "where all of them go:", example=example)
            return [*choices, choose]

        before, after = kind_store.change_ballot(session=ctx.session, poll=poll, voter_key=key,
                                                 practice_id=practice_id, cast_by=member.user_id, now=ctx.now(),
                                                 change=change)
    if after == before:
        return Reply.tell(line(f"{whose} {noun} on ", Code(poll.short_id), f" already {reads}: ",
                               _ballot_words(poll, after), ". Nothing changed."))
    said = line(f"{whose} {noun} on ", Code(poll.short_id), f" now {reads}: ", _ballot_words(poll, after), ".")
    reply = Reply.tell(said)
    if poll.kind == "dots":
        left = poll.dots - len(after)
        reply.lines.append(line(f"{len(after)} of {_plural(poll.dots, 'dot')} spent; {left} left."))
    else:
        unranked = [i for i in range(1, n + 1) if i not in after]
        if unranked and after:
            reply.lines.append(line("Not ranked (0 points): ", _names(poll, unranked), "."))
    reply.effects = [*core._refresh(poll), HomeChanged(ctx.caller.user_id, ctx.caller.team_id)]
    if poll.per_practice and before and before_by and before_by != ctx.caller.user_id:
        reply.lines.append(line("They were ", _ballot_words(poll, before), ", cast by ", Person(before_by),
                                ", who has been told."))
        practice = cluster_store.practice_name(session=ctx.session, practice_id=member.practice_id)
        note = Reply.tell(line(Person(ctx.caller.user_id), " changed ", practice or "your practice",
                               f"'s {noun} on ", Code(poll.short_id), " ", Strong(poll.question), " from ",
                               _ballot_words(poll, before), " to ", _ballot_words(poll, after), "."))
        note.buttons = [Button("Results", "poll.results", poll.short_id, channel=ctx.cluster.channel_id)]
        reply.effects.append(Direct(before_by, note))
    return reply


@button("poll.dot_take")
def take_dot(ctx: Context, value: str) -> Reply:
    """− on a dot vote's card: take one dot back from that option."""
    token, _, number = value.partition(":")
    poll = parsing.find_item(ctx, token, prefix="P", noun="poll", find=poll_store.poll_fields,
                             example="/poll results P2")
    if poll.closed_at or poll.kind != "dots":
        return core.vote(ctx, poll, int(number) if number.isdecimal() else 0)
    return _ordered_vote(ctx, poll, int(number) if number.isdecimal() else 0, take=True)


def _ordered_reminder(ctx: Context, poll: Poll, note: Reply) -> None:
    """A reminder's last line says how this kind is voted (its buttons, each option's, stay)."""
    how = ("Click the options in your order of preference, or type the whole ranking: " if poll.kind == "ranked"
           else f"Each click puts a dot on an option ({_plural(poll.dots, 'dot')} to spend), or type where they go: ")
    note.lines[-1] = line(how, Code(_vote_example(poll)), ".")


@dataclass(frozen=True)
class Kind:
    card: Callable      # (ctx, poll) -> the poll's message
    vote: Callable      # (ctx, poll, choose, exactly) -> the answer to a click or a typed vote
    result: Callable    # (ctx, poll) -> (the result's lines, more effects) at the close
    reminder: Callable  # (ctx, poll, note): a reminder's words and buttons for this kind, changed in place


ORDERED = Kind(_ordered_card, lambda ctx, poll, choose, exactly: _ordered_vote(ctx, poll, choose, exactly),
               _ordered_result, _ordered_reminder)
core.KINDS.update({"ranked": ORDERED, "dots": ORDERED})


# --- PICK charts ---------------------------------------------------------------------------------

@subcommand(POLL, 'pick-chart "Question?" "Idea A" "Idea B" [...] [closes <date> [HH:MM]] [per person]',
            PICK_EXAMPLE, "a PICK chart: each practice rates each idea's impact and effort 1–5", members_only=True)
def pick_chart(ctx: Context, rest: str) -> Reply:
    first = rest.split()[0] if rest.split() else ""
    if re.fullmatch(r"[Tt]\d{1,9}", first):
        if not CHANGE_IDEAS:
            raise Refusal(f"A PICK chart of {first.upper()}'s change ideas isn't available yet: write the ideas "
                          "as options, each in quotes.", example=PICK_EXAMPLE)
        ideas = CHANGE_IDEAS[0](ctx, first)
        topic_rest = rest.split(None, 1)[1] if len(rest.split()) > 1 else ""
        draft = core.Draft(f"Which of {first.upper()}'s change ideas should we try?", ideas, kind="pick")
        core._apply_settings(ctx, draft, topic_rest.split())
    else:
        draft = core.parse_draft(ctx, rest)
        if draft.kind != "choice":
            raise Refusal("A PICK chart is its own kind of poll: leave out ranked and dots.", example=PICK_EXAMPLE)
        draft.kind = "pick"
    return core._create(ctx, core.check_draft(draft))


def _ratings(ctx: Context, poll: Poll) -> list[poll_counts.Rated]:
    return poll_counts.rated((r.option, r.impact, r.effort)
                             for r in kind_store.ratings(session=ctx.session, poll=poll))


def _mean(value: float) -> str:
    return f"{value:.1f}"


def _spread(values: tuple[int, ...]) -> str:
    low, high = min(values), max(values)
    return f" ({low}–{high})" if low != high else ""


def _rated_words(poll: Poll, item: poll_counts.Rated) -> str:
    line_note = " — on a line" if item.on_a_line else ""
    return (f"impact {_mean(item.impact)}{_spread(item.impacts)}, effort {_mean(item.effort)}"
            f"{_spread(item.efforts)}, {_plural(item.raters, 'rating')}{line_note}")


def _pick_card(ctx: Context, poll: Poll) -> Reply:
    cluster = ctx.session.get(Cluster, poll.cluster_id)
    rated = {r.option: r for r in _ratings(ctx, poll)}
    visible = core._counts_visible(poll)
    lines: list[Line] = [line(Strong(f"{poll.short_id} · {poll.question}"), " (PICK chart)")]
    for number, option in enumerate(poll.options, start=1):
        item = rated.get(number)
        shown = ""
        if visible:
            shown = f" — {item.quadrant}: {_rated_words(poll, item)}" if item else " — not rated yet"
        lines.append(line(f"{number}. ", option, shown))
    lines.append(line(core.turnouts(ctx, [poll], cluster)[poll.id].words(poll), " · ",
                      core._rules(poll, ctx.time_zone)))
    lines.append(line("Rate each option's impact (1 low – 5 high) and effort (1 easy – 5 hard). Middle of the "
                      "scale (3) and above: high impact, hard. Implement: high impact, easy · Challenge: high "
                      "impact, hard · Possible: low impact, easy · Kill: low impact, hard."))
    if poll.closed_at:
        said, _ = _pick_result(ctx, poll, picture=False)
        lines += said
        lines.append(core._participation(ctx, poll, poll_store.count(session=ctx.session, poll=poll)))
        reply = Reply.announce(*lines)
        reply.buttons = [Button("Chart", "poll.chart", poll.short_id)]
        return reply
    lines.append(line("Click Rate, or type: ", Code(f"/poll rate {poll.short_id} 1 impact 4 effort 2"), "."))
    reply = Reply.announce(*lines)
    reply.buttons = [Button("Rate", "poll.rate", poll.short_id, style="primary"),
                     Button("Chart", "poll.chart", poll.short_id),
                     Button("Results", "poll.results", poll.short_id),
                     Button("Close (creator or leads)", "poll.close", poll.short_id)]
    return reply


def _pick_result(ctx: Context, poll: Poll, picture: bool = True) -> tuple[list[Line], list]:
    rated = _ratings(ctx, poll)
    if not rated:
        return [line(Strong("Result:"), " no option was rated.")], []
    said = [line(Strong("Result (PICK chart):"))]
    by_quadrant = {q: [r for r in rated if r.quadrant == q] for q in poll_counts.QUADRANTS}
    for quadrant in ("Implement", "Possible", "Challenge", "Kill"):
        for item in sorted(by_quadrant[quadrant], key=lambda r: (-r.impact, r.effort, r.option)):
            said.append(line(f"• {quadrant} ({poll_counts.MEANING[quadrant]}): {item.option}. ",
                             poll.options[item.option - 1], f" — {_rated_words(poll, item)}"))
    unrated = [n for n in range(1, len(poll.options) + 1) if n not in {r.option for r in rated}]
    if unrated:
        said.append(line("Not rated: ", _names(poll, unrated), "."))
    if picture and ctx.caller.user_id == core.SYSTEM:  # closed at its deadline: the tick posts words only
        said.append(line("The picture: ", Code(f"/poll chart {poll.short_id}"), "."))
        return said, []
    return said, [_chart_upload(ctx, poll, rated)] if picture else []


def _chart_upload(ctx: Context, poll: Poll, rated: list[poll_counts.Rated]) -> Upload:
    from analysis import pick_chart

    cluster = ctx.session.get(Cluster, poll.cluster_id)
    raters = poll_store.count(session=ctx.session, poll=poll).ballots
    whose = "practices" if poll.per_practice else "people"
    when = describe(poll.closed_at or ctx.now(), ctx.time_zone)
    caption = (f"Points: the mean of {raters} {whose}' ratings; bars: from the lowest to the highest rating. "
               f"{'Closed' if poll.closed_at else 'So far, on'} {when}.")
    content = pick_chart.render(pick_chart.PickPicture(f"{poll.short_id} · {poll.question}", list(poll.options),
                                                       rated, caption))
    slug = re.sub(r"[^A-Za-z0-9]+", "-", cluster.name).strip("-").lower()
    day = local_today(ctx.now(), ctx.time_zone)
    comment = Reply.announce(line("The PICK chart of ", Code(poll.short_id), " ", poll.question, "."))
    return Upload(cluster.channel_id, f"{slug}-{poll.short_id.lower()}-pick-{day:%Y-%m-%d}.png",
                  f"{poll.short_id} PICK chart", content, comment)


def _pick_vote(ctx: Context, poll: Poll, choose: int, exactly: list[int] | None) -> Reply:
    if exactly is not None:
        raise Refusal(f"{poll.short_id} is a PICK chart: rate each option's impact and effort, 1 to 5.",
                      example=f"/poll rate {poll.short_id} 1 impact 4 effort 2")
    return _rating_form(ctx, poll)


def _pick_reminder(ctx: Context, poll: Poll, note: Reply) -> None:
    note.lines[-1] = line("Click Rate to rate each option's impact and effort, or type ",
                          Code(f"/poll rate {poll.short_id} 1 impact 4 effort 2"), ".")
    note.buttons = [Button("Rate", "poll.rate", poll.short_id, style="primary", channel=ctx.cluster.channel_id)]


core.KINDS["pick"] = Kind(_pick_card, _pick_vote, _pick_result, _pick_reminder)


RATE_EXAMPLE = "/poll rate P3 2 impact 4 effort 2"


def _parse_ratings(poll: Poll, words: list[str]) -> dict[int, tuple[int, int]]:
    """`2 impact 4 effort 2 [3 effort 1 impact 5 …]` -> {2: (4, 2), 3: (5, 1)}."""
    example = f"/poll rate {poll.short_id} 2 impact 4 effort 2"
    found: dict[int, tuple[int, int]] = {}
    i = 0
    while i < len(words):
        number = words[i]
        if not (number.isdecimal() and number.isascii() and 1 <= int(number) <= len(poll.options)):
            raise Refusal(f"Start with the option's number, 1 to {len(poll.options)}; then its impact and effort.",
                          example=example)
        pairs = {}
        for j in (i + 1, i + 3):
            word = words[j].lower() if j < len(words) else ""
            if word not in ("impact", "effort"):
                break
            value = words[j + 1] if j + 1 < len(words) else ""
            if value not in {str(r) for r in RATINGS}:
                raise Refusal(f"{word.capitalize()} is a whole number from 1 to 5; “{value[:12]}” isn't.",
                              example=example)
            pairs[word] = int(value)
        if set(pairs) != {"impact", "effort"}:
            raise Refusal(f"Rate option {number} on both: impact (1 low – 5 high) and effort (1 easy – 5 hard).",
                          example=example)
        found[int(number)] = (pairs["impact"], pairs["effort"])
        i += 5
    if not found:
        raise Refusal("Say which option and its impact and effort.", example=example)
    return found


def _record_ratings(ctx: Context, poll: Poll, ratings: dict[int, tuple[int, int]]) -> Reply:
    if poll.closed_at:
        raise Refusal(f"{poll.short_id} closed on {describe(poll.closed_at, ctx.time_zone)}; it takes no more "
                      "ratings.", example=f"/poll results {poll.short_id}")
    voter, member = core._voter(ctx, poll)
    if poll.per_practice:
        core._one_practice_per_person(ctx, poll, member)
    key = core.voter_key(ctx, poll, voter)
    before = kind_store.rate(session=ctx.session, poll=poll, voter_key=key,
                             practice_id=member.practice_id if poll.per_practice else None,
                             rated_by=member.user_id, now=ctx.now(), ratings=ratings)
    whose = "Your practice's" if poll.per_practice else "Your"
    reply = Reply.tell(line(f"{whose} ratings on ", Code(poll.short_id), ":"))
    for option, (impact, effort) in sorted(ratings.items()):
        was = before.get(option)
        change = f" (was impact {was[0]}, effort {was[1]})" if was and was != (impact, effort) else ""
        reply.lines.append(line(f"• {option}. ", poll.options[option - 1],
                                f" — impact {impact}, effort {effort}{change}"))
    held = kind_store.ratings_of(session=ctx.session, poll=poll, voter_key=key)
    missing = [n for n in range(1, len(poll.options) + 1) if n not in held]
    if missing:
        reply.lines.append(line(f"Rated {len(held)} of {len(poll.options)}; still to rate: ",
                                _names(poll, missing), "."))
    reply.effects = [*core._refresh(poll), HomeChanged(ctx.caller.user_id, ctx.caller.team_id)]
    return reply


def _pick_poll(ctx: Context, token: str, example: str) -> Poll:
    poll = core._poll(ctx, token, example)
    if poll.kind != "pick":
        raise Refusal(f"{poll.short_id} isn't a PICK chart; its options are voted on.",
                      example=f"/poll vote {poll.short_id} 1")
    return poll


@subcommand(POLL, "rate P3 <option> impact <1-5> effort <1-5> [<option> impact … effort …]", RATE_EXAMPLE,
            "rate a PICK chart's options (your practice's ratings), or open its form with rate P3")
def rate_typed(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    poll = _pick_poll(ctx, token, RATE_EXAMPLE)
    if not rest.strip():
        return _rating_form(ctx, poll)
    return _record_ratings(ctx, poll, _parse_ratings(poll, rest.split()))


def _rating_form(ctx: Context, poll: Poll) -> Reply:
    if poll.closed_at:
        return core.results(ctx, poll)
    voter, _ = core._voter(ctx, poll)
    held = kind_store.ratings_of(session=ctx.session, poll=poll, voter_key=core.voter_key(ctx, poll, voter))
    scale = tuple(Choice(str(r), str(r)) for r in RATINGS)
    fields = []
    for n, option in enumerate(poll.options, start=1):
        impact, effort = held.get(n, ("", ""))
        fields += [FormField(f"impact_{n}", f"{n}. {option[:120]}: impact (1 low – 5 high)", "choice",
                             optional=True, initial=str(impact), choices=scale),
                   FormField(f"effort_{n}", f"{n}. {option[:120]}: effort (1 easy – 5 hard)", "choice",
                             optional=True, initial=str(effort), choices=scale)]
    return Reply(lines=[line("Rating takes a form. Here, type each option's ratings: ",
                             Code(f"/poll rate {poll.short_id} 1 impact 4 effort 2"))],
                 form=Form("poll.rate_form", f"Rate {poll.short_id}", "Save", tuple(fields),
                           {"poll": poll.short_id}))


@button("poll.rate")
def rate_button(ctx: Context, value: str) -> Reply:
    return _rating_form(ctx, _pick_poll(ctx, value, RATE_EXAMPLE))


@form("poll.rate_form")
def submit_ratings(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    poll = _pick_poll(ctx, str(context.get("poll", "")), RATE_EXAMPLE)
    ratings = {}
    for n in range(1, len(poll.options) + 1):
        impact, effort = (values.get(f"{w}_{n}") or "" for w in ("impact", "effort"))
        for name, value in ((f"impact_{n}", impact), (f"effort_{n}", effort)):
            if value and value not in {str(r) for r in RATINGS}:
                raise Refusal("Choose 1 to 5.", field=name)
        if bool(impact) != bool(effort):
            raise Refusal("Rate both impact and effort, or neither.",
                          field=f"effort_{n}" if impact else f"impact_{n}")
        if impact:
            ratings[n] = (int(impact), int(effort))
    if not ratings:
        raise Refusal("Rate at least one option: its impact and its effort.", field="impact_1")
    return _record_ratings(ctx, poll, ratings)


def _chart(ctx: Context, poll: Poll) -> Reply:
    if not core._counts_visible(poll):
        raise Refusal(f"{poll.short_id}'s ratings are shown when it closes.", example=f"/poll results {poll.short_id}")
    rated = _ratings(ctx, poll)
    if not rated:
        raise Refusal(f"Nobody has rated {poll.short_id}'s options yet.", example=f"/poll rate {poll.short_id} 1 "
                      "impact 4 effort 2")
    upload = _chart_upload(ctx, poll, rated)
    upload.comment.lines[0] = line(Person(ctx.caller.user_id), " shared the PICK chart of ", Code(poll.short_id), " ",
                                   poll.question, ".")
    return Reply.quiet(upload)


item_command(POLL, "chart P3", "/poll chart P3", "a PICK chart's picture, posted to the channel",
                  find=lambda ctx, token, example: _pick_poll(ctx, token, example), action="poll.chart")(_chart)
