"""End-to-end harness: run a script under plain Python and under autofuture, and compare.

The plain run is the reference (SPEC §1). Two runs agree when they have

- the same stdout, byte for byte;
- the same exit status;
- the same stderr up to the first traceback (what the program itself wrote);
- the same stderr from the first traceback on, character for character: the
  whole report of the error that ended the program, with its file paths,
  line numbers, source lines, caret lines, chained exceptions, exception
  group members, "Did you mean" hints and notes (``whole_traceback=False``
  leaves this one out, for a known gap that the caller names);
- the same ``File "...", line N`` pairs (compared by file basename) in the
  traceback that ended the program, and the same final error line;
- every traceback block of the plain run's exception chain, in order, among
  the autofuture run's blocks (which the whole-text comparison makes exact;
  these two still say where a difference is when it is left out).

Runs are made with ``sys.executable``, the program's directory as working
directory and the program given by its basename (so ``sys.argv[0]`` is the
same in both runs), ``PYTHONDONTWRITEBYTECODE`` unset (the rewrite cache is
exercised), and the repository root first on ``PYTHONPATH`` (so the
``autofuture`` under test is the one imported, also by ``import autofuture``
in the plain run).

Each run is its own session (``start_new_session``): on a timeout the whole
process group is killed, and ``conftest.py`` looks for members of the session
left behind (orphaned workers) once the run is over.

Programs declare what they need in their leading comment lines::

    # autofuture
    # args: alpha beta 3          (shlex-split, appended to the command line)
    # env: NAME=value OTHER=x     (shlex-split NAME=value pairs)
    # timeout: 45                 (seconds, per run; default DEFAULT_TIMEOUT)
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

#: A frame of autofuture's own source in a traceback (its top-level modules and its
#: layer packages), which users never see unless AUTOFUTURE_DEBUG=1.
INTERNAL_FRAME = re.compile(
    r"[/\\]autofuture[/\\](?:_\w+|(?:language|worker|executors|runtime|observe|entrypoints)"
    r"[/\\][\w/\\]+)\.py")

REPO_ROOT = Path(__file__).resolve().parents[1]
PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"

# Per-run limit used by the test suite: every program runs in well under 2 s
# plainly, so this only trips on a hang.
DEFAULT_TIMEOUT = 30.0

# How long to wait for stdout/stderr to close once the process has exited.
PIPE_GRACE = 2.0

# Session ids (= pids of the process we started) of every run, in order, so
# that conftest.py can look for processes a run left behind.
STARTED_SESSIONS: list[int] = []

TRACEBACK_HEADER = "Traceback (most recent call last):"
#: What a loky worker's command line says: loky spawned it, or it is the interpreter
#: started as the workflow starts and handed to loky as its first (executors.prespawn).
WORKER_COMMANDS = ("popen_loky_posix", "autofuture.executors.prespawn")
_CHAIN_SEPARATORS = (
    "The above exception was the direct cause of the following exception:",
    "During handling of the above exception, another exception occurred:",
)
_FRAME_RE = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')


# --------------------------------------------------------------------------- running


@dataclasses.dataclass(frozen=True)
class Run:
    """What one subprocess run produced."""

    argv: tuple[str, ...]
    cwd: str
    stdout: str
    stderr: str
    returncode: int | None  # None when it was killed for running past its timeout
    timed_out: bool
    duration: float
    # The process exited but its stdout/stderr stayed open: something it
    # started still holds them, and output written after the exit is lost.
    pipes_held: bool = False

    def describe(self) -> str:
        status = (
            f"timed out after {self.duration:.1f}s"
            if self.timed_out
            else (f"exit {self.returncode} after {self.duration:.1f}s")
        )
        if self.pipes_held:
            status += ", its pipes still held open by a process it left behind"
        return f"`{shlex.join(self.argv)}` (cwd {self.cwd}): {status}"


@dataclasses.dataclass(frozen=True)
class Header:
    """The run settings a program declares in its leading comment lines."""

    args: tuple[str, ...] = ()
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT


def read_header(program: Path) -> Header:
    """Parse ``# args:``, ``# env:`` and ``# timeout:`` from the leading comment lines."""
    args: tuple[str, ...] = ()
    env: dict[str, str] = {}
    timeout = DEFAULT_TIMEOUT
    for line in Path(program).read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        key, sep, value = stripped.lstrip("#").strip().partition(":")
        if not sep:
            continue
        key = key.strip()
        if key == "args":
            args = tuple(shlex.split(value))
        elif key == "env":
            for pair in shlex.split(value):
                name, eq, val = pair.partition("=")
                if not eq:
                    raise ValueError(f"{program}: '# env:' entry {pair!r} is not NAME=value")
                env[name] = val
        elif key == "timeout":
            timeout = float(value)
    return Header(args=args, env=env, timeout=timeout)


