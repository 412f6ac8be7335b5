"""The data map: every column of every table, classified as personal (what it holds about a person, why,
for how long, and what erasing the person does to it) or not personal. `python -m bot data-map` prints
it; storage/erasure.py erases and answers subject access from it; tests/test_erasure.py fails, naming
the column, when a table gains a column this map does not classify, so the map cannot drift from the
models. A Health Board's DPIA reads it (docs/DATA-PROTECTION.md)."""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Table
from sqlmodel import SQLModel


class Erase(StrEnum):
    """What erasing a person does to a column holding them."""

    ATTRIBUTE = "their id becomes the marker shown as “a former member”: the cluster's record stays"
    DELETE = "the row is deleted"
    KEY = "the key “person:<id>” becomes “former:<row number>”: the row stays, nobody is named"
    MENTIONS = "mentions of them (<@id>) are written as “a former member”; the rest of the text stays"
    WITH_ROW = "goes with its row, deleted by the person's id beside it"
    OUTBOX = "their direct messages are deleted; in the cluster's queued posts their id becomes the marker"
    EXPIRES = ("not rewritten: a chart or workbook already shared with the channel is deleted when its link "
               "expires (SHARED_FILE_DAYS after it was shared), as a copy someone downloaded would stay")


@dataclass(frozen=True)
class Personal:
    holds: str
    purpose: str
    retention: str
    erase: Erase
    # Erase.KEY: the indexed column holding the plain id on the same row (found through it, no scan).
    via: str | None = None


RECORD = "as long as the cluster keeps its record (the cluster's own QI record); erased on request"
TYPED = Personal("free text people typed, which may mention a person (<@id>)", "the cluster's QI record",
                 RECORD, Erase.MENTIONS)


def _by(what: str) -> Personal:
    return Personal(f"the platform user id of who {what}", "accountability in the cluster's record",
                    RECORD, Erase.ATTRIBUTE)


