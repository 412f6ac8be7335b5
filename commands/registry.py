"""The one list of commands: dispatch, help and the Slack manifest are all generated from it."""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from commands.errors import Refusal
from commands.results import Code, Line, Reply, line

if TYPE_CHECKING:
    from commands.context import Context

# The four kinds of handler the registry holds, named:
CommandHandler = Callable[["Context", str], Reply]                        # (ctx, the text after its words)
ButtonHandler = Callable[["Context", str], Reply]                         # (ctx, the button's value)
FormHandler = Callable[["Context", dict[str, str], dict[str, str]], Reply]  # (ctx, values, the form's context)
DueWork = Callable[..., list]   # a tick's question: (session, now, time_zone) -> the items due
TickWork = Callable[..., list]  # a tick's work on one item: (context_for, session, item, now) -> effects
Handler = Callable[..., Reply]  # any of the three above (decorators that take all kinds)
QUOTE_MARKS = ('"', "“", "”", "„")  # (ctx: Context, rest: str) -> Reply


@dataclass(frozen=True)
class Subcommand:
    words: tuple[str, ...]      # what the person types first, e.g. ("practice", "add")
    usage: str                  # "practice add <5-digit code> <name>"
    example: str                # "practice add 80123 Riverside Medical Practice"
    summary: str
    handler: CommandHandler
    needs_cluster: bool = True
    leads_only: bool = False
    later: CommandHandler | None = None  # slow work (an export) done after the quick answer
    read_only: bool = False       # only reads: runs without the writers' lock (SQLite) and commits nothing
    personal: bool = False        # asked in a 1:1 chat with the bot, it answers for each of the person's clusters
    # It hands out a file of the cluster's data (an export, a report): refused to guests unless the cluster's
    # leads allow it (Context.require_may_take_files). A function of the text after its words when only
    # some of its forms do (`minutes M1 word`).
    files: bool | Callable[[str], bool] = False
    audited: bool = False         # changes the register, roles or record: an audit entry (leads_only ones too)
    # It writes the cluster's record (meetings, decisions, topics, polls, actions): members only, never a
    # stranger from the tenant nor a Board viewer (Context.require_writer, applied by the product).
    members_only: bool = False
    audit_person: bool = True     # False: its entry names "a former member", not the person (an erasure's own)

    @property
    def in_audit(self) -> bool:
        return (self.audited or self.leads_only) and not self.read_only

    def takes_files(self, rest: str) -> bool:
        return self.files(rest) if callable(self.files) else self.files


@dataclass
class Family:
    command: str                # "/cluster"
    summary: str                # one line, also the slash command's description in the manifest
    usage_hint: str             # shown by Slack while typing
    example: str = ""           # the family's one working example for /cluster help
    default: str = "help"       # the subcommand run when the command comes with no text
    subcommands: list[Subcommand] = field(default_factory=list)
    _sorted: list[Subcommand] = field(default_factory=list, init=False, repr=False, compare=False)

    def _longest_first(self) -> list[Subcommand]:
        # Sorted once per registry size (subcommands are registered at import; every request looks up).
        if len(self._sorted) != len(self.subcommands):
            self._sorted = sorted(self.subcommands, key=lambda s: -len(s.words))
        return self._sorted

    def find(self, words: list[str]) -> tuple[Subcommand | None, int]:
        """The subcommand whose words start `words` (longest match first), and how many it took."""
        lowered = [w.lower() for w in words]
        for sub in self._longest_first():
            if sub.words and tuple(lowered[: len(sub.words)]) == sub.words:
                return sub, len(sub.words)
        # A subcommand whose usage starts with a quoted phrase takes text that starts with a quote.
        quoted = [s for s in self.subcommands if not s.words]
        if quoted and words and words[0][:1] in QUOTE_MARKS:
            return quoted[0], 0
        return None, 0


