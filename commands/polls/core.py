"""/poll: the cluster decides as practices — one ballot per practice unless the poll says per person.

Votes are ballots with a unique key (the practice, or the person); tallies are counted from them.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from commands.context import Caller, Context, people_list
from commands.errors import Refusal, on_field
from commands.registry import FAMILIES, POSTED, TICKS, Posted, button, form, item_command, subcommand
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
    Post,
    Reply,
    Strong,
    Update,
    line,
)
from commands.text import parsing
from commands.text.dates import deadline, describe
from commands.text.guard import refuse_patient_identifiers
from storage import clusters as cluster_store
from storage import polls as store
from storage import topics as topic_store
from storage.models import (
    POLL_OPTION_MAX,
    POLL_OPTIONS_MAX,
    POLL_OPTIONS_MIN,
    POLL_QUESTION_MAX,
    Cluster,
    Member,
    Poll,
    Practice,
    TopicStatus,
)

log = logging.getLogger(__name__)

POLL = FAMILIES["/poll"]
POLL.example = '/poll "Which topic next?" "Asthma reviews" "Frailty register" closes friday'
POLL.default = "form"

CREATE_EXAMPLE = '/poll "Which topic should we take on next?" "Asthma reviews" "Frailty register" closes 3/12/2026'
BAR_WIDTH = 10
SYSTEM = "clusterbot"


# --- reading what people type -------------------------------------------------------------

@dataclass
class Draft:
    question: str
    options: list[str]
    closes_at: datetime | None = None
    per_practice: bool = True
    anonymous: bool = False
    hidden: bool = False
    pick: int = 1
    kind: str = "choice"
    dots: int = 0
    remind: bool = True           # remind the practices that have not voted (commands/polls/timetable.py)
    timetable: object | None = None  # post later or again and again (commands/polls/timetable.py)


# Hooks for the poll kinds beside this module (commands/polls/kinds.py: ranked, dots, PICK charts).
# KIND_WORDS: a setting word ("ranked", "dots") -> reader(draft, words, i) -> the index after it.
# DRAFT_CHECKS: more rules a draft must meet, check(draft, field_for). KINDS: a poll kind -> the object
# that draws its card, takes its votes and says its result (card, vote, result). FORM_FIELDS and
# FORM_READERS: more fields of the poll form, and reader(values, draft) for them.
KIND_WORDS: dict = {}
DRAFT_CHECKS: list = []
KINDS: dict = {}
FORM_FIELDS: list = []
FORM_READERS: list = []
# Modules beside core read settings of their own (commands/polls/timetable.py: opens, every, remind): each
# reader takes its words out of the settings, keeping what it read on the draft, before core reads the rest.
SETTING_READERS: list = []   # (ctx, draft, words) -> the words left
# ... and may post the poll later instead of now: the first hook to answer with a Reply has done so.
BEFORE_POSTING: list = []    # (ctx, draft) -> Reply | None


def parse_draft(ctx: Context, text: str) -> Draft:
    tokens = parsing.split_quoted(text, CREATE_EXAMPLE)
    phrases = [t for quoted, t in tokens if quoted]
    words = [t for quoted, t in tokens if not quoted]
    first_word = next((i for i, (quoted, _) in enumerate(tokens) if not quoted), len(tokens))
    if any(quoted for quoted, _ in tokens[first_word:]):
        raise Refusal("Put the question and every option first, each in quotes; settings like closes come after.",
                      example=CREATE_EXAMPLE)
    if not phrases:
        raise Refusal("Put the question and the options in quotes.", example=CREATE_EXAMPLE)
    draft = Draft(question=phrases[0], options=phrases[1:])
    _apply_settings(ctx, draft, words)
    return check_draft(draft)


SETTING_WORDS = {"closes", "per", "anonymous", "pick", "hidden"}


def _apply_settings(ctx: Context, draft: Draft, words: list[str]) -> None:
    for reader in SETTING_READERS:
        words = reader(ctx, draft, words)
    i = 0
    while i < len(words):
        word = words[i].lower()
        if word == "closes":
            j = i + 1
            while j < len(words) and words[j].lower() not in SETTING_WORDS | KIND_WORDS.keys():
                j += 1
            draft.closes_at = deadline(words[i + 1:j], now=ctx.now(), tz=ctx.time_zone, example=CREATE_EXAMPLE)
            i = j
        elif word == "per" and i + 1 < len(words) and words[i + 1].lower() in ("person", "practice"):
            draft.per_practice = words[i + 1].lower() == "practice"
            i += 2
        elif word == "pick" and i + 1 < len(words) and words[i + 1].isdecimal():
            draft.pick = int(words[i + 1])
            i += 2
        elif word in ("anonymous", "hidden"):
            setattr(draft, word, True)
            i += 1
        elif word in KIND_WORDS:
            i = KIND_WORDS[word](draft, words, i)
        else:
            kinds = "".join(f", {getattr(read, 'shown', w)}" for w, read in KIND_WORDS.items())
            raise Refusal(f"“{words[i]}” isn't a poll setting. After the quoted options you can add: "
                          f"closes <date> [HH:MM], per person, anonymous, hidden, pick <n>{kinds}.",
                          example=CREATE_EXAMPLE)


def check_draft(draft: Draft, field_for: dict | None = None) -> Draft:
    """Every rule a poll must meet; `field_for` maps rules to form fields when it came from the form."""
    where = field_for or {}
    draft.question = " ".join(draft.question.split())
    draft.options = [" ".join(o.split()) for o in draft.options if o.strip()]
    if not draft.question:
        raise Refusal("Give the question.", example=CREATE_EXAMPLE, field=where.get("question"))
    if len(draft.question) > POLL_QUESTION_MAX:
        raise Refusal(f"The question is {len(draft.question)} characters; the limit is {POLL_QUESTION_MAX}.",
                      example=CREATE_EXAMPLE, field=where.get("question"))
    if not POLL_OPTIONS_MIN <= len(draft.options) <= POLL_OPTIONS_MAX:
        raise Refusal(f"A poll needs {POLL_OPTIONS_MIN} to {POLL_OPTIONS_MAX} options; this has "
                      f"{len(draft.options)}.", example=CREATE_EXAMPLE, field=where.get("options"))
    seen = set()
    for option in draft.options:
        if len(option) > POLL_OPTION_MAX:
            raise Refusal(f"Option “{option[:40]}…” is {len(option)} characters; the limit is {POLL_OPTION_MAX}.",
                          example=CREATE_EXAMPLE, field=where.get("options"))
        if option.casefold() in seen:
            raise Refusal(f"“{option}” is there twice: each option must be different.", example=CREATE_EXAMPLE,
                          field=where.get("options"))
        seen.add(option.casefold())
    if not 1 <= draft.pick <= len(draft.options):
        raise Refusal(f"pick must be from 1 to {len(draft.options)} (the number of options).",
                      example=CREATE_EXAMPLE, field=where.get("pick"))
    refuse_patient_identifiers(draft.question, "question", where.get("question"))
    for option in draft.options:
        refuse_patient_identifiers(option, "option", where.get("options"))
    for check in DRAFT_CHECKS:
        check(draft, where)
    return draft


def _poll(ctx: Context, token: str, example: str) -> Poll:
    return parsing.find_item(ctx, token, prefix="P", noun="poll", find=store.find_poll, example=example)


# --- showing a poll ------------------------------------------------------------------------

def _bar(count: int, most: int) -> str:
    filled = round(BAR_WIDTH * count / most) if most else 0
    return "█" * filled + "░" * (BAR_WIDTH - filled)


def _practices(ctx: Context, cluster: Cluster) -> list[Practice]:
    return cluster_store.list_practices(session=ctx.session, cluster=cluster)


# Said when an anonymous poll is asked for and the deployment has no ballot key (bot/__main__ starts no
# server without one while anonymous polls are open, so people meet this only before any exists).
NO_BALLOT_KEY = ("Anonymous polls are not available on this bot yet: its administrator must set BALLOT_KEY "
                 "first (a secret key the bot keeps outside its database).")


def voter_key(ctx: Context, poll: Poll, voter: str) -> str:
    """The ballot key of "practice:<id>" or "person:<user id>" on this poll: a keyed hash when anonymous."""
    if not poll.anonymous:
        return voter
    return store.anonymous_key(_ballot_secret(ctx), poll, voter)


def _ballot_secret(ctx: Context) -> bytes:
    """The ballot key, which an anonymous poll cannot be voted on or closed without."""
    if ctx.ballot_key is None:
        raise Refusal(NO_BALLOT_KEY + " Nothing was changed.", example="/poll list")
    return ctx.ballot_key


def _secret_of(ctx: Context, poll: Poll) -> bytes | None:
    """The key that seals an open anonymous poll's choices; None for other polls."""
    return _ballot_secret(ctx) if poll.anonymous else None