PERSONAL: dict[tuple[str, str], Personal] = {
    ("cluster", "created_by"): _by("set the cluster up"),
    ("member", "user_id"): Personal(
        "the platform user id of a person in the cluster (with their practice, role and whether their "
        "platform counts them a guest)",
        "who may act in the cluster, as which practice; leads", "while they are in the cluster: "
        "`/cluster member remove` deletes the row", Erase.DELETE),
    ("viewer", "user_id"): Personal(
        "the platform user id of a person who may read the cluster's record and take its report (a Board viewer)",
        "who may read the cluster without being a member", "while they are a viewer: `/cluster viewer remove` "
        "deletes the row", Erase.DELETE),
    ("viewer", "added_by"): _by("made someone a viewer"),
    ("topic", "proposed_by"): _by("proposed the topic"),
    ("topic", "title"): TYPED, ("topic", "why"): TYPED, ("topic", "aim"): TYPED, ("topic", "measure"): TYPED,
    ("topic_move", "by"): _by("moved the topic on"),
    ("topic_move", "reason"): TYPED,
    ("topic_note", "by"): _by("wrote the note"),
    ("topic_note", "text"): TYPED,
    ("topic_driver", "created_by"): _by("added the driver"), ("topic_driver", "text"): TYPED,
    ("change_idea", "created_by"): _by("added the change idea"), ("change_idea", "text"): TYPED,
    ("pdsa_cycle", "planned_by"): _by("planned the PDSA cycle"),
    ("pdsa_cycle", "plan"): TYPED, ("pdsa_cycle", "prediction"): TYPED, ("pdsa_cycle", "done"): TYPED,
    ("pdsa_cycle", "study"): TYPED, ("pdsa_cycle", "act_note"): TYPED,
    ("poll", "created_by"): _by("started the poll"),
    ("poll", "closed_by"): _by("closed the poll (or “deadline”)"),
    ("poll", "question"): TYPED, ("poll", "options"): TYPED,
    ("poll_schedule", "created_by"): _by("put the poll on a timetable"),
    ("poll_schedule", "stopped_by"): _by("stopped the poll's timetable"),
    ("poll_schedule", "question"): TYPED, ("poll_schedule", "options"): TYPED,
    ("ballot", "cast_by"): Personal(
        "the platform user id of who cast a named ballot (empty on anonymous polls)",
        "who voted for their practice, shown to the cluster", RECORD, Erase.ATTRIBUTE),
    ("ballot", "voter_key"): Personal(
        "“person:<user id>” on a one-person-one-vote poll (practices' and anonymous keys hold no person)",
        "one ballot per voter", RECORD, Erase.KEY, via="cast_by"),
    ("ballot_caster", "user_id"): Personal(
        "who has cast a practice's ballot on a poll (never the choice)", "a person casts one practice's "
        "ballot per poll", "until the poll closes (anonymous polls) or with the cluster's record", Erase.DELETE),
    ("pick_rating", "rated_by"): _by("rated an option of a PICK chart"),
    ("pick_rating", "voter_key"): Personal(
        "“person:<user id>” on a one-person-one-vote PICK chart (practices' keys hold no person)",
        "one rating per voter and option", RECORD, Erase.KEY, via="rated_by"),
    ("action", "owner"): _by("will do the action"),
    ("action", "created_by"): _by("added the action"),
    ("action", "done_by"): _by("marked the action done"),
    ("action", "description"): TYPED,
    ("action_note", "by"): _by("wrote the note"),
    ("action_note", "text"): TYPED,
    ("digest_sent", "user_id"): Personal(
        "that a person was sent the daily digest on a day", "the digest goes once a day",
        "RETENTION_DAYS, then purged by the scheduler; erased on request", Erase.DELETE),
    ("meeting", "created_by"): _by("scheduled the meeting"),
    ("meeting", "title"): TYPED, ("meeting", "place"): TYPED,
    ("agenda_item", "by"): _by("added the agenda item"),
    ("agenda_item", "text"): TYPED,
    ("attendance", "user_id"): _by("attended or sent apologies (a person rather than a practice)"),
    ("attendance", "attendee"): Personal(
        "“person:<user id>” when a person rather than a practice attended", "one row per attendee",
        RECORD, Erase.KEY, via="user_id"),
    ("attendance", "by"): _by("recorded the attendance"),
    ("minute_line", "by"): _by("wrote the minute"),
    ("minute_line", "text"): TYPED,
    ("decision", "by"): _by("recorded the decision"),
    ("decision", "text"): TYPED,
    ("measure", "created_by"): _by("added the measure"),
    ("measure", "retired_by"): _by("retired the measure"),
    ("measure", "name"): TYPED, ("measure", "definition"): TYPED,
    ("measure_point", "recorded_by"): _by("entered the practice's value"),
    ("measure_point_history", "recorded_by"): _by("entered a replaced value"),
    ("measure_point_history", "replaced_by"): _by("replaced it"),
    ("measure_history", "by"): _by("recorded, replaced or removed a practice's figure (the measure's history)"),
    ("measure_nudge", "user_id"): Personal(
        "that a person was sent the data-due reminder for a period", "the reminder goes once a period",
        RECORD, Erase.DELETE),
    ("conversation_ref", "user_id"): Personal(
        "whose 1:1 chat with the bot this is (Teams)", "direct messages and file offers reach the person",
        "while they use the bot; erased on request", Erase.DELETE),
    ("conversation_ref", "conversation_id"): Personal(
        "the 1:1 chat's id, for a person's chat (a channel's otherwise)", "the same", "the same",
        Erase.WITH_ROW),
    ("person_name", "user_id"): Personal(
        "a person's platform user id beside their display name", "exports and minutes show names (Teams "
        "has no cheap lookup by id)", "purged RETENTION_DAYS after the person is in no cluster and their name "
        "was last seen; erased on request", Erase.DELETE),
    ("person_name", "name"): Personal(
        "a person's display name as their platform last showed it", "the same", "the same", Erase.WITH_ROW),
    ("audit_entry", "user_id"): _by("made a change to the register, roles or record (the audit log)"),
    ("audit_entry", "person"): Personal(
        "the platform user id of the person a change was about (added, removed, made a lead)",
        "accountability in the cluster's record", RECORD, Erase.ATTRIBUTE),
    ("shared_file", "content"): Personal(
        "a chart or workbook shared with a Teams channel: it names people and quotes what they typed",
        "everyone in the channel sees what was shared (served by its link)",
        "SHARED_FILE_DAYS (default 7), then deleted by the tick", Erase.EXPIRES),
    ("progress_score", "by"): _by("gave a topic its progress score"),
    ("checkin_answer", "by"): _by("answered (or last edited) the practice's monthly check-in"),
    ("checkin_answer", "tested"): TYPED, ("checkin_answer", "blockers"): TYPED, ("checkin_answer", "data"): TYPED,
    ("outbox", "channel"): Personal(
        "the person a direct message goes to (a channel for posts)", "delivery after the request is answered",
        "sent rows RETENTION_DAYS; unsent rows to a person no longer in any cluster are dropped", Erase.OUTBOX),
    ("outbox", "payload"): Personal(
        "the message: may name people by id and quote what they typed", "the same", "the same", Erase.OUTBOX),
    ("outbox", "asker"): Personal(
        "who to tell if the platform refuses a message", "the same", "the same", Erase.OUTBOX),
}

