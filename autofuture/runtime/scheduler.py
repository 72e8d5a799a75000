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

While an effect is pending, a read that involves a mutable object also waits
for it, whatever name it reaches the object through (``Entry.after``,
``runtime.ordering``, ``runtime.runahead``): it starts once the last effect
before it in the log has run, unless what it reads is known now to be out of
every pending effect's reach. A task in that case is sent speculatively, and
its result kept only if its inputs are the same once the effect has run.

A failure is raised when its entry reaches the head, with a traceback
rebuilt from its call site; every later entry is discarded, as if the
workflow had stopped there, which is what the plain run does.
"""

from __future__ import annotations

import collections
import gc
import itertools
import os
import queue
import sys
import threading
import time

from .._errors import SerializationError  # noqa: F401 - re-exported for tests
from ..worker import context as _context
from ..worker import exceptions
from . import current as _slot
from . import outcomes, tracebacks
from . import payloads as _payloads
from . import runahead as _runahead
from .entries import EFFECT, READ, TASK, Entry, Options
from .future import _UNSET, Future
from .held import value_of
from .ordering import Ordering, call_method, call_value
from .sending import Sending
from .values import find_futures, resolve

__all__ = ["EFFECT", "READ", "TASK", "Entry", "Options", "Scheduler", "configure", "current",
           "current_or_none", "find_futures", "observers", "reset", "resolve"]

# -- the scheduler --------------------------------------------------------------

#: Callables given a dict per task event ("task", "send", "end", "commit"), on the
#: workflow thread; ``--trace`` and ``--progress`` add theirs before the run.
observers: list = []

_options = Options()


def configure(options: Options) -> None:
    global _options
    _options = options


def current() -> Scheduler:
    scheduler = _slot.scheduler
    if scheduler is None:
        scheduler = _slot.get_or_create(lambda: Scheduler(_options))
    return scheduler


def current_or_none():
    return _slot.scheduler


def reset() -> None:
    """Forget the scheduler (after shutdown), so a later run starts afresh."""
    _slot.clear()


class Scheduler(Ordering, Sending):
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
        self.message_seconds = 0.02  # the executor's (sending.MESSAGE_SECONDS), once open
        self.context = _context.Stamp()
        self.functions = _payloads.FunctionPayloads()
        self.context_pending = 0
        self.observers = observers
        self.checkpoint = None
        if options.checkpoint:
            from .checkpoint import Checkpoint

            self.checkpoint = Checkpoint(options.checkpoint)
        self.task_numbers = itertools.count(1)
        self.closed = False  # after shutdown(): the pytest plugin asks before draining
        self.gc_threshold = _collect_young_less()
        self.failures: list[str] = []
        #: (failed entry, tasks after it its message did not run): see Sending._not_run
        self.behind_failure: list[tuple] = []
        self.skipped: list[str] = []
        self._init_locality()
        self._init_ordering()

    # -- small queries ----------------------------------------------------------

    def on_workflow_thread(self) -> bool:
        return threading.get_ident() == self.thread

    @property
    def log(self) -> collections.deque:
        return self.logs[-1]

    def idle(self) -> bool:
        """Nothing pending in the current log: a local call may run at once."""
        return not self.logs[-1]

    # -- adding entries ---------------------------------------------------------

    def add(self, entry: Entry, inputs) -> Future:
        """Put ``entry`` at the end of the log, waiting for the futures in ``inputs``."""
        future = Future(entry)
        entry.future = future
        self.clock += 1
        found: list = []
        if entry.shallow:
            args, kwargs = inputs
            found = [x for x in (*args, *(kwargs or {}).values()) if isinstance(x, Future)]
        else:
            find_futures(inputs, found)
        if entry.kind == READ:
            future._af_sources = found
            if not entry.shallow and found:
                # Futures in containers are replaced by their values in place there.
                direct = {id(arg) for arg in entry.args if type(arg) is Future}
                _runahead.share([f for f in found if id(f) not in direct] if direct else found,
                                self.clock)
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
            self._classify(entry, found)
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

    def _release(self, entry: Entry) -> None:
        """An entry ran or was discarded: an effect is pending no longer."""
        if entry.kind != EFFECT:
            return
        self._release_effect(entry)
        if entry.context:
            entry.context = False
            self.context_pending -= 1

    # -- running ----------------------------------------------------------------

    def _start(self, entry: Entry) -> None:
        """Inputs are ready: queue a task for dispatch, or run a read.

        One made while an effect was pending waits for that effect to run, unless
        what it reads is known now to be out of every pending effect's reach.
        """
        if entry.after is not None and self._held_back(entry):
            return
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
            args = [value_of(a._af_value) if isinstance(a, Future) else a for a in entry.args]
            kwargs = entry.kwargs
        else:
            args = resolve(entry.args)
            kwargs = resolve(entry.kwargs)
        self.logs.append(collections.deque())
        saved = self._effects_saved()
        caller = tracebacks.trampoline(entry.site) if entry.kind == EFFECT else None
        run = entry.run
        try:
            if caller is None:
                value = run(*args, **kwargs)
            else:
                if run is call_method:  # looked up now, called from the user's line
                    try:
                        run = getattr(args[0], args[1])
                    except Exception as exc:
                        tracebacks.failed_at(exc, "attribute", args[1])
                        raise
                    args = args[2:]
                elif run is call_value:
                    run, args = args[0], args[1:]
                value = caller(run, args, kwargs)
            self.barrier()
        except BaseException as exc:  # noqa: BLE001 - raised in program order
            self.logs.pop()
            self._effects_restored(saved)
            entry.site = tracebacks.refine(entry.site, exc)
            self._finish(entry, failure=(exc, (), exc.__traceback__))
            return
        self.logs.pop()
        self._effects_restored(saved)
        if entry.kind == READ and entry.future._af_shared != 1 \
                and type(value) not in _runahead.VALUES and not _runahead.fixed(value) \
                and not _runahead.derived_private(entry.run, entry.args, entry.kwargs):
            # It may be any object the program holds, from the start: entries made
            # before a later effect was given this future (which shared it from then
            # on) must not take it for private either.
            entry.future._af_shared = 1
        self._finish(entry, value=value)

    def _finish(self, entry: Entry, value=_UNSET, failure=None) -> None:
        if entry.finished or entry.discarded:
            return
        if entry.held is not None and self._held_result(entry, value, failure):
            return  # a speculative task: its result waits for _validate
        entry.finished = True
        entry.sent = None
        if entry.needs:
            self._done_needs(entry)
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
        if entry.slice is not None:  # a map's elements not given a value fail with it
            entry.slice.settle(self, failure)
        entry.run = entry.args = entry.kwargs = entry.handling = None
        entry.future = None  # the future keeps its entry, not the other way round
        dependents = future._af_dependents
        if not dependents:
            return
        future._af_dependents = ()
        if failure is None:
            # No reference of ours keeps it alive while dependents are sent: a task may
            # then take a held value no future refers to (see runtime.locality).
            del future
            self._wake_dependents(dependents, None, None)
        else:
            self._wake_dependents(dependents, failure, future)

    def _wake_dependents(self, dependents, failure, future) -> None:
        """A future has its value (``failure`` None) or failed: the entries waiting for it."""
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
        waiters = entry.waiters
        if waiters:
            entry.waiters = ()
        if entry.output:
            outcomes.replay(entry.output)
            entry.output = None
        if self.observers and entry.kind == TASK:
            self._emit({"event": "commit", "id": entry.number,
                        "failed": entry.failure is not None, "time": time.time()})
        if entry.failure is not None:
            exc, remote_frames, local_tb = outcomes.failure_exception(entry)
            if not self.options.keep_going or isinstance(exc, (SystemExit, KeyboardInterrupt)):
                self.discard_rest()
                exceptions.raise_as_is(
                    tracebacks.mark(exc, tracebacks.build(entry.site, remote_frames, local_tb)))
            self._report(entry, exc, tracebacks.build(entry.site, remote_frames, local_tb))
        if waiters:
            self._wake(waiters)

    def _report(self, entry: Entry, exc: BaseException, tb) -> None:
        """--keep-going: say each root failure once, at its turn, and go on."""
        if entry.failure[0] == "dependency":
            self.skipped.append(entry.label)
            return
        self.failures.append(entry.label)
        sys.stdout.flush()
        print(f"autofuture: {entry.label} failed; --keep-going goes on with the work "
              "that does not depend on it:", file=sys.stderr)
        # Python's own printer: the program's sys.excepthook is for the error that ends it.
        tracebacks.print_exception(tracebacks.mark(exc, tb), sys.__excepthook__)

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
        if self.behind_failure:
            self._release_behind()

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
            if inbox.empty():  # this thread alone takes from it: get() returns what is there
                # Idle until a result comes: what the program printed goes out now, so
                # that a kill meanwhile (a launcher ending every MPI rank when one dies,
                # a SIGKILL) cannot lose output that came before it. (Not in an
                # ``except queue.Empty``: a Ctrl-C while waiting would carry it as context.)
                outcomes.flush_output()
            self._receive(inbox.get())

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
            exceptions.raise_as_is(future._af_error)
        value = value_of(future._af_value)
        if type(value) not in _runahead.VALUES and not _runahead.fixed(value):
            # The workflow gets an object an effect before this point may change: it
            # sees it once they have run (a task's result no effect was given is out
            # of their reach), and from now on it is the program's to hold anywhere.
            if self.effect is not None and not _runahead.private(future) \
                    and self.conflicts(value, deep=True):
                self.settle_effects()
            _runahead.share((future,), self.clock + 1)
        return value

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
            if self.holding:
                self._drop_held()
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

