"""/cluster: set up the cluster, its practices, its people and its leads; and help for everything."""

from commands.context import GUESTS_EXPORT_ON, SETUP_EXAMPLE, Context, people_list
from commands.errors import Refusal
from commands.registry import FAMILIES, Subcommand, help_lines, subcommand
from commands.results import Code, Line, Person, Reply, Strong, line
from commands.text import parsing
from storage import clusters as store
from storage import erasure, viewers
from storage.models import Member, Practice, Role

CLUSTER = FAMILIES["/cluster"]

PRACTICE_ADD_EXAMPLE = "/cluster practice add 80123 Riverside Medical Practice"


def _practice_label(practice: Practice) -> tuple:
    return (Strong(practice.name), " (", Code(practice.code), ")")


def _known_practice(ctx: Context, code: str, example: str) -> Practice:
    practice = store.find_practice(session=ctx.session, cluster=ctx.cluster, code=code)
    if practice is None:
        known = ", ".join(p.code for p in store.list_practices(session=ctx.session, cluster=ctx.cluster))
        hint = f" Practices here: {known}." if known else " No practices are registered yet."
        raise Refusal(f"No practice with code {code} in this cluster.{hint}", example=example)
    return practice


def _known_member(ctx: Context, user_id: str) -> Member:
    member = store.find_member(session=ctx.session, cluster=ctx.cluster, user_id=user_id)
    if member is None:
        raise Refusal(Person(user_id), " isn't in this cluster.", example="/cluster who")
    return member


@subcommand(CLUSTER, "setup <cluster name>", SETUP_EXAMPLE,
            "make this channel a cluster; you become its first lead", needs_cluster=False,
            audited=True)
def setup(ctx: Context, rest: str) -> Reply:
    if ctx.caller.conversation == "personal":
        raise Refusal("A cluster lives in a channel of its team, where everyone in it sees what is shared: "
                      "this chat is only yours. Go to the cluster's channel and set it up there.",
                      example=SETUP_EXAMPLE)
    if ctx.cluster is not None:
        raise Refusal(f"This channel is already the cluster “{ctx.cluster.name}”.", example="/cluster who")
    cluster_name = parsing.name(rest, "cluster name", SETUP_EXAMPLE)
    caller = ctx.caller
    cluster = store.create_cluster(
        session=ctx.session, team_id=caller.team_id, enterprise_id=caller.enterprise_id,
        channel_id=caller.channel_id, name=cluster_name, time_zone=ctx.time_zone, lead_user_id=caller.user_id,
        platform=caller.platform,
    )
    return Reply.announce(
        line(Person(caller.user_id), " made this channel the cluster ", Strong(cluster.name),
             " and is its first lead."),
        line("Next, register the member practices: ", Code(PRACTICE_ADD_EXAMPLE)),
        line("Then everyone joins their practice: ", Code("/cluster join 80123")),
    )


@subcommand(CLUSTER, "practice add <5-digit code> <name>", PRACTICE_ADD_EXAMPLE,
            "register a member practice", leads_only=True)
def practice_add(ctx: Context, rest: str) -> Reply:
    token, rest = parsing.split_first(rest)
    code = parsing.practice_code(token, PRACTICE_ADD_EXAMPLE)
    practice_name = parsing.name(rest, "practice name", PRACTICE_ADD_EXAMPLE)
    existing = store.find_practice(session=ctx.session, cluster=ctx.cluster, code=code)
    if existing is not None:
        raise Refusal(f"Practice {code} is already registered as “{existing.name}”.",
                      example="/cluster practice list")
    practice = store.add_practice(session=ctx.session, cluster=ctx.cluster, code=code, name=practice_name)
    return Reply.announce(
        line(Person(ctx.caller.user_id), " registered ", *_practice_label(practice), "."),
        line("Its people can join with ", Code(f"/cluster join {code}")),
    )


@subcommand(CLUSTER, "practice remove <5-digit code>", "/cluster practice remove 80123",
            "remove a practice (its people stay in the cluster)", leads_only=True)
def practice_remove(ctx: Context, rest: str) -> Reply:
    example = "/cluster practice remove 80123"
    code = parsing.practice_code(parsing.split_first(rest)[0], example)
    practice = _known_practice(ctx, code, example)
    people = store.archive_practice(session=ctx.session, practice=practice)
    lines = [line(Person(ctx.caller.user_id), " removed ", *_practice_label(practice), " from the cluster.")]
    if people:
        lines.append(line(f"{len(people)} {'person is' if len(people) == 1 else 'people are'} now in no practice: ",
                          *people_list(m.user_id for m in people), "."))
    return Reply.announce(*lines)


