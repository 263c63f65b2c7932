"""Segments (人群): rule trees compiled to SQL, saved segments, the builder page and live counts."""
