"""The front door: every adapter (Slack, Teams), the console and the tests' driver build the caller and
hand a reply on after the ack here, so a rule about who may act where is written once.

Last round the Teams adapter built its caller its own way and never marked a channel taken from a
card's data as claimed: anyone in the tenant could read any cluster's polls from a 1:1 chat.
"""

from bot.platform import AfterAck, Asker
from commands.context import Caller
from commands.results import Reply


class NoWhere(ValueError):
    """A request that names no conversation at all: nothing can be done for it."""


def caller(*, platform: str, user_id: str, team_id: str, here: str | None, named: str | None = None,
           enterprise_id: str | None = None, personal: bool = False) -> Caller:
    """Who asks, and in which cluster's channel.

    `here`: the conversation the platform itself vouches for (where a command was typed or a button
    clicked; None when it vouches for none, as for a Slack modal). `named`: a channel the request's own
    content names (a button's value, a form's private data, a card's data), which anyone can forge.
    The claimed-channel rule: a named channel that is not `here` is claimed, and the product then
    requires the person to be a member of the cluster there (`Clusterbot._whereabouts`). `personal`: the
    request came from a 1:1 chat with the bot (a Slack DM)."""
    named = named if isinstance(named, str) and named else None
    channel = named or here
    if not user_id or not channel:
        raise NoWhere("a request without a person or a conversation")
    return Caller(user_id=user_id, channel_id=channel, team_id=team_id or "", enterprise_id=enterprise_id or None,
                  claimed=named is not None and named != here, platform=platform,
                  conversation="personal" if personal else "channel")


def hand_on(delivery: AfterAck, reply: Reply, asker: Asker | None, *, answered: bool = False) -> None:
    """The one after-the-ack policy: the reply's effects go to delivery; a form opens where the platform
    opens forms from a trigger (a Slack modal), and if it cannot, the person is told the reply's words
    instead (which say how to type it); otherwise the reply is told to the person, unless `answered`
    (its words already went back in the acknowledgement, as a Slack slash command's do)."""
    if reply.form is not None and asker is not None and asker.trigger:
        delivery.after_ack(Reply(effects=reply.effects), asker)
        delivery.run_now(lambda: _open_or_tell(delivery, asker, reply), bucket=asker.channel_id)
    elif answered:
        delivery.after_ack(Reply(effects=reply.effects), asker)
    else:
        delivery.after_ack(reply, asker)


def _open_or_tell(delivery: AfterAck, asker: Asker, reply: Reply) -> None:
    if not delivery.platform.open_form(asker, reply.form):
        delivery.after_ack(Reply(reply.lines, reply.audience, reply.tone, reply.buttons,
                                 line_buttons=reply.line_buttons), asker)