def voted_practices(ctx: Context, poll: Poll, cluster: Cluster, keys: set[str] | None = None,
                    practices: list[Practice] | None = None) -> set[int]:
    """The cluster's current practices whose ballot is cast: a removed practice's ballot still counts in
    the tally but not in turnout. (A closed anonymous poll no longer knows whose ballots it holds.)
    `keys` and `practices`, when the caller has read them for several polls already."""
    if poll.anonymous and ctx.ballot_key is None:
        return set()  # no key, no way to tell (a process started while the database was down: bot/__main__)
    keys = store.voter_keys(session=ctx.session, poll=poll) if keys is None else keys
    practices = _practices(ctx, cluster) if practices is None else practices
    return {p.id for p in practices if voter_key(ctx, poll, f"practice:{p.id}") in keys}


def has_voted(ctx: Context, poll: Poll, member: Member, keys: set[str] | None = None) -> bool:
    """Whether this person's ballot (their practice's, on a per-practice poll) is cast; `keys`, the poll's
    voter keys when the caller has read them for several polls already."""
    if poll.per_practice and member.practice_id is None or poll.anonymous and ctx.ballot_key is None:
        return False
    voter = voter_key(ctx, poll, f"practice:{member.practice_id}" if poll.per_practice else f"person:{member.user_id}")
    if keys is not None:
        return voter in keys
    return store.has_ballot(session=ctx.session, poll=poll, voter_key=voter)


