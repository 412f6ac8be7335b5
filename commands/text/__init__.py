"""Reading what people type: dates and times (dates), words, ids and quoted options (parsing), repeats
(recurrence), and the patient-identifier guard every stored text passes (guard)."""
