"""Reading Slack payloads: the fields we rely on, or MalformedPayload."""

from bot import front_door
from commands.context import Caller


class MalformedPayload(ValueError):
    pass


def required(payload: dict, *keys: str) -> list[str]:
    missing = [k for k in keys if not isinstance(payload.get(k), str) or not payload.get(k)]
    if missing:
        raise MalformedPayload(f"missing {', '.join(missing)}")
    return [payload[k] for k in keys]


def command_caller(command: dict, roster: front_door.Roster | None = None) -> Caller:
    user_id, channel_id, team_id = required(command, "user_id", "channel_id", "team_id")
    return slack_caller(user_id=user_id, team_id=team_id, here=channel_id, enterprise_id=command.get("enterprise_id"),
                        personal=command.get("channel_name") == "directmessage", roster=roster)


def slack_caller(*, user_id: str, team_id: str, here: str | None, named: str | None = None,
                 enterprise_id: str | None = None, personal: bool = False,
                 roster: front_door.Roster | None = None) -> Caller:
    """The front door's caller for a Slack request; a request that names no channel is malformed.
    `roster`: asked whether the person has a guest account (without one, the platform did not say)."""
    try:
        return front_door.caller(platform="slack", user_id=user_id, team_id=team_id, here=here, named=named,
                                 enterprise_id=enterprise_id, personal=personal,
                                 guest=None, roster=roster if user_id else None, where=team_id or None)
    except front_door.NoWhere as error:
        raise MalformedPayload(str(error)) from error
