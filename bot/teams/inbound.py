"""What a Teams activity asks of the product, in plain functions (no SDK, no event loop).

`Turn.run` takes one activity (a JSON dict, already authenticated) and returns what to answer in the
HTTP response (an invoke's body: a dialog) and what to send after it: a Reply for `Delivery.after_ack`.
"""

import html
import logging
import re
from dataclasses import dataclass

from bot import front_door
from bot.platform import Asker
from bot.teams import cards
from commands import Clusterbot
from commands.context import Caller
from commands.product import UNAVAILABLE
from commands.registry import FAMILIES
from commands.results import Audience, Code, Person, Reply, Update, line, plain_text
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)
SPACES = re.compile(r"[ \t\xa0]+")
PLACE = "\x00"  # marks a mention's place while the text is unescaped (taken out of what was typed first)
PLACED = re.compile("\x00(\\d+)\x00")
TAGS = re.compile(r"</?(?:p|div|span|br)\b[^>]*>", re.IGNORECASE)  # Teams may wrap a message in markup
RESERVED = {"form", "context", "channel", "opener", "msteams", "action", "value"}
# Microsoft's rules for bots: these must get an answer. A greeting or a plea for help shows help; thanks
# is answered politely (never "I don't know").
GREETINGS = {"help", "hi", "hello", "hey", "hiya", "morning", "afternoon", "start", "menu", "?"}
THANKS = {"thanks", "thank", "thankyou", "thx", "ta", "cheers"}
THANKS_COMMAND = "thanks"
HOME_COMMAND = "/home"
JOIN_ACTION = "cluster.join"  # the new member's practice picker (commands/home.py, welcome)
# The invoke response to an Action.Execute whose answer is not for the presser alone: the card stays as it is.
EXECUTED = {"statusCode": 200, "type": "application/vnd.microsoft.activity.message", "value": ""}


@dataclass
class Outcome:
    """What one activity leads to: the HTTP answer's body, and what to deliver after the ack."""

    body: dict | None = None
    reply: Reply | None = None
    asker: Asker | None = None
    later: tuple[str, str, Caller] | None = None  # a command's slow part (an export), run after the ack
    consent: dict | None = None  # a file offer answered: conversation, service URL, value, who answered


