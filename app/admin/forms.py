"""Forms of the administration pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.core.permissions import ROLE_LABELS, Role
from app.core.settings import RECEIVE_RULES


def role_choices():
    return [SelectChoice(r.value, _l(ROLE_LABELS[r])) for r in Role]


class SettingsForm(FlaskForm):
    corp_id = StringField(_l("企业 ID (CorpID)"), validators=[Optional(), Length(max=64)])
    secret = PasswordField(_l("应用 Secret"), validators=[Optional(), Length(max=128)],
                           description=_l("留空表示不修改；已保存的值不会完整显示"))
    agent_id = StringField(_l("应用 AgentId"), validators=[Optional(), Length(max=16)])
    token = PasswordField(_l("回调 Token"), validators=[Optional(), Length(max=64)],
                          description=_l("留空表示不修改"))
    aes_key = PasswordField(_l("回调 EncodingAESKey"), validators=[Optional(), Length(max=43)],
                            description=_l("43 位字母或数字；留空表示不修改"))
    timezone = StringField(_l("企业时区"), validators=[DataRequired(), Length(max=64)])
    console_url = StringField(_l("控制台访问地址"), validators=[Optional(), Length(max=256)],
                              description=_l("员工在企业微信里点开应用消息时打开的地址，例如 https://scrm.example.com"))
    receive_rule = SelectField(_l("客户群发接收规则"),
                               choices=[SelectChoice(k, _l(v)) for k, v in RECEIVE_RULES.items()],
                               description=_l("与企业微信「群发助手-设置群发规则」保持一致"))

    FIELD_KEYS = {"corp_id": "wecom.corp_id", "secret": "wecom.secret", "agent_id": "wecom.agent_id",
                  "token": "wecom.token", "aes_key": "wecom.aes_key", "timezone": "timezone",
                  "console_url": "console.url", "receive_rule": "wecom.receive_rule"}
    SECRET_FIELDS = ("secret", "token", "aes_key")


class NewUserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("显示名"), validators=[Optional(), Length(max=64)])
    role = SelectField(_l("角色"), choices=role_choices)
    wecom_userid = StringField(_l("关联企业微信成员 UserID"), validators=[Optional(), Length(max=64)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(), Length(min=10, max=256)])


class EditUserForm(FlaskForm):
    display_name = StringField(_l("显示名"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("角色"), choices=role_choices)
    wecom_userid = StringField(_l("关联企业微信成员 UserID"), validators=[Optional(), Length(max=64)])
    is_enabled = BooleanField(_l("启用"))


class PasswordForm(FlaskForm):
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(min=10, max=256)])


class TokenForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(), Length(max=64)],
                       description=_l("例如：商城订单同步"))
    role = SelectField(_l("角色"), choices=role_choices)
