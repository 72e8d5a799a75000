"""What tests/test_dask.py and tests/test_parsl.py share: the programs of the differential
suite they run, servers started for a module, and scripts watched while they run.

Every address is 127.0.0.1: nothing here listens on or talks to any other.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import e2e
import test_programs
from e2e import wait_gone

#: Programs of tests/programs/ that each cluster engine runs and compares with plain
#: python: output and its order, task and workflow errors, exits, state, arrays.
PROGRAMS = (
    "aliasing", "argv_reader", "assert_fail", "big_payload", "capture_by_value",
    "caught_traceback", "classes_and_instances", "closures", "custom_exception",
    "deep_traceback", "diamond", "exit_code", "exit_in_task", "failing_dependency",
    "fanout_200", "imported_helper", "main_guard", "map_error_middle", "map_print_inside",
    "numpy_arrays", "print_then_fail",
    "process_state", "task_output", "try_except_task",
)

#: One run's limit: cluster start-up included, only a hang gets near it.
DEADLINE = 120.0


def program(name: str) -> Path:
    return e2e.PROGRAMS_DIR / f"{name}.py"


def compare_with_plain(name: str, executor: str, plain_run, workers: int = 2) -> e2e.Run:
    """Run tests/programs/NAME.py on ``executor`` and fail unless it agrees with plain python."""
    path = program(name)
    header = e2e.read_header(path)
    plain = plain_run(path)
    assert not plain.timed_out, plain.describe()
    fut = e2e.run_autofuture(path, executor, workers=workers, args=header.args, env=header.env,
                             timeout=max(header.timeout, DEADLINE))
    e2e.assert_same(plain, fut, test_programs.whole_traceback(path))  # its known gaps too
    return fut


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Servers:
    """Processes started for a test module, each in a session of its own, logs in files."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, argv: list[str], env=None) -> subprocess.Popen:
        log = open(self.directory / f"{name}.log", "wb")  # noqa: SIM115 - closed with the run
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=e2e._child_env(env), cwd=self.directory,
                                start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        try:
            return (self.directory / f"{name}.log").read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> set[int]:
        """SIGTERM, then SIGKILL after a grace; the pids still alive after both."""
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        left = set()
        for proc in self.procs:
            e2e.kill_session(proc.pid)
            proc.wait()
            left |= wait_gone(proc.pid, 5.0)
        return left


#: A task that notes its pid in MARK and sleeps unless an earlier attempt was made,
#: between tasks that do not sleep. sys.argv[1] is MARK, sys.argv[2] the nap in seconds.
VICTIM = """\
# autofuture
import os
import sys
import time

MARK = sys.argv[1]
NAP = float(sys.argv[2])


def victim(i):
    earlier = [name for name in os.listdir(MARK) if name.startswith("victim-")]
    with open(os.path.join(MARK, f"victim-{os.getpid()}"), "w"):
        pass
    if not earlier:
        time.sleep(NAP)
    return i


def fine(i):
    return i * 2


print("before", fine(1), flush=True)
results = [fine(i) for i in range(5)]
v = victim(7)
print("results", results)
print("victim", v)
"""


class Watched(e2e.LiveRun):
    """A script run on ``executor`` in its own session, its output read as it comes."""

    def __init__(self, script: Path, executor: str, args=(), workers: int = 2, opts=(),
                 env=None):
        super().__init__([sys.executable, "-m", "autofuture", "-n", str(workers), "--executor",
                          executor, *opts, script.name, *[str(a) for a in args]],
                         script.parent, env)

    def wait_for(self, test, what: str, limit: float = DEADLINE):
        """Wait until ``test()`` gives something true, and return it."""
        deadline = time.monotonic() + limit
        while True:
            found = test()
            if found:
                return found
            assert self.proc.poll() is None, \
                f"ended ({self.proc.returncode}) before {what}:\n{self.out}\n{self.err}"
            assert time.monotonic() < deadline, f"no {what} in {limit}s:\n{self.err}"
            time.sleep(0.05)

    def wait_victim(self, mark: Path) -> int:
        """Wait until VICTIM's victim runs and the workflow printed what comes before it
        (it then waits for the victim); the victim's pid."""
        return self.wait_for(lambda: self.out == "before 2\n" and victim_pids(mark),
                             "a running victim after 'before 2'")[0]



def victim_pids(mark: Path) -> list[int]:
    return [int(name.split("-")[1]) for name in os.listdir(mark) if name.startswith("victim-")]


def listening(pids) -> dict[int, list[str]]:
    """Addresses (``ip:port``) each of ``pids`` listens on, TCP over IPv4 and IPv6."""
    tables = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(path).read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 10 and fields[3] == "0A":
                tables[int(fields[9])] = _address(fields[1])
    found = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        addresses = []
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in tables:
                    addresses.append(tables[inode])
        if addresses:
            found[pid] = addresses
    return found


def _address(hex_address: str) -> str:
    """'0100007F:1F90' -> '127.0.0.1:8080' (and IPv6, mapped IPv4 included)."""
    ip_hex, port_hex = hex_address.split(":")
    port = int(port_hex, 16)
    raw = bytes.fromhex(ip_hex)
    if len(raw) == 4:
        return f"{socket.inet_ntop(socket.AF_INET, raw[::-1])}:{port}"
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return f"[{socket.inet_ntop(socket.AF_INET6, words)}]:{port}"


def loopback(address: str) -> bool:
    return address.startswith(("127.", "[::1]", "[::ffff:127."))
