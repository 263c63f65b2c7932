"""Importing an order file as background work: read once into a staged file, checked whole, stored in short batches."""
from __future__ import annotations

import csv
import os
from itertools import islice
from pathlib import Path
from typing import Callable, Iterator

from flask import current_app
from sqlalchemy import update

from app import jobs
from app.core import settings
from app.core.audit import record
from app.core.db import transaction, utcnow
from app.core.permissions import N_
from app.extensions import db
from app.rfm import ingest, matching
from app.rfm.models import OrderImport
from app.rfm.order_files import Limits, OrderFileError, auto_mapping, mapped, read_rows
from app.rfm.order_rows import validated

Progress = Callable[[int, int, str], None]  # (done, total, message); total 0 while unknown

READING, MAPPING, CHECKING, IMPORTING, DONE, INVALID, FAILED, CANCELLED = (
    "reading", "mapping", "checking", "importing", "done", "invalid", "failed", "cancelled")
RUNNING = (READING, CHECKING, IMPORTING)
STAGE_LABELS = {READING: N_("读取文件"), MAPPING: N_("等待确认列对应关系"), CHECKING: N_("校验每一行"),
                IMPORTING: N_("写入订单"), DONE: N_("导入完成"), INVALID: N_("有错误，未导入"), FAILED: N_("导入失败"),
                CANCELLED: N_("导入已取消")}
PREVIEW_ROWS = 10
REPORT_ROWS = 500
BATCH = ingest.MAX_BATCH  # rows per transaction: short, so callbacks and other writers get in between
PROGRESS_EVERY = 20_000  # rows read or checked between progress writes


def limits() -> Limits:
    """The caps of this deployment (config ORDER_IMPORT_MAX_ROWS, ORDER_IMPORT_MAX_UNPACKED_MB)."""
    config = current_app.config
    return Limits(rows=config["ORDER_IMPORT_MAX_ROWS"], unpacked_bytes=config["ORDER_IMPORT_MAX_UNPACKED_MB"] << 20)


def create(path: Path, filename: str, source: str, user_id: int | None, mapping: dict | None = None) -> OrderImport:
    """A new import of the file at `path`, to be read by `run_import`; with a mapping given ({} for the automatic
    one) it goes on from reading to checking and storing without waiting for the operator."""
    with transaction():
        job = OrderImport(user_id=user_id, source=source, filename=filename[:255], path=str(path), status=READING,
                          mapping=mapping)
        db.session.add(job)
    return job


def launch(import_id: int, requested_by: str) -> None:
    """Hand the import's next step to a worker (后台任务 «订单导入»); at most one job per import at a time."""
    jobs.enqueue("rfm.order_import", {"import_id": import_id}, requested_by=requested_by, unique=job_key(import_id))


def job_key(import_id: int) -> str:
    return f"rfm.order_import:{import_id}"


def job_of(import_id: int):
    """The import's newest job: its progress is what the import page polls, its cancel stops the import."""
    return jobs.latest(job_key(import_id))


def run_job(import_id: int, job) -> dict:
    """The job kind's entry: the import taken as far as it goes, its progress (checking the first half, storing the
    second) on the job, which the import page polls; a cancel stops it after the batch in hand (JobCancelled)."""
    record = db.session.get(OrderImport, import_id)
    if record.status in (FAILED, CANCELLED):  # e.g. 重试 on 后台任务: an ended import does not start again
        raise ImportEnded(f"订单导入 #{import_id} 已结束（{STAGE_LABELS[record.status]}），请重新上传文件")

    def show(_done: int, _total: int, message: str) -> None:
        share = percent(record)
        job.progress(share or 0, 0 if share is None else 100, message)

    return {"status": run_import(import_id, show).status}


class ImportEnded(Exception):
    """The job was asked to run an import that failed or was cancelled before: there is nothing left to do."""


def give_up(job) -> None:
    """The job `rfm.order_import` ended failed or cancelled for good: an import still under way stops there, saying
    why; the batches stored before stay stored (each committed with its counts), the page says how many."""
    with transaction():
        record = db.session.get(OrderImport, job.args["import_id"], with_for_update=True)
        if record is None or record.status not in RUNNING:
            return
        record.status = CANCELLED if job.state == "cancelled" else FAILED
        record.message, record.updated_at = job.end_note, utcnow()
    if record.status == CANCELLED:
        staged_path(record.id).unlink(missing_ok=True)


def choose_mapping(job: OrderImport, mapping: dict[str, str]) -> bool:
    """The operator's mapping: check (and then store) from the staged file again. False, and nothing changed, unless
    the import was waiting for it (one UPDATE: of two confirmations at once, one starts the import)."""
    with transaction():
        chosen = db.session.execute(
            update(OrderImport).where(OrderImport.id == job.id, OrderImport.status.in_((MAPPING, INVALID)))
            .values(mapping=mapping, status=CHECKING, done_rows=0, errors=None, error_count=0, updated_at=utcnow())
        ).rowcount == 1
    db.session.expire(job)
    return chosen


