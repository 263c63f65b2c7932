"""The audit log: an append-only record of who did what, when and from where."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import JSON, String, event
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import utcnow
from app.core.permissions import N_
from app.extensions import db

SYSTEM_ACTOR = "system"

ACTION_LABELS = {
    "jobs.cancelled": N_("取消后台任务"),
    "jobs.retried": N_("重试后台任务"),
    "auth.login": N_("登录"),
    "auth.login_failed": N_("登录失败"),
    "auth.logout": N_("退出登录"),
    "account.created": N_("创建账号"),
    "account.updated": N_("修改账号"),
    "account.role_changed": N_("变更角色"),
    "account.password_reset": N_("重置密码"),
    "account.unlocked": N_("解除锁定"),
    "settings.changed": N_("修改设置"),
    "api_token.issued": N_("创建 API 令牌"),
    "api_token.revoked": N_("吊销 API 令牌"),
    "audit.exported": N_("导出审计日志"),
    "callback.replayed": N_("重放回调事件"),
    "contacts.sync_started": N_("开始同步"),
    "contacts.exported": N_("导出客户"),
    "contacts.tags_marked": N_("批量修改客户标签"),
    "orders.imported": N_("导入订单"),
    "rfm.recompute_started": N_("开始 RFM 重算"),
    "rfm.recomputed": N_("完成 RFM 重算"),
    "rfm.tags_marked": N_("写入 RFM 标签"),
    "lifecycle.recompute_started": N_("开始生命周期阶段重算"),
    "lifecycle.recomputed": N_("完成生命周期阶段重算"),
    "lifecycle.tags_marked": N_("写入生命周期标签"),
    "lifecycle.settings_changed": N_("修改生命周期阶段设置"),
    "tags.group_created": N_("创建标签组"),
    "tags.tags_added": N_("添加标签"),
    "tags.renamed": N_("重命名标签"),
    "tags.deleted": N_("删除标签"),
    "tags.reordered": N_("调整标签顺序"),
    "tags.rule_saved": N_("保存规则标签"),
    "tags.rule_enabled": N_("启用规则标签"),
    "tags.rule_disabled": N_("停用规则标签"),
    "tags.rule_deleted": N_("删除规则标签"),
    "tags.rules_started": N_("开始执行规则标签"),
    "tags.rules_evaluated": N_("完成规则标签"),
    "tags.rule_tags_marked": N_("按规则打标签"),
    "segments.create": N_("创建人群"),
    "segments.update": N_("修改人群"),
    "segments.delete": N_("删除人群"),
    "segments.exported": N_("导出人群"),
    "welcome.template_saved": N_("保存欢迎语"),
    "welcome.template_deleted": N_("删除欢迎语"),
    "welcome.channel_created": N_("创建渠道活码"),
    "welcome.channel_updated": N_("修改渠道活码"),
    "welcome.channel_deleted": N_("删除渠道活码"),
    "welcome.channels_imported": N_("导入渠道活码"),
    "referral.task_created": N_("创建任务宝任务"),
    "referral.task_updated": N_("修改任务宝任务"),
    "referral.task_schedule": N_("任务宝任务排期"),
    "referral.task_unschedule": N_("任务宝任务撤回为草稿"),
    "referral.task_start": N_("任务宝任务开始"),
    "referral.task_pause": N_("暂停任务宝任务"),
    "referral.task_resume": N_("恢复任务宝任务"),
    "referral.task_end": N_("结束任务宝任务"),
    "referral.task_ended": N_("任务宝任务结束（到期或奖品发完）"),
    "referral.ways_deleted": N_("删除任务宝邀请人活码"),
    "referral.ways_reconciled": N_("核对任务宝邀请人活码（认领或删除企业微信里未记录的活码）"),
    "referral.poster_changed": N_("更换任务宝海报背景"),
    "referral.enrolled": N_("从人群加入任务宝邀请人"),
    "referral.invitee_tagged": N_("为任务宝被邀请人打标签"),
    "referral.reward_reserved": N_("任务宝奖励预留"),
    "referral.reward_given": N_("任务宝奖励已发放"),
    "referral.credit_reviewed": N_("审核任务宝邀请"),
    "referral.launch_requested": N_("发起任务宝推送"),
    "referral.launch_waiting": N_("任务宝推送等待审批"),
    "referral.launch_planned": N_("任务宝推送已规划"),
    "referral.launch_approved": N_("批准任务宝推送"),
    "referral.launch_rejected": N_("驳回任务宝推送"),
    "referral.participant_tagged": N_("为任务宝邀请人打标签"),
    "welcome.channel_tags_marked": N_("为新客户打渠道标签"),
    "community.code_created": N_("创建群活码"),
    "community.code_updated": N_("修改群活码"),
    "community.code_deleted": N_("删除群活码"),
    "community.welcome_saved": N_("保存入群欢迎语"),
    "community.welcome_deleted": N_("删除入群欢迎语"),
    "community.tier_set": N_("设置群分层"),
    "community.opened_group_tiered": N_("企业微信自动新建的群沿用群活码的分层"),
    "community.groups_exported": N_("导出勾选的客户群"),
    "community.invitation_created": N_("创建入群邀请"),
    "community.sop_created": N_("创建群SOP"),
    "community.sop_paused": N_("暂停群SOP"),
    "community.sop_resumed": N_("恢复群SOP"),
    "community.sop_item_saved": N_("保存群SOP事项"),
    "community.sop_item_deleted": N_("删除群SOP事项"),
    "community.sop_groups_added": N_("群SOP手动加入客户群（应用SOP）"),
    "community.sop_groups_removed": N_("群SOP移出手动加入的客户群"),
    "community.invitation_submitted": N_("入群邀请超过审批阈值，等待主管审批"),
    "community.invitation_approved": N_("批准入群邀请"),
    "community.invitation_rejected": N_("驳回入群邀请"),
    "media.added": N_("上传素材"),
    "media.deleted": N_("删除素材"),
    "media.image_url": N_("生成素材长期链接"),
    "wordlist.word_added": N_("添加敏感词"),
    "wordlist.word_deleted": N_("删除敏感词"),
    "wordlist.imported": N_("导入敏感词"),
    "wordlist.category_enabled": N_("启用敏感词分类"),
    "wordlist.category_disabled": N_("停用敏感词分类"),
    "campaigns.saved": N_("保存群发"),
    "campaigns.submitted": N_("提交群发审批"),
    "journeys.saved": N_("保存客户旅程"),
    "journeys.submitted": N_("提交客户旅程"),
    "journeys.approved": N_("批准客户旅程版本"),
    "journeys.tags_marked": N_("客户旅程打标签"),
    "journeys.rejected": N_("驳回客户旅程版本"),
    "journeys.commented": N_("审批客户旅程时留言"),
    "journeys.paused": N_("暂停客户旅程"),
    "journeys.resumed": N_("恢复客户旅程"),
    "journeys.archived": N_("归档客户旅程"),
    "campaigns.auto_approved": N_("群发自动通过（未超审批阈值）"),
    "campaigns.approved": N_("批准群发"),
    "campaigns.rejected": N_("驳回群发"),
    "campaigns.run_now": N_("立即执行群发"),
    "campaigns.test_send": N_("群发测试发送"),
    "campaigns.run_missed": N_("群发错过执行时间"),
    "campaigns.cancelled": N_("取消群发"),
    "campaigns.run_cancelled": N_("取消群发执行"),
    "sending.cancelled": N_("取消发送"),
    "campaigns.deliveries_exported": N_("导出群发明细"),
    "campaigns.policies_changed": N_("修改群发规则"),
    "campaigns.opt_out_added": N_("加入免打扰"),
    "campaigns.opt_out_removed": N_("移出免打扰"),
    "team.exported": N_("导出团队绩效"),
    "team.weights_changed": N_("修改绩效排名权重"),
    "team.target_saved": N_("设置团队目标"),
    "team.target_deleted": N_("删除团队目标"),
    "tasks.created": N_("创建跟进任务"),
    "tasks.completed": N_("完成跟进任务"),
    "tasks.cancelled": N_("取消跟进任务"),
    "tasks.exported": N_("导出跟进任务"),
    "tasks.rule_saved": N_("保存跟进规则"),
    "transfer.planned": N_("发起客户继承"),
    "transfer.exported": N_("导出继承结果"),
    "transfer.backup_set": N_("设置 AB 角"),
    "transfer.unassigned_refreshed": N_("刷新离职待分配客户"),
}


class AuditEntry(db.Model):
    """One audited action. Rows are never updated or deleted by the application."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(index=True)
    actor_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(256))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit row."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_changes(mapper, connection, target):  # noqa: ARG001 (SQLAlchemy's signature)
    raise AuditLogIsAppendOnly("审计日志只能追加，不能修改或删除")


def _request_actor() -> tuple[int | None, str]:
    api_token = g.get("api_token") if has_request_context() else None
    if api_token is not None:
        return None, f"api:{api_token.name}"
    if has_request_context() and current_user.is_authenticated:
        return current_user.id, current_user.username
    return None, SYSTEM_ACTOR if not has_request_context() else "anonymous"


def record(action: str, *, target: str | None = None, details: dict[str, Any] | None = None,
           actor=None) -> AuditEntry:
    """Add an audit row to the current transaction; who and where default to the current request."""
    if actor is not None:
        actor_id, actor_name = actor.id, actor.username
    else:
        actor_id, actor_name = _request_actor()
    ip = agent = None
    if has_request_context():
        ip = request.remote_addr
        agent = (request.user_agent.string or "")[:256] or None
    entry = AuditEntry(actor_user_id=actor_id, actor_name=actor_name, action=action,
                       target=target, ip=ip, user_agent=agent, details=details or {})
    db.session.add(entry)
    return entry
