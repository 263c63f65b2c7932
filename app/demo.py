"""The all-in-one demo: migrate the demo database, seed one account per role, and serve the console."""
from __future__ import annotations

import click
from flask import current_app
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from app.core import accounts
from app.core.permissions import ROLE_LABELS, Role

DEMO_PASSWORD = "demo-password"
DEMO_ACCOUNTS = {
    Role.ADMIN: ("admin", "演示管理员"),
    Role.OPERATOR: ("operator", "运营小王"),
    Role.COMMUNITY_MANAGER: ("community", "社群小李"),
    Role.SUPERVISOR: ("supervisor", "张主管"),
    Role.VIEWER: ("viewer", "只读访客"),
}


def seed_accounts() -> None:
    """One account per role, created once; existing accounts are left alone."""
    for role, (username, name) in DEMO_ACCOUNTS.items():
        if accounts.find_user(username) is None:
            accounts.create_user(username, DEMO_PASSWORD, role.value, name)


def run_demo(host: str, port: int) -> None:
    if current_app.config["NAME"] != "demo":
        raise click.ClickException("演示只在 SCRM_CONFIG=demo 下运行（它会创建演示账号），请使用 make demo")
    click.echo("升级演示数据库 …")
    upgrade()
    seed_accounts()
    click.echo(f"\n控制台: http://{host}:{port}/   （Ctrl-C 停止）")
    for role, (username, _name) in DEMO_ACCOUNTS.items():
        click.echo(f"  {ROLE_LABELS[role]:<6} 用户名 {username:<11} 密码 {DEMO_PASSWORD}")
    run_simple(host, port, current_app._get_current_object(), threaded=True)