def percent(job: OrderImport) -> int | None:
    """How far the import is (checking is the first half, storing the second); None while the rows are read."""
    if job.status == READING or not job.total_rows:
        return None
    share = job.done_rows / job.total_rows
    return {CHECKING: int(50 * share), IMPORTING: 50 + int(50 * share)}.get(job.status, 100)


def staged_path(import_id: int) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / f"import-{import_id}.rows.csv"


def run_import(import_id: int, progress: Progress) -> OrderImport:
    """Take the import as far as it can go now: read the file into the staged file, check every row, store them.
    Each step starts from what is committed, so running it again after a crash neither repeats nor loses orders.
    A bad file ends the import INVALID with its lines named; anything else that stops it (a cancel, the time
    limit, an error) propagates, and the job's end closes the import with the job's error (give_up)."""
    job = db.session.get(OrderImport, import_id)
    try:
        if job.status == READING:
            _read(job, progress)
        if job.status == CHECKING:
            _check(job, progress)
        if job.status == IMPORTING:
            _store(job, progress)
    except OrderFileError as exc:
        db.session.rollback()
        _invalid(job, exc.errors)
    return job


def _read(job: OrderImport, progress: Progress) -> None:
    """The file, read once, written as UTF-8 rows (line number first) that the later steps stream."""
    header, rows = read_rows(Path(job.path), limits())
    target = staged_path(job.id)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".tmp")
    preview, count = [], 0
    with partial.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        for line, cells in rows:
            out.writerow((line, *cells))
            count += 1
            if len(preview) < PREVIEW_ROWS:
                preview.append([line, cells])
            if count % PROGRESS_EVERY == 0:
                _note(job, count)
                progress(count, 0, "读取文件")
    os.replace(partial, target)
    with transaction():
        job.header, job.preview, job.total_rows, job.done_rows = header, preview, count, 0
        if job.mapping == {}:
            job.mapping = auto_mapping(header)
        job.status = MAPPING if job.mapping is None else CHECKING
        job.updated_at = utcnow()


def _staged_rows(job: OrderImport) -> Iterator[tuple[int, list[str]]]:
    with staged_path(job.id).open(encoding="utf-8", newline="") as fh:
        for line, *cells in csv.reader(fh):
            yield int(line), cells


def _checked(job: OrderImport):
    return validated(mapped(job.header, _staged_rows(job), job.mapping), settings.corp_timezone(), "行",
                     ingest.storable)


def _check(job: OrderImport, progress: Progress) -> None:
    """Every row checked as the API checks an order; the first REPORT_ROWS problems kept, all counted."""
    errors, count = [], 0
    for done, (line, _order, problem) in enumerate(_checked(job), start=1):
        if problem is not None:
            count += 1
            if len(errors) < REPORT_ROWS:
                errors.append([line, problem])
        if done % PROGRESS_EVERY == 0:
            _note(job, done)
            progress(done, job.total_rows, "校验每一行")
    with transaction():
        job.errors, job.error_count, job.done_rows = errors, count, 0
        job.status = INVALID if count else IMPORTING
        job.updated_at = utcnow()


def _store(job: OrderImport, progress: Progress) -> None:
    """The checked rows from the first one not yet stored, a batch per transaction with the counts beside it; orders
    naming only a unionid or a mobile get their customer in their batch, as through the API."""
    orders = (order for _line, order, _problem in _checked(job))
    orders = islice(orders, job.done_rows, None)
    mobiles = matching.MobileBook()  # the relations' mobiles read once for all the batches, not once per batch
    while batch := list(islice(orders, BATCH)):
        with transaction():
            counts = ingest.store_batch(batch, job.source, mobiles)
            job.done_rows += len(batch)
            job.added, job.updated = job.added + counts.added, job.updated + counts.updated
            job.unchanged += counts.unchanged
            job.updated_at = utcnow()
        progress(job.done_rows, job.total_rows, "写入订单")
    with transaction():
        job.status = DONE
        record("orders.imported", target=job.source,
               details={"file": job.filename, "added": job.added, "updated": job.updated, "unchanged": job.unchanged})
    staged_path(job.id).unlink(missing_ok=True)
    if job.source == "upload":
        Path(job.path).unlink(missing_ok=True)


def _note(job: OrderImport, done: int) -> None:
    """How many rows are read or checked, for the page's progress bar."""
    with transaction():
        job.done_rows, job.updated_at = done, utcnow()


def _invalid(job: OrderImport, errors) -> None:
    """A bad file: nothing imported, its problems kept for the page (the first REPORT_ROWS) and counted."""
    with transaction():
        job = db.session.get(OrderImport, job.id)
        job.status, job.updated_at = INVALID, utcnow()
        job.errors = [[e.line, e.message] for e in errors[:REPORT_ROWS]]
        job.error_count = len(errors)
