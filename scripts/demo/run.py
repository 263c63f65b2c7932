"""The all-in-one demo: the local WeCom emulator, the console, a worker and the scheduler, on SQLite, seeded.

The console talks to the emulator exactly as it would to WeCom: the credentials below are simply the
ones the demo starts the emulator with, and WECOM_API_BASE (DemoConfig) points at it.
"""
from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import click
import requests
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.serving import run_simple

from app import jobs, scheduler, worker
from app.contacts import sync as contacts_sync
from app.contacts.models import Department, SyncRun
from app.core import accounts, settings
from app.core.permissions import ROLE_LABELS, Role
from app.extensions import db
from app.jobs import runner
from app.jobs.models import QUEUED, Job
from app.rfm import recompute
from config import INSTANCE_DIR, PROJECT_ROOT
from scripts.demo.campaigns import seed_demo_campaigns
from scripts.demo.journeys import seed_demo_journeys
from scripts.demo.lifecycle import seed_lifecycle_history
from scripts.demo.community import seed_demo_community
from scripts.demo.group_sop import seed_demo_group_sop
from scripts.demo.group_activity import seed_demo_group_activity
from scripts.demo.orders import seed_orders
from scripts.demo.referral import seed_demo_referral, simulate_referral_adds
from scripts.demo.segments import seed_demo_segments
from scripts.demo.team import seed_demo_team
from scripts.demo.transfers import seed_demo_transfers
from scripts.demo.tag_rule import seed_example_rule
from scripts.demo.tasks import seed_demo_tasks
from scripts.demo.welcome import seed_demo_welcome, simulate_live_adds
from scripts.demo.words import seed_demo_words

DEMO_PASSWORD = "demo-password"
DEMO_ACCOUNTS = {
    Role.ADMIN: ("admin", "演示管理员"),
    Role.OPERATOR: ("operator", "运营小王"),
    Role.COMMUNITY_MANAGER: ("community", "社群小李"),
    Role.SUPERVISOR: ("supervisor", "张主管"),
    Role.VIEWER: ("viewer", "只读访客"),
}
DEMO_WECOM = {
    "wecom.corp_id": "wwdemo0000000001",
    "wecom.secret": "demo-secret",
    "wecom.agent_id": "1000002",
    "wecom.token": "demo-token",
    "wecom.aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}
EMULATOR_STATE = INSTANCE_DIR / "emulator-demo.json"
STAFF_CONFIRM_SECONDS = 30  # in the demo, staff confirm a push task in their WeCom client after this long


def seed_console() -> None:
    """One account per role and the emulator's credentials, created once; later edits are kept."""
    for role, (username, name) in DEMO_ACCOUNTS.items():
        if accounts.find_user(username) is None:
            accounts.create_user(username, DEMO_PASSWORD, role.value, name)
    missing = {key: value for key, value in DEMO_WECOM.items() if key not in settings.stored_keys()}
    if missing:
        settings.save(missing, "demo")


def start_emulator(api_base: str, callback_url: str) -> subprocess.Popen:
    """The emulator as its own process (seed demo, state kept in instance/), ready when this returns."""
    port = urlsplit(api_base).port or 8900
    cmd = [sys.executable, "-m", "scripts.wecom_emulator", "--port", str(port), "--seed", "demo", "--quiet",
           "--state", str(EMULATOR_STATE), "--callback-url", callback_url,
           "--corp-id", DEMO_WECOM["wecom.corp_id"], "--secret", DEMO_WECOM["wecom.secret"],
           "--agent-id", DEMO_WECOM["wecom.agent_id"], "--token", DEMO_WECOM["wecom.token"],
           "--aes-key", DEMO_WECOM["wecom.aes_key"]]
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT)
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.post(api_base.replace("/cgi-bin/", "/_emulator/config"),
                          json={"auto_confirm_seconds": STAFF_CONFIRM_SECONDS}, timeout=2).raise_for_status()
            return proc
        except requests.RequestException:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise click.ClickException(f"企业微信模拟器没有启动（端口 {port} 是否被占用？）") from None
            time.sleep(0.3)


def first_sync() -> None:
    """Bring the emulator's company into the console once (later starts keep what is there)."""
    if db.session.scalar(select(SyncRun.id).where(SyncRun.status == contacts_sync.SUCCEEDED).limit(1)):
        return
    click.echo("首次全量同步企业微信（模拟器）的员工、客户与客户群 …")
    run = contacts_sync.execute(contacts_sync.begin("demo").id)
    if run.status != contacts_sync.SUCCEEDED:
        raise click.ClickException(f"首次同步失败：{run.errors[-1]['message']}")
    customers = run.counts.get("customers", {}).get("added", 0)
    click.echo(f"同步完成：{customers} 位客户；生成演示订单 …")
    click.echo(f"已生成 {seed_orders()} 条演示订单")
    click.echo(f"已回放近 30 天的生命周期阶段：{seed_lifecycle_history()} 次阶段变化（见沉睡唤醒 › 生命周期）")
    if added := seed_demo_words():
        click.echo(f"已导入 {added} 个演示敏感词（广告法极限词、医疗、金融；见敏感词库）")
    seed_example_rule()
    click.echo("已创建示例规则标签：近 90 天消费满 1000 元 → 「高价值客户」（见标签页）")
    click.echo(f"已创建 {seed_demo_segments()} 个示例人群（见人群页）")
    click.echo(f"已创建示例欢迎语与 {seed_demo_welcome()} 个渠道活码（见欢迎语页）")
    click.echo(seed_demo_team())
    if line := seed_demo_referral():
        click.echo(line)
    click.echo(seed_demo_transfers())
    if made := seed_demo_community(current_app.config["WECOM_API_BASE"], DEMO_ACCOUNTS[Role.COMMUNITY_MANAGER][0]):
        click.echo(made)
    if line := seed_demo_group_activity(current_app.config["WECOM_API_BASE"]):
        click.echo(line)
    if pushes := seed_demo_campaigns(DEMO_ACCOUNTS[Role.OPERATOR][0]):
        click.echo("已提交示例群发" + "".join(f"「{c.name}」" for c in pushes)
                   + "：算出发送人数后，小的自动通过并发送，大的等待主管审批（见群发页）")
    if journeys := seed_demo_journeys(DEMO_ACCOUNTS[Role.SUPERVISOR][0]):
        click.echo(journeys)


