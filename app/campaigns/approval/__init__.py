"""Submitting a push and its approval by a supervisor: the review of what changed, the decision."""