NOT_PERSONAL: dict[str, tuple[str, ...]] = {
    # Organisations and their platform ids; times; statuses; counts; practices' measured values.
    "cluster": ("id", "name", "time_zone", "reminders", "team_id", "enterprise_id", "channel_id", "created_at",
                "platform", "guests_export"),
    "practice": ("id", "code", "name", "cluster_id", "created_at", "archived_at"),
    "member": ("id", "cluster_id", "practice_id", "role", "created_at", "guest"),  # deleted with the person's row
    "viewer": ("id", "cluster_id", "created_at"),  # deleted with the person's row
    "short_id_counter": ("cluster_id", "prefix", "last"),
    "topic": ("id", "cluster_id", "short_id", "source", "practice_id", "status", "submission_key", "created_at",
              "updated_at"),
    "topic_move": ("id", "topic_id", "from_status", "to_status", "at"),
    "topic_note": ("id", "topic_id", "step", "at"),
    "topic_driver": ("id", "topic_id", "parent_id", "number", "created_at"),
    "change_idea": ("id", "cluster_id", "short_id", "topic_id", "driver_id", "created_at"),
    "pdsa_cycle": ("id", "cluster_id", "idea_id", "number", "due_on", "practice_id", "measure_id", "act",
                   "planned_at", "updated_at", "prompted_at", "submission_key"),
    "poll": ("id", "cluster_id", "short_id", "per_practice", "anonymous", "hidden", "pick", "kind", "dots",
             "closes_at", "created_at", "closed_at", "announced_at", "posted_channel", "posted_ref", "submission_key",
             "remind", "reminded_at", "schedule_id", "edited_at", "edited"),
    "poll_schedule": ("id", "cluster_id", "short_id", "settings", "remind",
                      "recurrence", "clock", "closes_after_days", "closes_clock", "next_at", "posted",
                      "created_at", "stopped_at"),
    "ballot": ("id", "poll_id", "practice_id", "choices", "cast_at"),
    "ballot_caster": ("poll_id", "practice_id"),
    "pick_rating": ("id", "poll_id", "practice_id", "option", "impact", "effort", "rated_at"),
    "action": ("id", "cluster_id", "short_id", "practice_id", "due_on", "status", "topic_id", "meeting_id",
               "source_link", "created_at", "updated_at", "done_at", "submission_key"),
    "action_note": ("id", "action_id", "at"),
    "digest_sent": ("team_id", "day", "sent_at"),
    "meeting": ("id", "cluster_id", "short_id", "starts_at", "minutes", "recurrence", "reminders", "status",
                "created_at", "ended_at", "submission_key", "carried_at", "invite_uid", "sequence", "invited_at",
                "recurrence_id", "minutes_lock"),
    "agenda_item": ("id", "meeting_id", "at", "covered_at", "carried_from"),
    "reminder": ("id", "meeting_id", "offset", "due_at", "claimed_at", "sent_at", "skipped"),
    "handled_event": ("event_id", "at"),
    "outbox": ("id", "kind", "platform", "key", "team_id", "created_at", "not_before", "claimed_by", "lease_until",
               "attempts", "uncertain", "last_error", "ref", "sent_at", "failed_at", "cluster_id", "useful_until"),
    "measure": ("id", "cluster_id", "short_id", "topic_id", "unit", "rate_per", "higher_is_better", "frequency",
                "goal", "chart", "rebases", "status", "revision", "created_at", "updated_at", "retired_at",
                "submission_key"),
    "measure_point": ("id", "measure_id", "practice_id", "period", "numerator", "denominator", "value",
                      "recorded_at"),
    "measure_point_history": ("id", "point_id", "numerator", "denominator", "value", "recorded_at", "replaced_at"),
    "measure_history": ("id", "measure_id", "practice_id", "period", "action", "old_numerator", "old_denominator",
                        "old_value", "new_numerator", "new_denominator", "new_value", "at"),
    "measure_nudge": ("cluster_id", "period", "sent_at"),
    "measure_settings": ("cluster_id", "nudge_working_day", "nudged_month"),
    "conversation_ref": ("kind", "service_url", "tenant_id", "bot_id", "team_id", "updated_at"),
    "attendance": ("id", "meeting_id", "practice_id", "present", "at"),
    "minute_line": ("id", "meeting_id", "at"),
    "decision": ("id", "cluster_id", "meeting_id", "topic_id", "at"),
    "person_name": ("updated_at",),
    "audit_entry": ("id", "cluster_id", "at", "what", "items"),
    "progress_score": ("id", "topic_id", "halves", "at"),
    "progress_ask": ("topic_id", "month", "sent_at"),
    "checkin_settings": ("cluster_id", "working_day", "minute", "opened_month", "scores_month"),
    "checkin_round": ("id", "cluster_id", "month", "opened_at", "remind_at", "digest_at", "reminded_at",
                      "digested_at"),
    "checkin_answer": ("id", "round_id", "practice_id", "at"),
    "shared_file": ("id", "token_hash", "cluster_id", "file_name", "content_type", "created_at", "expires_at"),
    # A Slack workspace's installation (its bot's tokens, no person's): kept while the app is installed there.
    "slack_installation": ("id", "enterprise_id", "team_id", "team_name", "is_enterprise_install", "app_id",
                           "bot_id", "bot_user_id", "bot_scopes", "bot_token", "bot_refresh_token",
                           "bot_token_expires_at", "installed_at"),
    "slack_oauth_state": ("state", "expires_at"),
}

