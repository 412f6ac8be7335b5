"""/poll: polls with one ballot per practice (or per person), deadlines, anonymous and hidden results (core).
New poll kinds and timetables live beside core as their own modules, registered after it in
commands/families.py."""