def _child_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONIOENCODING"] = "utf-8"
    if extra:
        env.update(extra)
    return env


def _run(argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None, timeout: float) -> Run:
    argv = tuple(argv)
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=_child_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    STARTED_SESSIONS.append(proc.pid)
    # Read the pipes in threads and wait for the process itself, not for EOF:
    # a process left behind that inherited the pipes must not turn into a
    # hang here (conftest.py reports it as a leftover instead).
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}
    readers = [
        threading.Thread(target=_drain, args=(stream, chunks[name]), daemon=True)
        for name, stream in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_session(proc.pid)
        proc.wait()
    for reader in readers:
        reader.join(timeout=PIPE_GRACE)
    return Run(
        argv=argv,
        cwd=str(cwd),
        stdout=b"".join(chunks["out"]).decode("utf-8", "backslashreplace"),
        stderr=b"".join(chunks["err"]).decode("utf-8", "backslashreplace"),
        returncode=None if timed_out else proc.returncode,
        timed_out=timed_out,
        duration=time.monotonic() - started,
        pipes_held=any(reader.is_alive() for reader in readers),
    )


def _drain(stream, chunks: list[bytes]) -> None:
    with stream:
        for chunk in iter(lambda: stream.read1(65536), b""):
            chunks.append(chunk)


class LiveRun:
    """A command in a session of its own, its output read as it comes.

    For tests that act while a run is under way (a worker killed, a signal sent):
    ``out``/``err`` are what it printed so far; ``close()`` kills what is left.
    """

    def __init__(self, argv: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None):
        self.proc = subprocess.Popen(list(argv), cwd=cwd, env=_child_env(env),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.sid = self.proc.pid
        STARTED_SESSIONS.append(self.sid)
        self.chunks: dict[str, list[bytes]] = {"out": [], "err": []}
        self.readers = [threading.Thread(target=_drain, args=(stream, self.chunks[key]),
                                         daemon=True)
                        for key, stream in (("out", self.proc.stdout), ("err", self.proc.stderr))]
        for reader in self.readers:
            reader.start()

    @property
    def out(self) -> str:
        return b"".join(self.chunks["out"]).decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return b"".join(self.chunks["err"]).decode("utf-8", "replace")

    def wait_exit(self, limit: float) -> int | None:
        """The exit status, or None if it has not exited within ``limit`` seconds."""
        try:
            return self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self.proc.poll() is None:
            kill_session(self.sid)
            self.proc.wait()
        for reader in self.readers:
            reader.join(timeout=PIPE_GRACE)


def kill_session(sid: int) -> None:
    """SIGKILL every live process of session ``sid`` (its leader's process group first)."""
    try:
        os.killpg(sid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for pid in session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def session_members(sid: int) -> set[int]:
    """Live (non-zombie) processes whose session id is ``sid``, read from /proc."""
    members = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command name: state ppid pgrp session ...
        fields = stat.rpartition(")")[2].split()
        if len(fields) >= 4 and int(fields[3]) == sid and fields[0] != "Z":
            members.add(int(entry))
    return members


def wait_gone(sid: int, grace: float = 5.0) -> set[int]:
    """Processes of session ``sid`` still alive after up to ``grace`` seconds (how long a
    finished run's processes may take to be gone)."""
    deadline = time.monotonic() + grace
    while True:
        left = session_members(sid)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def describe_processes(pids) -> str:
    """One line per pid: its command line, for a message about processes left behind."""
    lines = []
    for pid in sorted(pids):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            cmd = "?"
        lines.append(f"    pid {pid}: {cmd.strip()}")
    return "\n".join(lines)


def line_of(script: Path, text: str) -> int:
    """The number of the one line of ``script`` that is exactly ``text`` (stripped)."""
    numbers = [n for n, line in enumerate(script.read_text().splitlines(), 1)
               if line.strip() == text]
    assert len(numbers) == 1, (text, numbers)
    return numbers[0]


def run_plain(
    program: Path | str,
    args: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Run:
    """``python PROGRAM ARGS...`` from the program's directory."""
    program = Path(program).resolve()
    return _run([sys.executable, program.name, *args], program.parent, env, timeout)


def run_autofuture(
    program: Path | str,
    executor: str,
    workers: int = 4,
    args: Iterable[str] = (),
    extra_opts: Iterable[str] = (),
    timeout: float = 60,
    env: Mapping[str, str] | None = None,
) -> Run:
    """``python -m autofuture -n WORKERS --executor EXECUTOR PROGRAM ARGS...``."""
    program = Path(program).resolve()
    argv = [
        sys.executable,
        "-m",
        "autofuture",
        "-n",
        str(workers),
        "--executor",
        executor,
        *extra_opts,
        program.name,
        *args,
    ]
    return _run(argv, program.parent, env, timeout)


# --------------------------------------------------------------------------- parsing stderr


@dataclasses.dataclass(frozen=True)
class TracebackBlock:
    """One traceback of an exception chain: its frames and its exception line."""

    frames: tuple[tuple[str, int], ...]
    error: str


def program_stderr(stderr: str) -> str:
    """What the program wrote to stderr before the first traceback, if any."""
    index = stderr.find(TRACEBACK_HEADER)
    if index == -1:
        return stderr
    # The header starts a line; keep everything before that line.
    return stderr[: stderr.rfind("\n", 0, index) + 1]


def traceback_text(stderr: str) -> str:
    """Everything from the first traceback's header line on: the whole report of the
    error that ended the program, chains, carets, hints and notes included."""
    index = stderr.find(TRACEBACK_HEADER)
    if index == -1:
        return ""
    return stderr[stderr.rfind("\n", 0, index) + 1:]


def traceback_blocks(stderr: str) -> list[TracebackBlock]:
    """Every traceback block of the chain Python printed, outermost cause first."""
    index = stderr.find(TRACEBACK_HEADER)
    if index == -1:
        return []
    blocks: list[list[str]] = [[]]
    for line in stderr[index:].splitlines():
        if line.strip() in _CHAIN_SEPARATORS:
            blocks.append([])
        else:
            blocks[-1].append(line)
    result = []
    for lines in blocks:
        frames = tuple(
            (os.path.basename(m["file"]), int(m["line"])) for m in map(_FRAME_RE.match, lines) if m
        )
        nonblank = [line for line in lines if line.strip()]
        result.append(TracebackBlock(frames, nonblank[-1] if nonblank else ""))
    return result


def traceback_frames(stderr: str) -> list[tuple[str, int]]:
    """``(basename, lineno)`` of each ``File "...", line N`` of the last traceback printed."""
    blocks = traceback_blocks(stderr)
    return list(blocks[-1].frames) if blocks else []


def final_error_line(stderr: str) -> str:
    """The last non-blank line of stderr: the exception line, or ``sys.exit``'s message."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --------------------------------------------------------------------------- comparing


def _diff(label: str, expected: str, actual: str) -> str:
    diff = difflib.unified_diff(
        expected.splitlines(keepends=True),
        actual.splitlines(keepends=True),
        fromfile=f"{label} (plain python)",
        tofile=f"{label} (autofuture)",
    )
    text = "".join(line if line.endswith("\n") else line + "\\ no newline\n" for line in diff)
    return text or f"{label}: differs only in line endings: {expected!r} != {actual!r}\n"


def _is_subsequence(needles: Sequence[TracebackBlock], haystack: Sequence[TracebackBlock]) -> bool:
    remaining = iter(haystack)
    return all(any(needle == block for block in remaining) for needle in needles)


def _format_blocks(blocks: Sequence[TracebackBlock]) -> str:
    if not blocks:
        return "    (no traceback)\n"
    return "".join(
        f"    block {i}: frames {list(b.frames)}, error {b.error!r}\n" for i, b in enumerate(blocks)
    )


def compare(plain: Run, fut: Run, whole_traceback: bool = True) -> list[str]:
    """Every way ``fut`` disagrees with ``plain``, each as a readable paragraph.

    ``whole_traceback=False`` leaves out the comparison of the traceback text
    (for a known gap in the carets, say), not that of its frames and blocks.
    """
    problems = []
    if fut.timed_out:
        problems.append(f"autofuture run timed out after {fut.duration:.1f}s\n")
    if plain.stdout != fut.stdout:
        problems.append(_diff("stdout", plain.stdout, fut.stdout))
    if plain.returncode != fut.returncode:
        problems.append(f"exit status: plain {plain.returncode}, autofuture {fut.returncode}\n")
    if program_stderr(plain.stderr) != program_stderr(fut.stderr):
        problems.append(
            _diff(
                "stderr before any traceback",
                program_stderr(plain.stderr),
                program_stderr(fut.stderr),
            )
        )
    plain_frames, fut_frames = traceback_frames(plain.stderr), traceback_frames(fut.stderr)
    if plain_frames != fut_frames:
        problems.append(
            "traceback frames (basename, line) of the final traceback differ:\n"
            f"    plain:      {plain_frames}\n    autofuture: {fut_frames}\n"
        )
    if final_error_line(plain.stderr) != final_error_line(fut.stderr):
        problems.append(
            "final error line differs:\n"
            f"    plain:      {final_error_line(plain.stderr)!r}\n"
            f"    autofuture: {final_error_line(fut.stderr)!r}\n"
        )
    if whole_traceback and traceback_text(plain.stderr) != traceback_text(fut.stderr):
        problems.append(_diff("traceback text", traceback_text(plain.stderr),
                              traceback_text(fut.stderr)))
    plain_blocks, fut_blocks = traceback_blocks(plain.stderr), traceback_blocks(fut.stderr)
    if not _is_subsequence(plain_blocks, fut_blocks):
        problems.append(
            "the plain run's exception chain is not found, in order, in the autofuture run's:\n"
            f"  plain:\n{_format_blocks(plain_blocks)}  autofuture:\n{_format_blocks(fut_blocks)}"
        )
    return problems


def assert_same(plain: Run, fut: Run, whole_traceback: bool = True) -> None:
    """Fail with a readable report unless ``fut`` prints and ends exactly like ``plain``."""
    problems = compare(plain, fut, whole_traceback)
    if not problems:
        return
    tail = "\n".join(fut.stderr.splitlines()[-40:])
    raise AssertionError(
        f"autofuture disagrees with plain python.\n"
        f"  plain:      {plain.describe()}\n"
        f"  autofuture: {fut.describe()}\n\n"
        + "\n".join(problems)
        + f"\n--- autofuture stderr (last 40 lines) ---\n{tail}\n"
    )
