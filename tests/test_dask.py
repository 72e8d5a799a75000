"""Issue 15: Dask as an engine, with the whole contract (SPEC §6).

``--executor dask`` starts a local cluster of autofuture's own for each run;
``--executor dask://HOST:PORT`` (and ``tcp://``) runs on a real ``dask
scheduler`` and ``dask worker`` processes that this module starts once, on
127.0.0.1, and tears down at its end. The programs of the differential suite
(engines.PROGRAMS) run on both and must agree with plain python; fault tests
kill a Dask worker from outside, interrupt runs and look for leftovers.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import e2e
import engines
import pytest

pytest.importorskip("distributed")

WORKERS = 2


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory):
    """``tcp://127.0.0.1:PORT`` of a scheduler with WORKERS single-threaded workers."""
    servers = engines.Servers(tmp_path_factory.mktemp("dask"))
    address = f"tcp://127.0.0.1:{engines.free_port()}"
    port = address.rsplit(":", 1)[1]
    servers.start("scheduler", [sys.executable, "-m", "distributed.cli.dask_scheduler",
                                "--host", "127.0.0.1", "--port", port, "--no-dashboard",
                                "--dashboard-address", "127.0.0.1:0"])
    servers.start("workers", [sys.executable, "-m", "distributed.cli.dask_worker", address,
                              "--nworkers", str(WORKERS), "--nthreads", "1",
                              "--host", "127.0.0.1", "--no-dashboard",
                              "--dashboard-address", "127.0.0.1:0", "--memory-limit", "0",
                              "--death-timeout", "60"])
    try:
        wait_workers(address, WORKERS, servers)
        yield address
    finally:
        left = servers.stop()
        assert not left, f"the Dask servers left processes behind:\n{e2e.describe_processes(left)}"


def wait_workers(address: str, count: int, servers=None, limit: float = 60.0) -> None:
    """Wait until the scheduler has ``count`` workers."""
    from distributed import Client

    deadline = time.monotonic() + limit
    with Client(address, timeout=limit, set_as_default=False) as client:
        while len(client.nthreads()) < count:
            logs = (servers.log("scheduler") + servers.log("workers")) if servers else ""
            assert time.monotonic() < deadline, f"fewer than {count} Dask workers:\n{logs}"
            time.sleep(0.1)


def scheduler_tasks(address: str) -> list:
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        return client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.tasks))


# --------------------------------------------------------------------------- the programs


@pytest.mark.parametrize("name", engines.PROGRAMS)
def test_program_on_a_dask_cluster_of_its_own(name, plain_run):
    engines.compare_with_plain(name, "dask", plain_run, workers=WORKERS)


@pytest.mark.parametrize("name", engines.PROGRAMS)
def test_program_on_an_existing_scheduler(name, scheduler, plain_run):
    executor = "dask://" + scheduler[len("tcp://"):] if len(name) % 2 else scheduler
    engines.compare_with_plain(name, executor, plain_run, workers=WORKERS)


def test_dask_scheduler_address_names_the_cluster(scheduler, plain_run):
    """``--executor dask`` with DASK_SCHEDULER_ADDRESS set connects instead of starting one."""
    path = engines.program("diamond")
    fut = engines.e2e.run_autofuture(path, "dask", workers=WORKERS, timeout=engines.DEADLINE,
                                     extra_opts=["--trace", "trace.jsonl"],
                                     env={"DASK_SCHEDULER_ADDRESS": scheduler})
    engines.e2e.assert_same(plain_run(path), fut)
    trace = (path.parent / "trace.jsonl").read_text()
    (path.parent / "trace.jsonl").unlink()
    assert '"executor":"dask"' in trace


# --------------------------------------------------------------------------- the contract


TRACED = """\
# autofuture
import os


def where(i):
    print("task", i)
    return os.getpid()


pids = [where(i) for i in range(8)]
print(len(pids))
"""


def test_trace_names_workers_by_host_and_pid(tmp_path):
    import json
    import socket

    script = tmp_path / "traced.py"
    script.write_text(TRACED)
    fut = engines.e2e.run_autofuture(script, "dask", workers=WORKERS, timeout=engines.DEADLINE,
                                     extra_opts=["--trace", "trace.jsonl"])
    assert fut.returncode == 0, fut.stderr
    assert fut.stdout == "".join(f"task {i}\n" for i in range(8)) + "8\n"
    events = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    workers = {event["worker"] for event in events if event.get("event") == "end"}
    assert workers and all(w.startswith(f"{socket.gethostname()} pid ") for w in workers), workers


def test_checkpoint_and_retries_work_on_dask(tmp_path):
    script = tmp_path / "counted.py"
    script.write_text(
        "# autofuture\nimport os, sys\n\n\ndef note(i):\n"
        "    with open(os.path.join(sys.argv[1], f'ran-{i}'), 'a') as f:\n"
        "        f.write('x')\n    return i * i\n\n\n"
        "print(sum([note(i) for i in range(6)]))\n")
    marks = tmp_path / "marks"
    marks.mkdir()
    for _ in range(2):
        fut = engines.e2e.run_autofuture(script, "dask", workers=WORKERS, args=[str(marks)],
                                         extra_opts=["--checkpoint", "ckpt", "--retries", "1"],
                                         timeout=engines.DEADLINE)
        assert (fut.returncode, fut.stdout) == (0, "55\n"), fut.stderr
    assert sorted(os.listdir(marks)) == [f"ran-{i}" for i in range(6)]
    assert all((marks / name).read_text() == "x" for name in os.listdir(marks))


