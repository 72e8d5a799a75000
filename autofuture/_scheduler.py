"""The program-order log, drained by the workflow thread.

::

    workflow thread (rewritten code)          executor threads / processes
    ───────────────────────────────           ────────────────────────────
    call/op/setitem ──> Entry appended to log
                        deps==0 & early ──> ready ──> submit batch ──> run_batch
                                                                          │
    drain(): inbox.get() <──────────── done callback puts (batch, results) ┘
             finish entries, wake dependents (early ones run at once)
             commit from the head while the head is finished:
               replay a task's output, run an effect, or raise its error

Everything observable happens on the workflow thread in program order:
executor callbacks only put messages on ``inbox``. An entry is a task call,
a read (a lazy operation on futures), or an effect (a local call or a
mutation). Tasks and reads may *run* early, as soon as their inputs have
values, because they change nothing the workflow can see; they *commit*
(show output, raise) in program order. Effects run only at the head.

A failure is raised when its entry reaches the head, with a traceback
rebuilt from its call site; every later entry is discarded, as if the
workflow had stopped there, which is what the plain run does.
"""

from __future__ import annotations

import collections
import concurrent.futures
import gc
import itertools
import os
import queue
import re
import sys
import threading
import time

from . import _config, _context, _payloads, _serialize, _tb
from ._errors import RemoteError, SerializationError, WorkerLostError
from ._future import _UNSET, Future

TASK, READ, EFFECT = "task", "read", "effect"

#: While workers are busy, ready tasks wait this long for a fuller batch.
HOLD_SECONDS = 0.002

#: Work per message (a batch of tasks) once task durations are known.
MESSAGE_SECONDS = 0.02

#: How often a task may be run again because another task's worker died.
MAX_FREE_RESENDS = 3


class Options:
    """What the command line (or ``AUTOFUTURE_*`` variables) chose."""

    def __init__(self, executor=None, workers=None, lookahead=10_000, keep_going=False,
                 task_output="capture", retries=0, checkpoint=None, trace=None,
                 progress="never"):
        self.trace = trace  # --trace FILE and --progress: observers the runner sets up
        self.progress = progress
        self.checkpoint = checkpoint
        self.retries = retries
        self.executor = executor or _config.env_str("EXECUTOR") or "loky"
        self.workers = workers or _env_workers()
        self.lookahead = lookahead
        self.keep_going = keep_going
        self.task_output = task_output


def _env_workers() -> int | None:
    text = _config.env_str("WORKERS")
    try:
        return max(1, int(text)) if text else None
    except ValueError:
        return None


class Entry:
    __slots__ = ("kind", "future", "run", "args", "kwargs", "deps", "early", "finished", "number",
                 "retries", "retry_on", "attempts", "sent", "resends", "record", "shallow",
                 "failure", "site", "output", "holds", "context", "discarded",
                 "name", "suffix", "_label", "committed", "lost_on")

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
        self.holds = ()  # objects this pending effect may mutate
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

    @property
    def call_label(self) -> str:
        """'f() at file.py:12': made when first asked for, which most entries never are."""
        label = self._label
        if label is None:
            label = self._label = f"{self.name}() at {_tb.site_text(self.site)}"
        return label

    @property
    def label(self) -> str:
        """The call label and what follows it ('f() at file.py:12 -> tuple[int, int]')."""
        return self.call_label + self.suffix


# -- finding futures inside inputs --------------------------------------------

_ATOMS = frozenset({int, float, complex, bool, str, bytes, type(None), range, type,
                    type(len), type(print), type(_tb), slice, type(Ellipsis)})


def is_immutable(obj) -> bool:
    t = type(obj)
    if t in _ATOMS:
        return True
    if t is tuple or t is frozenset:
        return all(type(item) in _ATOMS for item in obj)
    return callable(obj) and t.__name__ in ("function", "builtin_function_or_method")


_CONTAINERS = (list, tuple, set, frozenset, dict)


