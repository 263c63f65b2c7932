"""A push that attaches media-library files, through the dispatcher, the gateway and the emulator over HTTP: WeCom
receives a media_id valid at the send (uploaded again when the one we held is over), and a mini program's library
cover as its own media_id."""
from datetime import timedelta

from sqlalchemy import update

from app.campaigns.models import CampaignRun, CampaignVariant
from app.core.db import transaction, utcnow
from app.extensions import db
from app.media import service as media
from tests.integration.campaign_exec_support import deliveries, dispatch_all, make_run, staff_and_customers

PNG = b"\x89PNG\r\n\x1a\n" + b"\2" * 400


def attach(run_id: int, attachments: list[dict]) -> None:
    """The push's content with these attachments, in the campaign and in its run (the send engine reads the run's)."""
    content = {"text": "双十二海报见图", "attachments": attachments}
    with transaction():
        run = db.session.get(CampaignRun, run_id)
        db.session.execute(update(CampaignVariant).where(CampaignVariant.campaign_id == run.campaign_id)
                           .values(content=content))
        run.variants = [{**variant, "content": content} for variant in run.variants]


def test_a_push_sends_a_library_image_with_a_fresh_media_id(wired, wecom):
    [(sender, theirs)] = staff_and_customers(wecom, 1)
    poster = media.add("image", "双十二海报", "poster.png", PNG, "operator")
    with transaction():  # an id we held once, three days ago: WeCom has forgotten it
        poster.media_id, poster.media_expires_at = "3stale-media-id", utcnow() - timedelta(hours=2)
    run_id = make_run([(t, sender) for t in theirs[:2]])
    attach(run_id, [{"msgtype": "image", "image": {"library_id": poster.id}},
                    {"msgtype": "miniprogram", "miniprogram": {"title": "会员中心", "appid": "wx123", "page": "pages/vip",
                                                               "pic_library_id": poster.id}}])
    dispatch_all()

    db.session.refresh(poster)
    [msg] = wired.control.get("groupmsgs")["group_msgs"]
    assert poster.media_id != "3stale-media-id" and poster.media_expires_at > utcnow() + timedelta(days=2)
    assert msg["attachments"] == [
        {"msgtype": "image", "image": {"media_id": poster.media_id}},
        {"msgtype": "miniprogram", "miniprogram": {"title": "会员中心", "appid": "wx123", "page": "pages/vip",
                                                   "pic_media_id": poster.media_id}}]
    assert wired.control.call_count("media/upload") == 1  # uploaded once, for both
    assert {status for status, _reason in deliveries(run_id).values()} == {"submitted"}
