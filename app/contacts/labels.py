"""Display labels for WeCom codes on the contacts pages (add way, join scene, staff status); mobiles masked and
normalised."""
from __future__ import annotations

import re

from app.core.permissions import N_

ADD_WAY_LABELS = {
    0: N_("未知来源"), 1: N_("扫描二维码"), 2: N_("搜索手机号"), 3: N_("名片分享"), 4: N_("群聊"),
    5: N_("手机通讯录"), 6: N_("微信联系人"), 8: N_("第三方应用客服"), 9: N_("搜索邮箱"), 10: N_("视频号"),
    11: N_("日程参与人"), 12: N_("会议参与人"), 13: N_("微信好友对应的企业微信"), 14: N_("智能硬件专属客服"),
    15: N_("上门服务客服"), 16: N_("获客链接"), 17: N_("定制开发"), 18: N_("需求回复"),
    201: N_("内部成员共享"), 202: N_("管理员或负责人分配"),
}
JOIN_SCENE_LABELS = {0: N_("未知"), 1: N_("成员直接邀请"), 2: N_("成员邀请链接"), 3: N_("扫描群二维码")}
STAFF_STATUS_LABELS = {1: N_("已激活"), 2: N_("已禁用"), 4: N_("未激活"), 5: N_("已离职")}
ENDED_BY_LABELS = {"customer": N_("客户删除了员工"), "staff": N_("员工删除了客户")}
TRANSFER_FAIL_LABELS = {"customer_refused": N_("客户拒绝"), "customer_limit_exceed": N_("接替成员客户数已达上限")}


def mask_mobile(mobile: str) -> str:
    """A phone number with its middle hidden (138****5678); short numbers keep only the last two digits."""
    if len(mobile) >= 8:
        return mobile[:3] + "*" * (len(mobile) - 7) + mobile[-4:]
    return "*" * max(len(mobile) - 2, 0) + mobile[-2:]


def normalize_mobile(value: str | None) -> str:
    """Digits only, without a leading +86 / 86 on an 11-digit mainland number."""
    digits = re.sub(r"\D", "", value or "")
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits
