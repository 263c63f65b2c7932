"""Two predicates segments need that differ by dialect: a JSON array holds a string, a string starts with a prefix."""
from __future__ import annotations

import json

from sqlalchemy import ColumnElement
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Boolean


class json_array_has(FunctionElement):
    """A JSON array column holds a string: JSONB containment on PostgreSQL (GIN-indexed), instr elsewhere.

    Arguments: the column, the JSON text of the string ('"et1"', a substring of '["et1", "et2"]' as SQLAlchemy
    stores it) and the JSON text of a one-element array ('["et1"]', for @>).
    """

    type = Boolean()
    inherit_cache = True
    name = "json_array_has"


@compiles(json_array_has)
def _json_array_has_default(element, compiler, **kw):
    column, needle, _array = list(element.clauses)
    return f"(instr({compiler.process(column, **kw)}, {compiler.process(needle, **kw)}) > 0)"


@compiles(json_array_has, "postgresql")
def _json_array_has_pg(element, compiler, **kw):
    column, _needle, array = list(element.clauses)
    return f"(CAST({compiler.process(column, **kw)} AS JSONB) @> CAST({compiler.process(array, **kw)} AS JSONB))"


class starts_with(FunctionElement):
    """The column starts with the prefix, case-sensitively everywhere: LIKE 'prefix%' on PostgreSQL (an index with
    varchar_pattern_ops serves it), substr() elsewhere (SQLite's LIKE ignores case).

    Arguments: the column, the prefix, and the LIKE pattern (the prefix with % _ and \\ escaped, then %).
    """

    type = Boolean()
    inherit_cache = True
    name = "starts_with"


@compiles(starts_with)
def _starts_with_default(element, compiler, **kw):
    column, prefix, _pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"(substr({column}, 1, length({prefix})) = {prefix})"


@compiles(starts_with, "postgresql")
def _starts_with_pg(element, compiler, **kw):
    column, _prefix, pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} LIKE {pattern})"


def escape_like(text: str) -> str:
    """`text` matching only itself in a LIKE pattern (backslash, % and _ escaped with the default escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def prefix_of(column, prefix: str) -> ColumnElement[bool]:
    return starts_with(column, prefix, escape_like(prefix) + "%")


def array_has(column, value: str) -> ColumnElement[bool]:
    """The JSON array column (stored by SQLAlchemy's JSON type) holds the string."""
    return json_array_has(column, json.dumps(value), json.dumps([value]))
