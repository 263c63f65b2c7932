"""Runs of a push: schedules, due runs, the misfire rule, planning a run into the send engine."""
