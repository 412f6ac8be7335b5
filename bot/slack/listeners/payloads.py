"""Reading Slack payloads: the fields we rely on, or MalformedPayload."""

from commands.context import Caller


class MalformedPayload(ValueError):
    pass


def required(payload: dict, *keys: str) -> list[str]:
    missing = [k for k in keys if not isinstance(payload.get(k), str) or not payload.get(k)]
    if missing:
        raise MalformedPayload(f"missing {', '.join(missing)}")
    return [payload[k] for k in keys]


def command_caller(command: dict) -> Caller:
    user_id, channel_id, team_id = required(command, "user_id", "channel_id", "team_id")
    return Caller(user_id=user_id, channel_id=channel_id, team_id=team_id,
                  enterprise_id=command.get("enterprise_id") or None)
