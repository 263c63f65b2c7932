"""The `flask --app wsgi scrm ...` command group; each command calls a service and reports plainly."""
from __future__ import annotations

import logging

import click
from flask.cli import AppGroup

from app.core import accounts, tokens
from app.core.permissions import Role
from app.rfm.commands import import_orders, recompute_rfm, rfm_score

scrm_cli = AppGroup("scrm", help="私域运营控制台的管理命令")
scrm_cli.add_command(rfm_score)
scrm_cli.add_command(import_orders)
scrm_cli.add_command(recompute_rfm)
ROLE_CHOICE = click.Choice([r.value for r in Role])


@scrm_cli.command("create-admin")
@click.option("--username", prompt="用户名", default="admin", show_default=True)
@click.option("--password", prompt="密码（至少 10 位）", hide_input=True, confirmation_prompt="再次输入密码")
@click.option("--display-name", default=None, help="显示名，默认同用户名")
def create_admin(username: str, password: str, display_name: str | None) -> None:
    """Create an administrator account."""
    try:
        user = accounts.create_user(username, password, Role.ADMIN.value, display_name)
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已创建管理员 {user.username}")


@scrm_cli.command("create-token")
@click.argument("name")
@click.option("--role", type=ROLE_CHOICE, required=True, help="令牌拥有该角色的权限")
def create_token(name: str, role: str) -> None:
    """Issue an API token and print it once."""
    try:
        _token, raw = tokens.issue(name, role, created_by="cli")
    except tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(raw)
    click.echo(f"令牌 {name}（角色 {role}）已创建。它只显示这一次，请妥善保存。", err=True)


@scrm_cli.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
def demo(host: str, port: int) -> None:
    """Run the all-in-one demo (SCRM_CONFIG=demo): migrate, seed and serve."""
    from scripts.demo.run import run_demo  # the demo is not part of the product package

    run_demo(host, port)


@scrm_cli.command("worker")
def worker() -> None:
    """Handle queued work (callback events) until stopped; run several on PostgreSQL."""
    from flask import current_app

    from app.worker import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_forever(current_app._get_current_object())


@scrm_cli.command("sync")
@click.option("--full", is_flag=True, help="全量同步企业微信的部门、员工、客户、标签和客户群（失败的同步会从中断处继续）")
def sync(full: bool) -> None:
    """Sync WeCom's people into the console in the foreground (the job `contacts.sync`, one at a time with the
    workers' runs), showing progress; exits non-zero when the run fails."""
    from app.contacts import sync as contacts_sync
    from app.contacts.models import SyncRun
    from app.extensions import db
    from app.jobs import JobBusy
    from app.jobs.runner import run_here

    if not full:
        raise click.UsageError("目前只有全量同步：scrm sync --full（日常变化由回调事件实时更新）")
    with click.progressbar(length=100, label="全量同步", show_pos=True) as bar:
        def show(done: int, _total: int, stage: str) -> None:
            bar.label = stage
            bar.update(done - bar.pos)

        try:
            job = run_here("contacts.sync", {"started_by": "cli"}, "cli", show)
        except JobBusy as exc:
            raise click.ClickException(str(exc)) from None
    if job.result is None:
        raise click.ClickException(job.error or "同步失败")
    run = db.session.get(SyncRun, job.result["run_id"])
    click.echo(f"同步 #{run.id}" + ("" if run.attempts == 1 else f"（第 {run.attempts} 次，从中断处继续）"))
    for entity, c in run.counts.items():
        click.echo(f"  {contacts_sync.ENTITY_LABELS[entity]}: 新增 {c['added']}，变更 {c['changed']}，移除 {c['removed']}")
    click.echo(f"同步 #{run.id} 完成")


@scrm_cli.command("scheduler")
def scheduler() -> None:
    """Run the periodic jobs (nightly reconcile); a second instance waits idle until the first stops."""
    from flask import current_app

    from app.scheduler import run_forever

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run_forever(current_app._get_current_object())