def find_futures(obj, found: list) -> None:
    """Append every Future inside lists, tuples, dicts and sets of ``obj``."""
    t = type(obj)
    if t in _ATOMS:
        return
    if t is Future or isinstance(obj, Future):
        found.append(obj)
        return
    if not isinstance(obj, _CONTAINERS):
        return
    stack, seen = [obj], set()
    while stack:
        container = stack.pop()
        if id(container) in seen:
            continue
        seen.add(id(container))
        items = container.items() if isinstance(container, dict) else container
        for item in items:
            if isinstance(container, dict):
                key, item = item
                if isinstance(key, Future):
                    found.append(key)
                elif isinstance(key, tuple):
                    stack.append(key)
            t = type(item)
            if t in _ATOMS:
                continue
            if t is Future or isinstance(item, Future):
                found.append(item)
            elif isinstance(item, _CONTAINERS):
                stack.append(item)


def resolve(obj, seen: dict | None = None):
    """``obj`` with futures replaced by values: in place in lists and dicts, rebuilt otherwise."""
    if isinstance(obj, Future):
        return obj._af_value
    t = type(obj)
    if t in _ATOMS:
        return obj
    if isinstance(obj, (list, dict, tuple, set, frozenset)):
        if seen is None:
            seen = {}
        if id(obj) in seen:
            return seen[id(obj)]
        seen[id(obj)] = obj
        if isinstance(obj, list):
            for i, item in enumerate(obj):
                new = resolve(item, seen)
                if new is not item:
                    obj[i] = new
            return obj
        if isinstance(obj, dict):
            for key, item in list(obj.items()):
                new = resolve(item, seen)
                if new is not item:
                    obj[key] = new
            return obj
        items = [resolve(item, seen) for item in obj]
        if all(a is b for a, b in zip(items, obj, strict=True)):
            return obj
        rebuilt = tuple(items) if t is tuple else (
            frozenset(items) if isinstance(obj, frozenset) else set(items))
        if t is tuple or t is set or t is frozenset:
            result = rebuilt
        else:  # a namedtuple or a subclass: rebuild with its own constructor
            try:
                result = t._make(items) if hasattr(t, "_make") else t(items)
            except Exception:
                result = rebuilt
        seen[id(obj)] = result
        return result
    return obj


# -- the scheduler --------------------------------------------------------------

#: Callables given a dict per task event ("task", "send", "end", "commit"), on the
#: workflow thread; ``--trace`` and ``--progress`` add theirs before the run.
observers: list = []

_current = None
_current_lock = threading.Lock()
_options = Options()


def configure(options: Options) -> None:
    global _options
    _options = options


def current() -> Scheduler:
    global _current
    if _current is None:
        with _current_lock:
            if _current is None:
                _current = Scheduler(_options)
    return _current


def current_or_none():
    return _current


def reset() -> None:
    """Forget the scheduler (after shutdown), so a later run starts afresh."""
    global _current
    _current = None