@dataclass(frozen=True)
class Turnout:
    ballots: int          # ballots that choose something
    voted: int            # practices (of the cluster's current ones) or people who have voted
    practices: int        # the cluster's practices

    def words(self, poll: Poll) -> str:
        if poll.anonymous and poll.closed_at:
            return f"{self.ballots} ballot{'s' if self.ballots != 1 else ''} cast"
        done = "rated" if poll.kind == "pick" else "voted"  # a PICK chart's ballot is a set of ratings
        if poll.per_practice:
            verb = "has" if self.voted == 1 else "have"
            return f"{self.voted} of {self.practices} practice{'s' if self.practices != 1 else ''} {verb} {done}"
        return f"{self.voted} {'person has' if self.voted == 1 else 'people have'} {done}"


def turnouts(ctx: Context, polls: list[Poll], cluster: Cluster,
             practices: list[Practice] | None = None) -> dict[int, Turnout]:
    """poll id -> its turnout, for any number of polls in two queries."""
    keys = store.voter_keys_of(session=ctx.session, polls=polls)
    if practices is None:
        practices = _practices(ctx, cluster) if any(p.per_practice for p in polls) else []
    return {p.id: Turnout(len(keys[p.id]),
                          len(voted_practices(ctx, p, cluster, keys[p.id], practices)) if p.per_practice
                          else len(keys[p.id]), len(practices)) for p in polls}


def _rules(poll: Poll, tz: str) -> str:
    parts = ["one ballot per practice" if poll.per_practice else "one ballot per person"]
    if poll.pick > 1:
        parts.append(f"pick up to {poll.pick}")
    if poll.anonymous:
        parts.append("anonymous")
    if (poll.hidden or poll.anonymous) and not poll.closed_at:
        parts.append("results shown when it closes")
    if poll.closed_at:
        parts.append(f"closed {describe(poll.closed_at, tz)}")
    elif poll.closes_at:
        parts.append(f"closes {describe(poll.closes_at, tz)}")
    if getattr(poll, "edited_at", None):  # commands/polls/edit.py
        parts.append(f"edited ({', '.join(poll.edited or [])}) {describe(poll.edited_at, tz)}")
    return " · ".join(parts)


def _counts_visible(poll: Poll) -> bool:
    """Hidden polls show no counts until the close; nor do anonymous ones, whose live counts beside the
    turnout would tell a practice's choice the moment it votes."""
    return poll.closed_at is not None or not (poll.hidden or poll.anonymous)


def card(ctx: Context, poll: Poll) -> Reply:
    """The poll's message: question, options with live bars, turnout, rules, and its buttons."""
    if poll.kind in KINDS:
        return KINDS[poll.kind].card(ctx, poll)
    cluster = ctx.session.get(Cluster, poll.cluster_id)
    tally = store.count(session=ctx.session, poll=poll)
    counts = tally.options
    lines: list[Line] = [line(Strong(f"{poll.short_id} · {poll.question}"))]
    for number, (option, n) in enumerate(zip(poll.options, counts, strict=True), start=1):
        shown = f"  {_bar(n, max(counts))} {n}" if _counts_visible(poll) else ""
        lines.append(line(f"{number}. ", option, shown))
    lines.append(line(turnouts(ctx, [poll], cluster)[poll.id].words(poll), " · ", _rules(poll, ctx.time_zone)))
    if poll.closed_at:
        lines += [line(Strong("Result:"), " ", *_result(poll, counts)), _participation(ctx, poll, tally)]
    reply = Reply.announce(*lines)
    if not poll.closed_at:
        reply.buttons = [Button(f"{n}. {o}", "poll.vote", f"{poll.short_id}:{n}") for n, o in
                         enumerate(poll.options, start=1)]
        reply.buttons += [Button("Results", "poll.results", poll.short_id),
                          Button("Close (creator or leads)", "poll.close", poll.short_id)]
    return reply


def _result(poll: Poll, counts: list[int]) -> tuple:
    """The winner (pick 1) or the top N (pick N), saying any tie at the cut-off rather than hiding it."""
    top = max(counts) if counts else 0
    if top == 0:
        return ("no ballots were cast.",)
    if poll.pick == 1:
        winners = [o for o, c in zip(poll.options, counts, strict=True) if c == top]
        if len(winners) == 1:
            return (winners[0], f" ({_ballots(top)}).")
        return ("a tie between ", _names(winners), f" ({_ballots(top)} each).")
    ranked = sorted(range(len(counts)), key=lambda i: -counts[i])
    cutoff = counts[ranked[poll.pick - 1]]
    above = [i for i in ranked if counts[i] > max(cutoff, 0)]
    tied = [i for i in ranked if counts[i] == cutoff and cutoff > 0]
    listed = ", ".join(f"{poll.options[i]} ({_ballots(counts[i])})" for i in above)
    if cutoff == 0:
        return (f"only {len(above)} option{'s were' if len(above) != 1 else ' was'} chosen: ", listed, ".")
    if len(above) + len(tied) == poll.pick:
        both = ", ".join(f"{poll.options[i]} ({_ballots(counts[i])})" for i in above + tied)
        return (f"top {poll.pick}: ", both, ".")
    places = poll.pick - len(above)
    tie = (f"a tie for the last {places} places" if places > 1 else "a tie for the last place") if above else \
        f"a tie for all {poll.pick} places"
    return (f"top {poll.pick}: ", *((listed, ", then ") if above else ()), tie, " between ",
            _names([poll.options[i] for i in tied]), f" ({_ballots(cutoff)} each).")


