"""Tables. Every row below the cluster carries cluster_id, so one cluster never reaches another's data."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, LargeBinary, String, UniqueConstraint, false, text, true
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

NAME_MAX = 80  # cluster and practice names
PRACTICE_CODE_LENGTH = 5
# Platform ids (people, channels, teams, tenants, message references, form submissions). Slack's fit in
# 32 characters; Teams' do not: "29:1AbC…" user ids, "19:…@thread.tacv2" channels, AAD GUIDs.
PLATFORM_ID_MAX = 255
VOTER_KEY_MAX = PLATFORM_ID_MAX + 8  # "person:" + a user id
PLATFORM_NAME_MAX = 16
DEFAULT_PLATFORM = "slack"  # every row made before Teams was Slack's


STAMP = "stamp"  # a column's info flag: when the row is first flushed, unset, it gets the unit of work's "now"


def _created_at() -> datetime:
    # Not a default_factory: that would read the machine's clock when the object is made. The session
    # stamps it from the product's clock at flush (storage.db), so tests that turn the clock see it.
    return Field(default=None, sa_column=Column(UTCDateTime, nullable=False, info={STAMP: True}))


class Role(StrEnum):
    LEAD = "lead"
    MEMBER = "member"


class ClusterBase(SQLModel):
    name: str = Field(max_length=NAME_MAX)
    time_zone: str = Field(default="Europe/London", max_length=64)
    reminders: str = Field(default="7d,1d", max_length=64)  # meetings' default reminder offsets


class Cluster(ClusterBase, table=True):
    """A GP cluster: one channel, set up from one workspace (team). A channel is never two clusters,
    whichever workspace asks (a Slack Connect channel has one id in every organisation sharing it)."""

    __table_args__ = (UniqueConstraint("channel_id", name="uq_cluster_channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=PLATFORM_ID_MAX)
    enterprise_id: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)
    channel_id: str = Field(max_length=PLATFORM_ID_MAX)
    created_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    created_at: datetime = _created_at()
    # The platform its channel is on ("slack", "teams", "console"): its posts go out through that
    # platform's process, whichever process (a scheduler, another platform's server) made them.
    platform: str = Field(default=DEFAULT_PLATFORM, sa_column_kwargs={"server_default": DEFAULT_PLATFORM},
                          max_length=PLATFORM_NAME_MAX)
    # Whether guests (a Teams tenant's B2B guests, Slack's guest accounts) may take files of the cluster's
    # data (exports, reports, Word minutes): off unless a lead turns it on (`/cluster guests export on`).
    guests_export: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class PracticeBase(SQLModel):
    code: str = Field(sa_column=Column(String(PRACTICE_CODE_LENGTH), nullable=False))
    name: str = Field(max_length=NAME_MAX)


class Practice(PracticeBase, table=True):
    """A member practice. Removing one archives it, so later ballots and actions keep their practice."""

    __table_args__ = (UniqueConstraint("cluster_id", "code", name="uq_practice_code"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    created_at: datetime = _created_at()
    archived_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class Member(SQLModel, table=True):
    """A person in a cluster: at most one practice, and a role (lead or member)."""

    __table_args__ = (UniqueConstraint("cluster_id", "user_id", name="uq_member_user"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    user_id: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    practice_id: int | None = Field(default=None, foreign_key="practice.id")
    role: str = Field(default=Role.MEMBER, max_length=16)
    created_at: datetime = _created_at()
    # A guest of the platform (Teams' userRole "guest", a Slack guest account), as their platform said when
    # they last acted here; None: not known yet (added by a lead and not seen since, or the platform did
    # not answer). Shown in `/cluster who`; what guests may do is decided by what the platform says now.
    guest: bool | None = None


class Viewer(SQLModel, table=True):
    """A person who reads the cluster's record and takes its report without belonging to it (a Health
    Board's primary care manager): no practice, no vote, no turnout, and nothing they may write."""

    __table_args__ = (UniqueConstraint("cluster_id", "user_id", name="uq_viewer_user"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    user_id: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    added_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)  # indexed: erasure finds a person by it
    created_at: datetime = _created_at()


class ShortIdCounter(SQLModel, table=True):
    """The last number handed out per cluster and prefix (T, P, A, M)."""

    __tablename__ = "short_id_counter"

    cluster_id: int = Field(foreign_key="cluster.id", primary_key=True)
    prefix: str = Field(max_length=4, primary_key=True)
    last: int = Field(default=0)


TOPIC_TITLE_MAX = 150
TOPIC_TEXT_MAX = 2000  # why it matters, aim, measure, notes, reasons


class TopicStatus(StrEnum):
    PROPOSED = "proposed"
    AGREED = "agreed"
    ACTIVE = "active"
    DONE = "done"
    DROPPED = "dropped"


class TopicSource(StrEnum):
    """Where the work came from: the cluster itself or a request from outside."""

    PRACTICES = "practices"
    BOARD = "board"
    HSCP = "hscp"
    NATIONAL = "national"
    OTHER = "other"


class TopicBase(SQLModel):
    title: str = Field(max_length=TOPIC_TITLE_MAX)
    why: str = Field(default="", max_length=TOPIC_TEXT_MAX)
    aim: str = Field(default="", max_length=TOPIC_TEXT_MAX)
    measure: str = Field(default="", max_length=TOPIC_TEXT_MAX)
    source: str = Field(default=TopicSource.PRACTICES, max_length=16)
    practice_id: int | None = Field(default=None, foreign_key="practice.id")


class Topic(TopicBase, table=True):
    """A QI topic, moving through the Model-for-Improvement lifecycle."""

    __table_args__ = (
        UniqueConstraint("cluster_id", "short_id", name="uq_topic_short_id"),
        UniqueConstraint("cluster_id", "submission_key", name="uq_topic_submission"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    short_id: str = Field(max_length=12)
    status: str = Field(default=TopicStatus.PROPOSED, max_length=16)
    proposed_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    # The form submission that created it (Slack's view id), so a double submit creates one topic.
    submission_key: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)
    created_at: datetime = _created_at()
    updated_at: datetime = _created_at()


class TopicMove(SQLModel, table=True):
    """One step in a topic's history: who moved it, when, from and to (and why, when dropped)."""

    __tablename__ = "topic_move"

    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", index=True)
    by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    reason: str = Field(default="", max_length=TOPIC_TEXT_MAX)
    at: datetime = _created_at()


class PdsaStep(StrEnum):
    PLAN = "plan"
    DO = "do"
    STUDY = "study"
    ACT = "act"


class TopicNote(SQLModel, table=True):
    """A dated progress note, optionally one step of a PDSA cycle."""

    __tablename__ = "topic_note"

    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", index=True)
    by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    step: str | None = Field(default=None, max_length=8)
    text: str = Field(max_length=TOPIC_TEXT_MAX)
    at: datetime = _created_at()


POLL_QUESTION_MAX = 300
POLL_OPTION_MAX = 150
POLL_OPTIONS_MIN, POLL_OPTIONS_MAX = 2, 10


class Poll(SQLModel, table=True):
    """A poll on cluster priorities: one ballot per practice unless per_practice is off."""

    __table_args__ = (
        UniqueConstraint("cluster_id", "short_id", name="uq_poll_short_id"),
        UniqueConstraint("cluster_id", "submission_key", name="uq_poll_submission"),
        # The tick's question: polls the deadline closed whose closing is not announced yet.
        Index("ix_poll_unannounced", "closed_by", sqlite_where=text("announced_at IS NULL"),
              postgresql_where=text("announced_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    short_id: str = Field(max_length=12)
    question: str = Field(max_length=POLL_QUESTION_MAX)
    options: list[str] = Field(sa_column=Column(JSON, nullable=False))
    per_practice: bool = True
    anonymous: bool = False
    hidden: bool = False  # results shown only once closed
    pick: int = 1         # how many options a ballot may choose
    # "choice" (pick 1 or N), "ranked" (Borda count), "dots" (spend `dots` dots) or "pick" (a PICK chart:
    # each ballot rates options' impact and effort, in pick_rating): commands/polls/kinds.py.
    kind: str = Field(default="choice", max_length=8)
    dots: int = 0         # a dot vote's dots per ballot
    closes_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))
    created_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    created_at: datetime = _created_at()
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    closed_by: str | None = Field(default=None, max_length=PLATFORM_ID_MAX, index=True)  # a user id, or "deadline"
    # When the result of a poll closed at its deadline went into the outbox (claimed and queued in one
    # transaction: exactly once, whatever number of processes tick).
    announced_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # Where the platform posted the poll (Slack: channel and message ts), so votes can update it.
    posted_channel: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)
    posted_ref: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)
    submission_key: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)
    # Polls on a timetable (commands/polls/timetable.py): the practices that have not voted are reminded once,
    # one working day before the deadline, unless `remind off`; reminded_at is the claim, made in the same
    # transaction as the messages go into the outbox. schedule_id: the timetable that posted it.
    remind: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    schedule_id: int | None = Field(default=None, foreign_key="poll_schedule.id", index=True)
    # Edited after it was posted (commands/polls/edit.py): when last, and what ("question", "option 2").
    edited_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    edited: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class PollSchedule(SQLModel, table=True):
    """A poll to be posted later (`opens <date>`) or again and again (`every <rule>`): each posting is a new
    poll with its own P id. next_at is when the next one goes (NULL once done or stopped); the tick claims a
    posting by moving next_at on, in the same transaction as the poll is made and its post queued."""

    __tablename__ = "poll_schedule"
    __table_args__ = (UniqueConstraint("cluster_id", "short_id", name="uq_poll_schedule_short_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    short_id: str = Field(max_length=12)  # S1, S2 …
    question: str = Field(max_length=POLL_QUESTION_MAX)
    options: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # The poll's other settings as its columns name them ({"per_practice": true, "pick": 2, "anonymous": false,
    # …}): whatever a new poll's draft holds that a poll has a column for, so new kinds of poll carry over.
    settings: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    remind: bool = True
    recurrence: str | None = Field(default=None, max_length=200)  # an RRULE (commands/text/recurrence.py)
    clock: str = Field(max_length=5)  # the local HH:MM it is posted at
    # Its deadline, counted from each posting's local date: so many days later at this local HH:MM.
    closes_after_days: int | None = None
    closes_clock: str | None = Field(default=None, max_length=5)
    next_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True, index=True))
    posted: int = 0  # how many polls it has posted
    created_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    created_at: datetime = _created_at()
    stopped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    stopped_by: str | None = Field(default=None, max_length=PLATFORM_ID_MAX, index=True)


