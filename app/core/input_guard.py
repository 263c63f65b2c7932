"""What every request is refused before any view sees it: NUL bytes, JSON nested too deep, a field given more
often than a statement can take, page numbers and path ids beyond what the database can hold. Each refusal is a
400 (404 for a path id) naming the field."""
from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from app.core import bounds

MAX_PAGE = 100_000         # ?page= and ?per_page= (read by Flask-SQLAlchemy's paginate and the list views)
PAGE_ARGS = ("page", "per_page")
MAX_VALUES = 10_000        # one field given this often (tags ticked, customers chosen); 100,000 broke PostgreSQL's
                           # 65,535 parameters of a statement
MAX_JSON_DEPTH = 32        # our deepest documents (segment rules, 8 levels of groups) stay far below


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in every route: an id larger than an INTEGER column holds matches no route (404), instead of an
    overflow in the database (a 500); the OpenAPI document says `maximum` accordingly."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", bounds.MAX_DB_ID)
        super().__init__(map, *args, **kwargs)


def _json_problem(value: Any) -> str | None:
    """The first problem of a parsed JSON body (a NUL byte, a nesting too deep) with its JSONPath, or None."""
    stack = [(value, "$", 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return _("%(path)s：JSON 嵌套超过 %(max)s 层", path=path, max=MAX_JSON_DEPTH)
        if isinstance(node, dict):
            for key, child in node.items():
                if "\x00" in key:
                    return _("%(path)s：字段名含有 NUL 字符", path=path)
                stack.append((child, f"{path}.{key}", depth + 1))
        elif isinstance(node, list):
            stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(node))
        elif isinstance(node, str) and "\x00" in node:
            return _("%(path)s：含有 NUL 字符", path=path)
    return None


def problem() -> str | None:
    """What is wrong with the current request as a whole, naming the field, or None."""
    if "\x00" in request.path:
        return _("网址中含有 NUL 字符")
    for where in (request.args, request.form):
        for key, values in where.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return _("参数 %(name)s 含有 NUL 字符", name=key.replace("\x00", "\\0"))
            if len(values) > MAX_VALUES:
                return _("参数 %(name)s 的值过多（%(count)s 个，最多 %(max)s 个）", name=key, count=len(values),
                         max=MAX_VALUES)
    for name in PAGE_ARGS:
        value = request.args.get(name, "")
        if value.isdigit() and int(value) > MAX_PAGE:
            return _("参数 %(name)s 超出范围（最大 %(max)s）", name=name, max=MAX_PAGE)
    if request.is_json and request.content_length:
        try:
            body = request.get_json(silent=False)
        except RecursionError:
            return _("JSON 嵌套超过 %(max)s 层", max=MAX_JSON_DEPTH)
        except Exception:  # not JSON at all: the view answers that as it always has
            return None
        return _json_problem(body)
    return None


def init_app(app: Flask, refuse) -> None:
    """Bounded `<int:>` ids for every route registered after this, and the request check (`refuse(status,
    message)` makes the answer: JSON for the API, a page otherwise)."""
    app.url_map.converters["int"] = DatabaseIdConverter

    @app.before_request
    def _refuse_bad_input():
        message = problem()
        if message is not None:
            return refuse(400, message)