def _ballots(n: int) -> str:
    return f"{n} ballot{'s' if n != 1 else ''}"


def _names(options: list[str]) -> str:
    quoted = [f"“{o}”" for o in options]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _participation(ctx: Context, poll: Poll, count: store.Count) -> Line:
    """Turnout in words ("4 of 6 practices took part"), with a warning when fewer than half did."""
    cluster = ctx.session.get(Cluster, poll.cluster_id)
    if poll.per_practice:
        total, noun = len(_practices(ctx, cluster)), "practice"
    else:
        total, noun = len(cluster_store.list_members(session=ctx.session, cluster=cluster)), "member"
    voted = min(count.ballots, total) if total else count.ballots
    turnout = f"{voted} of {total} {noun}{'s' if total != 1 else ''} took part."
    if total and voted * 2 < total:
        return line(Strong("Turnout:"), f" {turnout} ⚠️ Fewer than half took part: treat this result with care.")
    return line(Strong("Turnout:"), f" {turnout}")


def _refresh(poll: Poll) -> list[Update]:
    """Bring the posted message up to date (if the platform posted it)."""
    if poll.posted_channel and poll.posted_ref:
        return [Update(f"poll:{poll.id}", poll.posted_channel, poll.posted_ref)]
    return []


# --- creating ------------------------------------------------------------------------------

def _create(ctx: Context, draft: Draft) -> Reply:
    cluster = ctx.require_cluster()
    if draft.anonymous and ctx.ballot_key is None:
        raise Refusal(NO_BALLOT_KEY + " A poll that isn't anonymous works now.", example=CREATE_EXAMPLE)
    for hook in BEFORE_POSTING:
        if (later := hook(ctx, draft)) is not None:
            return later
    poll = store.create_poll(session=ctx.session, cluster=cluster, poll=Poll(
        cluster_id=cluster.id, short_id="", question=draft.question, options=draft.options,
        per_practice=draft.per_practice, anonymous=draft.anonymous, hidden=draft.hidden, pick=draft.pick,
        kind=draft.kind, dots=draft.dots, closes_at=draft.closes_at, created_by=ctx.caller.user_id,
        submission_key=ctx.submission_key, remind=draft.remind,
    ))
    return Reply.quiet(Post(f"poll:{poll.id}", ctx.caller.channel_id, card(ctx, poll)))


@subcommand(POLL, '"Question?" "Option A" "Option B" [closes <date> [HH:MM]] [per person] [anonymous] '
            "[hidden] [pick N] [ranked | dots N]", CREATE_EXAMPLE,
            "post a poll (one ballot per practice unless per person)", members_only=True)
def create(ctx: Context, rest: str) -> Reply:
    return _create(ctx, parse_draft(ctx, rest))


@subcommand(POLL, "topics [closes <date> [HH:MM]]", "/poll topics closes friday",
            "a poll whose options are the cluster's proposed topics", members_only=True)
def from_topics(ctx: Context, rest: str) -> Reply:
    proposed = topic_store.list_topics(session=ctx.session, cluster=ctx.cluster, statuses=[TopicStatus.PROPOSED])
    if len(proposed) < POLL_OPTIONS_MIN:
        raise Refusal(f"There {'is' if len(proposed) == 1 else 'are'} {len(proposed)} proposed "
                      f"topic{'s' if len(proposed) != 1 else ''}; a poll needs at least {POLL_OPTIONS_MIN}.",
                      example="/topic propose Asthma reviews after discharge")
    if len(proposed) > POLL_OPTIONS_MAX:
        raise Refusal(f"There are {len(proposed)} proposed topics; a poll takes at most {POLL_OPTIONS_MAX}. "
                      "Drop or agree some first, or write the poll yourself.", example=CREATE_EXAMPLE)
    draft = Draft("Which proposed topic should the cluster take on?",
                  [f"{t.short_id} {t.title}"[:POLL_OPTION_MAX] for t in proposed])
    _apply_settings(ctx, draft, rest.split())
    return _create(ctx, check_draft(draft))