def finish_seeding() -> None:
    """Run here, before the worker, the scheduler and the console start, the background work the seeds queued (the
    pushes' recipient counts and planning, the transfer, the group invitation). On SQLite a transaction that writes
    holds the database's one write lock to its end, and the dry run of the push to all 20,000 customers holds it for
    minutes: run beside the worker, it left callbacks spooled, the welcome lane and the send dispatch failing with
    "database is locked", and the scheduler thread dead. (The first RFM recompute and what follows it write in
    short transactions: they run in the background once the console is up.)"""
    queued = db.session.scalar(select(func.count()).select_from(Job).where(Job.state == QUEUED))
    if not queued:
        return
    click.echo(f"运行种子数据排队的 {queued} 个后台任务（群发人数试算与规划等；之后才启动控制台）…")
    started = time.monotonic()
    ran = runner.drain("demo-seed")
    click.echo(f"已完成 {ran} 个后台任务，用时 {time.monotonic() - started:.0f} 秒（见后台任务页）")


def link_demo_supervisor() -> None:
    """The demo supervisor leads a real department of the demo company, so their scoped pages have data."""
    supervisor = accounts.find_user(DEMO_ACCOUNTS[Role.SUPERVISOR][0])
    if supervisor is None or supervisor.wecom_userid:
        return
    departments = db.session.scalars(select(Department).where(Department.parent_id == 1).order_by(Department.id))
    leader = next((d.leader_userids[0] for d in departments if d.leader_userids), None)
    if leader:
        accounts.update_user(supervisor, role=supervisor.role, display_name=supervisor.display_name,
                             wecom_userid=leader, is_enabled=True, actor=accounts.find_user("admin"))


def _with_context(app, target, *args) -> None:
    with app.app_context():
        target(*args)


def run_demo(host: str, port: int) -> None:
    app = current_app._get_current_object()
    if app.config["NAME"] != "demo":
        raise click.ClickException("演示只在 SCRM_CONFIG=demo 下运行（它会创建演示账号），请使用 make demo")
    click.echo("升级演示数据库 …")
    upgrade()
    seed_console()
    api_base = app.config["WECOM_API_BASE"]
    click.echo(f"启动本地企业微信模拟器 {api_base} （演示企业：30+ 员工、20,000 客户、150 个客户群）…")
    emulator = start_emulator(api_base, f"http://{host}:{port}/wecom/callback")
    first_sync()
    link_demo_supervisor()
    supervisor = accounts.find_user(DEMO_ACCOUNTS[Role.SUPERVISOR][0])
    click.echo(seed_demo_tasks(f"http://{host}:{port}", supervisor.wecom_userid if supervisor else None))
    if made := seed_demo_group_sop(api_base, DEMO_ACCOUNTS[Role.COMMUNITY_MANAGER][0]):  # after: it adds owner tasks
        click.echo(made)
    with contextlib.suppress(jobs.JobBusy):  # the follow-up SLA of the tasks just made, on the team pages
        jobs.enqueue("team.rollup", {}, requested_by="demo")
    finish_seeding()
    stop = threading.Event()
    queue = threading.Thread(target=worker.run, args=(app, stop), name="demo-worker", daemon=True)
    queue.start()
    threading.Thread(target=scheduler.run_forever, args=(app,), name="demo-scheduler", daemon=True).start()
    threading.Thread(target=_with_context, args=(app, simulate_live_adds, api_base, stop), name="demo-visitors",
                     daemon=True).start()
    threading.Thread(target=_with_context, args=(app, simulate_referral_adds, api_base, stop), name="demo-invitees",
                     daemon=True).start()
    if recompute.latest_run() is None:
        click.echo("后台进行首次 RFM 重算并写回企业微信标签（约 1 分钟，进度见 RFM 分层页）…")
        jobs.enqueue("rfm.recompute", {"started_by": "demo"}, requested_by="demo")
    click.echo("模拟器每 15 秒模拟一位新客户扫「双十一直播间」渠道码添加员工（欢迎语页与首页可见）")
    click.echo(f"模拟器中的员工会在收到群发任务 {STAFF_CONFIRM_SECONDS} 秒后确认发送（群发效果页可见）")
    click.echo(f"\n控制台: http://{host}:{port}/   （Ctrl-C 停止）")
    for role, (username, _name) in DEMO_ACCOUNTS.items():
        click.echo(f"  {ROLE_LABELS[role]:<6} 用户名 {username:<11} 密码 {DEMO_PASSWORD}")
    # `kill`/`docker stop` send SIGTERM, which would end Python without `finally`: stop as on Ctrl-C instead,
    # so the emulator child does not outlive the demo and hold its port.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        run_simple(host, port, app, threaded=True)
    finally:
        stop.set()
        emulator.terminate()
        emulator.wait(15)
        queue.join(5)