@dataclass
class Turn:
    product: Clusterbot
    bot_id: str
    learn_name: "object" = None  # (user_id, name) -> None: names for cards and exports
    # (conversation, kind, service_url, tenant, bot_id, team_id, user_id) -> None: where to answer
    # (TeamsPlatform.remember_conversation, which keeps them in memory and in the database)
    remember: "object" = None
    # Whether a sender is the tenant's guest (bot/front_door.Roster over TeamsPlatform.is_guest); without
    # one, the caller's guest is None (not said): only files of a cluster's data are then refused.
    roster: "front_door.Roster | None" = None
    # user id -> the name Teams showed (TeamsPlatform.display_name): for a card answered in an invoke response
    name_of: "object" = None
    # (user_id, (team, service URL)) -> whether the team's roster has the person (TeamsPlatform.in_team)
    in_team: "object" = None

    def run(self, activity: dict) -> Outcome:
        try:
            return self._run(activity)
        except front_door.NoWhere:
            log.info("teams %s without a sender or conversation: ignored", activity.get("type"))
            return Outcome()
        except DatabaseUnavailable:  # as the product answers: try again shortly (never silence)
            log.warning("database unavailable: teams %s", activity.get("type"))
            return self._unavailable(activity)

    def _unavailable(self, activity: dict) -> Outcome:
        kind, name = activity.get("type"), activity.get("name")
        if kind == "invoke" and (name in ("task/fetch", "task/submit") or str(name).startswith("composeExtension/")):
            return Outcome(body=cards.dialog_message(UNAVAILABLE))
        if kind != "message":
            return Outcome()
        caller = self.caller(activity)
        return Outcome(reply=Reply.problem(line(UNAVAILABLE)), asker=self.asker(activity, caller))

    def _run(self, activity: dict) -> Outcome:
        self._remember_conversation(activity)
        sender = activity.get("from") or {}
        if self.learn_name:
            self.learn_name(sender.get("id"), sender.get("name"))
        kind, name = activity.get("type"), activity.get("name")
        if kind == "message":
            return self._message(activity)
        if kind == "conversationUpdate":
            return self._members_added(activity)
        if kind == "invoke" and name == "task/fetch":
            return self._open_dialog(activity)
        if kind == "invoke" and name == "task/submit":
            return self._submit_dialog(activity)
        if kind == "invoke" and name == "adaptiveCard/action":
            return self._execute(activity)
        if kind == "invoke" and str(name).startswith("composeExtension/"):  # a message extension (extension.py)
            from bot.teams import extension
            return extension.answer(self, activity)
        if kind == "invoke" and name == "fileConsent/invoke":
            value = activity.get("value") or {}
            return Outcome(consent={"conversation": _conversation(activity), "service_url": activity.get("serviceUrl"),
                                    "value": value, "user": str((activity.get("from") or {}).get("id") or "")})
        return Outcome()

    # --- where and who ------------------------------------------------------------------------

    def caller(self, activity: dict, cluster_channel: str | None = None, *, joining: bool = False) -> Caller:
        """Who asked, and which cluster: a channel of a team, or a group chat (a 1:1 chat is nobody's cluster
        unless a button names one)."""
        data = activity.get("channelData") or {}
        tenant = (data.get("tenant") or {}).get("id") or (activity.get("conversation") or {}).get("tenantId") or ""
        team = (data.get("team") or {}).get("id")
        here = (data.get("channel") or {}).get("id") or _conversation(activity)
        named = cluster_channel if isinstance(cluster_channel, str) and cluster_channel else None
        if named and named != here:
            team = self.product.team_of(named) or team  # a 1:1 chat's button names a channel of a team
        personal = (activity.get("conversation") or {}).get("conversationType") == "personal"
        user_id = str((activity.get("from") or {}).get("id") or "")
        if joining and named and named != here and personal and user_id and self.in_team is not None:
            # The practice picker a new member of the team is sent in their 1:1 chat, pressed there: they
            # are in no cluster yet, so Teams vouches for the channel only if its team's roster has them.
            # (Every other button naming a cluster from a chat stays the claimed-channel rule's.)
            newcomer_of = self.product.newcomer_team(named, user_id)
            if newcomer_of and self.in_team(user_id, (newcomer_of, str(activity.get("serviceUrl") or ""))):
                here = named
        return front_door.caller(platform="teams", user_id=user_id, team_id=team or tenant, here=here, named=named,
                                 enterprise_id=tenant, personal=personal, guest=None,
                                 roster=self.roster if user_id else None, where=_roster_where(activity))

    def asker(self, activity: dict, caller: Caller) -> Asker:
        # The answer goes back to the conversation (a channel's thread, a chat) where they asked.
        return Asker(caller.user_id, caller.channel_id, caller.team_id,
                     handle=(activity.get("conversation") or {}).get("id"))

    def _remember_conversation(self, activity: dict) -> None:
        conversation, service_url = _conversation(activity), activity.get("serviceUrl")
        if not conversation or not service_url:
            return
        data = activity.get("channelData") or {}
        kind = (activity.get("conversation") or {}).get("conversationType") or "personal"
        tenant = (data.get("tenant") or {}).get("id") or (activity.get("conversation") or {}).get("tenantId") or ""
        if self.remember is not None:
            self.remember(conversation, kind, service_url, tenant,
                          (activity.get("recipient") or {}).get("id") or self.bot_id,
                          (data.get("team") or {}).get("id"), (activity.get("from") or {}).get("id"))


    # --- messages: typed commands and card buttons ---------------------------------------------

    def _message(self, activity: dict) -> Outcome:
        value = activity.get("value")
        if isinstance(value, dict) and value.get("action"):
            return self._press(activity, value)
        if not self.product.first_delivery(f"teams:{_conversation(activity)}:{activity.get('id')}"):
            return Outcome()  # Bot Framework delivered it again: handled once
        command, text = self.command(activity)
        caller = self.caller(activity)
        if command == HOME_COMMAND:  # the 1:1 chat is the person's Home
            home = self.product.home(caller.user_id, caller.team_id, caller.enterprise_id)
            return Outcome(reply=home, asker=self.asker(activity, caller))
        if command == THANKS_COMMAND:
            reply = Reply.tell(line("You're welcome! Type ", Code("/cluster help"), " whenever you need me."))
            return Outcome(reply=reply, asker=self.asker(activity, caller))
        if command not in FAMILIES:
            reply = Reply.problem(line(f"I don't know “{command.lstrip('/')[:40]}”. Try ", Code("/cluster help"), "."))
            return Outcome(reply=reply, asker=self.asker(activity, caller))
        reply = self.product.handle(command, text, caller)
        opener = {"command": command, "text": text}
        return Outcome(reply=_with_opener(reply, opener), asker=self.asker(activity, caller),
                       later=(command, text, caller))

    def command(self, activity: dict) -> tuple[str, str]:
        """("/poll", "vote P2 1") from "<at>clusterbot</at> poll vote P2 1" or "/poll vote P2 1"; other
        people's mentions become <@id>, the form the product reads."""
        text = str(activity.get("text") or "").replace(PLACE, "")
        people: list[str] = []
        for entity in activity.get("entities") or []:
            if entity.get("type") != "mention":
                continue
            mentioned = entity.get("mentioned") or {}
            said = entity.get("text") or ""
            if mentioned.get("id") == (activity.get("recipient") or {}).get("id"):
                text = text.replace(said, " ", 1)
            elif said and mentioned.get("id") and said in text:
                if self.learn_name:
                    self.learn_name(mentioned["id"], mentioned.get("name"))
                text = text.replace(said, f" {PLACE}{len(people)}{PLACE} ", 1)
                people.append(str(mentioned["id"]))
        # What a person typed as "<@…>" (it arrives as &lt;@…&gt;) must not become a mention: only Teams'
        # own mention entities do. Otherwise any text, a CHI number included, could pose as a person.
        text = html.unescape(TAGS.sub(" ", text)).replace("<@", "<\u200b@")
        text = PLACED.sub(lambda found: f"<@{people[int(found.group(1))]}>", text)
        text = SPACES.sub(" ", text).strip()
        first, _, rest = text.partition(" ")
        word = first.lstrip("/").lower()
        bare = word.rstrip("!.,?") or word
        if not word or bare in GREETINGS:
            return "/cluster", "help"
        if bare in THANKS:
            return THANKS_COMMAND, ""
        if f"/{word}" not in FAMILIES:  # "please poll vote P2 1", "can you show topic list"
            words = text.split()
            for at, later in enumerate(words[1:6], start=1):
                if f"/{later.lstrip('/').lower()}" in FAMILIES:
                    return f"/{later.lstrip('/').lower()}", " ".join(words[at + 1:])
        return f"/{word}", rest.strip()

    def _press(self, activity: dict, data: dict) -> Outcome:
        caller = self.caller(activity, data.get("channel"), joining=data.get("action") == JOIN_ACTION)
        reply = self.product.press(str(data.get("action")), str(data.get("value", "")), caller)
        opener = {"action": str(data.get("action")), "value": str(data.get("value", ""))}
        return Outcome(reply=_with_opener(reply, opener), asker=self.asker(activity, caller))

    def _execute(self, activity: dict) -> Outcome:
        """A Universal Actions press (Action.Execute): the answer for the presser alone goes back in the
        invoke response, as a card Teams shows to them only (a user-specific view, generally available);
        what is for everyone (and every effect) is delivered as for any press. In a 1:1 chat the answer
        is a message there, as everything in that chat is theirs alone."""
        action = (activity.get("value") or {}).get("action") or {}
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        if not data.get("action") and isinstance(action.get("verb"), str):
            data = {**data, "action": action["verb"]}
        outcome = self._press(activity, data)
        outcome.body = dict(EXECUTED)
        reply = outcome.reply
        personal = (activity.get("conversation") or {}).get("conversationType") == "personal"
        if reply is None or personal or reply.audience != Audience.PERSON or not (reply.lines or reply.form):
            return outcome
        shown = self._refreshed(activity, reply) or reply
        card, _ = cards.reply_card(shown, self.name_of or (lambda user_id: user_id), channel=outcome.asker.channel_id,
                                   opener=getattr(reply, "teams_opener", None))
        outcome.body = {"statusCode": 200, "type": cards.CARD, "value": card}
        outcome.reply = Reply(effects=reply.effects)  # the answer is given; its effects still go on
        return outcome

    def _refreshed(self, activity: dict, answer: Reply) -> Reply | None:
        """When the press changed the very card it was pressed on (a vote on a poll's card), the presser's
        view of that card: as it is now, for everyone, with their answer under it. None otherwise (then
        the answer alone is shown in its place). Everyone's copy is updated by delivery as usual."""
        pressed = activity.get("replyToId")
        update = next((e for e in answer.effects if isinstance(e, Update) and pressed and e.ref == pressed), None)
        if update is None:
            return None
        try:
            now = self.product.current(update.key)
        except (DatabaseUnavailable, KeyError, ValueError):
            return None
        if now is None:
            return None
        return Reply(lines=list(now.lines) + list(answer.lines), audience=Audience.PERSON, tone=now.tone,
                     buttons=list(now.buttons) + list(answer.buttons), line_buttons=dict(now.line_buttons))

    # --- dialogs ------------------------------------------------------------------------------

    def _form_of(self, opener: dict, caller: Caller):
        """Ask the opener again for its form (opening a form changes nothing)."""
        if "command" in opener:
            reply = self.product.handle(str(opener["command"]), str(opener.get("text", "")), caller)
        else:
            reply = self.product.press(str(opener.get("action")), str(opener.get("value", "")), caller)
        return reply

    def _open_dialog(self, activity: dict) -> Outcome:
        data = (activity.get("value") or {}).get("data") or {}
        caller = self.caller(activity, data.get("channel"))
        opener = data.get("opener") or {}
        reply = self._form_of(opener, caller)
        if reply.form is None:  # e.g. not a lead any more, or the cluster is gone: say why, in the dialog
            return Outcome(body=cards.dialog_message(plain_text(reply) or "That form can't be opened here."))
        card = cards.form_card(reply.form, channel=caller.channel_id, opener=opener)
        return Outcome(body=cards.dialog(reply.form, card))

    def _submit_dialog(self, activity: dict) -> Outcome:
        data = (activity.get("value") or {}).get("data") or {}
        caller = self.caller(activity, data.get("channel"))
        values = {k: "" if v is None else str(v) for k, v in data.items() if k not in RESERVED}
        context = data.get("context") if isinstance(data.get("context"), dict) else {}
        reply = self.product.submit(str(data.get("form")), values, context, caller,
                                    submission_key=f"teams:{activity.get('id')}")
        if reply.field_errors:
            opened = self._form_of(data.get("opener") or {}, caller)
            if opened.form is not None:
                card = cards.form_card(opened.form, channel=caller.channel_id, opener=data.get("opener") or {},
                                       values=values, errors=reply.field_errors)
                return Outcome(body=cards.dialog(opened.form, card))
            return Outcome(body=cards.dialog_message("; ".join(reply.field_errors.values())))
        return Outcome(reply=reply, asker=self.asker(activity, caller))

    # --- joining ------------------------------------------------------------------------------

    def _members_added(self, activity: dict) -> Outcome:
        """The bot installed: in a team, a welcome in the channel chosen at install (else the one Teams
        names: the first, General) that @mentions the installer and says what to type; for a person
        (the personal app), a greeting in their chat. A person joining a team: the practice picker of
        the team's cluster, wherever in the team its channel is (Teams says so in General)."""
        added = activity.get("membersAdded") or []
        bot = (activity.get("recipient") or {}).get("id")
        caller = self.caller(activity)
        if any(m.get("id") == bot for m in added):
            if (activity.get("conversation") or {}).get("conversationType") == "personal":
                return Outcome(reply=_personal_welcome(caller.user_id), asker=self.asker(activity, caller))
            chosen = _selected_channel(activity) or caller.channel_id
            installer = front_door.caller(platform="teams", user_id=caller.user_id, team_id=caller.team_id,
                                          here=chosen, enterprise_id=caller.enterprise_id)
            reply = self.product.joined(installer, bot_joined=True, added_by=caller.user_id or None)
            return Outcome(reply=reply, asker=Asker(caller.user_id, chosen, caller.team_id, handle=chosen))
        people = [m for m in added if m.get("id") and m.get("id") != bot]
        if len(people) != 1:
            return Outcome()  # a whole team added at once: no welcome storm; they can ask for help
        user_id = str(people[0]["id"])
        here = [caller.channel_id]
        here += [c for c in self.product.cluster_channels(caller.team_id) if c != caller.channel_id]
        for channel in here:
            person = front_door.caller(platform="teams", user_id=user_id, team_id=caller.team_id, here=channel,
                                       enterprise_id=caller.enterprise_id)
            reply = self.product.joined(person, bot_joined=False)
            if not reply.is_silent or reply.effects:
                return Outcome(reply=reply, asker=Asker(user_id, channel, caller.team_id, handle=channel))
        return Outcome()