@subcommand(POLL, "form", "/poll", "open the form to write a poll (also /poll alone)", members_only=True)
def open_form(ctx: Context, rest: str) -> Reply:
    ctx.require_cluster()
    yes_no = (Choice("no", "No"), Choice("yes", "Yes"))
    fields = (
        FormField("question", "Question", max_length=POLL_QUESTION_MAX),
        FormField("options", f"Options, one per line ({POLL_OPTIONS_MIN} to {POLL_OPTIONS_MAX})", "long_text",
                  max_length=POLL_OPTIONS_MAX * (POLL_OPTION_MAX + 1)),
        FormField("closes_on", "Closes on", "date", optional=True),
        FormField("closes_at", "Closes at", "time", optional=True, initial="17:00"),
        FormField("ballots", "Ballots", "choice", initial="practice",
                  choices=(Choice("practice", "One per practice"), Choice("person", "One per person"))),
        FormField("pick", "How many options may a ballot choose?", initial="1", max_length=2),
        FormField("anonymous", "Anonymous (nobody sees who chose what)", "choice", initial="no", choices=yes_no),
        FormField("hidden", "Hide results until it closes", "choice", initial="no", choices=yes_no),
        *FORM_FIELDS,
    )
    return Reply(lines=[line("Writing a poll takes a form. Here, type it: ", Code(CREATE_EXAMPLE))],
                 form=Form("poll.form", "New poll", "Post", fields))


@form("poll.form", members_only=True)
def submit_form(ctx: Context, values: dict[str, str], context: dict) -> Reply:
    cluster = ctx.require_cluster()
    if ctx.submission_key and store.find_submitted_poll(session=ctx.session, cluster=cluster,
                                                         submission_key=ctx.submission_key):
        return Reply()
    pick = (values.get("pick") or "1").strip()
    if not pick.isdecimal():
        raise Refusal("Give a number, like 1.", field="pick")
    draft = Draft(values.get("question", ""), (values.get("options") or "").splitlines(),
                  per_practice=values.get("ballots") != "person", anonymous=values.get("anonymous") == "yes",
                  hidden=values.get("hidden") == "yes", pick=int(pick))
    for read in FORM_READERS:
        read(values, draft)
    if values.get("closes_on"):
        draft.closes_at = on_field("closes_on", deadline, [values["closes_on"], values.get("closes_at") or "17:00"],
                                   now=ctx.now(), tz=ctx.time_zone, example=CREATE_EXAMPLE)
    return _create(ctx, check_draft(draft, {"question": "question", "options": "options", "pick": "pick"}))


def _remember(session, item: int, channel: str, ref: str) -> None:
    store.remember_post(session=session, poll_id=item, channel=channel, ref=ref)


def _discard(session, item: int) -> None:
    store.discard_unposted(session=session, poll_id=item)


def _current(ctx_for, session, item: int) -> Reply | None:
    poll = session.get(Poll, item)
    if poll is None:
        return None
    cluster = session.get(Cluster, poll.cluster_id)
    return card(ctx_for(session, cluster, Caller(SYSTEM, cluster.channel_id, cluster.team_id)), poll)


POSTED["poll"] = Posted(_remember, _discard, _current,
                        live=lambda session: store.open_posted_polls(session=session))


# --- voting --------------------------------------------------------------------------------

def _voter(ctx: Context, poll: Poll) -> tuple[str, Member]:
    member = ctx.member
    if member is None:
        codes = ", ".join(p.code for p in _practices(ctx, ctx.cluster)) or "ask a lead to add your practice"
        raise Refusal(f"Only members of this cluster can vote. Join your practice first ({codes}).",
                      example="/cluster join 80123")
    if not poll.per_practice:
        return f"person:{member.user_id}", member
    if member.practice_id is None:
        raise Refusal("This poll has one ballot per practice, and you're in no practice yet. Join yours first.",
                      example="/cluster join 80123")
    return f"practice:{member.practice_id}", member


