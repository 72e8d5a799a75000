"""Issue 15: Parsl as an engine, with the whole contract (SPEC §6).

``--executor parsl`` starts a real HighThroughputExecutor with a
``LocalProvider`` for each run (interchange, manager and worker processes on
127.0.0.1, CurveZMQ); ``parsl:FILE.py`` and ``parsl:MODULE`` load a user's
config. The programs of the differential suite (engines.PROGRAMS) run on it
and must agree with plain python; fault tests kill an HTEX worker and a
manager from outside, interrupt runs and look for leftovers.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap

import e2e
import engines
import pytest

pytest.importorskip("parsl")

WORKERS = 2

#: A user's config: what a Slurm config would be, with a LocalProvider, on loopback.
CONFIG = """\
from parsl.config import Config
from parsl.executors import HighThroughputExecutor
from parsl.providers import LocalProvider

config = Config(
    executors=[HighThroughputExecutor(
        label="mine", address="127.0.0.1", loopback_address="127.0.0.1",
        max_workers_per_node=2, cores_per_worker=0.01, encrypted=True,
        heartbeat_period=2, heartbeat_threshold=10,
        provider=LocalProvider(init_blocks=1, min_blocks=1, max_blocks=1),
    )],
    run_dir={run_dir!r},
    strategy="none",
    initialize_logging=False,
    usage_tracking=0,
)
"""


@pytest.mark.parametrize("name", engines.PROGRAMS)
def test_program_on_a_local_htex(name, plain_run):
    engines.compare_with_plain(name, "parsl", plain_run, workers=WORKERS)


@pytest.mark.parametrize("form", ["file", "module"])
def test_a_users_config(form, tmp_path, plain_run):
    """Run as ``venv/bin/python -m autofuture`` without ``activate``: Parsl's
    ``process_worker_pool.py`` is not on PATH, and the local block's workers must
    still start (by this interpreter)."""
    (tmp_path / "myconfig.py").write_text(CONFIG.format(run_dir=str(tmp_path / "runinfo")))
    executor = f"parsl:{tmp_path / 'myconfig.py'}" if form == "file" else "parsl:myconfig"
    path = engines.program("task_output")
    scripts = os.path.dirname(sys.executable)
    bare_path = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep)
                                if d and os.path.realpath(d) != os.path.realpath(scripts))
    fut = engines.e2e.run_autofuture(path, executor, workers=WORKERS, timeout=engines.DEADLINE,
                                     env={"PYTHONPATH": f"{engines.e2e.REPO_ROOT}:{tmp_path}",
                                          "PATH": bare_path})
    engines.e2e.assert_same(plain_run(path), fut)
    assert (tmp_path / "runinfo").is_dir()  # the config's own run directory was used


def test_a_config_without_config_is_named(tmp_path):
    (tmp_path / "empty.py").write_text("settings = 1\n")
    script = tmp_path / "x.py"
    script.write_text("# autofuture\ndef f():\n    return 1\n\n\nprint(f())\n")
    fut = engines.e2e.run_autofuture(script, f"parsl:{tmp_path / 'empty.py'}", workers=1)
    assert fut.returncode == 1
    assert "must define config, a parsl.config.Config" in fut.stderr, fut.stderr


@pytest.mark.parametrize(("executor", "complaint"), [
    ("parsl:no_such_module_here", "no module named"),
    ("parsl:/no/such/config.py", "no such file"),
])
def test_a_missing_config_is_a_usage_error(tmp_path, executor, complaint):
    script = tmp_path / "x.py"
    script.write_text("print(1)\n")
    fut = engines.e2e.run_autofuture(script, executor, workers=1)
    assert fut.returncode == 2 and complaint in fut.stderr, fut.stderr


def test_trace_names_workers_by_host_and_pid(tmp_path):
    import json
    import socket

    script = tmp_path / "traced.py"
    script.write_text(textwrap.dedent("""\
        # autofuture
        def square(i):
            return i * i


        print(sum([square(i) for i in range(20)]))
    """))
    fut = engines.e2e.run_autofuture(script, "parsl", workers=WORKERS, timeout=engines.DEADLINE,
                                     extra_opts=["--trace", "trace.jsonl"])
    assert (fut.returncode, fut.stdout) == (0, "2470\n"), fut.stderr
    events = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    workers = {event["worker"] for event in events if event.get("event") == "end"}
    assert workers and all(w.startswith(f"{socket.gethostname()} pid ") for w in workers), workers


# --------------------------------------------------------------------------- faults


def _victim(tmp_path, opts=(), kill=lambda pid: os.kill(pid, signal.SIGKILL)):
    script = tmp_path / "victim.py"
    script.write_text(engines.VICTIM)
    mark = tmp_path / "mark"
    mark.mkdir()
    one = engines.Watched(script, "parsl", args=[mark, 60], workers=WORKERS, opts=opts)
    try:
        one.started = one.wait_victim(mark)
        members = engines.e2e.session_members(one.sid)
        kill(one)
        one.status = one.wait_exit(engines.DEADLINE)
    finally:
        one.close()
    left = e2e.wait_gone(one.sid) | {pid for pid in members if _alive(pid)}
    assert not left, f"left behind:\n{e2e.describe_processes(left)}"
    return script, one


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as file:
        return int(file.read().rsplit(")", 1)[1].split()[1])


def test_an_htex_worker_killed_from_outside_fails_only_its_task(tmp_path):
    script, one = _victim(tmp_path, kill=lambda one: os.kill(one.started, signal.SIGKILL))
    assert one.status == 1, f"status {one.status}:\n{one.err}"
    assert one.out == "before 2\n"
    assert "WorkerLostError" in one.err and "loss of worker" in one.err, one.err
    assert f"victim() at victim.py:{e2e.line_of(script, 'v = victim(7)')}" in one.err


def test_an_htex_worker_killed_from_outside_is_retried(tmp_path):
    _, one = _victim(tmp_path, opts=["--retries", "1"],
                     kill=lambda one: os.kill(one.started, signal.SIGKILL))
    assert one.status == 0, f"status {one.status}:\n{one.err}"
    assert one.out == "before 2\nresults [0, 2, 4, 6, 8]\nvictim 7\n"
    assert one.err == ""


def test_an_htex_manager_killed_from_outside_ends_the_run(tmp_path):
    """The block is gone: Parsl gives up on it, the task fails naming it, no worker stays."""
    script, one = _victim(tmp_path,
                          kill=lambda one: os.kill(_parent(one.started), signal.SIGKILL))
    assert one.status == 1, f"status {one.status}:\n{one.err}"
    assert one.out == "before 2\n"
    assert "WorkerLostError" in one.err, one.err
    assert f"victim() at victim.py:{e2e.line_of(script, 'v = victim(7)')}" in one.err


def test_ctrl_c_stops_the_htex_and_leaves_nothing(tmp_path):
    def interrupt(one):
        ports = engines.listening(engines.e2e.session_members(one.sid))
        assert ports, "an HTEX listens somewhere"
        elsewhere = {pid: [a for a in found if not engines.loopback(a)]
                     for pid, found in ports.items()}
        assert not any(elsewhere.values()), f"listening beyond 127.0.0.1: {elsewhere}"
        os.killpg(one.sid, signal.SIGINT)  # as a terminal does: the interchange gets it too

    _, one = _victim(tmp_path, kill=interrupt)
    assert one.status == 130, f"status {one.status}:\n{one.err}"
    assert one.out == "before 2\n"
    assert one.err.rstrip().endswith("KeyboardInterrupt"), one.err


def test_sigterm_stops_the_htex(tmp_path):
    _, one = _victim(tmp_path, kill=lambda one: one.proc.send_signal(signal.SIGTERM))
    assert one.status == 128 + signal.SIGTERM, f"status {one.status}:\n{one.err}"


def test_sigkill_of_the_driver_leaves_no_process(tmp_path):
    """The interchange leaves with the workflow, the managers when its heartbeats stop."""
    script = tmp_path / "victim.py"
    script.write_text(engines.VICTIM)
    mark = tmp_path / "mark"
    mark.mkdir()
    one = engines.Watched(script, "parsl", args=[mark, 60], workers=WORKERS)
    try:
        one.wait_victim(mark)
        os.kill(one.sid, signal.SIGKILL)
        one.wait_exit(10)
        left = e2e.wait_gone(one.sid, 25)
    finally:
        one.close()
    assert not left, f"alive 25 s after the driver was killed:\n{e2e.describe_processes(left)}"