class Ballot(SQLModel, table=True):
    """One voter's ballot: a practice's (per-practice polls) or a person's. The latest choice wins.

    On an anonymous poll the ballot holds no identity: voter_key is a keyed hash ("anon:…") whose key
    is not in the database, practice_id and cast_by are empty, and cast_at is the poll's creation time.
    At the close even the hash is replaced ("closed:<ballot id>")."""

    __table_args__ = (UniqueConstraint("poll_id", "voter_key", name="uq_ballot_voter"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    # "practice:<id>", "person:<user id>", "anon:<hash>" or "closed:<ballot id>"
    voter_key: str = Field(max_length=VOTER_KEY_MAX)
    practice_id: int | None = Field(default=None, foreign_key="practice.id")
    cast_by: str = Field(default="", max_length=PLATFORM_ID_MAX, index=True)  # left empty on anonymous polls
    choices: str = Field(default="", max_length=64)  # option numbers, "1" or "1,3"
    cast_at: datetime = _created_at()


class PickRating(SQLModel, table=True):
    """One voter's rating of one option of a PICK-chart poll: its impact and its effort, 1 to 5. The
    voter's Ballot row lists the options it has rated (so turnout and reminders count it as voted)."""

    __tablename__ = "pick_rating"
    __table_args__ = (UniqueConstraint("poll_id", "voter_key", "option", name="uq_pick_rating"),)

    id: int | None = Field(default=None, primary_key=True)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    voter_key: str = Field(max_length=VOTER_KEY_MAX)  # as Ballot's: "practice:<id>" or "person:<user id>"
    practice_id: int | None = Field(default=None, foreign_key="practice.id")
    option: int
    impact: int
    effort: int
    rated_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    rated_at: datetime = _created_at()


class BallotCaster(SQLModel, table=True):
    """Who has cast a practice's ballot on a per-practice poll, and for which practice: a person casts
    at most one practice's ballot per poll. It never holds a choice (anonymous polls included), and an
    anonymous poll's rows are deleted at its close."""

    __tablename__ = "ballot_caster"

    poll_id: int = Field(foreign_key="poll.id", primary_key=True)
    user_id: str = Field(max_length=PLATFORM_ID_MAX, primary_key=True, index=True)
    practice_id: int = Field(foreign_key="practice.id")


ACTION_TEXT_MAX = 500


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class Action(SQLModel, table=True):
    """Something someone will do for the cluster: owner, practice, due date, status."""

    __table_args__ = (
        UniqueConstraint("cluster_id", "short_id", name="uq_action_short_id"),
        UniqueConstraint("cluster_id", "submission_key", name="uq_action_submission"),
        # The digest's question every morning: open actions due by a day, of every cluster.
        Index("ix_action_open_due", "due_on", sqlite_where=text("status = 'open'"),
              postgresql_where=text("status = 'open'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    short_id: str = Field(max_length=12)
    description: str = Field(max_length=ACTION_TEXT_MAX)
    owner: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    practice_id: int | None = Field(default=None, foreign_key="practice.id")
    due_on: date | None = Field(default=None, index=True)
    status: str = Field(default=ActionStatus.OPEN, max_length=8)
    topic_id: int | None = Field(default=None, foreign_key="topic.id")
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    source_link: str | None = Field(default=None, max_length=500)  # the Slack message it came from
    created_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    created_at: datetime = _created_at()
    updated_at: datetime = _created_at()
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    done_by: str | None = Field(default=None, max_length=PLATFORM_ID_MAX, index=True)
    submission_key: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)


class ActionNote(SQLModel, table=True):
    __tablename__ = "action_note"

    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="action.id", index=True)
    by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    text: str = Field(max_length=ACTION_TEXT_MAX)
    at: datetime = _created_at()


class DigestSent(SQLModel, table=True):
    """The daily digest a person was sent: claimed by a unique insert, so it goes once a day."""

    __tablename__ = "digest_sent"
    # The scheduler's purge of days older than the retention (only today's row is ever asked about).
    __table_args__ = (Index("ix_digest_sent_day", "day"),)

    team_id: str = Field(max_length=PLATFORM_ID_MAX, primary_key=True)
    user_id: str = Field(max_length=PLATFORM_ID_MAX, primary_key=True, index=True)
    day: date = Field(primary_key=True)
    sent_at: datetime = _created_at()


MEETING_TITLE_MAX = 150
MEETING_PLACE_MAX = 300
AGENDA_ITEM_MAX = 500
DEFAULT_REMINDERS = "7d,1d"


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Meeting(SQLModel, table=True):
    """A cluster meeting. A recurring meeting is a series of these: when one ends, the next is planned."""

    __table_args__ = (
        UniqueConstraint("cluster_id", "short_id", name="uq_meeting_short_id"),
        UniqueConstraint("cluster_id", "submission_key", name="uq_meeting_submission"),
        # The scheduler's question every tick: which scheduled meetings have not been marked ended?
        Index("ix_meeting_not_ended", "starts_at", sqlite_where=text("ended_at IS NULL AND status = 'scheduled'"),
              postgresql_where=text("ended_at IS NULL AND status = 'scheduled'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    short_id: str = Field(max_length=12)
    title: str = Field(max_length=MEETING_TITLE_MAX)
    starts_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    minutes: int = 60
    place: str = Field(default="", max_length=MEETING_PLACE_MAX)
    # The wall-clock time and rule of a recurring meeting ("FREQ=MONTHLY;BYDAY=+1WE"), in the cluster's zone.
    recurrence: str | None = Field(default=None, max_length=200)
    reminders: str = Field(default=DEFAULT_REMINDERS, max_length=64)
    status: str = Field(default=MeetingStatus.SCHEDULED, max_length=12)
    created_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    created_at: datetime = _created_at()
    ended_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    submission_key: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)
    # Carry-forward (commands/meetings/carry.py): when its uncovered items and open actions went on to the
    # next meeting's agenda (or it was found there was nothing to carry); claimed, so it is said once.
    carried_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # Calendar invites (commands/meetings/invite.py): the .ics UID (a series shares its first meeting's),
    # SEQUENCE (raised on every move and on a cancel), when an invite was first posted, and for a moved
    # occurrence of a series its original start (the RECURRENCE-ID).
    invite_uid: str | None = Field(default=None, max_length=200)
    sequence: int = 0
    invited_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    recurrence_id: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # A lead's word on the minutes (commands/meetings/lock.py): None follows MINUTES_LOCK_DAYS; "open" or
    # "locked" overrides it.
    minutes_lock: str | None = Field(default=None, max_length=8)


class AgendaItem(SQLModel, table=True):
    __tablename__ = "agenda_item"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    text: str = Field(max_length=AGENDA_ITEM_MAX)
    at: datetime = _created_at()
    covered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # Carried from an earlier meeting that ended with it uncovered (or with this action open): that meeting.
    carried_from: int | None = Field(default=None, foreign_key="meeting.id")


class Reminder(SQLModel, table=True):
    """One reminder of one meeting. Claimed (claimed_at) before it is sent and marked sent once Slack
    has it; a claim whose sender died is taken over after a lease, so a reminder is late, never lost."""

    # The scheduler's question every tick: which unsent reminders are due? (Sent ones are history.)
    __table_args__ = (Index("ix_reminder_unsent", "due_at", sqlite_where=text("sent_at IS NULL"),
                            postgresql_where=text("sent_at IS NULL")),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    offset: str = Field(max_length=8)  # "7d", "1h", "30m"
    due_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    skipped: bool = False  # its meeting had started by the time it came up: not sent


class HandledEvent(SQLModel, table=True):
    """A platform event already handled (Slack's event_id), so a retried delivery is handled once."""

    __tablename__ = "handled_event"

    event_id: str = Field(max_length=PLATFORM_ID_MAX, primary_key=True)
    at: datetime = _created_at()


WAITING = "sent_at IS NULL AND failed_at IS NULL"  # an outbox row not yet sent nor given up


class Outbox(SQLModel, table=True):
    """A message a committed change must send (a post, a DM), written in the change's own transaction.

    Delivery workers claim due rows with a lease (claimed_by, lease_until), send them and mark them
    sent; a row whose lease ran out (its process died) is taken over by another worker."""

    __table_args__ = (
        # Due rows, oldest first (the claim's batch, /healthz's oldest due row); rows given up are not
        # in it (migration 0023): during a long outage thousands may be, and every claim stepped over them.
        Index("ix_outbox_unsent", "not_before", postgresql_where=text(WAITING), sqlite_where=text(WAITING)),
        # The hourly purge of what was sent (or given up) longer ago than the retention.
        Index("ix_outbox_sent_at", "sent_at"),
        Index("ix_outbox_failed_at", "failed_at"),
        # A person's direct messages, and a cluster's posts, found when a person is erased.
        Index("ix_outbox_channel", "channel"),
        # The fair claim: each cluster's oldest due row, one index probe per cluster with rows waiting
        # (storage/outbox.py), so one cluster's flood cannot hold another's reminder back.
        Index("ix_outbox_fair", "platform", "cluster_id", "not_before", postgresql_where=text(WAITING),
              sqlite_where=text(WAITING)),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)                     # "post", "direct" or "update" (of a posted card)
    platform: str = Field(default=DEFAULT_PLATFORM, sa_column_kwargs={"server_default": DEFAULT_PLATFORM},
                          max_length=PLATFORM_NAME_MAX)  # only that platform's delivery sends it
    key: str | None = Field(default=None, max_length=64)  # what the post is of ("poll:12"), for remember
    channel: str = Field(max_length=255)                 # the channel, or the person for a DM
    team_id: str | None = Field(default=None, max_length=255)
    asker: str | None = Field(default=None, max_length=1024)  # who to tell if it is refused (JSON), if anyone
    payload: str = Field(sa_column=Column(String, nullable=False))  # the Reply, as JSON
    created_at: datetime = _created_at()
    not_before: datetime = _created_at()
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    attempts: int = 0
    uncertain: bool = False                              # a try went unanswered: look before posting again
    last_error: str | None = Field(default=None, max_length=64)
    ref: str | None = Field(default=None, max_length=255)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    failed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # The cluster the row is for (None: none, or queued before migration 0023): the claim takes each
    # cluster's oldest due row first. Not a foreign key: the outbox is the sending machinery's.
    cluster_id: int | None = None
    # After this (the machine's clock) the row is not worth sending: dropped, never sent late (a reminder
    # after its meeting began, a digest after its day). None: no limit.
    useful_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


MEASURE_NAME_MAX = 150
MEASURE_TEXT_MAX = 1000


class MeasureUnit(StrEnum):
    PERCENT = "percent"  # numerator/denominator × 100, or a percentage typed as it is
    COUNT = "count"      # a whole number of things
    RATE = "rate"        # numerator/denominator per `rate_per` (per 1,000)
    NUMBER = "number"    # anything else (a mean wait in days)


class MeasureFrequency(StrEnum):
    MONTHLY = "monthly"
    WEEKLY = "weekly"


class MeasureStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class Measure(SQLModel, table=True):
    """A measure of a topic (D1, D2 …): what is counted, per practice and period, and which way is good."""

    __table_args__ = (
        UniqueConstraint("cluster_id", "short_id", name="uq_measure_short_id"),
        UniqueConstraint("cluster_id", "submission_key", name="uq_measure_submission"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    short_id: str = Field(max_length=12)
    topic_id: int = Field(foreign_key="topic.id", index=True)
    name: str = Field(max_length=MEASURE_NAME_MAX)
    definition: str = Field(default="", max_length=MEASURE_TEXT_MAX)
    unit: str = Field(default=MeasureUnit.PERCENT, max_length=8)
    rate_per: int = 1000
    higher_is_better: bool | None = None  # None: no direction of good was given
    frequency: str = Field(default=MeasureFrequency.MONTHLY, max_length=8)
    goal: float | None = None
    chart: str = Field(default="ihi", max_length=8)  # analysis.runchart.Method
    # First periods of new baselines (ISO dates), after a sustained change: the median starts again there.
    rebases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=MeasureStatus.ACTIVE, max_length=8)
    # Counted up whenever its data or settings change: what its stored run-chart signals were worked out from.
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    created_at: datetime = _created_at()
    updated_at: datetime = _created_at()
    retired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    retired_by: str | None = Field(default=None, max_length=PLATFORM_ID_MAX, index=True)
    submission_key: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)


class MeasurePoint(SQLModel, table=True):
    """One practice's value of a measure for one period (the first day of the month, or the Monday)."""

    __tablename__ = "measure_point"
    __table_args__ = (UniqueConstraint("measure_id", "practice_id", "period", name="uq_measure_point"),)

    id: int | None = Field(default=None, primary_key=True)
    measure_id: int = Field(foreign_key="measure.id", index=True)
    practice_id: int = Field(foreign_key="practice.id")
    period: date
    numerator: float | None = None
    denominator: float | None = None
    value: float
    recorded_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    recorded_at: datetime = _created_at()


class MeasurePointHistory(SQLModel, table=True):
    """A value that a later one replaced: what it was, who recorded it, and who replaced it when."""

    __tablename__ = "measure_point_history"

    id: int | None = Field(default=None, primary_key=True)
    point_id: int = Field(foreign_key="measure_point.id", index=True)
    numerator: float | None = None
    denominator: float | None = None
    value: float
    recorded_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    replaced_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    replaced_at: datetime = _created_at()


class MeasureChange(SQLModel, table=True):
    """One change to a practice's figure (recorded, replaced or removed): who, when, old and new. A removed
    figure leaves no point behind, so the history is kept by measure, practice and period, not by point."""

    __tablename__ = "measure_history"

    id: int | None = Field(default=None, primary_key=True)
    measure_id: int = Field(foreign_key="measure.id", index=True)
    practice_id: int = Field(foreign_key="practice.id")
    period: date
    action: str = Field(max_length=16)  # recorded | replaced | removed
    old_numerator: float | None = None
    old_denominator: float | None = None
    old_value: float | None = None
    new_numerator: float | None = None
    new_denominator: float | None = None
    new_value: float | None = None
    by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    at: datetime = _created_at()


class MeasureNudge(SQLModel, table=True):
    """The data-due reminder a person was sent for a cluster and period: claimed by a unique insert,
    so it goes once however many processes tick."""

    __tablename__ = "measure_nudge"

    cluster_id: int = Field(foreign_key="cluster.id", primary_key=True)
    user_id: str = Field(max_length=PLATFORM_ID_MAX, primary_key=True, index=True)
    period: date = Field(primary_key=True)
    sent_at: datetime = _created_at()


class MeasureSettings(SQLModel, table=True):
    """A cluster's choices about measures: which working day of the month data-due reminders go (0: never)."""

    __tablename__ = "measure_settings"

    cluster_id: int = Field(foreign_key="cluster.id", primary_key=True)
    nudge_working_day: int = 5
    nudged_month: date | None = None  # the month its reminders went: the tick's work for the month is done


class ConversationRef(SQLModel, table=True):
    """What a proactive Teams message needs to reach a conversation: where its Bot Connector is
    (service_url), the conversation, the tenant and the bot's own id. Stored when the app is installed
    or first messaged there; a person's 1:1 chat is kept too (user_id), so DMs and file offers reuse it."""

    __tablename__ = "conversation_ref"
    __table_args__ = (Index("ix_conversation_ref_personal", "tenant_id", "user_id"),)

    conversation_id: str = Field(max_length=PLATFORM_ID_MAX, primary_key=True)
    kind: str = Field(max_length=16)  # "channel", "groupChat" or "personal"
    service_url: str = Field(max_length=500)
    tenant_id: str = Field(max_length=PLATFORM_ID_MAX)
    bot_id: str = Field(max_length=PLATFORM_ID_MAX)
    team_id: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)
    user_id: str | None = Field(default=None, max_length=PLATFORM_ID_MAX, index=True)  # whose 1:1 chat (personal only)
    updated_at: datetime = _created_at()


SHARED_FILE_NAME_MAX = 255
TOKEN_HASH_LENGTH = 64  # a SHA-256, in hex


class SharedFile(SQLModel, table=True):
    """A chart or export shared with a cluster where the platform cannot hold the file for the channel
    (a Teams bot cannot put a file in a channel without Microsoft Graph): served from the bot's own
    endpoint to whoever holds its link, until it expires. Only the link's token's hash is kept, so the
    table alone opens nothing."""

    __tablename__ = "shared_file"
    __table_args__ = (
        Index("ix_shared_file_token_hash", "token_hash", unique=True),
        Index("ix_shared_file_expires_at", "expires_at"),  # the tick's one DELETE of what has expired
    )

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=TOKEN_HASH_LENGTH)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    file_name: str = Field(max_length=SHARED_FILE_NAME_MAX)
    content_type: str = Field(max_length=100)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = _created_at()
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


MINUTE_TEXT_MAX = 1000  # a minute line or a decision


class Attendance(SQLModel, table=True):
    """A practice (or a person, and through them their practice) present at a meeting, or sending
    apologies. One row per meeting and attendee: recording again changes present/apologies."""

    __table_args__ = (UniqueConstraint("meeting_id", "attendee", name="uq_attendance_attendee"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    attendee: str = Field(max_length=PLATFORM_ID_MAX + 8)  # "practice:<id>" or "person:<user id>"
    practice_id: int | None = Field(default=None, foreign_key="practice.id")
    user_id: str | None = Field(default=None, max_length=PLATFORM_ID_MAX, index=True)
    present: bool = True  # False: apologies
    by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    at: datetime = _created_at()


class MinuteLine(SQLModel, table=True):
    """One line of a meeting's minutes, in the order written."""

    __tablename__ = "minute_line"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    text: str = Field(max_length=MINUTE_TEXT_MAX)
    at: datetime = _created_at()


class Decision(SQLModel, table=True):
    """A decision taken at a meeting, optionally about a topic: the cluster's decision log."""

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    topic_id: int | None = Field(default=None, foreign_key="topic.id")
    by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    text: str = Field(max_length=MINUTE_TEXT_MAX)
    at: datetime = _created_at()


PERSON_NAME_MAX = 200  # a display name as the platform sends it (Teams allows 256; longer is cut)


class PersonName(SQLModel, table=True):
    """A person's name as their platform last showed it (Teams sends names with activities and
    mentions, and has no cheap lookup by id): kept so exports and minutes show names after a restart."""

    __tablename__ = "person_name"
    # The scheduler's purge of names not refreshed within the retention (commands/housekeeping.py).
    __table_args__ = (Index("ix_person_name_updated_at", "updated_at"),)

    user_id: str = Field(max_length=PLATFORM_ID_MAX, primary_key=True)
    name: str = Field(max_length=PERSON_NAME_MAX)
    updated_at: datetime = _created_at()


AUDIT_WHAT_MAX = 64     # "/cluster member add", "form meeting.decision"
AUDIT_ITEMS_MAX = 200   # the ids and practice codes a change named: "M2 80123"


class AuditEntry(SQLModel, table=True):
    """A change to a cluster's register, roles or record, or any command only its leads may use: who, what,
    when, and the ids and codes it named. Never the text typed: that may hold a patient identifier."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_cluster_at", "cluster_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id")
    at: datetime = _created_at()
    user_id: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    what: str = Field(max_length=AUDIT_WHAT_MAX)
    items: str = Field(default="", max_length=AUDIT_ITEMS_MAX)
    # The person it was about (a member added, a lead removed, an action assigned), if one was named.
    person: str | None = Field(default=None, max_length=PLATFORM_ID_MAX, index=True)


# --- progress scores and the monthly practice check-in (issue 24) -----------------------------------

CHECKIN_TEXT_MAX = 1000  # each answer of a practice's check-in


class ProgressScore(SQLModel, table=True):
    """A topic's progress on the IHI / Life QI scale (0.5 intending … 5 outstanding), kept as half-points
    (1 to 10) so the scale is exact: every score ever given, so the history shows."""

    __tablename__ = "progress_score"
    __table_args__ = (Index("ix_progress_score_topic_at", "topic_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id")
    halves: int  # 1 (0.5 intending) … 10 (5 outstanding)
    by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    at: datetime = _created_at()


class ProgressAsk(SQLModel, table=True):
    """That a topic's monthly progress score was asked for in a month: claimed (inserted) before the
    question is sent, so it goes once a month however many processes tick."""

    __tablename__ = "progress_ask"

    topic_id: int = Field(foreign_key="topic.id", primary_key=True)
    month: date = Field(primary_key=True)
    sent_at: datetime = _created_at()


class CheckinSettings(SQLModel, table=True):
    """A cluster's monthly practice check-in: which working day of the month (0: off) and when; and the
    months the tick has done its monthly work (check-in opened, progress scores asked)."""

    __tablename__ = "checkin_settings"

    cluster_id: int = Field(foreign_key="cluster.id", primary_key=True)
    working_day: int = 0
    minute: int = 600  # local minutes after midnight (10:00)
    opened_month: date | None = None
    scores_month: date | None = None


class CheckinRound(SQLModel, table=True):
    """One month's check-in of a cluster: opened, a reminder two working days later, the digest after."""

    __tablename__ = "checkin_round"
    __table_args__ = (
        UniqueConstraint("cluster_id", "month", name="uq_checkin_round_month"),
        Index("ix_checkin_round_remind", "remind_at", sqlite_where=text("reminded_at IS NULL"),
              postgresql_where=text("reminded_at IS NULL")),
        Index("ix_checkin_round_digest", "digest_at", sqlite_where=text("digested_at IS NULL"),
              postgresql_where=text("digested_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id")
    month: date
    opened_at: datetime = _created_at()
    remind_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    digest_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    digested_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class CheckinAnswer(SQLModel, table=True):
    """A practice's answer to a check-in: one per practice and round, editable until the digest."""

    __tablename__ = "checkin_answer"
    __table_args__ = (UniqueConstraint("round_id", "practice_id", name="uq_checkin_answer_practice"),)

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="checkin_round.id", index=True)
    practice_id: int = Field(foreign_key="practice.id")
    tested: str = Field(default="", max_length=CHECKIN_TEXT_MAX)
    blockers: str = Field(default="", max_length=CHECKIN_TEXT_MAX)
    data: str = Field(default="", max_length=CHECKIN_TEXT_MAX)
    by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    at: datetime = _created_at()


SLACK_TOKEN_MAX = 512  # Slack's tokens are well under 100 characters today; room for longer ones


class SlackInstallation(SQLModel, table=True):
    """A Slack workspace (or Enterprise Grid organisation) that installed the app with "Add to Slack":
    its bot's token, refresh token and when the token expires (token rotation). One row per workspace,
    replaced on every reinstall; deleted when the app is uninstalled or its tokens revoked. Only the
    Slack adapter reads it (bot/slack/oauth.py, through storage/slack_installs.py). Nothing about the
    person who installed it is kept."""

    __tablename__ = "slack_installation"

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)
    team_id: str | None = Field(default=None, max_length=PLATFORM_ID_MAX, index=True)
    team_name: str | None = Field(default=None, max_length=NAME_MAX)
    is_enterprise_install: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    app_id: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)
    bot_id: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)
    bot_user_id: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)
    bot_scopes: str = Field(default="", max_length=1024, sa_column_kwargs={"server_default": ""})
    bot_token: str = Field(max_length=SLACK_TOKEN_MAX)
    bot_refresh_token: str | None = Field(default=None, max_length=SLACK_TOKEN_MAX)
    bot_token_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    installed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class SlackOAuthState(SQLModel, table=True):
    """An "Add to Slack" link's state, handed out with the install page and accepted once, until it
    expires: it ties the redirect back from Slack to a link this server gave out (no forged installs)."""

    __tablename__ = "slack_oauth_state"

    state: str = Field(max_length=128, primary_key=True)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))


# --- the QI method (issue 24): driver diagrams, change ideas and PDSA cycles ----------------------------

DRIVER_TEXT_MAX = 300   # a driver or a change idea: a phrase for a box in the diagram
PDSA_TEXT_MAX = 2000    # what a cycle tests, predicts, found and learned


class PdsaAct(StrEnum):
    ADOPT = "adopt"
    ADAPT = "adapt"
    ABANDON = "abandon"


class TopicDriver(SQLModel, table=True):
    """A driver of a topic's aim: primary (no parent, numbered 1, 2 …) or secondary (under primary n: n.1, n.2 …).
    Numbers stay as given: removing driver 2 of 3 leaves 1 and 3, so ids people have written down still mean the
    same (a new driver takes the number after the highest)."""

    __tablename__ = "topic_driver"
    # The constraint covers secondaries; a NULL parent is distinct from every other NULL on both databases,
    # so primaries' numbers need their own partial unique index (two drivers added at once: one retries).
    __table_args__ = (
        UniqueConstraint("topic_id", "parent_id", "number", name="uq_topic_driver_number"),
        Index("uq_topic_driver_primary_number", "topic_id", "number", unique=True,
              sqlite_where=text("parent_id IS NULL"), postgresql_where=text("parent_id IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", index=True)
    parent_id: int | None = Field(default=None, foreign_key="topic_driver.id", index=True)
    number: int
    text: str = Field(max_length=DRIVER_TEXT_MAX)
    created_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    created_at: datetime = _created_at()


class ChangeIdea(SQLModel, table=True):
    """A change idea under a driver, with a cluster-wide id (C1, C2 …): what the PDSA cycles test."""

    __tablename__ = "change_idea"
    __table_args__ = (UniqueConstraint("cluster_id", "short_id", name="uq_change_idea_short_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    short_id: str = Field(max_length=12)
    topic_id: int = Field(foreign_key="topic.id", index=True)
    driver_id: int = Field(foreign_key="topic_driver.id", index=True)
    text: str = Field(max_length=DRIVER_TEXT_MAX)
    created_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    created_at: datetime = _created_at()


class PdsaCycle(SQLModel, table=True):
    """One PDSA cycle of a change idea (C4.1, C4.2 …: a ramp of tests). Its study prompt is claimed
    (prompted_at) before it is sent, so the planner is asked once however many processes tick."""

    __tablename__ = "pdsa_cycle"
    __table_args__ = (
        UniqueConstraint("idea_id", "number", name="uq_pdsa_cycle_number"),
        Index("ix_pdsa_cycle_unprompted", "due_on", sqlite_where=text("prompted_at IS NULL"),
              postgresql_where=text("prompted_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    idea_id: int = Field(foreign_key="change_idea.id", index=True)
    number: int
    plan: str = Field(max_length=PDSA_TEXT_MAX)
    prediction: str = Field(default="", max_length=PDSA_TEXT_MAX)
    due_on: date | None = None
    practice_id: int | None = Field(default=None, foreign_key="practice.id")
    measure_id: int | None = Field(default=None, foreign_key="measure.id", index=True)
    done: str = Field(default="", max_length=PDSA_TEXT_MAX)
    study: str = Field(default="", max_length=PDSA_TEXT_MAX)
    act: str | None = Field(default=None, max_length=8)
    act_note: str = Field(default="", max_length=PDSA_TEXT_MAX)
    planned_by: str = Field(max_length=PLATFORM_ID_MAX, index=True)
    planned_at: datetime = _created_at()
    updated_at: datetime = _created_at()
    prompted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    submission_key: str | None = Field(default=None, max_length=PLATFORM_ID_MAX)