def vote(ctx: Context, poll: Poll, choose: int = 0, exactly: list[int] | None = None) -> Reply:
    """A button click toggles `choose` (pick N) or picks it (pick 1); a typed vote sets the ballot to
    `exactly` the options typed. A colleague whose practice ballot this changes is told."""
    if poll.closed_at:  # a stale button or a late vote: answer with the poll as it stands
        reply = results(ctx, poll)
        reply.lines.insert(0, line(f"{poll.short_id} closed on {describe(poll.closed_at, ctx.time_zone)}; "
                                   "it takes no more votes. Where it ended:"))
        return reply
    if poll.kind in KINDS:
        return KINDS[poll.kind].vote(ctx, poll, choose, exactly)
    for number in exactly or [choose]:
        if not 1 <= number <= len(poll.options):
            raise Refusal(f"{poll.short_id} has options 1 to {len(poll.options)}.",
                          example=f"/poll vote {poll.short_id} 1")
    voter, member = _voter(ctx, poll)
    secret = _secret_of(ctx, poll)
    if poll.anonymous and not store.still_open(session=ctx.session, poll_id=poll.id):
        raise Refusal(f"{poll.short_id} closed a moment ago; it takes no more votes.",
                      example=f"/poll results {poll.short_id}")
    if poll.per_practice:
        _one_practice_per_person(ctx, poll, member)
    key = voter_key(ctx, poll, voter)
    whose = "Your practice's ballot" if poll.per_practice else "Your ballot"
    previous = store.current_ballot(session=ctx.session, poll=poll, voter_key=key, secret=secret)
    before, before_by = previous or ([], "")
    if exactly is not None and len(set(exactly)) > poll.pick:
        raise Refusal(f"A ballot on {poll.short_id} chooses up to {poll.pick} option{'s' if poll.pick > 1 else ''}; "
                      f"you typed {len(set(exactly))}. Nothing was changed: {whose.lower()} still reads "
                      f"{_choices_text(poll, before)}.", example=f"/poll vote {poll.short_id} 1")
    try:
        # An anonymous ballot holds no identity: a keyed voter hash, no practice, no caster, no time of its own,
        # and its choice sealed until the close (storage.anonymity).
        chosen = store.cast_ballot(session=ctx.session, poll=poll, voter_key=key,
                                   practice_id=member.practice_id if poll.per_practice and not poll.anonymous else None,
                                   cast_by="" if poll.anonymous else member.user_id, choose=choose,
                                   now=poll.created_at if poll.anonymous else ctx.now(), exactly=exactly,
                                   secret=secret)
    except store.TooManyChoices as full:
        by = (" (cast by ", Person(before_by), ")") if before_by and before_by != ctx.caller.user_id else ()
        raise Refusal(f"Nothing was changed: {whose.lower()} on {poll.short_id} already chooses "
                      f"{_choices_text(poll, full.chosen)}", *by, f", the most it may ({poll.pick}). Click one of "
                      "those to take it back, or type the whole ballot:", example=f"/poll vote {poll.short_id} "
                      + " ".join(str(n) for n in range(1, poll.pick + 1))) from None
    if chosen == before:
        reply = Reply.tell(line(f"{whose} on ", Code(poll.short_id), " already reads: ", _choices_text(poll, chosen),
                                ". Nothing changed."))
        return reply
    reply = Reply.tell(line(f"{whose} on ", Code(poll.short_id), " is now: ", _choices_text(poll, chosen), "."))
    reply.effects = [*_refresh(poll), HomeChanged(ctx.caller.user_id, ctx.caller.team_id)]
    if poll.per_practice and before_by and before_by != ctx.caller.user_id and before:
        reply.lines.append(line("It was ", _choices_text(poll, before), ", cast by ", Person(before_by),
                                ", who has been told."))
        reply.effects.append(_tell_colleague(ctx, poll, before_by, before, chosen))
    return reply


def _one_practice_per_person(ctx: Context, poll: Poll, member: Member) -> None:
    """A person casts at most one practice's ballot per poll, so joining practice after practice and
    voting for each does not work."""
    cast_for = store.claim_caster(session=ctx.session, poll=poll, user_id=member.user_id,
                                  practice_id=member.practice_id)
    if cast_for != member.practice_id:
        earlier = ctx.session.get(Practice, cast_for)
        name = earlier.name if earlier else "another practice"
        raise Refusal(f"You have already voted on {poll.short_id} for {name}: "
                      "one person casts one practice's ballot per poll. Someone in your current practice can "
                      "vote for it.", example=f"/poll results {poll.short_id}")


def _choices_text(poll: Poll, chosen: list[int]) -> str:
    return ", ".join(f"{n}. {poll.options[n - 1]}" for n in chosen) or "nothing chosen"


def _tell_colleague(ctx: Context, poll: Poll, colleague: str, before: list[int], after: list[int]) -> Direct:
    """The practice's ballot was theirs; a colleague changed it. They hear who, and from what to what."""
    practice = cluster_store.practice_name(session=ctx.session, practice_id=ctx.member.practice_id)
    note = Reply.tell(line(Person(ctx.caller.user_id), " changed ", practice or "your practice",
                           "'s ballot on ", Code(poll.short_id), " ", Strong(poll.question), " from ",
                           _choices_text(poll, before), " to ", _choices_text(poll, after), "."))
    note.buttons = [Button("Results", "poll.results", poll.short_id, channel=ctx.cluster.channel_id)]
    return Direct(colleague, note)


@subcommand(POLL, "vote P2 <option number> [<more numbers>]", "/poll vote P2 1",
            "vote: your ballot becomes exactly the options typed (for your practice, on per-practice polls)")
def vote_typed(ctx: Context, rest: str) -> Reply:
    example = "/poll vote P2 1"
    token, rest = parsing.split_first(rest)
    poll = _poll(ctx, token, example)
    numbers = rest.replace(",", " ").split()
    if not numbers or not all(n.isdecimal() and n.isascii() for n in numbers):
        raise Refusal(f"Give the option's number, from 1 to {len(poll.options)}"
                      f"{f' (up to {poll.pick} of them)' if poll.pick > 1 else ''}.",
                      example=f"/poll vote {poll.short_id} 1")
    return vote(ctx, poll, exactly=[int(n) for n in numbers])


