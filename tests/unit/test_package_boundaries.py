"""Package boundaries of issue 15: only app/tags marks tags in WeCom, and loading contacts never loads rfm."""
import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
MARKERS = {APP / "tags" / "marking.py", APP / "wecom" / "gateway.py"}  # the marking service and the door it uses


def mark_tag_calls(source: str) -> list[int]:
    """Lines calling anything's `mark_tag` (the gateway's method, whatever the object is called)."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "mark_tag"]


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, known: set[str]) -> set[str]:
    """The app modules a source imports anywhere (top level or inside functions); `from app.x import y` counts
    app.x.y when that is a module, else app.x."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("app."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("app"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return found


def import_graph() -> dict[str, set[str]]:
    sources = {module_name(path): path.read_text(encoding="utf-8") for path in APP.rglob("*.py")}
    return {name: imports(source, set(sources)) for name, source in sources.items()}


def reachable(graph: dict[str, set[str]], start: set[str]) -> dict[str, str]:
    """Every module loaded by loading `start` (a module's parent packages load too), with who imported it."""
    seen: dict[str, str] = {name: name for name in start}
    todo = list(start)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for target in graph.get(name, set()) | {".".join(parts[:i]) for i in range(2, len(parts))}:
            if target in graph and target not in seen:
                seen[target] = name
                todo.append(target)
    return seen


def test_only_app_tags_calls_mark_tag():
    callers = {str(path.relative_to(APP.parent)): lines for path in APP.rglob("*.py") if path not in MARKERS
               and (lines := mark_tag_calls(path.read_text(encoding="utf-8")))}
    assert callers == {}, "mark tags through app/tags/marking.py"
    assert mark_tag_calls((APP / "tags" / "marking.py").read_text(encoding="utf-8"))  # the check sees a real call


@pytest.mark.parametrize("snippet", ["gw.mark_tag('u', 'e', add_tag=['t'])", "gateway().mark_tag(u, e)",
                                     "def f():\n    connection.gateway(bulk=True).mark_tag(*args)"])
def test_the_mark_tag_check_finds_a_call_however_written(snippet):
    assert mark_tag_calls(snippet)


def test_contacts_does_not_import_rfm():
    graph = import_graph()
    # the callback table wires every capability's handlers together (the inbox reads it when it dispatches): it is
    # the composition root, not something contacts depends on
    del graph["app.callbacks"]
    loaded = reachable(graph, {name for name in graph if name.startswith("app.contacts")})
    assert {name: by for name, by in loaded.items() if name.startswith("app.rfm")} == {}
    assert any(name.startswith("app.contacts") for name in reachable(graph, {"app.rfm.writeback"}))  # rfm -> contacts


def test_the_import_check_follows_imports_inside_functions_and_through_other_packages():
    graph = {"app.contacts.a": imports("def f():\n    from app.tags import b", {"app.tags.b"}),
             "app.tags.b": imports("import app.rfm.c", set()), "app.rfm.c": set(), "app.tags": set()}
    assert "app.rfm.c" in reachable(graph, {"app.contacts.a"})
