"""Every command family, registered in this order: the order of help, of the Teams and Slack command
lists and of the manifest. A family's module registers its subcommands, buttons, forms and ticks when it
is imported; importing them here, in one declared list, makes that order explicit."""

import importlib

# (module, what it holds). Within a family, a module's subcommands come after those of the modules
# before it (measures: adding, then entering data, then editing).
ORDER = (
    ("commands.cluster", "/cluster: set-up, practices, people, leads"),
    ("commands.topics.core", "/topic"),
    ("commands.topics.aims", "/topic aim: the aim said back as STAN"),
    ("commands.topics.drivers", "/topic driver, idea, diagram: the driver diagram"),
    ("commands.polls.core", "/poll"),
    ("commands.polls.kinds", "/poll: ranked polls, dot votes and PICK charts"),
    ("commands.polls.timetable", "/poll on a timetable: opens, every, scheduled, stop; the reminder before a close"),
    ("commands.polls.edit", "/poll edit: a posted poll's question and options"),
    ("commands.actions", "/action"),
    ("commands.meetings.schedule", "/meeting: scheduling, agendas, reminders"),
    ("commands.meetings.record", "/meeting: the record of a meeting (attendance, minute lines, decisions)"),
    ("commands.meetings.minutes", "/meeting minutes"),
    ("commands.meetings.lock", "/meeting lock and unlock: minutes read-only MINUTES_LOCK_DAYS after the meeting"),
    ("commands.meetings.carry", "/meeting item M1 covered: what is not covered carries to the next meeting"),
    ("commands.meetings.invite", "/meeting invite: the meeting as a calendar file (.ics)"),
    ("commands.measures.core", "/measure: measures and their settings"),
    ("commands.measures.data", "/measure record and enter: data"),
    ("commands.measures.admin", "/measure edit, retire, rebase; data-due reminders"),
    ("commands.measures.charts", "/measure chart"),
    ("commands.measures.export", "/measure export"),
    # After the measures: /pdsa is the last family in help (a cycle names the measure it should move).
    ("commands.topics.pdsa", "/pdsa: PDSA cycles of change ideas; the study prompt"),
    ("commands.topics.progress", "/topic score: progress on the IHI scale, asked monthly"),
    ("commands.checkin", "/checkin: the monthly practice check-in, its reminder, digest and agenda part"),
    ("commands.exports", "/action export, /cluster export, /cluster report"),
    ("commands.audit", "/cluster audit: who changed the register, roles and record"),
    ("commands.home", "the Home and the welcome"),
    ("commands.housekeeping", "the tick's upkeep: old event ids and expired shared files forgotten"),
)

MODULES = tuple(importlib.import_module(name) for name, _ in ORDER)
