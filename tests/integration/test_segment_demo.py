"""The demo's saved segments: created once, valid, and counted when their members page is opened."""
from sqlalchemy import select

from app.extensions import db
from app.segments import service
from scripts.demo.segments import DEMO_SEGMENTS, seed_demo_segments
from app.segments.models import Segment


def test_demo_segments_are_seeded_once_and_are_valid(app):
    assert seed_demo_segments() == 3
    assert seed_demo_segments() == 0
    segments = db.session.scalars(select(Segment).order_by(Segment.id)).all()
    assert [s.name for s in segments] == [name for name, _d, _r in DEMO_SEGMENTS]
    for segment in segments:
        service.validate(segment.rule)
        assert segment.last_count is None  # RFM arrives after seeding: counted when someone looks
        assert service.recount(segment) == 0