FAMILIES: dict[str, Family] = {}
# Message shortcuts (Slack's "…" menu on a message): (name people see, button action it runs, description).
SHORTCUTS = [("Create cluster action", "action.from_message", "Turn this message into a cluster action")]
BUTTONS: dict[str, ButtonHandler] = {}  # action name -> its handler
FORMS: dict[str, FormHandler] = {}      # form name -> its handler
AUDITED: set[str] = set()               # "button <action>" and "form <name>" that write an audit entry
MEMBERS_ONLY: set[str] = set()          # "button <action>" and "form <name>" that write the cluster's record
# Buttons whose press only opens a form (changes nothing): a platform that opens forms from a card button
# (Teams' dialogs) makes them open it in one click.
FORM_BUTTONS: set[str] = set()


@dataclass(frozen=True)
class Posted:
    """A kind of message the product keeps a reference to (a poll's card), by key prefix ("poll")."""

    remember: Callable[..., None]          # (session, id, channel, ref): the platform posted it
    discard: Callable[..., None]           # (session, id): the platform refused it for good
    current: Callable[..., Reply | None]   # (context_for, session, id): what it should show now
    live: Callable[..., list] | None = None  # (session): [(id, channel, ref)] still changing (refreshed on start)


POSTED: dict[str, Posted] = {}
# Work the scheduler does on each tick: (session, now) -> list of effects.
TICKS: list[tuple[DueWork, TickWork]] = []


def listing() -> str:
    """Every command, button, form and tick with the module that holds it (`python -m bot commands`), in
    the declared order (commands/families.py), read from the registry itself."""
    import commands.product  # noqa: F401  (registers every family)

    out = []
    for fam in FAMILIES.values():
        out.append(f"{fam.command}  ({fam.summary})")
        for sub in fam.subcommands:
            out.append(f"  {fam.command} {sub.usage:<60} {sub.handler.__module__}")
    out.append("buttons")
    out += [f"  {name:<30} {handler.__module__}" for name, handler in BUTTONS.items()]
    out.append("forms")
    out += [f"  {name:<30} {handler.__module__}" for name, handler in FORMS.items()]
    out.append("scheduled work (each tick)")
    out += [f"  {due.__module__}.{due.__name__} -> {run.__name__}" for due, run in TICKS]
    return "\n".join(out) + "\n"


def item_command(fam: Family, usage: str, example: str, summary: str, *, find: Handler,
                 action: str | None = None, many: bool = False, **options) -> Callable[[Handler], Handler]:
    """Decorator for a subcommand about one item (`show T3`) and, with `action`, the button that does
    the same. The handler gets the item: handler(ctx, item) -> Reply; `find(ctx, token, example)`.
    `many`: the typed form takes several ids (`done A2 A9`), each handled in turn; otherwise more than
    one id is refused rather than the rest silently ignored."""

    def plug(handler: Handler) -> Handler:
        def typed(ctx, rest: str) -> Reply:
            tokens = list(dict.fromkeys(rest.split())) or [""]
            if len(tokens) > 1 and not many:
                raise Refusal(f"{fam.command} {usage.split()[0]} takes one id; you typed {len(tokens)} "
                              f"({' '.join(t[:12] for t in tokens[:4])}). Nothing was changed.", example=example)
            items = [find(ctx, token, example) for token in tokens]  # every id is known before anything changes
            return combined([handler(ctx, item) for item in items])

        def pressed(ctx, value: str) -> Reply:
            return handler(ctx, find(ctx, value, example))

        # Named after the handler they wrap, so listings and logs name the family's module.
        subcommand(fam, usage, example, summary, **options)(functools.update_wrapper(typed, handler))
        if action:
            audited = options.get("audited", False) or options.get("leads_only", False)
            button(action, audited=audited, members_only=options.get("members_only", False))(
                functools.update_wrapper(pressed, handler))
        return handler

    return plug