def _personal_welcome(user_id: str) -> Reply:
    """Someone added the app for themselves: this chat is their Home."""
    hello = ("Hello ", Person(user_id), "!") if user_id else ("Hello!",)
    return Reply.tell(
        line(*hello, " I'm clusterbot, your GP cluster's administrator: QI topics, polls by practice, the "
             "action log, meetings and measures."),
        line("Here, in our chat, type ", Code("home"), " to see each of your clusters, or ",
             Code("/action list mine"), ", ", Code("/poll list"), ", ", Code("/meeting list"), "."),
        line("In your cluster's channel, mention me first: @clusterbot, then a command, for example ",
             Code("/cluster help"), "."),
    )


def _selected_channel(activity: dict) -> str | None:
    """The channel the installer chose for the app (channelData.settings.selectedChannel), if Teams says."""
    settings = (activity.get("channelData") or {}).get("settings")
    chosen = (settings.get("selectedChannel") or {}).get("id") if isinstance(settings, dict) else None
    return chosen if isinstance(chosen, str) and chosen.startswith("19:") else None


def _conversation(activity: dict) -> str:
    """The conversation without a thread's ;messageid= suffix: a channel, a group chat or a 1:1 chat."""
    return str((activity.get("conversation") or {}).get("id") or "").split(";")[0]


def _with_opener(reply: Reply, opener: dict) -> Reply:
    """A reply carrying a form remembers what opened it, so its card's "Open form" button can ask again.
    (An attribute of this one in-memory Reply, read by TeamsPlatform's renderer: answers to the person who
    asked are never stored, so it need not be part of the product's Reply.)"""
    if reply.form is not None:
        reply.teams_opener = opener
    return reply


def _roster_where(activity: dict) -> tuple[str, str]:
    """Where the sender's userRole is asked: the team they wrote in (else the chat), as Microsoft's own
    TeamsInfo.getMember does, through the activity's service URL."""
    team = ((activity.get("channelData") or {}).get("team") or {}).get("id")
    return team or _conversation(activity), str(activity.get("serviceUrl") or "")