def test_the_cluster_listens_on_loopback_only_and_leaves_nothing(tmp_path):
    script = tmp_path / "victim.py"
    script.write_text(engines.VICTIM)
    mark = tmp_path / "mark"
    mark.mkdir()
    one = engines.Watched(script, "dask", args=[mark, 60], workers=WORKERS)
    try:
        one.wait_victim(mark)
        members = engines.e2e.session_members(one.sid)
        ports = engines.listening(members)
        assert ports, "a Dask cluster listens somewhere"
        elsewhere = {pid: [a for a in found if not engines.loopback(a)]
                     for pid, found in ports.items()}
        assert not any(elsewhere.values()), f"listening beyond 127.0.0.1: {elsewhere}"
        os.killpg(one.sid, signal.SIGINT)  # as a terminal does: the workers get it too
        status = one.wait_exit(15)
        assert status == 130, f"status {status} after Ctrl-C:\n{one.err}"
    finally:
        one.close()
    assert one.out == "before 2\n"
    assert one.err.rstrip().endswith("KeyboardInterrupt"), one.err
    left = e2e.wait_gone(one.sid)
    assert not left, f"left behind after Ctrl-C:\n{e2e.describe_processes(left)}"


# --------------------------------------------------------------------------- faults


def _victim_run(tmp_path, executor, opts=(), nap=60):
    script = tmp_path / "victim.py"
    script.write_text(engines.VICTIM)
    mark = tmp_path / "mark"
    mark.mkdir()
    one = engines.Watched(script, executor, args=[mark, nap], workers=WORKERS, opts=opts)
    try:
        pid = one.wait_victim(mark)
        os.kill(pid, signal.SIGKILL)
        status = one.wait_exit(engines.DEADLINE)
    finally:
        one.close()
    left = e2e.wait_gone(one.sid)
    assert not left, f"left behind:\n{e2e.describe_processes(left)}"
    return script, one, status


def test_a_worker_killed_from_outside_fails_only_its_task(tmp_path):
    script, one, status = _victim_run(tmp_path, "dask")
    assert status == 1, f"status {status}:\n{one.err}"
    assert one.out == "before 2\n"
    assert "WorkerLostError" in one.err and "died" in one.err, one.err
    assert f"victim() at victim.py:{e2e.line_of(script, 'v = victim(7)')}" in one.err


def test_a_worker_killed_from_outside_is_retried(tmp_path):
    _, one, status = _victim_run(tmp_path, "dask", opts=["--retries", "1"])
    assert status == 0, f"status {status}:\n{one.err}"
    assert one.out == "before 2\nresults [0, 2, 4, 6, 8]\nvictim 7\n"
    assert one.err == ""


def test_a_worker_of_an_existing_cluster_killed_from_outside(tmp_path, scheduler):
    """Dask's scheduler runs a lost worker's task again (allowed-failures); the run goes on,
    and the worker's nanny replaces it for the next test."""
    _, one, status = _victim_run(tmp_path, scheduler, nap=60)
    assert status == 0, f"status {status}:\n{one.err}"
    assert one.out == "before 2\nresults [0, 2, 4, 6, 8]\nvictim 7\n"
    wait_workers(scheduler, WORKERS)


def test_ctrl_c_cancels_the_work_on_an_existing_cluster(tmp_path, scheduler):
    script = tmp_path / "naps.py"
    script.write_text(
        "# autofuture\nimport os, sys, time\n\n\ndef nap(i):\n"
        "    open(os.path.join(sys.argv[1], f'nap-{i}'), 'w').close()\n"
        "    time.sleep(2)\n    return i\n\n\n"
        "print(sum([nap(i) for i in range(40)]))\n")
    mark = tmp_path / "mark"
    mark.mkdir()
    one = engines.Watched(script, scheduler, args=[mark], workers=WORKERS)
    try:
        one.wait_for(lambda: os.listdir(mark), "a nap")
        one.proc.send_signal(signal.SIGINT)
        status = one.wait_exit(15)
    finally:
        one.close()
    assert status == 130, f"status {status}:\n{one.err}"
    deadline = time.monotonic() + 20
    while (left := scheduler_tasks(scheduler)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"tasks still on the cluster after Ctrl-C: {left}"
    assert len(os.listdir(mark)) < 40
    wait_workers(scheduler, WORKERS)


def test_sigterm_stops_a_cluster_of_its_own(tmp_path):
    script = tmp_path / "victim.py"
    script.write_text(engines.VICTIM)
    mark = tmp_path / "mark"
    mark.mkdir()
    one = engines.Watched(script, "dask", args=[mark, 60], workers=WORKERS)
    try:
        one.wait_victim(mark)
        one.proc.send_signal(signal.SIGTERM)
        status = one.wait_exit(15)
    finally:
        one.close()
    assert status == 128 + signal.SIGTERM, f"status {status}:\n{one.err}"
    left = e2e.wait_gone(one.sid)
    assert not left, f"left behind after SIGTERM:\n{e2e.describe_processes(left)}"


def test_sigkill_of_the_driver_leaves_no_worker(tmp_path):
    script = tmp_path / "victim.py"
    script.write_text(engines.VICTIM)
    mark = tmp_path / "mark"
    mark.mkdir()
    one = engines.Watched(script, "dask", args=[mark, 60], workers=WORKERS)
    try:
        one.wait_victim(mark)
        os.kill(one.sid, signal.SIGKILL)
        one.wait_exit(10)
        left = e2e.wait_gone(one.sid, 10)
    finally:
        one.close()
    assert not left, f"alive 10 s after the driver was killed:\n{e2e.describe_processes(left)}"