@subcommand(CLUSTER, "practice list", "/cluster practice list", "the member practices and their codes",
            read_only=True)
def practice_list(ctx: Context, rest: str) -> Reply:
    practices = store.list_practices(session=ctx.session, cluster=ctx.cluster)
    if not practices:
        return Reply.tell(line("No practices yet. A lead adds them: ", Code(PRACTICE_ADD_EXAMPLE)))
    counts = _members_by_practice(store.list_members(session=ctx.session, cluster=ctx.cluster))
    lines = [line(Strong(f"Practices in {ctx.cluster.name}"))]
    for p in practices:
        n = len(counts.get(p.id, []))
        lines.append(line(Code(p.code), " ", p.name, f" — {n} {'person' if n == 1 else 'people'}"))
    return Reply.tell(*lines)


@subcommand(CLUSTER, "join <5-digit code>", "/cluster join 80123", "join your practice (or move to another)",
            audited=True)
def join(ctx: Context, rest: str) -> Reply:
    example = "/cluster join 80123"
    code = parsing.practice_code(parsing.split_first(rest)[0], example)
    practice = _known_practice(ctx, code, example)
    if ctx.member is not None and ctx.member.practice_id == practice.id:
        return Reply.tell(line("You're already in ", *_practice_label(practice), "."))
    store.save_member(session=ctx.session, cluster=ctx.cluster, user_id=ctx.caller.user_id, practice=practice)
    return Reply.announce(line(Person(ctx.caller.user_id), " joined ", *_practice_label(practice), "."))


@subcommand(CLUSTER, "member add @person <5-digit code>", "/cluster member add @Jane 80123",
            "put someone in a practice", leads_only=True)
def member_add(ctx: Context, rest: str) -> Reply:
    example = "/cluster member add @Jane 80123"
    token, rest = parsing.split_first(rest)
    user_id = parsing.mention(token, example)
    code = parsing.practice_code(parsing.split_first(rest)[0], example)
    practice = _known_practice(ctx, code, example)
    store.save_member(session=ctx.session, cluster=ctx.cluster, user_id=user_id, practice=practice)
    return Reply.announce(
        line(Person(ctx.caller.user_id), " added ", Person(user_id), " to ", *_practice_label(practice), ".")
    )


@subcommand(CLUSTER, "member remove @person", "/cluster member remove @Jane",
            "take someone out of the cluster", leads_only=True)
def member_remove(ctx: Context, rest: str) -> Reply:
    user_id = parsing.mention(parsing.split_first(rest)[0], "/cluster member remove @Jane")
    member = _known_member(ctx, user_id)
    if member.role == Role.LEAD:
        _keep_one_lead(ctx)
    store.remove_member(session=ctx.session, member=member)
    return Reply.announce(line(Person(ctx.caller.user_id), " took ", Person(user_id), " out of the cluster."))


FORGET_EXAMPLE = "/cluster forget @Jane"
CONFIRM = "confirm"


@subcommand(CLUSTER, "forget @person", FORGET_EXAMPLE,
            "erase someone's name and id from this cluster's records (UK GDPR right to erasure)", leads_only=True,
            audit_person=False)
def forget(ctx: Context, rest: str) -> Reply:
    """Only this cluster's rows: the person's rows in other clusters are those clusters' leads' (or the
    operator's `python -m bot forget`, which erases across the deployment). Nothing is undone afterwards,
    so the first time it only says what will happen."""
    token, rest = parsing.split_first(rest)
    user_id = parsing.mention(token, FORGET_EXAMPLE)
    if rest.strip().lower() != CONFIRM:
        return Reply.tell(
            line("This erases ", Person(user_id), " from ", Strong(ctx.cluster.name), "'s records for good: "
                 "they leave the cluster, and what they proposed, owned, wrote or recorded stays, shown as by "
                 "a former member. Their practice's ballots stay the practice's. It cannot be undone."),
            line("To go ahead, type the same with ", Code(CONFIRM), " at the end: ",
                 Code(f"{FORGET_EXAMPLE} {CONFIRM}")))
    member = store.find_member(session=ctx.session, cluster=ctx.cluster, user_id=user_id)
    if member is not None and member.role == Role.LEAD:
        _keep_one_lead(ctx)
    erased = erasure.erase(session=ctx.session, user_id=user_id, cluster_id=ctx.cluster.id)
    if not erased:
        return Reply.tell(line("Nothing about that person is held in this cluster's records."))
    return Reply.announce(line(Person(ctx.caller.user_id), " erased a person from the cluster's records at "
                               "their request: what they did is now shown as by a former member."))


