"""Journey pages: the nav item leads to the list, a template becomes a draft, the editor saves a new version (and
refuses sensitive words), an operator's submission waits for a supervisor, the test run sends nothing, results show."""
from datetime import timedelta

from sqlalchemy import func, select

from app.contacts.models import Customer, FollowRelation, Staff
from app.core.db import utcnow
from app.extensions import db
from app.journeys.models import Journey
from app.sending.models import Delivery
from tests.conftest import csrf_token, sign_in


def post(client, url, data=None):
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client, "/journeys/")})


def editor_form(journey: Journey, **changes) -> dict:
    """The editor's fields for the journey's draft, as the page would post them."""
    spec = journey.draft
    form = {"name": journey.name, "trigger_kind": spec["trigger"]["kind"], "trigger_stage": spec["trigger"].get("stage", ""),
            "exits": spec["exits"], "holdout_percent": spec["holdout_percent"],
            "guardrail_percent": spec["guardrail_percent"], "slots": ",".join(spec["slots"]),
            "reentry_days": spec["reentry_days"] or ""}
    for n, step in enumerate(spec["steps"]):
        form.update({f"steps-{n}-{k}": v for k, v in step.items() if k not in ("if",) and v is not None})
        if step.get("if"):
            form[f"steps-{n}-if_field"] = step["if"]["field"]
            form[f"steps-{n}-if_in"] = step["if"].get("in", [])
    form.update(changes)
    return form


def test_nav_item_template_editor_and_approval(client, signed_in_as, make_user, word_library):
    signed_in_as("operator")
    page = client.get("/journeys/").get_data(as_text=True)
    assert "还没有客户旅程" in page and 'href="/journeys/"' in page

    response = post(client, "/journeys/new", {"template": "wakeup"})
    journey = db.session.scalars(select(Journey)).one()
    assert response.headers["Location"].endswith(f"/journeys/{journey.id}/edit")
    assert journey.name == "沉睡唤醒" and [s["kind"] for s in journey.draft["steps"]] == [
        "message", "wait", "task", "wait", "message"]
    editor = client.get(f"/journeys/{journey.id}/edit").get_data(as_text=True)
    assert "好久不见" in editor and "journeys.js" in editor and "<script>" not in editor

    refused = post(client, f"/journeys/{journey.id}/edit", editor_form(journey, **{"steps-0-text": "全网第一的回归券"}))
    assert "含敏感词" in refused.get_data(as_text=True) and journey.version == 1

    # steps come in the order the page shows them; a removed row is left out
    form = editor_form(journey, **{"steps-0-text": "老朋友，回归券给您", "steps-4-remove": "1",
                                   "steps-0-order": "2", "steps-1-order": "1"})
    response = post(client, f"/journeys/{journey.id}/edit", form)
    assert response.status_code == 302
    db.session.refresh(journey)
    assert journey.version == 2 and [s["kind"] for s in journey.draft["steps"]] == ["wait", "message", "task", "wait"]

    post(client, f"/journeys/{journey.id}/submit")
    db.session.refresh(journey)
    assert journey.status == "pending_approval" and journey.live is None  # an operator cannot start it alone

    client.get("/auth/logout")
    supervisor = make_user("supervisor")
    sign_in(client, supervisor.username)
    detail = client.get(f"/journeys/{journey.id}").get_data(as_text=True)
    assert "批准并运行" in detail
    post(client, f"/journeys/{journey.id}/approve", {"version": journey.version})
    db.session.refresh(journey)
    assert journey.status == "active" and journey.live_version == 2 and journey.live["steps"][1]["text"] == "老朋友，回归券给您"
    history = client.get(f"/journeys/{journey.id}").get_data(as_text=True)
    assert "批准并运行" in history and "保存草稿" in history


def test_test_run_walks_the_draft_and_sends_nothing(client, signed_in_as):
    db.session.add(Staff(userid="alice", name="Alice", status=1))
    db.session.add(Customer(external_userid="wmA", name="王小明"))
    db.session.add(FollowRelation(userid="alice", external_userid="wmA", added_at=utcnow() - timedelta(days=90)))
    db.session.commit()
    signed_in_as("operator")
    post(client, "/journeys/new", {"template": "newcomer"})
    journey = db.session.scalars(select(Journey)).one()
    page = client.get(f"/journeys/{journey.id}?customers=wmA,wmNOPE").get_data(as_text=True)
    assert "王小明" in page and "没有这位客户" in page and "Alice" in page
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0

    results = client.get(f"/journeys/{journey.id}/results")
    assert results.status_code == 200 and "触达组" in results.get_data(as_text=True)


def test_viewer_cannot_open_journeys(client, signed_in_as):
    signed_in_as("viewer")
    assert client.get("/journeys/").status_code == 403


def test_the_customers_timeline_shows_their_journey_and_the_wait_they_are_in(client, signed_in_as):
    from app.journeys import jobs
    from tests.integration.test_journeys import NOON, journey_from, seed

    seed(1)
    journey = journey_from([{"kind": "task", "title": "一对一关怀", "due_hours": 24}, {"kind": "wait", "days": 3}])
    jobs.tick_one(journey, NOON)
    signed_in_as("admin")
    page = client.get("/contacts/wm000").get_data(as_text=True)
    assert "进入旅程「测试旅程」" in page and "旅程「测试旅程」：给跟进成员派了任务" in page
    assert "旅程「测试旅程」：开始等待，2026-11-26 12:00 结束" in page  # three days from noon, corp time