@button("poll.vote")
def vote_button(ctx: Context, value: str) -> Reply:
    """The click of the meeting's burst: the poll is read as a plain row (a vote never changes it)."""
    token, _, number = value.partition(":")
    poll = parsing.find_item(ctx, token, prefix="P", noun="poll", find=store.poll_fields, example="/poll vote P2 1")
    return vote(ctx, poll, int(number) if number.isdecimal() else 0)


# --- closing, results, reminders -----------------------------------------------------------

@item_command(POLL, "close P2", "/poll close P2", "close a poll now (its creator or a lead)", find=_poll,
              action="poll.close", audited=True)
def close(ctx: Context, poll: Poll) -> Reply:
    if poll.closed_at:
        return Reply.tell(line(Code(poll.short_id), f" already closed on {describe(poll.closed_at, ctx.time_zone)}."))
    ctx.require_owner_or_lead(poll.created_by, f"created {poll.short_id}", "/poll close")
    if not store.close_poll(session=ctx.session, poll=poll, by=ctx.caller.user_id, now=ctx.now(),
                            secret=_secret_of(ctx, poll)):
        return Reply.tell(line(Code(poll.short_id), " was closed a moment ago."))
    return _closing(ctx, poll, line(Person(ctx.caller.user_id), " closed ", Code(poll.short_id), ": ", poll.question))


def _closing(ctx: Context, poll: Poll, heading: Line) -> Reply:
    count = store.count(session=ctx.session, poll=poll)
    if poll.kind in KINDS:
        said, more = KINDS[poll.kind].result(ctx, poll)
    else:
        said, more = [line(Strong("Result:"), " ", *_result(poll, count.options))], []
    reply = Reply.announce(heading, *said, _participation(ctx, poll, count))
    reply.effects = _refresh(poll) + more
    return reply


@item_command(POLL, "results P2", "/poll results P2", "tallies, turnout and (unless anonymous) each ballot",
              find=_poll, action="poll.results")
def results(ctx: Context, poll: Poll) -> Reply:
    cast = store.ballots(session=ctx.session, poll=poll)
    reply = card(ctx, poll)
    reply.audience, reply.buttons = Reply.tell().audience, []
    if poll.per_practice and not (poll.anonymous and poll.closed_at):
        voted = voted_practices(ctx, poll, ctx.cluster)
        waiting = [p for p in _practices(ctx, ctx.cluster) if p.id not in voted]
        reply.lines.append(line("Not voted yet: ", ", ".join(p.name for p in waiting) or "nobody", "."))
    if not poll.anonymous and _counts_visible(poll):
        practices = {p.id: p for p in _practices(ctx, ctx.cluster)}
        for ballot in cast:
            chosen = ", ".join(str(n) for n in store.parse_choices(ballot.choices))
            who = (practices[ballot.practice_id].name,) if ballot.practice_id in practices else ()
            reply.lines.append(line("• ", *who, " — ", chosen, " (cast by ", Person(ballot.cast_by), ")"))
    return reply


@subcommand(POLL, "list", "/poll list", "open polls and those closed in the last 30 days", personal=True)
def list_polls(ctx: Context, rest: str) -> Reply:
    polls = store.list_polls(session=ctx.session, cluster=ctx.cluster, closed_since=ctx.now() - store.RECENTLY)
    if not polls:
        return Reply.tell(line("No polls yet. Start one: ", Code(CREATE_EXAMPLE)))
    lines = [line(Strong(f"Polls in {ctx.cluster.name}"))]
    turnout = turnouts(ctx, [p for p in polls if p.closed_at is None], ctx.cluster)
    for poll in polls:
        state = (f"closed {describe(poll.closed_at, ctx.time_zone)}" if poll.closed_at
                 else f"open, {turnout[poll.id].words(poll)}")
        lines.append(line("• ", Code(poll.short_id), " ", poll.question, f" — {state}"))
    return Reply.tell(*lines)


@subcommand(POLL, "remind P2", "/poll remind P2", "DM the people whose practice hasn't voted (creator or leads)")
def remind(ctx: Context, rest: str) -> Reply:
    poll = _poll(ctx, parsing.split_first(rest)[0], "/poll remind P2")
    ctx.require_owner_or_lead(poll.created_by, f"created {poll.short_id}", "/poll remind")
    if poll.closed_at:
        raise Refusal(f"{poll.short_id} is closed.", example=f"/poll results {poll.short_id}")
    waiting = not_voted(ctx, poll)
    if not waiting:
        return Reply.tell(line("Everyone has voted on ", Code(poll.short_id), ": nobody to remind."))
    reply = Reply.tell(line("Reminded ", *people_list(m.user_id for m in waiting), "."))
    reply.effects = reminders(ctx, poll, waiting, asked_by=ctx.caller.user_id)
    return reply


