"""The callback spool: events the database could not take in time, kept as files until the inbox takes them.

WeCom waits 5 s for an answer and tries 3 times, and anything but a 200 counts as a failure; after the third the
event is gone (a lost "customer added" is a lost welcome). So when the inbox cannot store an event (SQLite's write
lock held past the callback's wait by an import, PostgreSQL unreachable), the web process writes the event here,
durably, and answers 200; the worker's loop, and the next callback that stores normally, move spooled events into
the inbox, where the dedupe key makes a spooled event and WeCom's own retry of it one event. Only when the spool
itself cannot be written (disk full) does WeCom get a failure (503), and then it tries again.

The spool is a directory on the web host (`CALLBACK_SPOOL_DIR`): on SQLite, web and worker share the host anyway;
with several PostgreSQL web hosts each drains its own through its next stored callback.
"""
from __future__ import annotations

import json
import logging
import os
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from flask import current_app

SUFFIX = ".json"
log = logging.getLogger("scrm.wecom.spool")


def _directory() -> Path:
    return Path(current_app.config["CALLBACK_SPOOL_DIR"])


def keep(fields: dict[str, Any], received_at: datetime) -> None:
    """Write one event and when it came durably (a temporary file, fsync, then an atomic rename); OSError when it
    cannot."""
    directory = _directory()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}{SUFFIX}"  # taken back in the order they came
    temporary = directory / f".{name}.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump({"received_at": received_at.isoformat(), "fields": fields}, file, ensure_ascii=False)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, directory / name)


def _spooled() -> Iterator[Path]:
    directory = _directory()
    if not directory.is_dir():
        return iter(())
    return iter(sorted(p for p in directory.iterdir() if p.suffix == SUFFIX and not p.name.startswith(".")))


def drain(store: Callable[[dict[str, Any], datetime], object], transient: tuple[type[Exception], ...],
          limit: int = 100) -> int:
    """Hand up to `limit` spooled events to `store` (oldest first), removing each once stored; the number moved.

    A file is first renamed to a name only this call knows, so two processes draining at once never store one
    event twice. A `transient` error (the database still locked) puts the file back and propagates: the next drain
    tries again. Any other error means this event can never be stored: it is logged and set aside as
    `*.unstorable` for an admin, and draining goes on, so one bad event never holds up the others."""
    moved = 0
    for path in _spooled():
        if moved >= limit:
            break
        taken = path.with_name(f".{path.name}.{uuid.uuid4().hex}.taking")
        try:
            os.rename(path, taken)
        except FileNotFoundError:  # another process took it
            continue
        try:
            spooled = json.loads(taken.read_text(encoding="utf-8"))
            store(spooled["fields"], datetime.fromisoformat(spooled["received_at"]))
        except transient:
            os.rename(taken, path)
            raise
        except Exception:
            log.exception("spooled callback event %s cannot be stored; set aside as .unstorable", path.name)
            os.rename(taken, path.with_suffix(".unstorable"))
            continue
        taken.unlink()
        moved += 1
    return moved
