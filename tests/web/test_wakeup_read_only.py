"""Supervisors see 沉睡唤醒 read-only (lifecycle and journeys with their results) and approve a journey's pending
version from the approvals queue; changing anything stays with those who may manage wake-ups."""
from sqlalchemy import select

from app.extensions import db
from app.journeys import service
from app.journeys.models import Journey
from tests.conftest import csrf_token, sign_in


def pending_journey() -> Journey:
    journey = service.create("", "wakeup", "operator")
    service.submit(journey, "operator", may_approve=False)
    return journey


def test_a_supervisor_sees_wakeup_read_only_and_finds_the_pending_version_in_the_queue(client, make_user):
    journey = pending_journey()
    sign_in(client, make_user("supervisor").username)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/lifecycle/"' in home and "沉睡唤醒" in home

    lifecycle = client.get("/lifecycle/")
    assert lifecycle.status_code == 200 and "只读" in lifecycle.get_data(as_text=True)
    assert "/lifecycle/recompute" not in lifecycle.get_data(as_text=True)  # no button that would be refused
    journeys = client.get("/journeys/").get_data(as_text=True)
    assert "新建旅程" not in journeys and f"/journeys/{journey.id}/edit" not in journeys
    assert "第 1 版待审批" in journeys
    for url in (f"/journeys/{journey.id}/edit", "/lifecycle/settings"):
        assert client.get(url).status_code == 403
    assert client.post("/lifecycle/recompute", data={"csrf_token": csrf_token(client, "/")}).status_code == 403

    queue = client.get("/campaigns/approvals").get_data(as_text=True)
    row = queue.split("data-approvals", 1)[1].split("</table>", 1)[0]
    assert "客户旅程" in row and "沉睡唤醒" in row and "operator" in row and f'href="/journeys/{journey.id}"' in row
    detail = client.get(f"/journeys/{journey.id}").get_data(as_text=True)
    assert "批准并运行" in detail and "编辑草稿" not in detail
    client.post(f"/journeys/{journey.id}/approve", data={"csrf_token": csrf_token(client, "/"),
                                                         "version": journey.version})
    db.session.expire_all()
    assert db.session.scalar(select(Journey.status)) == "active"
    assert "data-approvals" not in client.get("/campaigns/approvals").get_data(as_text=True)
    assert client.get(f"/journeys/{journey.id}/results").status_code == 200


def test_viewers_still_see_no_wakeup(client, signed_in_as):
    signed_in_as("viewer")
    assert client.get("/lifecycle/").status_code == 403
    assert 'href="/lifecycle/"' not in client.get("/").get_data(as_text=True)
