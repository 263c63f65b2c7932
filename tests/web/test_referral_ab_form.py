"""任务宝 task form with a second ladder (A/B): saved with its arm, checked like the first, shown again on edit."""
from sqlalchemy import select

from app.extensions import db
from app.referral.models import ARM_A, ARM_B, ReferralLevel, ReferralTask
from tests.conftest import csrf_token
from tests.web.test_referral_pages import form, staff  # noqa: F401 (fixture)


def test_the_form_saves_a_second_ladder_and_refuses_a_bad_one(client, signed_in_as, staff):
    signed_in_as("operator")
    token = csrf_token(client, "/referral/new")
    bad = client.post("/referral/new", data=form(csrf_token=token, b_needed_0="2", b_reward_0="", b_stock_0="5",
                                                 b_kind_0="staff"))
    assert bad.status_code == 200 and "每级都要填写奖励名称（最多 64 个字）" in bad.get_data(as_text=True)
    assert db.session.scalar(select(ReferralTask.id)) is None  # nothing saved
    saved = client.post("/referral/new", data=form(csrf_token=token, b_needed_0="2", b_reward_0="双人茶礼",
                                                   b_stock_0="50", b_kind_0="staff", b_cost_0="30"))
    assert saved.status_code == 302
    levels = db.session.scalars(select(ReferralLevel).order_by(ReferralLevel.arm, ReferralLevel.needed)).all()
    assert [(lv.arm, lv.needed, lv.reward, lv.stock, lv.cost_fen) for lv in levels] == [
        (ARM_A, 3, "定制帆布袋", 100, 1250), (ARM_A, 6, "满减券", 3, 500), (ARM_B, 2, "双人茶礼", 50, 3000)]
    task_id = db.session.scalar(select(ReferralTask.id))
    page = client.get(f"/referral/{task_id}/edit").get_data(as_text=True)
    ladder_b = page[page.index('data-levels="B"'):]
    assert 'name="b_reward_0" maxlength="64" value="双人茶礼"' in ladder_b and "<details class=\"mb-3\" open" in page
