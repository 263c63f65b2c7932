"""The file a console form uploads (field `file`): the one chosen, or back to the page asking to choose one."""
from __future__ import annotations

from flask import abort, flash, redirect, request
from werkzeug.datastructures import FileStorage


def chosen_file(missing: str, back: str) -> FileStorage:
    """The uploaded file; without one, `missing` is flashed and the request goes `back` (aborts)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(missing, "danger")
        abort(redirect(back))
    return upload
