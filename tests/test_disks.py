"""Disks that fill up or refuse writes: ``--checkpoint DIR``, the rewrite cache, ``--trace FILE``.

Each fault is real: a tmpfs of a few pages that fills up, a read-only mount
(a remounted tmpfs or a read-only bind mount: ``chmod`` does not stop root,
and CI runs as root), a file size limit (``RLIMIT_FSIZE``, set in the run's
own process before it starts Python), two runs writing one directory at once.
Each run must print what it prints without the fault (the plain run is the
oracle), end with the same status, and say exactly one thing on stderr: a
warning naming the path and the reason. No record is left half-written: a
rerun restores every record the faulty run left (the trace's ``restored``
events, as in test_checkpoint.py) and no temporary file remains.

Mounting needs root (or CAP_SYS_ADMIN); where it is refused, those tests
skip and say so. Every run is a subprocess with a hard deadline, in a session
of its own (e2e.py); conftest.py fails a test whose runs leave a process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import e2e
import pytest

from autofuture.observe import trace as _trace
from autofuture.runtime import checkpoint as _checkpoint

TIMEOUT = 120.0  # per run: only a hang gets near it

# Task i returns 3000 * i bytes, so records differ in size from about 100 bytes
# to 21 kB: a file size limit keeps the small ones and refuses the others, a
# small tmpfs fills up part way. The program ends with a status of its own.
SCRIPT = textwrap.dedent("""\
    # autofuture
    import sys
    import time

    def work(i, pause):
        time.sleep(pause)
        return "x" * (3000 * i) + str(i)

    pause = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    for i in range(8):
        print(i, len(work(i, pause)))
    sys.exit(3)
""")
TASKS = set(range(1, 9))  # the trace's ids of the eight work() calls
WARNING = re.compile(r"^autofuture: warning: (?P<text>.*)$")


# -- running -------------------------------------------------------------------------


def program(directory: Path, source: str = SCRIPT, name: str = "disks.py") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(source, encoding="utf-8")
    return path


def run(script: Path, *options: str, args=(), file_size_limit: int | None = None,
        cwd: Path | None = None) -> e2e.Run:
    """``python -m autofuture -n 2 OPTIONS script ARGS`` with a hard deadline.

    ``file_size_limit``: RLIMIT_FSIZE for the run and its workers, set before
    Python starts (Python ignores SIGXFSZ, so a write past it fails with EFBIG).
    """
    argv = [sys.executable, "-m", "autofuture", "-n", "2", *options, str(script), *args]
    if file_size_limit is not None:
        argv = [sys.executable, "-c",
                "import os, resource, sys\n"
                "limit = int(sys.argv[1])\n"
                "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
                "os.execv(sys.executable, sys.argv[2:])\n",
                str(file_size_limit), *argv]
    result = e2e._run(argv, cwd or script.parent, None, TIMEOUT)
    assert not result.timed_out, f"hung: {result.describe()}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The plain run of SCRIPT: the output and status every faulty run must keep."""
    script = program(tmp_path_factory.mktemp("plain"))
    result = e2e.run_plain(script, timeout=TIMEOUT)
    assert result.returncode == 3 and result.stdout.count("\n") == 8, result.describe()
    return result


def assert_one_warning(result: e2e.Run, plain_run: e2e.Run, *fragments: str) -> str:
    """Same stdout and status as the plain run; stderr is one warning holding *fragments*."""
    assert result.stdout == plain_run.stdout, result.stderr
    assert result.returncode == plain_run.returncode, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and WARNING.match(lines[0]), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def records(checkpoint: Path) -> list[str]:
    return sorted(name for name in os.listdir(checkpoint) if not name.startswith("."))


def temporary_files(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory)
                  if name.startswith(".tmp-") or name.endswith(".tmp"))


def cache_entries(directory: Path) -> list[str]:
    """autofuture's entries in the __pycache__ of *directory* (not Python's own .pyc)."""
    pycache = directory / "__pycache__"
    return [n for n in os.listdir(pycache) if "autofuture" in n] if pycache.exists() else []


