"""What a push achieved: the funnel, staff execution, conversions against the holdout, their pages."""
