"""The decided RFM segment map (R x F grid) and the 8-class model, with their Chinese names."""
from __future__ import annotations

from app.core.permissions import N_

# (segment key, 中文, R scores, F scores): a partition of all 25 cells of the R x F grid.
SEGMENTS: tuple[tuple[str, str, range, range], ...] = (
    ("champions", N_("冠军客户"), range(5, 6), range(4, 6)),
    ("loyal", N_("忠诚客户"), range(3, 5), range(4, 6)),
    ("potential_loyalist", N_("潜力客户"), range(4, 6), range(2, 4)),
    ("new", N_("新客户"), range(5, 6), range(1, 2)),
    ("promising", N_("有望客户"), range(4, 5), range(1, 2)),
    ("need_attention", N_("需关注"), range(3, 4), range(3, 4)),
    ("about_to_sleep", N_("即将沉睡"), range(3, 4), range(1, 3)),
    ("at_risk", N_("高危流失"), range(1, 3), range(3, 5)),
    ("cant_lose", N_("不能失去"), range(1, 3), range(5, 6)),
    ("hibernating", N_("沉睡客户"), range(1, 3), range(1, 3)),
)
SEGMENT_LABELS = {key: label for key, label, _r, _f in SEGMENTS}

# (class key, 中文, recent, F high, M high)
CLASSES: tuple[tuple[str, str, bool, bool, bool], ...] = (
    ("important_value", N_("重要价值客户"), True, True, True),
    ("important_develop", N_("重要发展客户"), True, False, True),
    ("important_retain", N_("重要保持客户"), False, True, True),
    ("important_recover", N_("重要挽留客户"), False, False, True),
    ("general_value", N_("一般价值客户"), True, True, False),
    ("general_develop", N_("一般发展客户"), True, False, False),
    ("general_retain", N_("一般保持客户"), False, True, False),
    ("general_recover", N_("一般挽留客户"), False, False, False),
)
CLASS_LABELS = {key: label for key, label, *_flags in CLASSES}


def segment_for(r_score: int, f_score: int) -> str:
    for key, _label, r_range, f_range in SEGMENTS:
        if r_score in r_range and f_score in f_range:
            return key
    raise ValueError(f"scores out of range: R={r_score} F={f_score}")
