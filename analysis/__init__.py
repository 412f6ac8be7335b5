"""Analysis of measures: pure run-chart and SPC rules (runchart) and the pictures drawn from them (charts).

Nothing here touches the database or a chat platform, so the rules are easy to test and reuse.
"""