@subcommand(CLUSTER, "lead add @person", "/cluster lead add @Jane", "make someone a lead", leads_only=True)
def lead_add(ctx: Context, rest: str) -> Reply:
    user_id = parsing.mention(parsing.split_first(rest)[0], "/cluster lead add @Jane")
    member = store.find_member(session=ctx.session, cluster=ctx.cluster, user_id=user_id)
    if member is not None and member.role == Role.LEAD:
        return Reply.tell(line(Person(user_id), " is already a lead."))
    store.save_member(session=ctx.session, cluster=ctx.cluster, user_id=user_id, role=Role.LEAD)
    return Reply.announce(line(Person(ctx.caller.user_id), " made ", Person(user_id), " a lead of the cluster."))


@subcommand(CLUSTER, "lead remove @person", "/cluster lead remove @Jane",
            "make a lead an ordinary member", leads_only=True)
def lead_remove(ctx: Context, rest: str) -> Reply:
    user_id = parsing.mention(parsing.split_first(rest)[0], "/cluster lead remove @Jane")
    member = _known_member(ctx, user_id)
    if member.role != Role.LEAD:
        raise Refusal(Person(user_id), " isn't a lead.", example="/cluster who")
    _keep_one_lead(ctx)
    store.save_member(session=ctx.session, cluster=ctx.cluster, user_id=user_id, role=Role.MEMBER)
    return Reply.announce(line(Person(ctx.caller.user_id), " made ", Person(user_id), " an ordinary member."))


VIEWER_ADD_EXAMPLE = "/cluster viewer add @Jane"


@subcommand(CLUSTER, "viewer add @person", VIEWER_ADD_EXAMPLE,
            "let someone outside the practices (a Board manager) read the record and take the report, writing "
            "nothing", leads_only=True, audited=True)
def viewer_add(ctx: Context, rest: str) -> Reply:
    user_id = parsing.mention(parsing.split_first(rest)[0], VIEWER_ADD_EXAMPLE)
    if store.find_member(session=ctx.session, cluster=ctx.cluster, user_id=user_id) is not None:
        raise Refusal(Person(user_id), " is a member of the cluster already, and members read everything. A viewer "
                      "is someone outside its practices: to make a member a viewer, take them out first.",
                      example="/cluster member remove @Jane")
    if not viewers.add_viewer(session=ctx.session, cluster_id=ctx.cluster.id, user_id=user_id,
                              added_by=ctx.caller.user_id):
        return Reply.tell(line(Person(user_id), " is already a viewer. Nothing was changed."))
    return Reply.announce(line(Person(ctx.caller.user_id), " made ", Person(user_id), " a viewer of the cluster: "
                               "they read its record and take its report, and write nothing."))


@subcommand(CLUSTER, "viewer remove @person", "/cluster viewer remove @Jane", "take a viewer off the cluster",
            leads_only=True, audited=True)
def viewer_remove(ctx: Context, rest: str) -> Reply:
    user_id = parsing.mention(parsing.split_first(rest)[0], "/cluster viewer remove @Jane")
    if not viewers.remove_viewer(session=ctx.session, cluster_id=ctx.cluster.id, user_id=user_id):
        raise Refusal(Person(user_id), " isn't a viewer of this cluster.", example="/cluster viewer list")
    return Reply.announce(line(Person(ctx.caller.user_id), " took ", Person(user_id), " off the cluster's viewers."))


@subcommand(CLUSTER, "viewer list", "/cluster viewer list", "the cluster's Board viewers (read-only)",
            leads_only=True, read_only=True)
def viewer_list(ctx: Context, rest: str) -> Reply:
    people = viewers.list_viewers(session=ctx.session, cluster_id=ctx.cluster.id)
    if not people:
        return Reply.tell(line("The cluster has no viewers. A lead adds one with ", Code(VIEWER_ADD_EXAMPLE), "."))
    return Reply.tell(line("Viewers (read the record and take the report; write nothing): ",
                           *_run_together([(Person(user_id),) for user_id in people]), "."))


@subcommand(CLUSTER, "guests export on|off", GUESTS_EXPORT_ON,
            "let guests (people from outside the organisation) take exports and reports, or not (off at first)",
            leads_only=True)