# How a table's rows belong to a cluster, for a lead's erasure in their own cluster: "cluster_id",
# the cluster table itself ("id"), or (a foreign key, the table it points to), followed up to the cluster.
# Tables absent here hold rows of no one cluster (names, 1:1 chats, the outbox, digests per workspace).
SCOPE: dict[str, str | tuple[str, str]] = {
    "cluster": "id", "member": "cluster_id", "topic": "cluster_id", "poll": "cluster_id", "action": "cluster_id",
    "meeting": "cluster_id", "decision": "cluster_id", "measure": "cluster_id", "measure_nudge": "cluster_id",
    "audit_entry": "cluster_id", "viewer": "cluster_id", "checkin_settings": "cluster_id",
    "change_idea": "cluster_id", "pdsa_cycle": "cluster_id", "topic_driver": ("topic_id", "topic"),
    "checkin_round": "cluster_id", "progress_score": ("topic_id", "topic"), "progress_ask": ("topic_id", "topic"),
    "checkin_answer": ("round_id", "checkin_round"),
    "topic_move": ("topic_id", "topic"), "topic_note": ("topic_id", "topic"), "ballot": ("poll_id", "poll"),
    "ballot_caster": ("poll_id", "poll"), "pick_rating": ("poll_id", "poll"), "action_note": ("action_id", "action"),
    "agenda_item": ("meeting_id", "meeting"), "attendance": ("meeting_id", "meeting"),
    "minute_line": ("meeting_id", "meeting"), "measure_point": ("measure_id", "measure"),
    "measure_point_history": ("point_id", "measure_point"), "measure_history": ("measure_id", "measure"),
    "poll_schedule": "cluster_id",
}


def tables() -> dict[str, Table]:
    return dict(SQLModel.metadata.tables)


def unclassified() -> list[str]:
    """"table.column" of every column the map says nothing about (and of entries naming no column)."""
    seen = {(t.name, c.name) for t in tables().values() for c in t.columns}
    classified = set(PERSONAL) | {(t, c) for t, cols in NOT_PERSONAL.items() for c in cols}
    return sorted(f"{t}.{c}" for t, c in (seen - classified) | (classified - seen))


def person_ids() -> list[tuple[str, str, Personal]]:
    """The columns holding a bare person id, in the models' table order: erasure's and access's work."""
    order = {name: i for i, name in enumerate(tables())}
    return sorted(((t, c, p) for (t, c), p in PERSONAL.items()
                   if p.erase in (Erase.ATTRIBUTE, Erase.DELETE)), key=lambda tcp: order[tcp[0]])


def free_text() -> list[tuple[str, str]]:
    return [(t, c) for (t, c), p in PERSONAL.items() if p.erase == Erase.MENTIONS]


def keyed() -> list[tuple[str, str, str]]:
    return [(t, c, p.via) for (t, c), p in PERSONAL.items() if p.erase == Erase.KEY]


def listing() -> str:
    """The data map as text: every personal column with what it holds, why, how long, and erasure."""
    out = ["Personal data held by clusterbot (generated from storage/models.py by storage/data_map.py)", ""]
    for name in tables():
        entries = [(c, p) for (t, c), p in PERSONAL.items() if t == name]
        if not entries:
            continue
        out.append(f"{name}")
        for column, p in entries:
            out += [f"  {column}: {p.holds}", f"    purpose: {p.purpose}", f"    kept: {p.retention}",
                    f"    on erasure: {p.erase}"]
    quiet = [name for name in tables() if not any(t == name for t, _ in PERSONAL)]
    out += ["", "Tables holding no personal data: " + ", ".join(quiet), ""]
    return "\n".join(out)
