"""``--checkpoint DIR``: a rerun after a crash recomputes nothing already finished."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import e2e
import pytest

# Each task that finishes notes it in a log (one line per finished run), so the
# tests can see which tasks a rerun computed again. Tasks 4 and later take
# 5 s while a `.slow` file exists, so a first run ends (by its error, or
# killed) before they finish; the arguments stay the same from run to run.
SCRIPT = textwrap.dedent("""\
    # autofuture
    import os
    import sys
    import time

    def work(i, log):
        time.sleep(5 if i >= 4 and os.path.exists(log + ".slow") else 0)
        if i == 3 and not os.path.exists(log + ".ok"):
            raise RuntimeError("crash half-way")
        print("computed", i)
        with open(log, "a") as file:
            file.write(f"{i}\\n")
        return i * i

    for i in range(8):
        print(i, work(i, sys.argv[1]))
""")
CALL_LINE = SCRIPT.splitlines().index("    print(i, work(i, sys.argv[1]))") + 1
EXPECTED = "".join(f"computed {i}\n{i} {i * i}\n" for i in range(8))


def run(tmp_path, checkpoint, slow=False, executor="loky", trace=None, **kwargs):
    script = tmp_path / "resumable.py"
    script.write_text(SCRIPT)
    marker = tmp_path / "ran.log.slow"
    marker.write_text("") if slow else marker.unlink(missing_ok=True)
    command = [sys.executable, "-m", "autofuture", "-n", "2", "--executor", executor,
               "--checkpoint", str(checkpoint), str(script), str(tmp_path / "ran.log")]
    if trace is not None:
        command[3:3] = ["--trace", str(trace)]
    kwargs.setdefault("env", e2e._child_env(None))  # this checkout, in workers too
    return subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)


def ran(tmp_path) -> list[int]:
    log = tmp_path / "ran.log"
    numbers = sorted(int(line) for line in log.read_text().split()) if log.exists() else []
    log.write_text("")
    return numbers


@pytest.mark.parametrize("executor", ["loky", "serial"])
def test_a_rerun_after_an_error_computes_only_what_did_not_finish(tmp_path, executor):
    checkpoint = tmp_path / "ck"
    first = run(tmp_path, checkpoint, slow=True, executor=executor)
    assert first.returncode == 1 and "RuntimeError: crash half-way" in first.stderr
    finished = ran(tmp_path)
    # Usually [0, 1, 2]. Later tasks may have run too, beside the crashing one; those
    # whose result reached the workflow before it stopped were recorded, one still
    # coming back when it stopped was not (CI saw 6 computed again).
    assert finished[:3] == [0, 1, 2] and 3 not in finished
    (tmp_path / "ran.log.ok").write_text("")
    second = run(tmp_path, checkpoint, executor=executor)
    assert second.returncode == 0, second.stderr
    assert second.stdout == EXPECTED  # replayed output included, in program order
    again = ran(tmp_path)
    # Everything the first run did not compute is computed now; nothing it recorded is.
    assert set(range(3, 8)) - set(finished) <= set(again) <= set(range(3, 8))
    third = run(tmp_path, checkpoint, executor=executor)
    assert third.stdout == EXPECTED and ran(tmp_path) == []


def records_in(checkpoint: Path) -> list[str]:
    """The records written whole: not the key (``.key``), nor one still being written
    (``.tmp-*``), which counting every file took for a fourth record."""
    if not checkpoint.exists():
        return []
    return [name for name in os.listdir(checkpoint) if not name.startswith(".")]


def test_a_killed_run_resumes(tmp_path):
    checkpoint = tmp_path / "ck"
    (tmp_path / "ran.log.ok").write_text("")
    (tmp_path / "ran.log.slow").write_text("")
    script = tmp_path / "resumable.py"
    script.write_text(SCRIPT)
    process = subprocess.Popen(
        [sys.executable, "-m", "autofuture", "-n", "2", "--checkpoint", str(checkpoint),
         str(script), str(tmp_path / "ran.log")], env=e2e._child_env(None),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(records_in(checkpoint)) < 4:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    before = set(ran(tmp_path))
    records = records_in(checkpoint)
    # Tasks 0-3 are quick, the others take 5 s each. A quick task sent in one message
    # with a slow one comes back (and is recorded) with it, so the kill may find a
    # fifth record already, or a quick task computed but not yet recorded.
    assert len(records) >= 4 and {0, 1, 2, 3} <= before
    trace = tmp_path / "rerun.jsonl"
    again = run(tmp_path, checkpoint, trace=trace)
    assert again.returncode == 0, again.stderr
    assert again.stdout == EXPECTED
    # What was recorded is restored and never computed again; only the rest is sent.
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    restored = {e["id"] for e in events if e["event"] == "restored"}
    sent = {i for e in events if e["event"] == "send" for i in e["ids"]}
    assert len(restored) == len(records) and restored >= {1, 2, 3, 4}
    assert sent == set(range(1, 9)) - restored
    assert set(ran(tmp_path)) == {number - 1 for number in sent}  # task ids count from 1


def test_records_are_private_and_a_bad_one_is_ignored_with_a_warning(tmp_path):
    checkpoint = tmp_path / "ck"
    (tmp_path / "ran.log.ok").write_text("")
    assert run(tmp_path, checkpoint).returncode == 0
    ran(tmp_path)
    assert stat.S_IMODE(os.stat(checkpoint).st_mode) == 0o700
    records = sorted(name for name in os.listdir(checkpoint) if not name.startswith("."))
    assert len(records) == 8
    for name in records:
        assert stat.S_IMODE(os.stat(checkpoint / name).st_mode) == 0o600
    (checkpoint / records[0]).write_bytes(b"garbage")
    forged = checkpoint / records[1]
    forged.write_bytes(forged.read_bytes()[:-1] + b"!")  # a record signed by no one
    again = run(tmp_path, checkpoint)
    assert again.returncode == 0 and again.stdout == EXPECTED
    assert len(ran(tmp_path)) == 2  # exactly the two bad records' tasks ran again
    warnings = [line for line in again.stderr.splitlines() if "CheckpointWarning" in line]
    assert len(warnings) == 2
    assert all(f"resumable.py:{CALL_LINE}" in line and "runs again" in line
               for line in warnings)


def test_changing_a_task_s_code_invalidates_its_records(tmp_path):
    checkpoint = tmp_path / "ck"
    (tmp_path / "ran.log.ok").write_text("")
    assert run(tmp_path, checkpoint).returncode == 0
    ran(tmp_path)
    script = tmp_path / "resumable.py"
    changed = SCRIPT.replace("return i * i", "return i * i + 0")
    script.write_text(changed)
    command = [sys.executable, "-m", "autofuture", "-n", "2", "--checkpoint", str(checkpoint),
               str(script), str(tmp_path / "ran.log")]
    again = subprocess.run(command, capture_output=True, text=True, timeout=120,
                           env=e2e._child_env(None))
    assert again.returncode == 0 and again.stdout == EXPECTED
    assert ran(tmp_path) == list(range(8))