def guests_export(ctx: Context, rest: str) -> Reply:
    word = parsing.split_first(rest)[0].lower()
    now = "allowed" if ctx.cluster.guests_export else "not allowed"
    if word not in ("on", "off"):
        raise Refusal(f"Say on or off. Guests' exports and reports are {now} now.", example=GUESTS_EXPORT_ON)
    allowed = word == "on"
    if allowed == ctx.cluster.guests_export:
        return Reply.tell(line(f"Guests' exports and reports are already {now}. Nothing was changed."))
    store.set_guests_export(session=ctx.session, cluster_id=ctx.cluster.id, allowed=allowed)
    files = _run_together([Code(f"{fam.command} {' '.join(sub.words)}") for fam in FAMILIES.values()
                           for sub in fam.subcommands if sub.files])
    if allowed:
        return Reply.announce(
            line(Person(ctx.caller.user_id), " allowed guests of the cluster to take files of its data: ", *files, "."),
            line("To stop it: ", Code("/cluster guests export off")))
    return Reply.announce(
        line(Person(ctx.caller.user_id), " turned off guests' exports and reports: ", *files,
             " are for the cluster's own staff and its leads again."),
        line("Guests still join, vote and add actions. To allow them files again: ", Code(GUESTS_EXPORT_ON)))


@subcommand(CLUSTER, "who", "/cluster who", "the practices, their people and the leads (guests marked)",
            read_only=True)
def who(ctx: Context, rest: str) -> Reply:
    members = store.roster(session=ctx.session, cluster=ctx.cluster)
    by_practice = _members_by_practice(members)
    leads = [m for m in members if m.role == Role.LEAD]
    lines: list[Line] = [
        line(Strong(ctx.cluster.name)),
        line("Leads: ", *(_run_together([(Person(m.user_id), *_guest_mark(m)) for m in leads]) or ("none",))),
    ]
    for practice in store.practice_rows(session=ctx.session, cluster=ctx.cluster):
        people = by_practice.get(practice.id, [])
        lines.append(line("• ", *_practice_label(practice), ": ",
                          *(_roster(people) if people else ("nobody yet",))))
    unplaced = by_practice.get(None, [])
    if unplaced:
        lines.append(line("• In no practice yet: ", *_roster(unplaced)))
    board = viewers.list_viewers(session=ctx.session, cluster_id=ctx.cluster.id)
    if board:
        lines.append(line("Viewers (read-only, in no practice): ",
                          *_run_together([(Person(user_id),) for user_id in board])))
    return Reply.tell(*lines)


@subcommand(CLUSTER, "help", "/cluster help", "every command, with an example", needs_cluster=False)
def help_(ctx: Context, rest: str) -> Reply:
    lines: list[Line] = [line(Strong("clusterbot: the cluster's administrator"))]
    lines.extend(help_lines())
    lines.append(line(""))
    lines.extend(usage_lines(CLUSTER))
    return Reply.tell(*lines)


def usage_lines(fam) -> list[Line]:
    """One line per subcommand: what to type and what it does."""
    lines: list[Line] = [line(Strong(fam.command))]
    for sub in fam.subcommands:
        lines.append(line(Code(f"{fam.command} {sub.usage}"), f" — {sub.summary}{_leads(sub)}"))
    return lines


def _leads(sub: Subcommand) -> str:
    return " (leads)" if sub.leads_only else ""


def _keep_one_lead(ctx: Context) -> None:
    """Counted under the cluster's lock (taken again here, harmlessly, so the rule never depends on the
    caller having taken it): concurrent removals see each other's results."""
    store.lock_cluster(session=ctx.session, cluster=ctx.cluster)
    if store.count_leads(session=ctx.session, cluster=ctx.cluster) <= 1:
        raise Refusal("A cluster always needs a lead: make someone else a lead first.",
                      example="/cluster lead add @Jane")


def _members_by_practice(members: list[Member]) -> dict[int | None, list[Member]]:
    grouped: dict[int | None, list[Member]] = {}
    for m in members:
        grouped.setdefault(m.practice_id, []).append(m)
    return grouped


def _roster(members: list[Member]) -> tuple:
    """People with leads and guests marked, as a comma-separated run of segments."""
    return _run_together([(Person(m.user_id), *([" (lead)"] if m.role == Role.LEAD else []), *_guest_mark(m))
                          for m in members])


def _guest_mark(member) -> tuple:
    """A guest of the platform (their organisation's guest, as it said when they last acted here)."""
    return (" (guest)",) if member.guest else ()


def _run_together(items: list) -> tuple:
    """Items (a segment, or a tuple of segments each) as one comma-separated run of segments."""
    segments: list = []
    for i, item in enumerate(items):
        segments.extend([", "] if i else [])
        segments.extend(item if isinstance(item, tuple) else [item])
    return tuple(segments)
