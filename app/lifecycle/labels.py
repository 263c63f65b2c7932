"""The stage keys' Chinese names (pure data: segment rules check and describe stages with it)."""
from __future__ import annotations

from app.core.permissions import N_

STAGE_LABELS = {"active": N_("活跃"), "warning": N_("预警"), "dormant": N_("沉睡"), "deep_dormant": N_("深度沉睡"),
                "lost": N_("已流失")}