def restored_and_sent(trace: Path) -> tuple[set, set]:
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    restored = {e["id"] for e in events if e["event"] == "restored"}
    sent = {i for e in events if e["event"] == "send" for i in e["ids"]}
    return restored, sent


# -- mounts --------------------------------------------------------------------------


class Mounts:
    """Small file systems for one test; all unmounted after it."""

    def __init__(self) -> None:
        self.mounted: list[tuple[Path, bool]] = []  # (path, is a bind mount)

    def _mount(self, *args: str) -> None:
        try:
            done = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
        except OSError as exc:
            pytest.skip(f"cannot run mount here: {exc}")
        if done.returncode != 0:
            pytest.skip(f"cannot mount here (it needs root): {done.stderr.strip()}")

    def tmpfs(self, path: Path, size: str) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        self._mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
        self.mounted.append((path, False))
        return path

    def read_only(self, path: Path) -> Path:
        """Make *path* read-only: remount our tmpfs, or bind-mount a directory onto itself."""
        bind = not any(mounted == path for mounted, _ in self.mounted)
        if bind:
            self._mount("--bind", str(path), str(path))
            self.mounted.append((path, True))
        self._mount("-o", "remount,bind,ro" if bind else "remount,ro", str(path))
        return path

    def unmount_all(self) -> None:
        for path, _ in reversed(self.mounted):
            subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)
        self.mounted.clear()


@pytest.fixture
def mounts():
    made = Mounts()
    try:
        yield made
    finally:
        made.unmount_all()


def fill(directory: Path) -> None:
    """Write zeros into *directory* until its file system has no room left."""
    with open(directory / "filler", "wb", buffering=0) as file:
        try:
            while True:
                file.write(b"\0" * 4096)
        except OSError:
            pass


# -- --checkpoint DIR ----------------------------------------------------------------


def test_checkpoint_on_a_disk_that_fills_up(tmp_path, mounts, plain):
    disk = mounts.tmpfs(tmp_path / "disk", "64k")  # 16 pages: room for a few records
    checkpoint = disk / "ck"
    script = program(tmp_path / "run")
    first = run(script, "--checkpoint", str(checkpoint))
    assert_one_warning(first, plain, f"cannot write checkpoint records in {checkpoint}: "
                       "No space left on device", "the run goes on")
    kept = records(checkpoint)
    assert 0 < len(kept) < 8 and temporary_files(checkpoint) == []
    # Every record left is whole: the rerun restores each of them, and runs only the rest.
    trace = tmp_path / "rerun.jsonl"
    again = run(script, "--checkpoint", str(checkpoint), "--trace", str(trace))
    assert_one_warning(again, plain, "No space left on device")
    restored, sent = restored_and_sent(trace)
    assert len(restored) == len(kept) and restored | sent == TASKS and not restored & sent
    assert temporary_files(checkpoint) == []


def test_checkpoint_records_past_a_file_size_limit(tmp_path, plain):
    checkpoint = tmp_path / "ck"
    script = program(tmp_path / "run")
    # Records of tasks 0-3 (at most about 9 kB) fit under 10 kB; those of 4-7 do not.
    first = run(script, "--checkpoint", str(checkpoint), file_size_limit=10_000)
    assert_one_warning(first, plain, f"cannot write checkpoint records in {checkpoint}: "
                       "File too large")
    assert len(records(checkpoint)) == 4 and temporary_files(checkpoint) == []
    trace = tmp_path / "rerun.jsonl"
    again = run(script, "--checkpoint", str(checkpoint), "--trace", str(trace))
    assert again.returncode == 3 and again.stdout == plain.stdout and again.stderr == ""
    assert restored_and_sent(trace) == ({1, 2, 3, 4}, {5, 6, 7, 8})


