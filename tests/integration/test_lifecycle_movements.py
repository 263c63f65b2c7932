"""Recording a stage movement: history rows, the tag owed to WeCom, listeners in the same transaction."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.core.db import transaction
from app.extensions import db
from app.lifecycle import movements
from app.lifecycle.models import CustomerStage, StageMovement


@pytest.fixture
def heard():
    calls = []

    def listener(after_id, last_id):
        calls.append([(m.external_userid, m.from_stage, m.to_stage) for m in db.session.scalars(
            select(StageMovement).where(StageMovement.id > after_id, StageMovement.id <= last_id))])

    movements.on_movements(listener)
    yield calls
    movements._listeners.remove(listener)


def test_a_move_keeps_history_and_owes_the_tag_only_when_the_stage_changed(app, heard):
    at = datetime(2026, 12, 4, 16, 30, tzinfo=timezone.utc)  # 00:30 on 12-05 in Shanghai
    with transaction():
        first = movements.move("wm1", "active", "daily", at)
    assert (first.from_stage, first.to_stage, str(first.day)) == (None, "active", "2026-12-05")
    with transaction():
        db.session.get(CustomerStage, "wm1").tagged_stage = "active"
        db.session.get(CustomerStage, "wm1").mark_state = "done"
        assert movements.move("wm1", "active", "daily", at) is None
        second = movements.move("wm1", "dormant", "daily", at)
    row = db.session.get(CustomerStage, "wm1")
    assert (row.stage, row.mark_state, str(row.since)) == ("dormant", "pending", "2026-12-05")
    assert [m.to_stage for m in movements.movements_after(0)] == ["active", "dormant"]
    assert [m.id for m in movements.movements_after(first.id)] == [second.id]
    assert heard == [[("wm1", None, "active")], [("wm1", "active", "dormant")]]
    with pytest.raises(ValueError):
        movements.move("wm1", "asleep", "daily", at)
