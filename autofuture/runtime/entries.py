"""The entries of the program-order log, and the options a run is made with."""

from __future__ import annotations

import os

from .. import _config
from . import tracebacks

TASK, READ, EFFECT = "task", "read", "effect"


class Options:
    """What the command line (or ``AUTOFUTURE_*`` variables) chose."""

    def __init__(self, executor=None, workers=None, lookahead=10_000, keep_going=False,
                 task_output="capture", retries=0, checkpoint=None, trace=None,
                 progress="never", worker_memory=None, task_timeout=None):
        self.trace = trace  # --trace FILE and --progress: observers the runner sets up
        self.progress = progress
        self.checkpoint = checkpoint
        self.retries = retries
        self.executor = executor or _config.env_str("EXECUTOR") or "loky"
        self.workers = workers or _env_workers()
        self.lookahead = lookahead
        self.keep_going = keep_going
        self.task_output = task_output
        # --worker-memory: bytes of held results a worker may keep (see runtime.locality)
        self.worker_memory = worker_memory or _default_worker_memory(self.workers)
        # --task-timeout SECONDS, else AUTOFUTURE_TASK_TIMEOUT (the CLI checks both)
        self.task_timeout = task_timeout if task_timeout is not None else _env_timeout()


def _env_timeout() -> float | None:
    value, _ = parse_timeout(_config.env_str("TASK_TIMEOUT") or "")
    return value


def parse_timeout(text: str):
    """(seconds or None, None) for '', '0' (no limit) or a positive number; else (None, why)."""
    text = text.strip()
    if not text:
        return None, None
    try:
        value = float(text)
    except ValueError:
        return None, f"expected a number of seconds, got {text!r}"
    if value != value or value < 0 or value == float("inf"):
        return None, f"expected a number of seconds (0 for no limit), got {text!r}"
    return (value or None), None


def _default_worker_memory(workers) -> int:
    """A share of the machine's memory: half of it, divided among the workers."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return max(64 << 20, total // 2 // max(1, workers or os.cpu_count() or 1))


def _env_workers() -> int | None:
    text = _config.env_str("WORKERS")
    try:
        return max(1, int(text)) if text else None
    except ValueError:
        return None


class Entry:
    __slots__ = ("kind", "future", "run", "args", "kwargs", "deps", "early", "finished", "number",
                 "retries", "retry_on", "attempts", "sent", "resends", "record", "shallow",
                 "failure", "site", "output", "after", "check", "waiters", "writes", "held",
                 "context", "discarded",
                 "name", "suffix", "_label", "committed", "lost_on", "handling", "needs", "node",
                 "parked", "inputs_at", "timeout", "slice")

    def __init__(self, kind, run, args, kwargs, site, name, early):
        self.kind = kind
        self.run = run
        self.args = args
        self.kwargs = kwargs
        self.site = site
        self.name = name  # of the function: the label's first part
        self.suffix = ""  # what the label says after the call site
        self._label = None
        self.early = early
        self.deps = 0
        self.finished = False
        self.committed = False
        self.failure = None  # (exception, remote frames, local traceback)
        self.output = None
        # A task or read made while an effect was pending: that effect (the last before
        # it), which it waits for unless ``check`` shows it can go ahead: (the clock
        # when it was made, the futures it reads), for ``runahead.may_pass``; None
        # when it reads what a pending effect may change (a task then runs
        # speculatively); False when it must wait in any case (runtime.ordering).
        self.after = None
        self.check = None
        self.waiters = ()  # of an effect: entries that wait for it to run
        self.writes = ()  # of an effect: the objects it writes; None: maybe any
        # Of a task sent speculatively: SPECULATING until ``after`` has run, (value,
        # failure) if its result came before, RERUN if it must run again once back.
        self.held = None
        self.context = False
        self.discarded = False
        self.future = None
        self.number = 0
        self.retries = 0  # how many times a failed attempt may run again
        self.retry_on: tuple = ()  # exception types worth another attempt
        self.attempts: tuple[str, ...] = ()  # what each failed attempt died of
        self.sent = None  # ((token, function payload), task payload) while in flight
        self.resends = 0  # attempts lost through no fault of this task
        self.lost_on = None  # MPI ranks lost while running an attempt of this task
        self.record = None  # its checkpoint key, with --checkpoint
        self.shallow = False  # a read that awaits only its arguments, not what they hold
        self.handling = None  # of a task: the exception the workflow handled at its call
        self.needs = None  # Held handles of the results on workers its arguments reference
        self.node = None  # for a recompute of a lost held result: its runtime.held.Node
        self.parked = 0  # lost inputs it waits for
        self.inputs_at = None  # for the trace: (bytes, process) of each held input
        self.timeout = None  # seconds an attempt may run before its worker is killed
        self.slice = None  # a map's slice of elements, one entry for all (runtime.maps)

    @property
    def call_label(self) -> str:
        """'f() at file.py:12': made when first asked for, which most entries never are."""
        label = self._label
        if label is None:
            label = self._label = f"{self.name}() at {tracebacks.site_text(self.site)}"
        return label

    @property
    def label(self) -> str:
        """The call label and what follows it ('f() at file.py:12 -> tuple[int, int]')."""
        return self.call_label + self.suffix
