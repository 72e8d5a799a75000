"""The runtime, end to end: small marked scripts run under ``python -m autofuture`` on real
executors, compared with their plain ``python`` run or with explicit expectations.

    python -m pytest tests/test_runtime.py -q
    python -m pytest tests/test_runtime.py -q -k "precise and loky"

Every run is a subprocess with a hard timeout, in a session of its own; ``conftest.py``
fails a test whose runs leave a process behind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import e2e
import pytest

EXECUTORS = ("loky", "thread", "serial")
POOLS = ("loky", "thread")  # executors where tasks really run out of order
TIMEOUT = 90.0


def write_script(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    """The 1-based number of the first line of ``path`` containing ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def run_af(script: Path, executor: str, *opts: str, args=(), env=None, timeout=TIMEOUT):
    run = e2e.run_autofuture(script, executor, workers=4, args=args, extra_opts=opts,
                             env=env, timeout=timeout)
    assert not run.timed_out, f"hung: {run.describe()}\n{run.stderr[-3000:]}"
    return run


def run_plain(script: Path, args=(), env=None):
    run = e2e.run_plain(script, args, env, timeout=TIMEOUT)
    assert not run.timed_out, run.describe()
    return run


def run_merged(argv, cwd: Path, timeout: float = TIMEOUT) -> tuple[int, str]:
    """Run with stderr into stdout and both unbuffered: the order a terminal would show."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8",
               PYTHONPATH=os.pathsep.join(
                   p for p in (str(e2e.REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p))
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    e2e.STARTED_SESSIONS.append(proc.pid)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        e2e.kill_session(proc.pid)
        proc.communicate()
        pytest.fail(f"{argv} did not finish within {timeout}s")
    return proc.returncode, out.decode("utf-8", "backslashreplace")


def final_line(stderr: str) -> str:
    return e2e.final_error_line(stderr)


# --------------------------------------------------------------------------- program order

ORDER_SCRIPT = """
    # autofuture
    import sys
    import time

    FINISHED = sys.argv[1]


    def work(i):
        time.sleep(0.2 * (5 - i))
        with open(FINISHED, "a") as log:
            log.write(f"{i}\\n")
        return i * i


    squares = []
    table = {}
    for i in range(6):
        r = work(i)
        print("got", i, r)
        squares.append(r)
        table[i] = r
        print("so far", len(squares), sum(squares), sorted(table.items()))
    print("final", squares, table)
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_effects_in_program_order_under_out_of_order_completion(tmp_path, executor):
    script = write_script(tmp_path, "ordered_effects.py", ORDER_SCRIPT)
    plain = run_plain(script, args=[str(tmp_path / "plain.txt")])
    finished = tmp_path / "fut.txt"
    fut = run_af(script, executor, args=[str(finished)])
    e2e.assert_same(plain, fut)
    order = [int(x) for x in finished.read_text().split()]
    assert sorted(order) == list(range(6))
    if executor in POOLS:
        assert order != sorted(order), "tasks should have finished out of order"
    else:
        assert order == sorted(order), "serial runs each task at its turn"


