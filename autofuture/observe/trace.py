"""``--trace FILE``: every task event as one line of JSON, written as it happens.

The file is JSON Lines. The first line describes the run; then one line per
scheduler event, in the order the workflow saw them; the last line says how
the run ended (absent when the process was killed)::

    {"event": "run", "format": 1, "autofuture": "0.1.0", "script": "x.py", "argv": [...],
     "executor": "loky", "workers": 2, "time": 1700000000.0, "pid": 123, "python": "3.11.7"}
    {"event": "task", "id": 1, "label": "f() at x.py:12", "function": "f", "file": "x.py",
     "line": 12, "deps": [], "time": ...}                   # the call (submit)
    {"event": "executor", "name": "loky", "workers": 2, "time": ...}    # once, when opened
    {"event": "send", "ids": [1, 2], "bytes": 345, "time": ...}         # a batch leaves
    {"event": "end", "id": 1, "start": ..., "end": ..., "worker": "pid 456", "ok": true,
     "bytes": 21, "time": ...}             # ran on a worker; "time" is when the result arrived
    {"event": "commit", "id": 1, "failed": false, "time": ...}  # its turn in program order
    {"event": "fetch", "id": 3, "bytes": 8388608, "why": "read", "time": ...}
    {"event": "free", "ids": [3, 4], "why": "unused", "time": ...}
    {"event": "recompute", "id": 3, "time": ...}
    {"event": "lost", "ids": [5, 6], "culprits": [5], "how": "exit code SIGKILL(-9)",
     "time": ...}  # a message lost with its worker: culprits failed (or run again), the
                   # others run again free
    {"event": "exit", "status": 0, "time": ...}

Each line is written as one unbuffered write, so a run that crashes or is
killed leaves every event up to that moment (the operating system keeps what
was written even if the process dies; only a machine crash can lose it).
``read`` accepts such a file, including a last line cut short.

A trace is an aid, never a reason to stop a run: a file that cannot be
opened, or that stops taking lines (a full disk, a file size limit), is
told once on the ``autofuture`` logger, naming the file and the reason, and
the run goes on without it. The file then ends at its last whole line: a
line the disk took only part of is cut off again.

Where results live (issue 19): an ``end`` whose result stayed on its worker
has ``"held": BYTES`` (and ``"bytes"``, what reached the workflow, is 0); a
task that read held results has ``"inputs": {"read": BYTES, "moved": BYTES}``
(moved: from another process than the one that ran it). ``fetch`` brings a
held result into the workflow (``why``: ``read`` where the workflow needed
the value, ``memory`` when its worker was over ``--worker-memory``); ``free``
says results left their worker (``unused``: no future referred to them any
more; ``taken``: their last reader took them); ``recompute`` runs a task
again because its result was lost with its worker.

Times are ``time.time()`` seconds; ``start``/``end`` come from the worker's
clock (the same clock on one machine; under MPI, hosts' clocks may differ).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import platform
import re
import time

FORMAT = 1

logger = logging.getLogger("autofuture")

_LABEL = re.compile(r"^(?P<function>.*?)\(\) at (?P<file>.*):(?P<line>\d+)(?: -> .*)?$")


def split_label(label: str) -> tuple[str, str, int]:
    """'f() at x.py:12 -> tuple[int, int]' -> ('f', 'x.py', 12)."""
    match = _LABEL.match(label)
    if match is None:
        return label, "?", 0
    return match["function"], match["file"], int(match["line"])


class TraceWriter:
    """An observer writing each event to ``path`` as a line, at once; it never raises."""

    def __init__(self, path: str, header: dict) -> None:
        self.path = path
        self.size = 0  # bytes of whole lines written: where the file ends if a write fails
        self.executor_seen = False
        try:
            # Unbuffered: each line reaches the operating system in one write, as it ends.
            self.file = open(path, "wb", buffering=0)
        except OSError as exc:
            self.file = None
            logger.warning("cannot write the trace to %s: %s; the run goes on without a trace",
                           path, exc.strerror or exc)
            return
        self._write({"event": "run", "format": FORMAT, **header})

    @property
    def writing(self) -> bool:
        return self.file is not None

    def _write(self, record: dict) -> None:
        if self.file is None:
            return
        data = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        try:
            while view:  # a full disk may take part of a line before it refuses the rest
                written = self.file.write(view)
                if not written:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
        except OSError as exc:
            self._stop(exc)
            return
        self.size += len(data)

    def _stop(self, exc: OSError) -> None:
        """Stop writing after a failed write, leaving whole lines only."""
        file, self.file = self.file, None
        try:
            file.truncate(self.size)
        except OSError:
            pass
        try:
            file.close()
        except OSError:
            pass
        if self.size:
            logger.warning("cannot write the trace to %s any more: %s; the run goes on, and "
                           "the trace ends at its last whole event", self.path,
                           exc.strerror or exc)
        else:
            logger.warning("cannot write the trace to %s: %s; the run goes on without a trace",
                           self.path, exc.strerror or exc)

    def __call__(self, event: dict) -> None:
        if self.file is None:
            return
        kind = event["event"]
        if kind == "task":
            function, file, line = split_label(event["label"])
            event = {**event, "function": function, "file": file, "line": line}
        elif kind == "send" and not self.executor_seen:
            self.executor_seen = True
            self._executor(event["time"])
        elif kind == "end":
            event = {**event, "time": time.time()}
        self._write(event)

    def _executor(self, when: float) -> None:
        """The pool as opened (its size may differ from what was asked: a foreign pool)."""
        from ..runtime import current

        executor = getattr(current.get(), "executor", None)
        if executor is not None:
            self._write({"event": "executor", "name": executor.name,
                         "workers": executor.workers, "time": when})

    def close(self, status: int | None) -> None:
        if status is not None:
            self._write({"event": "exit", "status": status, "time": time.time()})
        file, self.file = self.file, None
        if file is not None:
            try:
                file.close()  # unbuffered: nothing is left to write
            except OSError:
                pass


def header(script: str, argv: list[str], executor: str, workers: int | None) -> dict:
    from .._version import __version__

    return {
        "autofuture": __version__, "script": script, "argv": list(argv),
        "executor": executor, "workers": workers, "time": time.time(),
        "pid": os.getpid(), "host": platform.node(), "python": platform.python_version(),
        "cwd": os.getcwd(),
    }


# -- reading ------------------------------------------------------------------------


@dataclasses.dataclass
class Task:
    """One task as the trace tells it; times are seconds since the epoch, or None."""

    id: int
    label: str = "?"
    function: str = "?"
    file: str = "?"
    line: int = 0
    deps: list = dataclasses.field(default_factory=list)
    submit: float | None = None
    send: float | None = None
    start: float | None = None
    end: float | None = None
    received: float | None = None
    commit: float | None = None
    worker: str | None = None
    ok: bool | None = None
    failed: bool | None = None
    batch: int | None = None
    bytes_in: int = 0  # its share of its batch's message
    bytes_out: int = 0
    held: int = 0  # bytes of its result kept on its worker
    read_held: int = 0  # bytes of held inputs it read
    moved_in: int = 0  # of which moved from another process
    fetched: int = 0  # bytes of its result brought into the workflow
    lives: str | None = None  # where its result is at the end: a worker, "workflow", "freed"
    recomputed: int = 0

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

    @property
    def site(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def outcome(self) -> str:
        """'ok', 'failed' (raised), 'not run' (a dependency or its inputs failed), 'lost'
        (its worker died), 'running' (no result: the run stopped first)."""
        if self.ok is True:
            return "ok"
        if self.ok is False:
            return "failed"
        if self.failed:
            return "lost" if self.send is not None else "not run"
        return "running" if self.send is not None else "queued"


@dataclasses.dataclass
class Trace:
    header: dict
    tasks: dict  # id -> Task, in call order
    batches: list  # (time, ids, bytes)
    executor: dict | None
    exit: dict | None
    last_time: float
    problems: list  # lines that could not be read, as (line number, reason)

    @property
    def start(self) -> float:
        return self.header.get("time", self.first_time)

    @property
    def first_time(self) -> float:
        times = [t.submit for t in self.tasks.values() if t.submit is not None]
        return min(times) if times else self.last_time

    @property
    def end(self) -> float:
        return self.exit["time"] if self.exit else self.last_time

    @property
    def workers(self) -> int:
        """How many workers the pool had (as opened, else as asked)."""
        if self.executor and self.executor.get("workers"):
            return int(self.executor["workers"])
        return int(self.header.get("workers") or 1)

    @property
    def complete(self) -> bool:
        return self.exit is not None


class TraceError(Exception):
    """The file is not an autofuture trace."""


def read(path: str) -> Trace:
    """Read a trace, also one a killed run left (its last line may be cut short)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            lines = file.read().split("\n")
    except OSError as exc:
        raise TraceError(f"cannot read {path}: {exc.strerror}") from None
    head: dict | None = None
    tasks: dict[int, Task] = {}
    batches: list = []
    executor = exit_ = None
    last_time = 0.0
    problems = []
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            event = json.loads(text)
            kind = event["event"]
        except (ValueError, KeyError, TypeError):
            problems.append((number, "not a JSON event" if number < len(lines) - 1
                             else "cut short (the run was killed while writing it?)"))
            continue
        if head is None:
            if kind != "run":
                raise TraceError(f"{path} is not an autofuture trace: its first line is not "
                                 "the run header; write one with python -m autofuture "
                                 "--trace FILE script.py")
            head = event
            continue
        when = event.get("time")
        if isinstance(when, (int, float)):
            last_time = max(last_time, when)
        if kind == "task":
            label = event.get("label", "?")
            function, file_name, line = split_label(label)
            tasks[event["id"]] = Task(
                id=event["id"], label=label, function=event.get("function", function),
                file=event.get("file", file_name), line=event.get("line", line),
                deps=list(event.get("deps", [])), submit=when)
        elif kind == "send":
            ids = event.get("ids", [])
            batches.append((when, ids, event.get("bytes", 0)))
            share = event.get("bytes", 0) // max(1, len(ids))
            for task_id in ids:
                task = tasks.setdefault(task_id, Task(id=task_id))
                task.send, task.batch, task.bytes_in = when, len(batches) - 1, share
        elif kind == "end":
            task = tasks.setdefault(event["id"], Task(id=event["id"]))
            task.start, task.end = event.get("start"), event.get("end")
            task.worker, task.ok = str(event.get("worker") or "?"), bool(event.get("ok"))
            task.bytes_out, task.received = event.get("bytes", 0), when
            if event.get("held"):
                task.held, task.lives = event["held"], task.worker
            inputs = event.get("inputs") or {}
            task.read_held, task.moved_in = inputs.get("read", 0), inputs.get("moved", 0)
            if isinstance(task.end, (int, float)):
                last_time = max(last_time, task.end)
        elif kind == "commit":
            task = tasks.setdefault(event["id"], Task(id=event["id"]))
            task.commit, task.failed = when, bool(event.get("failed"))
        elif kind == "fetch":
            task = tasks.setdefault(event["id"], Task(id=event["id"]))
            task.fetched += event.get("bytes", 0)
            task.lives = "workflow"
        elif kind == "free":
            for task_id in event.get("ids", []):
                task = tasks.setdefault(task_id, Task(id=task_id))
                task.lives = "taken by its reader" if event.get("why") == "taken" else "freed"
        elif kind == "recompute":
            task = tasks.setdefault(event["id"], Task(id=event["id"]))
            task.recomputed += 1
        elif kind == "executor":
            executor = event
        elif kind == "exit":
            exit_ = event
    if head is None:
        raise TraceError(f"{path} is empty: the run stopped before it started, or this is "
                         "not an autofuture trace")
    return Trace(head, tasks, batches, executor, exit_, last_time or head.get("time", 0.0),
                 problems)

