"""/meeting: scheduling, agendas and reminders (schedule), the record of a meeting held: attendance,
minute lines and decisions (record), and the minutes (minutes)."""