def not_voted(ctx: Context, poll: Poll) -> list[Member]:
    """The members to remind: those in a practice that has not voted (per practice), or who have not."""
    members = cluster_store.list_members(session=ctx.session, cluster=ctx.cluster)
    if poll.per_practice:
        voted = voted_practices(ctx, poll, ctx.cluster)
        return [m for m in members if m.practice_id is not None and m.practice_id not in voted]
    voted_people = store.voter_keys(session=ctx.session, poll=poll)
    return [m for m in members if voter_key(ctx, poll, f"person:{m.user_id}") not in voted_people]


def reminders(ctx: Context, poll: Poll, waiting: list[Member], asked_by: str | None) -> list[Direct]:
    """The reminder each waiting member gets: asked for by a person (`/poll remind`) or, with `asked_by`
    None, the automatic one a working day before the deadline (commands/polls/timetable.py)."""
    whose = "your practice hasn't" if poll.per_practice else "you haven't"
    closes = f" It closes {describe(poll.closes_at, ctx.time_zone)}." if poll.closes_at else ""
    asks = (Person(asked_by), " asks you to vote") if asked_by else ("Reminder, please vote",)
    note = Reply.tell(line(*asks, f": {whose} voted on ", Code(poll.short_id), " ", Strong(poll.question),
                           f" yet.{closes}"),
                      *(line(f"{n}. ", option) for n, option in enumerate(poll.options, start=1)),
                      line("Click an option below, or type ", Code(f"/poll vote {poll.short_id} 1"), "."))
    note.buttons = [Button(f"{n}. {o}", "poll.vote", f"{poll.short_id}:{n}", channel=ctx.cluster.channel_id)
                    for n, o in enumerate(poll.options, start=1)]
    if poll.kind in KINDS:  # how to rank, spend dots or rate instead
        KINDS[poll.kind].reminder(ctx, poll, note)
    # not sent once it closed
    return [Direct(m.user_id, note, team_id=ctx.cluster.team_id, until=poll.closes_at) for m in waiting]


@subcommand(POLL, "extend P2 <date> [HH:MM]", "/poll extend P2 friday week",
            "give a poll a later deadline (its creator or a lead)", audited=True)
def extend(ctx: Context, rest: str) -> Reply:
    example = "/poll extend P2 friday week"
    token, rest = parsing.split_first(rest)
    poll = _poll(ctx, token, example)
    ctx.require_owner_or_lead(poll.created_by, f"created {poll.short_id}", "/poll extend")
    if poll.closed_at:
        raise Refusal(f"{poll.short_id} closed on {describe(poll.closed_at, ctx.time_zone)}; a closed poll stays "
                      "closed. Start a new one if the cluster needs to decide again.", example=CREATE_EXAMPLE)
    closes_at = deadline(rest.split(), now=ctx.now(), tz=ctx.time_zone, example=example)
    before = poll.closes_at
    if not store.extend_poll(session=ctx.session, poll=poll, closes_at=closes_at):
        return Reply.tell(line(Code(poll.short_id), " was closed a moment ago."))
    was = f" (it was {describe(before, ctx.time_zone)})" if before else " (it had no deadline)"
    reply = Reply.announce(line(Person(ctx.caller.user_id), " extended ", Code(poll.short_id), " ", poll.question,
                                ": it now closes ", Strong(describe(closes_at, ctx.time_zone)), was, "."))
    reply.effects = _refresh(poll)
    return reply


# --- the scheduler closes polls at their deadline ------------------------------------------

def _due(session, now: datetime, time_zone: str) -> list[int]:
    return store.due_polls(session=session, now=now)


def _close_at_deadline(ctx_for, session, item: int, now: datetime) -> list:
    poll = session.get(Poll, item)
    secret = None
    if poll.anonymous:
        cluster = session.get(Cluster, poll.cluster_id)
        secret = ctx_for(session, cluster, Caller(SYSTEM, cluster.channel_id, cluster.team_id)).ballot_key
        if secret is None:  # left open, due, until a process with the key closes it
            log.warning("poll %s is due to close but is anonymous and BALLOT_KEY is not set", poll.id)
            return []
    if not store.close_poll(session=session, poll=poll, by="deadline", now=now, secret=secret):
        return []  # another process closed it first
    return _refresh(poll) + _announce(ctx_for, session, item, now)


def _unannounced(session, now: datetime, time_zone: str) -> list[int]:
    return store.unannounced_polls(session=session, now=now)


def _announce(ctx_for, session, item: int, now: datetime) -> list:
    """Post the result of a poll closed at its deadline: claimed and put in the outbox in one
    transaction, so exactly one process announces it, and the outbox sees it sent (late, never lost)."""
    if not store.claim_announcement(session=session, poll_id=item, now=now):
        return []
    poll = session.get(Poll, item)
    cluster = session.get(Cluster, poll.cluster_id)
    ctx = ctx_for(session, cluster, Caller(SYSTEM, cluster.channel_id, cluster.team_id))
    reply = _closing(ctx, poll, line(Code(poll.short_id), " closed at its deadline: ", poll.question))
    return [Post(None, cluster.channel_id, Reply.announce(*reply.lines))]


TICKS.append((_due, _close_at_deadline))
TICKS.append((_unannounced, _announce))
