"""Fault injection, the call log, persistence across restarts, the CLI and the demo company's speed."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import requests

from scripts.wecom_emulator.testing import RunningEmulator

API = "externalcontact/get_follow_user_list"


def test_fail_next_and_call_log(emulator, wecom):
    emulator.control.fault(api=API, fail_next=2, fail_code=45033)
    codes = [wecom.get(API)[1]["errcode"] for _ in range(3)]
    assert codes == [45033, 45033, 0]
    resp, _ = wecom.get(API)
    assert resp.status_code == 200
    counts = {(c["api"], c["errcode"]): c["count"] for c in emulator.control.get("calls")["counts"]}
    assert counts[(API, 45033)] == 2 and counts[(API, 0)] == 2 and counts[("gettoken", 0)] == 1
    assert emulator.control.call_count(API) == 4


def test_error_rate_applies_to_one_api_or_all(emulator, wecom):
    emulator.control.fault(api=API, error_rate=1, errcodes=[-1])
    assert wecom.get(API)[1]["errcode"] == -1
    assert wecom.get("department/list")[1]["errcode"] == 0
    emulator.control.clear_faults()
    emulator.control.fault(api="*", error_rate=0.5, seed=7)
    codes = [wecom.get("department/list")[1]["errcode"] for _ in range(60)]
    failures = [c for c in codes if c]
    assert set(failures) <= {-1, 45009, 45033} and 15 < len(failures) < 45
    assert emulator.control.get("faults")["faults"][0]["api"] == "*"
    emulator.control.clear_faults()
    assert wecom.get(API)[1]["errcode"] == 0


def test_latency_and_bad_fault_specs(emulator, wecom):
    emulator.control.fault(api=API, latency_ms=300)
    started = time.monotonic()
    assert wecom.get(API)[1]["errcode"] == 0
    assert time.monotonic() - started >= 0.3
    bad = requests.post(emulator.base_url + "/_emulator/faults", json={"error_rate": 2}, timeout=5)
    assert bad.status_code == 400 and "error_rate" in bad.json()["error"]
    bad = requests.post(emulator.base_url + "/_emulator/config", json={"receive_rule": "year"}, timeout=5)
    assert bad.status_code == 400


def test_state_survives_restart(tmp_path):
    path = str(tmp_path / "state.json")
    with RunningEmulator(seed="small", state_file=path) as first:
        token = first.access_token()
        userid = requests.get(first.api_base + API, params={"access_token": token}, timeout=5).json()["follow_user"][0]
        added = first.control.add_customer(userid=userid, welcome_code=False)
        assert first.control.post("save")["saved"] is True
    with RunningEmulator(seed="none", state_file=path) as second:
        token = second.access_token()
        ids = requests.get(second.api_base + "externalcontact/list", params={"access_token": token, "userid": userid},
                           timeout=5).json()["external_userid"]
        assert added["external_userid"] in ids  # loaded, not re-seeded with "none"


def start_cli(cmd: list[str]) -> tuple[subprocess.Popen, str]:
    """The emulator's CLI on a port the OS chose (`--port 0`): its first line names the address once it listens, so
    there is no port to race for and no start-up time to guess."""
    proc = subprocess.Popen(cmd + ["--port", "0"], cwd=os.getcwd(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if found := re.search(r"WeCom emulator on (http://127\.0\.0\.1:\d+)/cgi-bin/", line):
            return proc, found.group(1)
    proc.wait()
    raise AssertionError("the emulator did not start:\n" + "".join(lines))


def test_cli_saves_on_sigterm_and_loads_without_reseeding(tmp_path):
    path = str(tmp_path / "cli.json")
    cmd = [sys.executable, "-m", "scripts.wecom_emulator", "--seed", "small",
           "--state", path, "--quiet", "--callback-url", "http://127.0.0.1:9/none"]

    def start():
        proc, base = start_cli(cmd)
        return proc, base, requests.get(base + "/_emulator/summary", timeout=5).json()

    proc, base, summary = start()
    try:
        assert summary["customers"] == 300
        assert requests.get(base + "/cgi-bin/user/simplelist", timeout=5).json()["errcode"] == 41001
        created = requests.post(base + "/_emulator/simulate/group_create",
                                json={"owner": _first_follow_user(base)}, timeout=5)
        assert created.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "state saved" in out
    assert len(json.load(open(path))["groups"]) == 6
    proc, base, summary = start()
    try:
        assert summary["groups"] == 6 and summary["customers"] == 300
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def _first_follow_user(base: str) -> str:
    token = requests.get(base + "/cgi-bin/gettoken", params={"corpid": "wwdemo0000000001",
                                                             "corpsecret": "demo-secret"}, timeout=5).json()
    return requests.get(base + "/cgi-bin/" + API, params={"access_token": token["access_token"]},
                        timeout=5).json()["follow_user"][0]


def test_demo_seed_is_complete_and_every_customer_is_reached_by_paging():
    """The demo company's size and shape; its speed is the benchmarks' business, not a timed test's."""
    with RunningEmulator(seed="demo") as emu:
        summary = emu.control.get("summary")
        assert summary["customers"] == 20000 and summary["groups"] == 150 and summary["users"] >= 30
        assert 0.12 < summary["relations"] / summary["customers"] - 1 < 0.25  # ~15% followed by several
        token = emu.access_token()
        follow = requests.get(emu.api_base + API, params={"access_token": token}, timeout=5).json()["follow_user"]
        session, seen = requests.Session(), set()
        for i in range(0, len(follow), 100):
            cursor = ""
            while True:
                body = session.post(emu.api_base + "externalcontact/batch/get_by_user", params={"access_token": token},
                                    data=json.dumps({"userid_list": follow[i:i + 100], "cursor": cursor,
                                                     "limit": 100}).encode(), timeout=10).json()
                seen.update(c["external_contact"]["external_userid"] for c in body["external_contact_list"])
                cursor = body["next_cursor"]
                if not cursor:
                    break
        assert len(seen) == 20000


def test_held_answers_are_done_at_wecom_and_answered_only_when_released(emulator, wecom):
    """hold_answers: WeCom carries the call out (the message exists) while its caller still waits for the answer."""
    import threading

    emulator.control.post("groupmsg/audience", userids=["wmholder"], per_user=2)
    send = {"chat_type": "single", "sender": "wmholder", "external_userid": ["wmbulkwmholderx0", "wmbulkwmholderx1"],
            "text": {"content": "held"}}
    emulator.control.fault(api="externalcontact/add_msg_template", hold_answers=1)
    answers = []
    caller = threading.Thread(target=lambda: answers.append(wecom.post("externalcontact/add_msg_template", send)[1]))
    caller.start()
    deadline = time.monotonic() + 30
    while emulator.control.held() != 1:  # the observable state a test waits for: never a fixed sleep
        assert time.monotonic() < deadline, "the call was never held"
        time.sleep(0.02)
    created = emulator.control.get("groupmsgs")["group_msgs"]
    assert len(created) == 1 and answers == [] and caller.is_alive()
    assert emulator.control.release_held() == 1
    caller.join(30)
    assert answers[0]["errcode"] == 0 and answers[0]["msgid"] == created[0]["msgid"]
    assert emulator.control.held() == 0
    assert wecom.post("externalcontact/add_msg_template", send)[1]["errcode"] == 0  # one answer held, no more
    bad = requests.post(emulator.base_url + "/_emulator/faults", json={"hold_answers": -1}, timeout=5)
    assert bad.status_code == 400 and "hold_answers" in bad.json()["error"]
