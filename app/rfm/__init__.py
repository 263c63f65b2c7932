"""Orders and events in, RFM scores out: ingest, pure scoring, the segment map, the recompute job."""