def test_a_read_only_checkpoint_directory_is_read_but_not_written(tmp_path, mounts, plain):
    disk = mounts.tmpfs(tmp_path / "disk", "1m")
    checkpoint = disk / "ck"
    script = program(tmp_path / "run")
    complete = run(script, "--checkpoint", str(checkpoint))
    assert complete.returncode == 3 and complete.stderr == ""
    for name in records(checkpoint)[:3]:  # as if the first run had stopped part way
        os.unlink(checkpoint / name)
    mounts.read_only(disk)
    trace = tmp_path / "rerun.jsonl"
    again = run(script, "--checkpoint", str(checkpoint), "--trace", str(trace))
    assert_one_warning(again, plain, f"cannot write checkpoint records in {checkpoint}: "
                       "Read-only file system")
    restored, sent = restored_and_sent(trace)
    assert len(restored) == 5 and len(sent) == 3 and restored | sent == TASKS
    assert len(records(checkpoint)) == 5


def test_a_checkpoint_directory_that_cannot_be_made(tmp_path, mounts, plain):
    disk = mounts.read_only(mounts.tmpfs(tmp_path / "disk", "64k"))
    checkpoint = disk / "ck"
    result = run(program(tmp_path / "run"), "--checkpoint", str(checkpoint))
    assert_one_warning(result, plain, f"cannot use checkpoint directory {checkpoint}: "
                       "Read-only file system", "without checkpointing")
    assert not checkpoint.exists()


def test_two_runs_writing_one_checkpoint_directory_at_once(tmp_path, plain):
    checkpoint = tmp_path / "ck"
    script = program(tmp_path / "run")
    # Both runs make the same eight records (and the key) at the same moments:
    # each task sleeps, so neither run is done before the other starts.
    command = [sys.executable, "-m", "autofuture", "-n", "2", "--checkpoint", str(checkpoint),
               str(script), "0.3"]
    processes = [subprocess.Popen(command, cwd=script.parent, env=e2e._child_env(None),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, start_new_session=True)
                 for _ in range(2)]
    e2e.STARTED_SESSIONS.extend(process.pid for process in processes)
    try:
        outputs = [process.communicate(timeout=TIMEOUT) for process in processes]
    finally:
        for process in processes:
            e2e.kill_session(process.pid)
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 3 and stdout == plain.stdout and stderr == "", stderr
    assert len(records(checkpoint)) == 8 and temporary_files(checkpoint) == []
    # Every record is whole and signed with the one key both runs used.
    trace = tmp_path / "rerun.jsonl"
    again = run(script, "--checkpoint", str(checkpoint), "--trace", str(trace), args=["0.3"])
    assert again.returncode == 3 and again.stdout == plain.stdout and again.stderr == ""
    assert restored_and_sent(trace) == (TASKS, set())


def test_a_key_another_run_published_first_is_the_one_used(tmp_path, monkeypatch):
    """Two runs starting on an empty directory both find no key and make one; the one
    published second must read the first's (the last writer used to win, and the
    first run's records were then ignored as forged on the next run)."""
    checkpoint = tmp_path / "ck"
    theirs = os.urandom(32)
    real_mkstemp = _checkpoint.tempfile.mkstemp

    def other_run_first(*args, **kwargs):  # the other run publishes while we write ours
        if not (checkpoint / ".key").exists():
            (checkpoint / ".key").write_bytes(theirs)
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(_checkpoint.tempfile, "mkstemp", other_run_first)
    assert _checkpoint.Checkpoint(str(checkpoint)).secret == theirs
    assert (checkpoint / ".key").read_bytes() == theirs
    assert temporary_files(checkpoint) == []


def test_a_damaged_key_is_replaced(tmp_path):
    checkpoint = tmp_path / "ck"
    checkpoint.mkdir()
    (checkpoint / ".key").write_bytes(b"short")
    secret = _checkpoint.Checkpoint(str(checkpoint)).secret
    assert len(secret) == 32 and (checkpoint / ".key").read_bytes() == secret


# -- the rewrite cache ----------------------------------------------------------------

