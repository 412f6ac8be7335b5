"""/measure: measures of a topic (core), their data (data), settings and data-due reminders (admin), run
charts (charts), workbooks (export, workbook), what changed for an agenda or the Home (news), and a
measure's series as the run-chart rules read it (series). "data" is what people enter with `/measure
record`; "record" alone means a meeting's record (commands/meetings/record.py)."""
