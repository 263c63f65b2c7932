"""The callback table routes every event type the emulator (hence WeCom, as documented) sends, each exactly once,
and handlers use only the payload keys the Payload type declares."""
import ast
from pathlib import Path

import pytest

from app import callbacks
from app.wecom.handlers import Payload
from scripts.wecom_emulator import events

APP = Path(__file__).resolve().parents[2] / "app"


def test_every_event_type_the_emulator_sends_has_exactly_one_row():
    rows = [(event, change_type) for event, change_type, _route in callbacks.ROWS]
    assert {key: rows.count(key) for key in events.EVENT_TYPES} == {key: 1 for key in events.EVENT_TYPES}
    assert set(rows) == events.EVENT_TYPES, "a row for an event the emulator cannot send is never tested"
    assert all(route.urgent or route.follow_up for _e, _c, route in callbacks.ROWS)


def test_a_second_row_for_an_event_type_is_refused(monkeypatch):
    monkeypatch.setattr(callbacks, "ROWS", callbacks.ROWS + (callbacks.ROWS[0],))
    with pytest.raises(ValueError, match="add_external_contact"):
        callbacks._table()


def test_an_add_welcomes_first_then_refetches_the_customer_before_applying_channel_tags():
    route = callbacks.route_for("change_external_contact", "add_external_contact")
    assert [f.__name__ for f in route.urgent] == ["welcome_now"]
    # the referral credit judges "new to the company" before the contact handler stores the invitee;
    # the customer's lifecycle stage follows once the relation is stored
    assert [f.__name__ for f in route.follow_up] == ["credit_add", "contact_added", "tag_invitee", "after_add",
                                                     "contact_added"]
    assert route.follow_up[-1].__module__ == "app.lifecycle.signals"
    assert callbacks.route_for("change_external_contact", "no_such_change") == callbacks.NO_HANDLERS


def test_the_emulator_refuses_to_build_an_event_type_it_has_not_declared():
    with pytest.raises(ValueError, match="EVENT_TYPES"):
        events.contact_event("ww1", 0, "no_such_change", "u", "wm")
    with pytest.raises(ValueError):
        events.chat_event("ww1", 0, "wrcid", "delete")


def _payload_keys(path: Path) -> dict[str, int]:
    """String keys read or written on a variable named `payload`: payload["K"], payload.get("K"), ...setdefault."""
    keys = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "payload"
                and isinstance(node.slice, ast.Constant)):
            keys[node.slice.value] = node.lineno
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "payload"
              and node.func.attr in ("get", "setdefault", "pop") and node.args
              and isinstance(node.args[0], ast.Constant)):
            keys[node.args[0].value] = node.lineno
    return keys


def test_handlers_use_only_declared_payload_keys():
    declared = Payload.__required_keys__ | Payload.__optional_keys__
    modules = [path for path in APP.rglob("*.py") if "import Payload" in path.read_text(encoding="utf-8")]
    assert {"handlers.py", "inbox.py"} <= {path.name for path in modules}
    used = {f"{path.relative_to(APP)}:{line} {key}" for path in modules
            for key, line in _payload_keys(path).items()}
    assert len(used) > 10
    assert {entry for entry in used if entry.rsplit(" ", 1)[1] not in declared} == set()


def test_the_key_check_sees_an_undeclared_key(tmp_path):
    module = tmp_path / "handlers.py"
    module.write_text("def h(payload):\n    payload['UserId']\n    payload.get('_carried')\n", encoding="utf-8")
    assert set(_payload_keys(module)) == {"UserId", "_carried"}