def combined(replies: list[Reply]) -> Reply:
    """Several replies as one: the lines and effects of each; shown in the channel if any one is."""
    if len(replies) == 1:
        return replies[0]
    announced = [r for r in replies if r.audience == replies[0].announce().audience]
    whole = Reply.announce() if announced else Reply.tell()
    for reply in replies:
        whole.lines += reply.lines
        whole.effects += reply.effects
    return whole


def help_lines() -> list[Line]:
    """Every command family with one working example (for /cluster help and the Home tab)."""
    return [line(Code(fam.command), f" — {fam.summary}. e.g. ", Code(fam.example)) for fam in FAMILIES.values()]


def button(action: str, *, audited: bool = False, members_only: bool = False,
           opens_form: bool = False) -> Callable[[Handler], Handler]:
    """Decorator: the handler for a button's action name (e.g. "topic.agree"); `audited`: a click that
    changes the register, roles or record writes an audit entry; `members_only` as for a subcommand;
    `opens_form`: its press answers with a form to fill in (or says why not) and changes nothing."""

    def plug(handler: Handler) -> Handler:
        BUTTONS[action] = handler
        if opens_form:
            FORM_BUTTONS.add(action)
        if audited:
            AUDITED.add(f"button {action}")
        if members_only:
            MEMBERS_ONLY.add(f"button {action}")
        return handler

    return plug


def form(name: str, *, audited: bool = False, members_only: bool = False) -> Callable[[Handler], Handler]:
    """Decorator: the handler for a submitted form; `audited` and `members_only` as for a button."""

    def plug(handler: Handler) -> Handler:
        FORMS[name] = handler
        if audited:
            AUDITED.add(f"form {name}")
        if members_only:
            MEMBERS_ONLY.add(f"form {name}")
        return handler

    return plug


def family(command: str, summary: str, usage_hint: str, example: str = "") -> Family:
    """Declare a command family; a module adds its subcommands with `subcommand`."""
    FAMILIES[command] = Family(command, summary, usage_hint, example)
    return FAMILIES[command]


def subcommand(fam: Family, usage: str, example: str, summary: str, **options) -> Callable[[Handler], Handler]:
    """Decorator: plug a handler into a family. Its words are the literal words at the start of usage."""

    def plug(handler: Handler) -> Handler:
        words = tuple(usage.split()[: _literal_prefix(usage)])
        fam.subcommands.append(Subcommand(words, usage, example, summary, handler, **options))
        return handler

    return plug


def _literal_prefix(usage: str) -> int:
    """How many words people type as they are: lowercase words, up to the first placeholder or id."""
    count = 0
    for word in usage.split():
        # hyphenated words are words too (`/poll pick-chart`)
        if not (word.replace("-", "").isalpha() and word.islower() and word[0].isalpha() and word[-1].isalpha()):
            break
        count += 1
    return count


# The slash commands, in the order people meet them. Families not built yet still answer.
family("/cluster", "Set up the cluster: practices, people, leads and help",
       "setup | practice add | join | who | help", example="/cluster who")
family("/topic", "Propose QI topics and move them through the improvement lifecycle",
       "propose <title> | list | show T3 | move T3 <status>")
family("/poll", "Poll the practices on cluster priorities (one ballot per practice)",
       '"Question?" "Option A" "Option B" | vote P2 <n> | results P2')
family("/action", "Track the cluster's actions and export the log to Excel",
       "add <what> @owner due <date> | list | done A7 | export")
family("/meeting", "Schedule cluster meetings with reminders and a live agenda",
       "schedule <date> <HH:MM> <title> | list | agenda M1")
family("/measure", "Measures of a topic: data per practice, run charts and their signals",
       "add T3 <name> | record D1 <period> <value> | data D1 | chart D1 all")
family("/pdsa", "PDSA cycles of a topic's change ideas: plan with a prediction, do, study, act",
       "plan C4 <what> predict <prediction> | do C4.1 | study C4.1 | act C4.1 adapt | list T3")