OUTPUT_SCRIPT = """
    # autofuture
    import sys
    import time


    def chatty(i):
        time.sleep(0.1 * (4 - i))
        print(f"task {i}: out 1")
        print(f"task {i}: err 1", file=sys.stderr)
        sys.stdout.write(f"task {i}: out 2\\n")
        sys.stderr.write(f"task {i}: err 2\\n")
        print(f"task {i}: no newline", end="")
        print(" -> joined")
        return i


    print("workflow: start")
    print("workflow: start err", file=sys.stderr)
    for i in range(5):
        c = chatty(i)
        print("workflow: got", c)
        print("workflow: err", c, file=sys.stderr)
    print("workflow: end", file=sys.stderr)
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_task_output_replayed_at_its_turn_with_interleaving(tmp_path, executor):
    script = write_script(tmp_path, "chatty.py", OUTPUT_SCRIPT)
    plain_status, plain_out = run_merged([sys.executable, script.name], tmp_path)
    status, out = run_merged(
        [sys.executable, "-m", "autofuture", "-n", "4", "--executor", executor, script.name],
        tmp_path)
    assert (status, out) == (plain_status, plain_out)
    assert "task 4: err 1\ntask 4: out 2\n" in out
    # And each stream on its own, as a pipe-reading tool sees it.
    e2e.assert_same(run_plain(script), run_af(script, executor))


CAPTURE_SCRIPT = """
    # autofuture
    import time


    def snapshot(items, delay):
        time.sleep(delay)
        return list(items)


    def total(items):
        return sum(items)


    data = [1, 2, 3]
    first = snapshot(data, 0.5)
    data.append(4)
    second = snapshot(data, 0.0)
    data[0] = 100
    t = total(data)
    print("first", first)
    print("second", second)
    print("total", t)
    config = {"k": 1}
    before = snapshot(config, 0.3)
    config["k2"] = 2
    after = snapshot(config, 0.0)
    print(before, after)
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_task_inputs_captured_by_value_at_the_call(tmp_path, executor):
    script = write_script(tmp_path, "capture.py", CAPTURE_SCRIPT)
    fut = run_af(script, executor)
    assert fut.stdout == (
        "first [1, 2, 3]\n"
        "second [1, 2, 3, 4]\n"
        "total 109\n"
        "['k'] ['k', 'k2']\n"
    ), fut.stderr
    e2e.assert_same(run_plain(script), fut)


GLOBAL_SCRIPT = """
    # autofuture
    import time


    def produce():
        time.sleep(0.3)
        return 21


    BASE = produce()


    def scaled(x):
        return BASE * x


    def describe():
        return f"BASE is {BASE}, scaled(2) is {scaled(2)}"


    print([scaled(i) for i in range(4)])
    print(describe())
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_module_global_future_read_by_a_task(tmp_path, executor):
    script = write_script(tmp_path, "global_future.py", GLOBAL_SCRIPT)
    fut = run_af(script, executor)
    assert fut.stdout == "[0, 21, 42, 63]\nBASE is 21, scaled(2) is 42\n", fut.stderr
    e2e.assert_same(run_plain(script), fut)


SPECULATIVE_SCRIPT = """
    # autofuture
    import time

    import autofuture

    CONFIG = {"scale": 1}
    LIMITS = {"low": 0}


    def slow(i):
        time.sleep(0.5)
        return i


    def scaled(x):
        return x * CONFIG["scale"]


    def low():
        return LIMITS["low"]


    @autofuture.local
    def configure(scale):
        CONFIG["scale"] = scale


    configure(slow(10))
    print(scaled(3), low())
