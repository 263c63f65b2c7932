"""`scrm rfm-score` (order CSV to score CSV, no database), `scrm import-orders` and `scrm recompute-rfm`."""
from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from app.rfm.fast_score import score_arrays
from app.rfm.order_csv import NotPlain, read_paid_totals
from app.rfm.order_files import OrderFileError, paid_orders, read_orders
from app.rfm.score_lines import score_lines
from app.rfm.scoring import score

SCORE_HEADER = ("external_userid", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment",
                "class8")


def _as_of(_ctx, _param, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} 不是 YYYY-MM-DD 日期") from None


def _zone(_ctx, _param, value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"{value!r} 不是时区名，例如 Asia/Shanghai") from None


@click.command("rfm-score")
@click.option("--orders", "orders_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="订单 CSV（UTF-8 或 GBK）：order_id,external_userid,amount,paid_at,status")
@click.option("--as-of", required=True, callback=_as_of, help="计算日 YYYY-MM-DD；之后支付的订单不计")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--timezone", "zone", default="Asia/Shanghai", show_default=True, callback=_zone,
              help="没有时区的支付时间按此时区理解")
def rfm_score(orders_path: Path, as_of: date, out_path: Path, zone: ZoneInfo) -> None:
    """Score every customer with paid orders; a bad file exits non-zero, names its lines, writes nothing."""
    try:
        text, customers, orders = _scores_csv(orders_path, as_of, zone)
    except OrderFileError as exc:
        raise click.ClickException(f"{orders_path} 有错误，未写出结果:\n{exc}") from None
    fd, tmp = tempfile.mkstemp(dir=out_path.parent or Path("."), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text)
        os.replace(tmp, out_path)  # the output appears whole or not at all
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    click.echo(f"已为 {customers} 位客户计算 RFM（{orders} 条订单），写入 {out_path}", err=True)


def _scores_csv(path: Path, as_of: date, zone: ZoneInfo) -> tuple[bytes, int, int]:
    """(the output CSV, customers, valid orders): vectorised for plain files, else the reference reader and scorer
    (whose csv writer quotes what needs quoting; a plain file has no comma, quote or line break inside a field).
    A GBK file, as Excel saves it in China, is not plain: the reference reader decodes it as the import does."""
    header = ",".join(SCORE_HEADER) + "\n"
    try:
        totals = read_paid_totals(path, zone, as_of)
    except NotPlain:  # quoted fields, GBK and the like: the per-row reader of the import, and the pure scorer
        orders = read_orders(path, zone)
        out = io.StringIO()
        scores = score(paid_orders(orders, zone), as_of)
        csv.writer(out, lineterminator="\n").writerows(
            (s.external_userid, s.recency_days, s.frequency, f"{s.monetary:.2f}", s.r_score, s.f_score, s.m_score,
             s.segment, s.class8) for s in scores)
        return (header + out.getvalue()).encode("utf-8"), len(scores), len(orders)
    scored = score_arrays(totals.recency_days, totals.frequency, totals.monetary_fen)
    lines = score_lines(totals.customers, totals.recency_days, totals.frequency, totals.monetary_fen, scored)
    return header.encode() + lines, len(totals.customers), totals.orders


@click.command("import-orders")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_orders(path: Path) -> None:
    """Import an order file (.csv or .xlsx) as the console does: read once, every row checked, then stored in
    batches; a bad file imports nothing and every bad line is named."""
    from app.extensions import db
    from app.jobs.runner import run_here
    from app.rfm import order_import
    from app.rfm.models import OrderImport

    job = order_import.create(path.resolve(), path.name, "file", None, mapping={})
    with click.progressbar(length=1, label="导入订单", show_pos=True) as bar:
        def show(done: int, total: int, message: str) -> None:
            bar.length, bar.label = max(total, 1), message
            bar.update(done - bar.pos)

        # as a job run here: a failure ends the job failed and closes the import with its error (give_up)
        run_here("rfm.order_import", {"import_id": job.id}, "cli", show)
    job = db.session.get(OrderImport, job.id)
    if job.status == order_import.INVALID:
        lines = "\n".join(f"第 {line} 行：{message}" for line, message in job.errors)
        more = f"\n……（共 {job.error_count} 处，仅列出前 {len(job.errors)} 处）" if job.error_count > len(job.errors) else ""
        raise click.ClickException(f"{path} 有 {job.error_count} 处错误，没有导入任何订单:\n{lines}{more}")
    if job.status != order_import.DONE:
        raise click.ClickException(f"{path} 导入失败：{job.message}")
    click.echo(f"已导入 {path.name}：新增 {job.added}，更新 {job.updated}，未变 {job.unchanged}")


@click.command("recompute-rfm")
@click.option("--as-of", default=None, help="计算日 YYYY-MM-DD，默认企业时区的今天")
def recompute_rfm(as_of: str | None) -> None:
    """Recompute every customer's RFM from the stored orders and write changed tags to WeCom, showing progress."""
    from app.jobs import JobBusy, active
    from app.jobs.runner import run_here
    from app.extensions import db
    from app.rfm import recompute
    from app.rfm.models import RfmRun

    day = _as_of(None, None, as_of) if as_of else None
    with click.progressbar(length=100, label=recompute.STAGE_LABELS["match"], show_pos=True) as bar:
        def show(done: int, _total: int, stage: str) -> None:
            bar.label = stage
            bar.update(done - bar.pos)

        try:
            job = run_here("rfm.recompute", {"started_by": "cli", "as_of": day and day.isoformat()}, "cli", show)
        except JobBusy as exc:
            raise click.ClickException(str(exc)) from None
    if job.result is None:
        raise click.ClickException(job.error or "RFM 重算失败")
    run = db.session.get(RfmRun, job.result["run_id"])
    click.echo(f"RFM 重算 #{run.id}（计算日 {run.as_of}）")
    counts = run.counts
    if "customers" in counts:
        matched = counts.get("matched", {})
        click.echo(f"  订单匹配客户：按 unionid {matched.get('unionid', 0)}，按手机号 {matched.get('mobile', 0)}，"
                   f"仍未匹配 {matched.get('unmatched', 0)}")
        click.echo(f"  客户 {counts['customers']}（新增 {counts['new']}），分层变化 {counts['moved']}")
    if "marks" in counts:
        m = counts["marks"]
        click.echo(f"  标签：写入 {m['done']}，失败 {m['failed']}，无跟进成员 {m['no_staff']}，未写 {m['skipped']}")
    if active("tags.rules") is not None:  # the rule tags follow every recompute that did not fail
        click.echo("  规则标签已排队，由 worker 按新分数执行（见标签页）")
    if run.error:
        click.echo(f"RFM 重算 #{run.id} 完成，但：{run.error}", err=True)
    else:
        click.echo(f"RFM 重算 #{run.id} 完成")