class Scheduler:
    def __init__(self, options: Options):
        self.options = options
        self.thread = threading.get_ident()
        self.logs: list[collections.deque] = [collections.deque()]
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.ready: collections.deque = collections.deque()
        self.ready_since = 0.0
        self.executor = None
        self.in_flight = 0
        self.mean_task_seconds = None
        self.message_seconds = MESSAGE_SECONDS  # the executor's, once it is open
        self.touched: dict[int, int] = {}
        self.context = _context.Stamp()
        self.functions = _payloads.FunctionPayloads()
        self.context_pending = 0
        self.observers = observers
        self.checkpoint = None
        if options.checkpoint:
            from ._checkpoint import Checkpoint

            self.checkpoint = Checkpoint(options.checkpoint)
        self.task_numbers = itertools.count(1)
        self.closed = False  # after shutdown(): the pytest plugin asks before draining
        self.gc_threshold = _collect_young_less()
        self.failures: list[str] = []
        self.skipped: list[str] = []

    # -- small queries ----------------------------------------------------------

    def on_workflow_thread(self) -> bool:
        return threading.get_ident() == self.thread

    @property
    def log(self) -> collections.deque:
        return self.logs[-1]

    def idle(self) -> bool:
        """Nothing pending in the current log: a local call may run at once."""
        return not self.logs[-1]

    def may_read_now(self, objs) -> bool:
        """No pending effect can have changed these objects (or futures' values)."""
        touched = self.touched
        for obj in objs:
            if isinstance(obj, Future):
                if obj._af_touched:
                    return False
                obj = obj._af_value  # an effect may hold the value itself
            if touched and id(obj) in touched and not is_immutable(obj):
                return False
        return True

    # -- adding entries ---------------------------------------------------------

    def add(self, entry: Entry, inputs) -> Future:
        """Put ``entry`` at the end of the log, waiting for the futures in ``inputs``."""
        future = Future(entry)
        entry.future = future
        found: list = []
        if entry.shallow:
            args, kwargs = inputs
            found = [x for x in (*args, *(kwargs or {}).values()) if isinstance(x, Future)]
        else:
            find_futures(inputs, found)
        if entry.kind == READ:
            future._af_sources = found
        for dep in found:
            if dep._af_value is _UNSET and dep._af_error is None:
                entry.deps += 1
                if dep._af_dependents:
                    dep._af_dependents.append(entry)
                else:  # most futures never get a dependent: no list until one does
                    dep._af_dependents = [entry]
            elif dep._af_error is not None and entry.failure is None:
                entry.failure = ("dependency", dep)
        if entry.kind == EFFECT:
            self._hold(entry, inputs, found)
            if _changes_context(entry):
                entry.context = True
                self.context_pending += 1
        if entry.kind == TASK:
            entry.number = next(self.task_numbers)
            if self.observers:
                self._emit({"event": "task", "id": entry.number, "label": entry.label,
                            "deps": sorted(_task_numbers(found)), "time": time.time()})
        log = self.log
        log.append(entry)
        if entry.failure is not None:
            self._finish_dependency_failure(entry)
        elif entry.deps == 0 and entry.early:
            self._start(entry)
        if len(log) >= self.options.lookahead:
            self.drain(until=lambda: len(log) < self.options.lookahead // 2)
        elif not self.inbox.empty() or (log and log[0].finished) or (
                log and log[0].deps == 0 and not log[0].early):
            self.drain()
        return future

    def _hold(self, entry: Entry, inputs, found) -> None:
        """Remember what a pending effect may mutate, so reads of it wait their turn."""
        holds = []
        for obj in _shallow(inputs):
            if not is_immutable(obj) and not isinstance(obj, Future):
                holds.append(obj)
                self.touched[id(obj)] = self.touched.get(id(obj), 0) + 1
        found = _with_sources(found)
        for dep in found:
            dep._af_touched += 1
        entry.holds = (holds, found)

    def _release(self, entry: Entry) -> None:
        if not entry.holds:
            return
        holds, found = entry.holds
        for obj in holds:
            count = self.touched.get(id(obj), 0) - 1
            if count <= 0:
                self.touched.pop(id(obj), None)
            else:
                self.touched[id(obj)] = count
        for dep in found:
            dep._af_touched -= 1
        entry.holds = ()
        if entry.context:
            self.context_pending -= 1

    # -- running ----------------------------------------------------------------

    def _start(self, entry: Entry) -> None:
        """Inputs are ready: queue a task for dispatch, or run a read."""
        if entry.kind == TASK:
            if self.executor is None:
                self._open_executor()
            if self.executor.inline:
                return  # runs at its turn, in the workflow thread
            if not self.ready:
                self.ready_since = time.monotonic()
            self.ready.append(entry)
            self._dispatch()
        else:
            self._execute(entry)

    def _execute(self, entry: Entry) -> None:
        """Run a read or an effect here, now; its value or error is recorded."""
        if entry.shallow:
            args = [a._af_value if isinstance(a, Future) else a for a in entry.args]
            kwargs = entry.kwargs
        else:
            args = resolve(entry.args)
            kwargs = resolve(entry.kwargs)
        self.logs.append(collections.deque())
        caller = _tb.trampoline(entry.site) if entry.kind == EFFECT else None
        try:
            if caller is None:
                value = entry.run(*args, **kwargs)
            else:
                value = caller(entry.run, args, kwargs)
            self.barrier()
        except BaseException as exc:  # noqa: BLE001 - raised in program order
            self.logs.pop()
            self._finish(entry, failure=(exc, (), exc.__traceback__))
            return
        self.logs.pop()
        self._finish(entry, value=value)

    def _open_executor(self) -> None:
        from . import _executors

        try:
            self.executor = _executors.create(self.options.executor, self.options.workers,
                                              live_output=self.options.task_output == "live")
            self.message_seconds = getattr(self.executor, "message_seconds", MESSAGE_SECONDS)
        except Exception as exc:
            raise _executors.ExecutorError(
                f"--executor {self.options.executor}: could not start it: "
                f"{type(exc).__name__}: {exc}") from exc

    def _dispatch(self, force: bool = False) -> None:
        """Hand ready tasks to the executor, a batch per message, two messages per worker.

        While every worker has work, small batches wait to grow (up to about
        20 ms of work each); ``force`` sends what there is, before the
        workflow blocks.
        """
        executor = self.executor
        limit = 2 * executor.workers
        while self.ready and self.in_flight < limit:
            target = self._batch_target()
            free = limit - self.in_flight
            if force or self.in_flight == 0 or len(self.ready) >= target \
                    or time.monotonic() - self.ready_since > HOLD_SECONDS:
                size = max(1, min(target, -(-len(self.ready) // free)))
            else:
                return
            batch = []
            while self.ready and len(batch) < size:
                entry = self.ready.popleft()
                if not entry.discarded:
                    batch.append(entry)
            if batch:
                self._send(batch)
            self.ready_since = time.monotonic()

    def _batch_target(self) -> int:
        """About 20 ms of work per message once task durations are known; else one.

        An executor whose messages cost more (a Dask or Parsl round trip is
        milliseconds) asks for more work per message with ``message_seconds``.
        """
        mean = self.mean_task_seconds
        seconds = self.message_seconds
        if mean is None or mean > seconds / 2:
            return 1
        return 512 if mean <= seconds / 512 else int(seconds / mean)

    def _send(self, batch: list) -> None:
        """Serialize a batch (as of now, which is each task's program position) and send it."""
        message = self._message(batch)
        if message is None:
            return
        batch, message = message
        self.in_flight += 1
        if self.observers:
            self._emit({"event": "send", "ids": [entry.number for entry in batch],
                        "bytes": sum(_size(task[2]) for task in message[2])
                        + sum(len(payload) for _, payload in message[1]),
                        "time": time.time()})
        if self.executor.inline:
            from . import _worker

            # Serial output is live (pdb works), unless it must be kept for --checkpoint.
            capture = "none" if self.checkpoint is None else "process"
            self._receive((batch, _done_future(_worker.run_batch(message, capture))))
            return
        # The labels let an executor name the task a lost worker was running.
        labels = [entry.label for entry in batch] if self.executor.wants_labels else None
        try:
            done = self.executor.submit(message, labels=labels)
        except Exception as exc:  # a broken pool: these tasks' workers are lost
            self._receive((batch, _failed_future(exc)))
            return
        done.add_done_callback(lambda f, batch=batch: self.inbox.put((batch, f)))

    def _message(self, batch: list):
        """(batch, (context stamp, function payloads, task payloads)), or None if none can travel.

        Each distinct function goes once per message, as (token, payload)
        (see ``_payloads``); a task whose function or arguments cannot be
        serialized fails alone, at its turn.
        """
        functions: dict[int, tuple] = {}  # id(function) -> (token, payload), once per message
        function_errors: dict[int, Exception] = {}
        indexes: dict[int, int] = {}  # id(function payload) -> index in the message
        function_payloads: list = []
        sendable, tasks = [], []
        for entry in batch:
            if entry.sent is None:
                fn = entry.run
                try:
                    if id(fn) in function_errors:
                        raise function_errors[id(fn)]
                    if id(fn) not in functions:
                        try:
                            functions[id(fn)] = self.functions.get(fn)
                        except Exception as exc:
                            function_errors[id(fn)] = exc
                            raise
                    entry.sent = (functions[id(fn)], self._task_payload(entry))
                except Exception as exc:
                    self._finish(entry, failure=(_serialization_error(entry, exc), (), None))
                    continue
                entry.args = entry.kwargs = None
            function_payload, task_payload = entry.sent
            if self.checkpoint is not None and self._restored(entry):
                continue
            index = indexes.get(id(function_payload))
            if index is None:
                index = indexes[id(function_payload)] = len(function_payloads)
                function_payloads.append(function_payload)
            tasks.append((index, entry.number, task_payload))
            sendable.append(entry)
        if not sendable:
            return None
        return sendable, (self.context.current(), function_payloads, tasks)

    def _restored(self, entry: Entry) -> bool:
        """With --checkpoint: a task that finished in an earlier run is not run again."""
        (_, function_payload), task_payload = entry.sent
        entry.record = self.checkpoint.key(function_payload, _serialize.serialized(task_payload),
                                           entry.label)
        where = ("<unknown>", 0)
        if entry.site:
            frame, lineno, _ = entry.site[0]
            where = (frame.f_code.co_filename, lineno)
        record = self.checkpoint.load(entry.record, where)
        if record is None:
            return False
        payload, entry.output = record
        if self.observers:
            self._emit({"event": "restored", "id": entry.number, "time": time.time()})
        self._finish(entry, value=_serialize.load(payload))
        return True

    def _task_payload(self, entry: Entry) -> tuple:
        """An entry's (args, kwargs), with large buffers out of band for other processes
        (inline when they are all numbers, strings and the like: see _serialize).

        Threads of this process get copies instead: a task's inputs are values
        captured at the call, never the workflow's own arrays.
        """
        payload, buffers = _serialize.call_payload(entry.args, entry.kwargs)
        if payload is None:
            return payload, buffers
        if getattr(self.executor, "in_process", False):
            buffers = [bytearray(buffer) for buffer in buffers]
        return payload, buffers

    def _receive(self, message) -> None:
        batch, done = message
        self.in_flight -= 1
        try:
            results = done.result()
        except BaseException as exc:  # noqa: BLE001 - the executor lost the batch
            self._lost_batch(batch, exc)
            return
        durations = []
        for entry, (ok, payload, output, timing) in zip(batch, results, strict=True):
            durations.append(timing[1] - timing[0])
            entry.output = output or None  # most tasks print nothing
            if self.observers:
                self._emit({"event": "end", "id": entry.number, "start": timing[0],
                            "end": timing[1], "worker": timing[2], "ok": ok,
                            "bytes": _size(payload) if ok else 0})
            if ok:
                try:
                    value = _serialize.load(payload)
                except Exception as exc:
                    self._finish(entry, failure=(exc, (), exc.__traceback__))
                    continue
                if entry.record is not None:
                    self.checkpoint.store(entry.record, _serialize.serialized(payload), output)
                if entry.lost_on:  # the run need not fail for the ranks it cost
                    getattr(self.executor, "recovered", lambda ranks: None)(entry.lost_on)
                self._finish(entry, value=value)
            else:
                failure = _rebuild(payload, entry)
                lost = getattr(failure[0], "_af_rank_lost", None)
                if lost is not None and len(entry.attempts) < entry.retries:
                    # An MPI rank died running it: retries run it on another rank, as
                    # they run a task whose loky worker died on a fresh worker.
                    rank, what = lost
                    entry.attempts += (what,)
                    entry.lost_on = (entry.lost_on or []) + [rank]
                    self._resend(entry)
                    continue
                if isinstance(failure[0], entry.retry_on) \
                        and len(entry.attempts) < entry.retries:
                    entry.attempts += (f"{type(failure[0]).__name__}: {failure[0]}",)
                    self._resend(entry)
                    continue
                self._finish(entry, failure=_with_attempts(failure, entry))
        if durations:
            mean = sum(durations) / len(durations)
            previous = self.mean_task_seconds
            self.mean_task_seconds = mean if previous is None else 0.7 * previous + 0.3 * mean

    def _lost_batch(self, batch: list, exc: BaseException) -> None:
        """A worker died: the task it ran fails (or runs again); the others run again free."""
        culprits = getattr(self.executor, "lost_tasks", lambda: None)()
        how = _how_lost(exc)
        for entry in batch:
            # Not found among the dead workers' tasks: run it again at no charge (a
            # few times at most, in case a death could not be attributed at all).
            innocent = culprits is not None and entry.number not in culprits
            if innocent and entry.resends < MAX_FREE_RESENDS:
                entry.resends += 1
                self._resend(entry)
            else:
                entry.attempts += (f"its worker died ({how})",)
                if culprits:
                    culprits.discard(entry.number)  # charged once; a new attempt starts clean
                if len(entry.attempts) <= entry.retries:
                    self._resend(entry)
                else:
                    self._finish(entry, failure=(_lost(entry, how), (), None))

    def _resend(self, entry: Entry) -> None:
        """Another attempt with the same serialized inputs (captured at the call)."""
        if entry.discarded or entry.finished:
            return
        if not self.ready:
            self.ready_since = time.monotonic()
        self.ready.append(entry)

    def _finish(self, entry: Entry, value=_UNSET, failure=None) -> None:
        if entry.finished or entry.discarded:
            return
        entry.finished = True
        entry.sent = None
        future = entry.future
        if failure is not None:
            entry.failure = failure
            if failure[0] == "dependency":
                future._af_error = failure[1]._af_error
            else:
                future._af_error = failure[0]
            future._af_settle(error=future._af_error)
        else:
            future._af_value = value
            future._af_settle(value)
        entry.run = entry.args = entry.kwargs = None
        dependents = future._af_dependents
        if not dependents:
            return
        future._af_dependents = ()
        for dependent in dependents:
            if dependent.finished or dependent.discarded:
                continue
            if failure is not None:
                if dependent.failure is None:
                    dependent.failure = ("dependency", future)
                    self._finish_dependency_failure(dependent)
                continue
            dependent.deps -= 1
            if dependent.deps == 0 and dependent.early:
                self._start(dependent)

    def _finish_dependency_failure(self, entry: Entry) -> None:
        failure = entry.failure
        entry.failure = None
        self._finish(entry, failure=failure)

    # -- the head of the log ----------------------------------------------------

    def _advance(self) -> None:
        """Commit entries from the head of the current log while they are ready."""
        log = self.log
        while log:
            head = log[0]
            if not head.finished:
                if head.deps or head.failure is not None:
                    return
                if head.kind == TASK:
                    if head.early and self.executor is not None and not self.executor.inline:
                        return  # submitted; waiting for its result
                    self._run_task_here(head)
                    if not head.finished:
                        return
                else:
                    self._execute(head)
            log.popleft()
            self._commit(head)

    def _run_task_here(self, entry: Entry) -> None:
        """A task whose inputs had to be captured at its turn, or any task when serial."""
        if self.executor is None:
            self._open_executor()
        if self.executor.inline:
            self._send([entry])
        else:
            entry.early = True
            self.ready.append(entry)
            self._dispatch(force=True)

    def _commit(self, entry: Entry) -> None:
        entry.committed = True
        self._release(entry)
        if entry.output:
            _replay(entry.output)
            entry.output = None
        if self.observers and entry.kind == TASK:
            self._emit({"event": "commit", "id": entry.number,
                        "failed": entry.failure is not None, "time": time.time()})
        if entry.failure is None:
            return
        exc, remote_frames, local_tb = _failure_exception(entry)
        if self.options.keep_going and not isinstance(exc, (SystemExit, KeyboardInterrupt)):
            self._report(entry, exc, _tb.build(entry.site, remote_frames, local_tb))
            return
        self.discard_rest()
        raise _tb.mark(exc, _tb.build(entry.site, remote_frames, local_tb))

    def _report(self, entry: Entry, exc: BaseException, tb) -> None:
        """--keep-going: say each root failure once, at its turn, and go on."""
        if entry.failure[0] == "dependency":
            self.skipped.append(entry.label)
            return
        self.failures.append(entry.label)
        sys.stdout.flush()
        print(f"autofuture: {entry.label} failed; --keep-going goes on with the work "
              "that does not depend on it:", file=sys.stderr)
        _tb.print_exception(_tb.mark(exc, tb))

    def keep_going_summary(self) -> str | None:
        """The closing line of a --keep-going run that had failures, else None."""
        if not self.failures:
            return None
        skipped = list(dict.fromkeys(self.skipped))
        shown = ", ".join(skipped[:10]) + (f" and {len(skipped) - 10} more"
                                          if len(skipped) > 10 else "")
        return (f"autofuture: {len(self.failures)} failed "
                f"({', '.join(self.failures)}); {len(self.skipped)} dependent operations "
                f"skipped" + (f" ({shown})" if skipped else ""))

    def _emit(self, event: dict) -> None:
        for observer in self.observers:
            observer(event)

    def discard_rest(self) -> None:
        """Drop every pending entry of the current log: the program stopped before them."""
        log = self.log
        while log:
            entry = log.pop()
            entry.discarded = True
            self._release(entry)
        self.ready = collections.deque(e for e in self.ready if not e.discarded)

    # -- waiting ----------------------------------------------------------------

    def drain(self, until=None) -> None:
        """Take what arrived and commit what can be; block until ``until()`` if given."""
        inbox = self.inbox
        while True:
            while not inbox.empty():  # this thread alone takes from it: no Empty to catch
                self._receive(inbox.get_nowait())
            self._advance()
            if until is None or until():
                if self.ready:
                    self._dispatch()
                return
            if self.ready:
                self._dispatch(force=True)
            if self.in_flight == 0:
                raise RuntimeError(_stuck_message(self.log))
            try:
                message = self.inbox.get_nowait()
            except queue.Empty:
                # Idle until a result comes: what the program printed goes out now, so
                # that a kill meanwhile (a launcher ending every MPI rank when one dies,
                # a SIGKILL) cannot lose output that came before it.
                _flush_output()
                message = self.inbox.get()
            self._receive(message)

    def wait_done(self, future: Future) -> None:
        self.drain(until=lambda: future._af_value is not _UNSET or future._af_error is not None)

    def wait_value(self, future: Future):
        """The value, once known; a failure is raised in program order."""
        if future._af_value is _UNSET:
            entry = future._af_entry
            if entry is not None and not entry.early and not entry.finished:
                # An effect, or a task captured at its turn: everything before it runs first.
                self.drain(until=lambda: entry.finished or entry.committed or entry.discarded)
            self.wait_done(future)
        if future._af_error is not None:
            entry = future._af_entry
            self.drain(until=lambda: entry is None or entry.committed or entry.discarded)
            raise future._af_error
        return future._af_value

    def barrier(self) -> None:
        """Commit everything pending in the current log (raising the first failure)."""
        log = self.log
        if log:
            self.drain(until=lambda: not log)

    def shutdown(self, cancel: bool) -> None:
        if cancel:
            for log in self.logs:
                log.clear()
            self.ready.clear()
        if self.executor is not None:
            self.executor.shutdown(cancel=cancel)
            self.executor = None
        if self.gc_threshold is not None and gc.get_threshold()[0] == GC_YOUNG_THRESHOLD:
            gc.set_threshold(*self.gc_threshold)
        self.closed = True


#: Objects allocated between two collections of the youngest generation while a
#: run lasts (Python's default is 700). Each task keeps a few objects alive
#: until its result is used, and with the default every thousand tasks set off
#: collections that, through the older generations, scan all of them again:
#: 100,000 pending tasks spent more than half the driver's time in the
#: collector. Garbage cycles now wait a little longer, a few MB at most.
GC_YOUNG_THRESHOLD = 20_000


def _collect_young_less():
    """Raise the youngest generation's threshold for the run; the old thresholds, or None."""
    old = gc.get_threshold()
    if old[0] >= GC_YOUNG_THRESHOLD:
        return None
    gc.set_threshold(GC_YOUNG_THRESHOLD, *old[1:])
    return old


def _shallow(inputs):
    """The objects an effect is given: its arguments and one level inside them."""
    for obj in inputs:
        yield obj
        if isinstance(obj, (list, tuple, set, frozenset)):
            yield from obj
        elif isinstance(obj, dict):
            yield from obj.values()


_CONTEXT_CALLS = frozenset(
    getattr(os, name) for name in ("chdir", "fchdir", "putenv", "unsetenv") if hasattr(os, name)
)


def _changes_context(entry: Entry) -> bool:
    """Does this effect change what tasks see of the process (cwd, env, sys.path, argv)?

    Tasks are captured with the context as of their call, so while such an
    effect is pending, later tasks wait for their turn to be captured.
    """
    contexts = (os.environ, sys.path, sys.argv)
    fn = entry.run
    try:
        if fn in _CONTEXT_CALLS:
            return True
    except TypeError:  # an unhashable callable object
        pass
    receiver = getattr(fn, "__self__", None)
    if any(receiver is context for context in contexts):
        return True
    first = entry.args[0] if entry.args else None
    return any(first is context for context in contexts)


def _size(payload) -> int:
    data, buffers = _serialize.serialized(payload)
    return len(data) + sum(memoryview(buffer).nbytes for buffer in buffers)


def _task_numbers(futures) -> set:
    """The tasks behind these futures, through lazy reads (for the task graph)."""
    numbers, stack, seen = set(), list(futures), set()
    while stack:
        future = stack.pop()
        if id(future) in seen:
            continue
        seen.add(id(future))
        entry = future._af_entry
        if entry is not None and entry.kind == TASK:
            numbers.add(entry.number)
        else:
            stack.extend(future._af_sources)
    return numbers


def _stuck_message(log) -> str:
    """Waiting with nothing running can only be a bug of ours: say so instead of hanging."""
    head = log[0].label if log else "nothing"
    return (f"autofuture is waiting for a value that nothing will produce (the oldest "
            f"pending operation is {head}). This is a bug in autofuture; please report it "
            "with the script that shows it.")


def _with_sources(futures: list) -> list:
    """The futures and every future they were read from: mutating ``x.items``
    may change what a later read of ``x`` sees."""
    out, stack, seen = [], list(futures), set()
    while stack:
        future = stack.pop()
        if id(future) in seen:
            continue
        seen.add(id(future))
        out.append(future)
        stack.extend(future._af_sources)
    return out


def _done_future(value):
    future = concurrent.futures.Future()
    future.set_result(value)
    return future


def _flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed or odd stream is the program's business
            pass


def _failed_future(exc):
    future = concurrent.futures.Future()
    future.set_exception(exc)
    return future


def _replay(output) -> None:
    for stream, text in output:
        (sys.stdout if stream == 1 else sys.stderr).write(text)


def _rebuild(info, entry: Entry):
    """(exception, remote frames, None) from a worker's ErrorInfo."""
    exc_bytes, type_name, message, frames, text = info
    if type_name == "SerializationError":
        message = (f"task {entry.label}: {message}. Return plain data (numbers, strings, "
                   "lists, dicts, arrays) that can be pickled.")
    exc = None
    if exc_bytes is not None:
        try:
            exc = _serialize.loads(exc_bytes)
        except Exception:
            exc = None
    if exc is None:
        if type_name == "SerializationError":
            exc = SerializationError(message)
        else:
            exc = RemoteError(type_name, message, text)
    return (exc, frames, None)


def _failure_exception(entry: Entry):
    failure = entry.failure
    if failure[0] == "dependency":
        root = failure[1]
        exc = root._af_error
        return exc, (), None
    exc, remote_frames, local_tb = failure
    return exc, remote_frames, local_tb



def _serialization_error(entry: Entry, exc: Exception) -> SerializationError:
    from ._dispatch import describe_unpicklable

    return SerializationError(describe_unpicklable(entry, exc))


def _how_lost(exc: BaseException) -> str:
    codes = re.search(r"exit codes of the workers are \{(.*?)\}", str(exc))
    if codes:
        return f"exit code {codes.group(1)}"
    if isinstance(exc, WorkerLostError):  # an executor's own account (Dask, Parsl, MPI)
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _lost(entry: Entry, how: str) -> WorkerLostError:
    tries = ""
    if len(entry.attempts) > 1:
        tries = f" It was tried {len(entry.attempts)} times: " + "; ".join(
            f"attempt {n}: {what}" for n, what in enumerate(entry.attempts, 1)) + "."
    return WorkerLostError(
        f"the worker running task {entry.label} died before it returned ({how}).{tries} "
        "A worker that is killed, crashes (a segfault in native code), calls os._exit or "
        "runs out of memory (the OOM killer) ends this way; check the task for those."
    )


def _with_attempts(failure, entry: Entry):
    """The last attempt's error, with a note listing the attempts before it."""
    if entry.attempts and hasattr(failure[0], "add_note"):
        failure[0].add_note(
            f"autofuture: task {entry.label} was tried {len(entry.attempts) + 1} times; "
            + "; ".join(f"attempt {n}: {what}" for n, what in enumerate(entry.attempts, 1)))
    return failure