"""


def _sends(trace: Path) -> dict:
    """How many times each task (by label's function) was sent, from a --trace file."""
    import json

    events = [json.loads(line) for line in trace.read_text().splitlines() if line.strip()]
    names = {e["id"]: e["label"].split("(")[0] for e in events if e["event"] == "task"}
    sends: dict = {}
    for event in events:
        if event["event"] == "send":
            for task in event["ids"]:
                sends[names[task]] = sends.get(names[task], 0) + 1
    return sends


@pytest.mark.parametrize("executor", POOLS)
def test_a_task_reading_what_a_pending_call_changes_runs_speculatively(tmp_path, executor):
    """Both tasks read a dict while the local call that changes one of them is pending:
    each is sent at once; `scaled` captured the old CONFIG, so it is sent again once
    `configure` has run, while `low`, whose capture is the same then, is kept."""
    script = write_script(tmp_path, "speculative.py", SPECULATIVE_SCRIPT)
    trace = tmp_path / "run.jsonl"
    fut = run_af(script, executor, "--trace", str(trace))
    assert fut.stdout == "30 0\n", fut.stderr
    e2e.assert_same(run_plain(script), fut)
    assert _sends(trace) == {"slow": 1, "scaled": 2, "low": 1}


TASK_CONTEXT_SCRIPT = """
    # autofuture
    import os
    import sys


    def wander(i):
        before = (os.path.basename(os.getcwd()), os.environ.get("AF_TASK_SET", "unset"))
        os.makedirs(f"away{i}", exist_ok=True)
        os.chdir(f"away{i}")
        os.environ["AF_TASK_SET"] = f"by task {i}"
        sys.argv.append("--from-a-task")
        return before, sys.argv[1:]


    for i in range(4):
        print(wander(i))
"""


def test_a_task_s_own_context_changes_stay_out_of_the_next_task(tmp_path):
    """One worker runs every task, several in one message: each still starts in the
    workflow's cwd and environment. (Serial tasks run in the workflow's own process,
    so their changes stay, as in the plain run.)"""
    script = write_script(tmp_path, "wander.py", TASK_CONTEXT_SCRIPT)
    run = e2e.run_autofuture(script, "loky", workers=1, args=("arg",), timeout=TIMEOUT)
    assert not run.timed_out, run.describe()
    expected = "".join(f"(('{tmp_path.name}', 'unset'), ['arg', '--from-a-task'])\n"
                       for _ in range(4))
    assert run.stdout == expected, run.stderr
    serial = e2e.run_autofuture(script, "serial", workers=1, args=("arg",), timeout=TIMEOUT)
    e2e.assert_same(run_plain(script, args=("arg",)), serial)


KEPT_STREAM_SCRIPT = """
    # autofuture
    import logging
    import sys


    def set_up(i):
        logging.basicConfig(level=logging.INFO, format="%(message)s")  # keeps sys.stderr
        logging.info("logged by task %d", i)
        sys.stdout.close()
        print("printed by task", i, flush=True)
        return i


    def log_again(i):
        logging.info("logged by task %d", i)
        print("printed by task", i, flush=True)
        return i


    print(set_up(1))
    print(log_again(2))
"""


def test_a_stream_a_task_kept_records_the_next_task_on_its_worker(tmp_path):
    """A logging handler made in one task writes the next task's records too, each replayed
    with its own task; closing sys.stdout in a task does not break the next one."""
    script = write_script(tmp_path, "kept_stream.py", KEPT_STREAM_SCRIPT)
    run = e2e.run_autofuture(script, "loky", workers=1, timeout=TIMEOUT)
    assert not run.timed_out, run.describe()
    assert run.returncode == 0, run.stderr
    assert run.stdout == "printed by task 1\n1\nprinted by task 2\n2\n"
    assert run.stderr.splitlines() == ["logged by task 1", "logged by task 2"]


# --------------------------------------------------------------------------- look-ahead

LOOKAHEAD_SCRIPT = """
    # autofuture
    def tiny(i):
        return i * 2


    results = []
    for i in range(2000):
        r = tiny(i)
        results.append(r)
        if i % 500 == 0:
            print("at", i, r)
    print(len(results), sum(results))
    print(results[:3], results[-3:])
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_small_lookahead_keeps_the_output(tmp_path, executor):
    script = write_script(tmp_path, "lookahead.py", LOOKAHEAD_SCRIPT)
    fut = run_af(script, executor, "--lookahead", "50")
    assert fut.stdout.splitlines()[-2:] == ["2000 3998000", "[0, 2, 4] [3994, 3996, 3998]"]
    e2e.assert_same(run_plain(script), fut)


MEMORY_SCRIPT = """
    # autofuture
    import resource
    import sys


    def noop(i):
        return None


    N = int(sys.argv[1])
    for i in range(N):
        noop(i)
    print("done", N)
    print("maxrss", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def test_driver_memory_is_bounded_by_the_lookahead(tmp_path):
    script = write_script(tmp_path, "many_noops.py", MEMORY_SCRIPT)
    peaks = {}
    for count in (2_000, 20_000):
        run = run_af(script, "loky", "--lookahead", "50", args=[str(count)], timeout=240)
        assert run.returncode == 0, run.stderr
        assert run.stdout == f"done {count}\n"
        match = re.search(r"^maxrss (\d+)$", run.stderr, re.MULTILINE)
        assert match, run.stderr
        peaks[count] = int(match.group(1))
    ratio = peaks[20_000] / peaks[2_000]
    assert ratio < 3, f"driver peak RSS grew {ratio:.2f}x for 10x the tasks: {peaks} (KiB)"


# --------------------------------------------------------------------------- precise errors

PRECISE_SCRIPT = """
    # autofuture
    import os
    import sys
    import time

    MARKERS = sys.argv[1]


    def step(i):
        if i == 3:
            time.sleep(0.5)
            raise ValueError(f"step {i} failed")
        print(f"step {i} running")
        with open(os.path.join(MARKERS, f"marker-{i}"), "w") as f:
            f.write(str(i))
        return i


    for i in range(12):
        r = step(i)
        print("result", i, r)
    print("unreachable")
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_precise_error_stops_output_where_the_plain_run_does(tmp_path, executor):
    script = write_script(tmp_path, "precise.py", PRECISE_SCRIPT)
    (tmp_path / "plain").mkdir()
    (tmp_path / "fut").mkdir()
    plain = run_plain(script, args=[str(tmp_path / "plain")])
    fut = run_af(script, executor, args=[str(tmp_path / "fut")])
    e2e.assert_same(plain, fut)
    assert fut.stdout.endswith("result 2 2\n")
    assert "step 4" not in fut.stdout and "result 4" not in fut.stdout
    assert final_line(fut.stderr) == "ValueError: step 3 failed"
    ran = {int(p.name.split("-")[1]) for p in (tmp_path / "fut").iterdir()}
    assert {0, 1, 2} <= ran and 3 not in ran
    if executor == "serial":
        assert ran == {0, 1, 2}
    elif executor == "loky":
        # Later tasks did run on the other workers; they are just not reported.
        assert ran - {0, 1, 2}, "expected later tasks to have run while step 3 slept"


TRY_SCRIPT = """
    # autofuture
    def risky(i):
        if i % 3 == 0:
            raise KeyError(f"bad {i}")
        print("risky ran", i)
        return i * 10


    results = []
    for i in range(7):
        try:
            v = risky(i)
            print("ok", i, v)
            results.append(v)
        except KeyError as exc:
            print("caught", i, repr(exc))
            results.append(-1)
    print("continued", results)
    last = risky(5)
    print("last", last)
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_try_except_catches_a_task_error_and_the_program_goes_on(tmp_path, executor):
    script = write_script(tmp_path, "try_task.py", TRY_SCRIPT)
    fut = run_af(script, executor)
    assert fut.returncode == 0, fut.stderr
    assert "caught 3 KeyError('bad 3')" in fut.stdout
    assert fut.stdout.endswith("continued [-1, 10, 20, -1, 40, 50, -1]\nrisky ran 5\nlast 50\n")
    e2e.assert_same(run_plain(script), fut)


# --------------------------------------------------------------------------- serialization

UNPICKLABLE_SCRIPT = """
    # autofuture
    import socket
    import time


    def slow(i):
        time.sleep(0.3)
        print("slow ran", i)
        return i


    def use(label, conn):
        return label


    def numbers():
        yield 1


    conn = {make}
    a = slow(1)
    print("a", a)
    try:
        r = use("x", conn)
        print("not reached", r)
    except TypeError as exc:
        print("caught", type(exc).__module__ + "." + type(exc).__name__)
        print("message", exc)
    b = slow(2)
    print("b", b)
    s = use("y", conn=conn)
    print("not reached either", s)
"""

UNPICKLABLE = {"socket": ("socket.socket()", "socket.socket"),
               "generator": ("numbers()", "generator")}


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("kind", sorted(UNPICKLABLE))
def test_unpicklable_argument_fails_at_its_turn_naming_it(tmp_path, executor, kind):
    make, type_name = UNPICKLABLE[kind]
    script = write_script(tmp_path, "unpicklable.py", UNPICKLABLE_SCRIPT.format(make=make))
    fut = run_af(script, executor)
    lines = fut.stdout.splitlines()
    assert lines[:3] == ["slow ran 1", "a 1", "caught autofuture.SerializationError"], fut.stderr
    assert lines[3].startswith("message argument 'conn' of task use() is a ")
    assert type_name in lines[3]
    assert lines[4:] == ["slow ran 2", "b 2"]
    assert fut.returncode == 1
    last = final_line(fut.stderr)
    assert last.startswith("autofuture.SerializationError: argument 'conn' of task use()")
    assert type_name in last
    assert f'unpicklable.py", line {line_of(script, "s = use(")}' in fut.stderr


BUSY_UNPICKLABLE_SCRIPT = """
    # autofuture
    import socket
    import time


    def slow(i):
        time.sleep(0.3)
        return i


    def use(conn):
        return 1


    def numbers():
        yield 1


    a = slow(1)
    conn = {make}
    r = use(conn)
    print("not reached", a, r)
"""


@pytest.mark.parametrize("kind", sorted(UNPICKLABLE))
def test_unpicklable_argument_made_while_tasks_pend_names_its_real_type(tmp_path, kind):
    make, type_name = UNPICKLABLE[kind]
    script = write_script(tmp_path, "busy_unpicklable.py",
                          BUSY_UNPICKLABLE_SCRIPT.format(make=make))
    fut = run_af(script, "loky")
    assert fut.returncode == 1
    last = final_line(fut.stderr)
    assert last.startswith("autofuture.SerializationError: argument 'conn' of task use()")
    assert type_name in last and "Future" not in last


LOCK_SCRIPT = """
    # autofuture
    import threading


    def locked(lock, x):
        with lock:
            return type(lock).__name__, x + 1


    guard = threading.Lock()
    print(locked(guard, 1))
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_threading_lock_argument_travels_through_the_dill_fallback(tmp_path, executor):
    """SPEC §6: cloudpickle, with dill as the fallback; dill pickles a Lock (as a new one),
    so a Lock is not an unpicklable argument."""
    script = write_script(tmp_path, "lock_arg.py", LOCK_SCRIPT)
    fut = run_af(script, executor)
    assert fut.stdout == "('lock', 2)\n", fut.stderr
    e2e.assert_same(run_plain(script), fut)


RESULT_SCRIPT = """
    # autofuture
    def ok(n):
        return n


    def make_gen(n):
        return (i for i in range(n))


    a = ok(1)
    print("a", a)
    g = make_gen(3)
    print("g made")
    print("after", list(g))
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_unpicklable_result_fails_at_its_turn(tmp_path, executor):
    script = write_script(tmp_path, "bad_result.py", RESULT_SCRIPT)
    fut = run_af(script, executor)
    assert fut.returncode == 1
    assert fut.stdout == "a 1\n"
    last = final_line(fut.stderr)
    assert last.startswith("autofuture.SerializationError: ")
    assert "generator" in last
    assert f'bad_result.py", line {line_of(script, "g = make_gen(3)")}' in fut.stderr


# --------------------------------------------------------------------------- exceptions

IDENTITY_SCRIPT = """
    # autofuture
    class MyError(Exception):
        pass


    class Other(Exception):
        pass


    def check(x):
        if x > 2:
            err = MyError(f"too big: {x}")
            err.detail = x * 100
            raise err
        return x


    for i in range(5):
        try:
            v = check(i)
            print("fine", v)
        except Other:
            print("wrong handler")
        except MyError as exc:
            print("caught", type(exc) is MyError, type(exc).__module__, exc.args, exc.detail)
    bad = check(9)
    print("never", bad)
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_exception_class_defined_in_the_script_keeps_its_identity(tmp_path, executor):
    script = write_script(tmp_path, "own_error.py", IDENTITY_SCRIPT)
    fut = run_af(script, executor)
    assert "caught True __main__ ('too big: 3',) 300" in fut.stdout, fut.stderr
    assert final_line(fut.stderr) == "MyError: too big: 9"
    e2e.assert_same(run_plain(script), fut)


REMOTE_SCRIPT = """
    # autofuture
    import autofuture


    def fail():
        class LocalError(Exception):
            pending = (i for i in range(3))  # a generator: neither pickler sends the class

        raise LocalError("broken")


    print("start")
    try:
        r = fail()
        print("not reached", r)
    except autofuture.RemoteError as exc:
        print("remote", exc.type_name, "|", exc, "|", "LocalError" in exc.remote_traceback)
        print(exc.__notes__[-1])
    x = fail()
    print("never", x)
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_exception_whose_class_cannot_travel_is_a_remote_error_saying_why(tmp_path, executor):
    script = write_script(tmp_path, "remote_error.py", REMOTE_SCRIPT)
    fut = run_af(script, executor)
    assert fut.stdout.startswith(
        "start\nremote fail.<locals>.LocalError | fail.<locals>.LocalError: broken | True\n"
        "autofuture: fail.<locals>.LocalError arrives as a RemoteError: its class could not be "
        "sent from the worker (TypeError: cannot pickle 'generator' object)"), fut.stderr
    assert fut.returncode == 1
    assert "autofuture.RemoteError: fail.<locals>.LocalError: broken" in fut.stderr
    frames = e2e.traceback_frames(fut.stderr)
    assert frames[-2:] == [("remote_error.py", line_of(script, "x = fail()")),
                           ("remote_error.py", line_of(script, 'raise LocalError("broken")'))]


WORKER_ONLY_SCRIPT = """
    # autofuture
    import os
    import sys
    import tempfile


    def fail():
        folder = tempfile.mkdtemp()
        with open(os.path.join(folder, "only_on_the_worker.py"), "w") as file:
            file.write("class Gone(Exception):\\n    pass\\n")
        sys.path.insert(0, folder)
        import only_on_the_worker

        raise only_on_the_worker.Gone("from a module the workflow cannot import")


    x = fail()
    print("never", x)
"""


def test_exception_of_a_module_only_the_worker_can_import_is_a_remote_error(tmp_path):
    """A class that pickles by reference but cannot be imported in the workflow."""
    script = write_script(tmp_path, "worker_only.py", WORKER_ONLY_SCRIPT)
    fut = run_af(script, "loky")
    assert fut.returncode == 1
    assert "autofuture.RemoteError: only_on_the_worker.Gone: from a module the workflow " \
           "cannot import" in fut.stderr, fut.stderr
    assert "autofuture: only_on_the_worker.Gone arrives as a RemoteError: its class could not " \
           "be loaded in the workflow process (ModuleNotFoundError: No module named " \
           "'only_on_the_worker')" in fut.stderr, fut.stderr


STATE_SCRIPT = """
    # autofuture
    LOG = []


    def record(x):
        LOG.append(x)
        return x


    def twice(x):
        return 2 * x


    for i in (1, 2):
        r = record(i)
        print("recorded", r, twice(r))
    print(LOG)
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_a_task_changing_module_state_warns_once_at_its_first_call(tmp_path, executor):
    script = write_script(tmp_path, "log.py", STATE_SCRIPT)
    assert run_plain(script).stdout.endswith("[1, 2]\n")
    fut = run_af(script, executor)
    assert fut.returncode == 0
    assert fut.stdout == "recorded 1 2\nrecorded 2 4\n[]\n"  # the divergence it warns about
    line = line_of(script, "LOG.append(x)")
    assert fut.stderr == (
        f"{script.name}:{line}: ModuleStateWarning: 'record' changes the module-level 'LOG' "
        "(LOG.append(...)), but as a task it runs on a worker, so the change stays in that "
        "worker's copy and the workflow never sees it. Return the value instead and use it "
        "where 'record' is called, or mark 'record' with @autofuture.local to run it in the "
        "workflow process. [AF304]\n  LOG.append(x)\n".replace(script.name, str(script)))


@pytest.mark.parametrize(("flag", "status", "stdout", "stderr"), [
    ("error", 1, "", "autofuture.ModuleStateWarning: 'record' changes the module-level 'LOG'"),
    ("ignore::autofuture.ModuleStateWarning", 0, "recorded 1 2\nrecorded 2 4\n[]\n", ""),
])
def test_warnings_filters_apply_to_the_module_state_warning(tmp_path, flag, status, stdout,
                                                             stderr):
    script = write_script(tmp_path, "log.py", STATE_SCRIPT)
    argv = [sys.executable, "-W", flag, "-m", "autofuture", "-n", "2", script.name]
    code, out = run_merged(argv, tmp_path)
    assert code == status, out
    assert out.startswith(stdout) and stderr in out, out
    if flag == "error":  # fatal at the first call, at the call's line
        assert f'line {line_of(script, "r = record(i)")}, in <module>' in out, out


EXIT_SCRIPTS = {
    "workflow": """
        # autofuture
        import sys
        import time


        def slow(i):
            time.sleep(0.2)
            print("slow", i)
            return i


        a = slow(1)
        b = slow(2)
        print("a", a)
        sys.exit(3)
    """,
    "task": """
        # autofuture
        import sys
        import time


        def quitter(code):
            time.sleep(0.2)
            sys.exit(code)


        def other(i):
            print("other", i)
            return i


        print("start")
        o = other(1)
        q = quitter(4)
        o2 = other(2)
        print("after", o, q, o2)
    """,
    "message": """
        # autofuture
        import sys


        def slow(i):
            return i


        a = slow(1)
        print("a", a)
        sys.exit(f"fatal: {a}")
    """,
}


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("where", sorted(EXIT_SCRIPTS))
def test_sys_exit(tmp_path, executor, where):
    script = write_script(tmp_path, f"exit_{where}.py", EXIT_SCRIPTS[where])
    plain = run_plain(script)
    assert plain.returncode == {"workflow": 3, "task": 4, "message": 1}[where]
    fut = run_af(script, executor)
    e2e.assert_same(plain, fut)
    assert fut.stderr == plain.stderr


# --------------------------------------------------------------------------- executors


@pytest.mark.parametrize("spec", ["concurrent.futures:ThreadPoolExecutor",
                                  "loky:get_reusable_executor"])
def test_module_factory_executors_give_the_plain_output(tmp_path, spec):
    script = write_script(tmp_path, "ordered_effects.py", ORDER_SCRIPT)
    plain = run_plain(script, args=[str(tmp_path / "plain.txt")])
    fut = run_af(script, spec, args=[str(tmp_path / "fut.txt")])
    e2e.assert_same(plain, fut)


ONE_TASK_SCRIPT = """
    # autofuture
    def f(x):
        return x + 1


    print(f(1))
"""


@pytest.mark.parametrize("spec", ["nosuch", "nosuch:thing"])
def test_unknown_executor_is_a_one_line_error(tmp_path, spec):
    """A bad --executor is a bad option: argparse's usage line, one error line, status 2,
    before the program starts."""
    script = write_script(tmp_path, "one_task.py", ONE_TASK_SCRIPT)
    fut = run_af(script, spec)
    assert fut.returncode == 2
    assert fut.stdout == ""
    assert "Traceback" not in fut.stderr and not e2e.INTERNAL_FRAME.search(fut.stderr)
    lines = fut.stderr.strip().splitlines()
    assert lines[0].startswith("usage:"), lines
    message = lines[-1]
    assert message.startswith("python -m autofuture: error: argument --executor:"), message
    assert spec.split(":")[-1] in message, message


def test_unknown_executor_shows_no_autofuture_internals(tmp_path):
    script = write_script(tmp_path, "one_task.py", ONE_TASK_SCRIPT)
    fut = run_af(script, "nosuch")
    assert fut.returncode in (1, 2)
    assert fut.stdout == ""
    assert not e2e.INTERNAL_FRAME.search(fut.stderr)


# --------------------------------------------------------------------------- lost workers

KILL_SCRIPT = """
    # autofuture
    import os
    import time


    def fine(i):
        time.sleep(0.1)
        return i


    def die():
        time.sleep(0.3)
        os.kill(os.getpid(), 9)
        return 0


    a = fine(1)
    print("a", a)
    d = die()
    b = fine(2)
    print("d", d)
    print("b", b)
"""


def run_watched(argv, cwd: Path, timeout: float):
    """Run ``argv`` in a new session, noting every process of the session while it runs.

    Returns (status, stdout, stderr, pids seen besides the driver).
    """
    out_path, err_path = cwd / "watched.out", cwd / "watched.err"
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONPATH=os.pathsep.join(
        p for p in (str(e2e.REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p))
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, start_new_session=True)
    e2e.STARTED_SESSIONS.append(proc.pid)
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            e2e.kill_session(proc.pid)
            proc.wait()
            pytest.fail(f"{argv} hung: no exit within {timeout}s")
        seen |= e2e.session_members(proc.pid)
        time.sleep(0.05)
    seen.discard(proc.pid)
    return (proc.returncode, out_path.read_text(encoding="utf-8"),
            err_path.read_text(encoding="utf-8"), seen)


def wait_gone(pids: set[int], grace: float = 5.0) -> set[int]:
    """The pids still alive (not zombies) after up to ``grace`` seconds."""
    deadline = time.monotonic() + grace
    while True:
        alive = set()
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if stat.rpartition(")")[2].split()[0] != "Z":
                alive.add(pid)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def test_killed_worker_ends_the_run_naming_the_task(tmp_path):
    script = write_script(tmp_path, "killed.py", KILL_SCRIPT)
    status, out, err, children = run_watched(
        [sys.executable, "-m", "autofuture", "-n", "4", "--executor", "loky", script.name],
        tmp_path, timeout=60)
    assert children, "expected loky worker processes"
    assert status != 0
    assert out == "a 1\n"
    last = final_line(err)
    assert last.startswith("autofuture.WorkerLostError: ")
    assert f"die() at killed.py:{line_of(script, 'd = die()')}" in last
    assert not e2e.INTERNAL_FRAME.search(err)
    survivors = wait_gone(children)
    assert not survivors, f"processes survived the driver: {sorted(survivors)}"


# --------------------------------------------------------------------------- the collector

def test_a_run_collects_young_objects_less_often_and_restores_the_thresholds():
    """Thousands of pending tasks keep objects alive; with Python's default young
    threshold the collector rescans them every few hundred allocations."""
    import gc

    from autofuture.runtime import scheduler as _scheduler
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        scheduler = _scheduler.Scheduler(_scheduler.Options(executor="serial"))
        assert gc.get_threshold() == (_scheduler.GC_YOUNG_THRESHOLD, 10, 10)
        scheduler.shutdown(cancel=False)
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(50_000, 5, 5)  # a user's own choice is left alone
        scheduler = _scheduler.Scheduler(_scheduler.Options(executor="serial"))
        scheduler.shutdown(cancel=False)
        assert gc.get_threshold() == (50_000, 5, 5)
    finally:
        gc.set_threshold(*before)
