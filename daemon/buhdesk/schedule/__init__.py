"""Stage 5, schedule: reminders, digests, weekly summaries and retention, each run claimed once per
period."""
