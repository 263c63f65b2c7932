"""The all-in-one demo (`flask scrm demo`, `make demo`): its start-up and the believable company it seeds."""
