"""The ten built-in SOP templates an operator starts from: items with Chinese content and a tier."""
from __future__ import annotations

from dataclasses import dataclass, field

from app.core.permissions import N_
from app.community.sop.models import PUSH, TASK


@dataclass(frozen=True)
class ItemSpec:
    """An item of a template; `start_in` days after the SOP is made (its first due day)."""

    title: str
    text: str
    at: str
    recurrence: str = "daily"
    kind: str = PUSH
    weekdays: tuple[int, ...] = ()
    month_day: int | None = None
    every_days: int | None = None
    times: int | None = None
    start_in: int = 0


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    tier: str
    summary: str
    items: tuple[ItemSpec, ...] = field(default_factory=tuple)


TEMPLATES: tuple[Template, ...] = (
    Template("morning", N_("每日早安/干货"), "regular", N_("每天早上一句问候，午间一条干货"), (
        ItemSpec("早安问候", "早上好！新的一天从一杯温水开始，今天也要元气满满～有问题随时在群里问我们。", "08:30"),
        ItemSpec("午间干货", "【今日干货】换季护肤三步：温和清洁、补水保湿、白天防晒。收藏起来，照着做就对了！",
                 "12:15"))),
    Template("live", N_("每周直播预告"), "regular", N_("直播前一天预告，开播前提醒，群主当天置顶"), (
        ItemSpec("直播预告", "【直播预告】明晚 20:00 直播间见！新品首发 + 限时福利，点击预约不错过。", "19:00",
                 "weekly", weekdays=(2,)),
        ItemSpec("开播提醒", "直播马上开始！现在进直播间，前 100 名下单加赠小样，快来～", "19:50", "weekly",
                 weekdays=(3,)),
        ItemSpec("置顶直播间链接", "今晚直播：请在群里置顶直播间链接，并在开播时@所有人提醒一次。", "18:00", "weekly",
                 kind=TASK, weekdays=(3,)))),
    Template("checkin", N_("21天打卡"), "newcomer", N_("连续 21 天每天一次打卡提醒，第 7、14、21 天群主点评"), (
        ItemSpec("每日打卡提醒", "21 天打卡进行中！今天也记得在群里晒出你的打卡照片，坚持就是胜利～", "08:00", "every",
                 every_days=1, times=21),
        ItemSpec("打卡阶段点评", "请在群里点评本阶段打卡情况，给坚持打卡的成员点名表扬，并预告下一阶段的奖励。",
                 "20:00", "every", kind=TASK, every_days=7, times=3, start_in=6))),
    Template("member_day", N_("会员日"), "vip", N_("每周三会员日：前一晚预告，当天上午开场"), (
        ItemSpec("会员日预告", "明天是每周三会员日！VIP 专享全场 9 折，还有会员专属好礼，记得来～", "20:00", "weekly",
                 weekdays=(1,)),
        ItemSpec("会员日开场", "会员日开始啦！今天下单享 VIP 9 折，满 299 再送精美小样，数量有限先到先得。", "10:00",
                 "weekly", weekdays=(2,)))),
    Template("new_arrival", N_("新品上新"), "vip", N_("上新当天预告、开售与次日返场三步"), (
        ItemSpec("上新预告", "新品明天上线！VIP 群成员可提前 1 小时抢购，敬请期待～", "20:00", "once"),
        ItemSpec("新品开售", "新品正式开售！VIP 专享首发价，点击链接即可下单。", "10:00", "once", start_in=1),
        ItemSpec("返场提醒", "昨天没抢到的朋友看这里：新品今天返场，首发价最后一天！", "12:00", "once", start_in=2))),
    Template("festival", N_("节日祝福"), "regular", N_("节日当天的祝福与福利，群主在群里发红包"), (
        ItemSpec("节日祝福", "节日快乐！感谢一路相伴，今天群内专属福利已上线，祝您和家人幸福安康～", "09:30", "once"),
        ItemSpec("群内发红包", "节日当天请在群里发一个小红包活跃气氛，并感谢大家的支持。", "10:00", "once",
                 kind=TASK))),
    Template("newcomer_guide", N_("新人入群引导"), "newcomer", N_("每天一条入群须知，每周一群主欢迎新人"), (
        ItemSpec("入群须知", "欢迎新朋友！群公告里有新人专享券和常见问题，有任何问题直接@群主就好。", "11:00"),
        ItemSpec("欢迎本周新人", "请在群里@本周新入群的成员表示欢迎，并介绍新人福利的领取方式。", "10:30", "weekly",
                 kind=TASK, weekdays=(0,)))),
    Template("weekend", N_("周末福利"), "regular", N_("每周五预告、周六福利开抢"), (
        ItemSpec("周末福利预告", "周末福利来了！明天上午 10 点群内限量秒杀，定好闹钟～", "18:00", "weekly",
                 weekdays=(4,)),
        ItemSpec("周末秒杀开始", "秒杀开始！群内专属价，限量 50 份，手慢无～", "10:00", "weekly", weekdays=(5,)))),
    Template("monthly_review", N_("月度复盘"), "vip", N_("每月最后几天群主复盘，月初发上月回顾"), (
        ItemSpec("月度群复盘", "请复盘本月群运营：新增与流失、活跃成员、反馈最多的问题，并在系统里记录下月计划。",
                 "17:00", "monthly", kind=TASK, month_day=28),
        ItemSpec("上月回顾", "上个月群里最受欢迎的好物和干货都整理好了，点开回顾一下，本月还有更多惊喜！", "10:00",
                 "monthly", month_day=1))),
    Template("reactivate", N_("沉默群激活"), "regular", N_("每隔 3 天一个话题，共 5 次，群主发起互动"), (
        ItemSpec("互动话题", "今天聊聊：你最近最常用的一件好物是什么？评论区说说，抽 3 位送小礼物～", "20:00", "every",
                 every_days=3, times=5),
        ItemSpec("群主发起互动", "请在群里发起一个话题或小游戏，@几位老成员带动气氛。", "20:30", "every", kind=TASK,
                 every_days=3, times=5))),
)
BY_KEY = {t.key: t for t in TEMPLATES}
