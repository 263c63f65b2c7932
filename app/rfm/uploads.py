"""Order files uploaded in the console, kept under instance/uploads until they are imported or abandoned."""
from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import BinaryIO

from flask import current_app, request

from app.core.errors import UserError
from app.core.permissions import N_
from app.rfm import order_files, order_import

SUFFIXES = (".csv", ".xlsx")
KEEP_SECONDS = 24 * 3600


class UploadError(UserError):
    """The upload cannot be used; the message says why."""


def save(user_id: int, filename: str, stream: BinaryIO) -> Path:
    """Keep an uploaded file for its uploader, copied in pieces up to the size cap; an .xlsx that is no Excel file
    or would unpack past the caps is refused before it is opened (UploadError)."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise UploadError(N_("只支持 .csv 和 .xlsx 文件"))
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    _forget_old(folder)
    path = folder / f"{user_id}-{uuid.uuid4().hex}{suffix}"
    limit = max_bytes()
    with path.open("wb") as fh:
        shutil.copyfileobj(_capped(stream, limit + 1), fh)
    size = path.stat().st_size
    problem = (N_("文件是空的") if not size else N_("文件太大（上限 %(mb)s MB），请拆分后再上传") if size > limit
               else None)
    if problem is None:
        try:
            order_files.check_container(path, order_import.limits())
        except order_files.OrderFileError as exc:
            problem = exc.errors[0].message
    if problem is not None:
        discard(path)
        raise UploadError(problem, mb=limit >> 20)
    return path


def allow_order_files() -> None:
    """Before the CSRF check reads the form (a before_request hook registered ahead of it): the order import's
    upload may be as large as the order file cap, past the console's usual MAX_CONTENT_LENGTH."""
    if request.endpoint == "rfm.import_orders":
        request.max_content_length = max_bytes() + (1 << 20)  # the form around the file; past it a 413


def max_bytes() -> int:
    return current_app.config["ORDER_FILE_MAX_MB"] << 20


def _capped(stream: BinaryIO, limit: int):
    """A reader of at most `limit` bytes of `stream`."""
    class Capped:
        left = limit

        def read(self, size: int = -1) -> bytes:
            size = self.left if size < 0 else min(size, self.left)
            data = stream.read(size) if size else b""
            self.left -= len(data)
            return data

    return Capped()


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def _folder() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _forget_old(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for old in folder.glob("*-*.*"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
