"""Order files uploaded in the console, kept under instance/uploads until they are imported or abandoned."""
from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

from flask import current_app

from app.core.errors import UserError
from app.core.permissions import N_

SUFFIXES = (".csv", ".xlsx")
KEEP_SECONDS = 24 * 3600
_NAME = re.compile(r"^(\d+)-([0-9a-f]{32})(\.csv|\.xlsx)$")


class UploadError(UserError):
    """The upload cannot be used; the message says why."""


def save(user_id: int, filename: str, data: bytes) -> str:
    """Keep an uploaded file for its uploader; returns the key to find it again."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise UploadError(N_("只支持 .csv 和 .xlsx 文件"))
    if not data:
        raise UploadError(N_("文件是空的"))
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    _forget_old(folder)
    key = f"{user_id}-{uuid.uuid4().hex}{suffix}"
    (folder / key).write_bytes(data)
    return key


def path_for(user_id: int, key: str) -> Path:
    """The file behind `key`, only for the account that uploaded it."""
    match = _NAME.match(key)
    path = _folder() / key
    if not match or int(match.group(1)) != user_id or not path.exists():
        raise UploadError(N_("上传的文件已过期或不存在，请重新上传"))
    return path


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)


def _folder() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _forget_old(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for old in folder.glob("*-*.*"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