HELPER = "# autofuture\ndef bump(x):\n    return x + 1\n"
IMPORTER = SCRIPT.replace("sys.exit(3)\n", "") + "import helper\nprint(helper.bump(41))\n"


def test_a_read_only_rewrite_cache(tmp_path, mounts):
    directory = program(tmp_path / "code", IMPORTER).parent
    program(directory, HELPER, "helper.py")
    reference = e2e.run_plain(directory / "disks.py", timeout=TIMEOUT)
    assert reference.returncode == 0 and reference.stdout.endswith("42\n")
    mounts.read_only(directory)
    result = run(directory / "disks.py", cwd=directory)
    # Two marked modules, one directory: one warning.
    assert_one_warning(result, reference,
                       f"cannot cache the rewritten code of marked modules in "
                       f"{directory / '__pycache__'}: Read-only file system",
                       "PYTHONPYCACHEPREFIX")
    assert cache_entries(directory) == []  # the plain run may have written its own .pyc


def test_a_full_rewrite_cache(tmp_path, mounts):
    directory = mounts.tmpfs(tmp_path / "code", "32k")
    program(directory, IMPORTER)
    program(directory, HELPER, "helper.py")
    reference = e2e.run_plain(directory / "disks.py", timeout=TIMEOUT)
    (directory / "__pycache__").mkdir(exist_ok=True)
    fill(directory)
    result = run(directory / "disks.py", cwd=directory)
    assert_one_warning(result, reference,
                       f"cannot cache the rewritten code of marked modules in "
                       f"{directory / '__pycache__'}: No space left on device")
    assert cache_entries(directory) == []
    assert temporary_files(directory / "__pycache__") == []
    # Room again: the next run caches both modules, and says nothing.
    os.unlink(directory / "filler")
    again = run(directory / "disks.py", cwd=directory)
    assert again.stdout == reference.stdout and again.stderr == ""
    assert len(cache_entries(directory)) == 2


# -- --trace FILE ---------------------------------------------------------------------


def test_a_trace_that_cannot_be_opened(tmp_path, mounts, plain):
    disk = mounts.read_only(mounts.tmpfs(tmp_path / "disk", "64k"))
    trace = disk / "t.jsonl"
    result = run(program(tmp_path / "run"), "--trace", str(trace))
    assert_one_warning(result, plain, f"cannot write the trace to {trace}: "
                       "Read-only file system", "without a trace")


def test_a_trace_on_a_disk_that_fills_up_mid_run(tmp_path, mounts):
    disk = mounts.tmpfs(tmp_path / "disk", "8k")
    source = SCRIPT.replace("range(8)", "range(120)").replace("3000 * i", "i")
    script = program(tmp_path / "run", source)
    reference = e2e.run_plain(script, timeout=TIMEOUT)
    trace = disk / "t.jsonl"
    result = run(script, "--trace", str(trace))
    assert_one_warning(result, reference, f"cannot write the trace to {trace} any more: "
                       "No space left on device", "last whole event")
    # What it holds is whole events, from the header on, and no exit line.
    read = _trace.read(str(trace))
    assert read.problems == [] and not read.complete and 0 < len(read.tasks) < 120
    assert trace.read_bytes().endswith(b"\n")


def test_a_trace_past_a_file_size_limit(tmp_path, plain):
    trace = tmp_path / "t.jsonl"
    script = program(tmp_path / "run")
    # The rewritten code is cached by a first run: it is more than 2,000 bytes, and the
    # cache's own warning is test_a_full_rewrite_cache's.
    assert run(script).returncode == plain.returncode
    result = run(script, "--trace", str(trace), file_size_limit=2_000)
    assert_one_warning(result, plain, f"cannot write the trace to {trace} any more: "
                       "File too large")
    read = _trace.read(str(trace))
    assert read.problems == [] and not read.complete
    assert os.path.getsize(trace) <= 2_000 and trace.read_bytes().endswith(b"\n")
