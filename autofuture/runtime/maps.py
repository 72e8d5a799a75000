"""Maps: a list comprehension of one task call per element, as slices of one entry each.

``[f(x, y) for x in xs]`` (one generator, no ``if``, a name as its target, a
call of a name with names and constants as arguments: ``language/mapcalls.py``)
is rewritten to ``[__af__.each(f, x, y) for x in __af__.mapping(xs)]``.
When ``xs`` is a ``range``, ``list`` or ``tuple`` and ``f`` turns out to be a
task that the per-element path would send as is, consecutive elements go into
a *slice*: one log entry, one call-site capture, one message, the function
once, the argument tuples as one list, the values back as one list. Each
element still gets its own future at once; the slice commits in program
order like one task, its output being its elements' in order, its failure
the first failing element's (later elements do not run).

Why it is sound: between two elements of such a comprehension only the
element's own names and constants are evaluated and the sequence stepped,
none of which runs code; ``each`` checks, for every element, that the callee
is the same object, that every argument is an immutable value (a number, a
string, bytes, None, a range), and that the slice is still the last entry of
the current log (nothing else was made in between). Anything else closes the
slice and takes the per-element path (``abi.call``), as does every map under
``--keep-going``, ``--checkpoint``, ``--trace``/``--progress``, retries or
time limits, the serial executor, and a callee whose result has a fixed
arity, that reads a future, whose first call warns, or that a pending effect
could reach (the per-element path's own test, ``Scheduler.order``).
"""

from __future__ import annotations

import collections
import sys
import types

from ..worker import serialize
from . import callees, outcomes
from . import tracebacks as _tb
from .entries import TASK, Entry
from .future import _UNSET, Future
from .runahead import VALUES as _ATOMS  # immutable: numbers, strings, bytes, None, range
from .scheduler import current
from .values import find_futures

_SEQUENCES = frozenset({range, list, tuple})
#: Elements per slice: about this much work, once a function's time per element is known.
SLICE_SECONDS = 0.02
MAX_SLICE = 4096

_fallback = None  # abi.call and abi.iterate, handed in by runtime.abi (which imports this)
_iterate = None
_open = None  # the Map of the comprehension now running, else None
#: function -> mean seconds of one element, measured on the workers (slices of one
#: element until known: a slow task then runs in parallel from the start).
_seconds: dict = {}


class _Run:
    """What maps keep for one run (one scheduler: a notebook's cells each have one)."""

    def __init__(self, scheduler):
        self.scheduler = scheduler
        #: slices not yet committed, as (entry, elements), and how many elements beyond
        #: one entry each they hold: the look-ahead counts their elements
        self.slices: collections.deque = collections.deque()
        self.extra = 0
        #: function -> the entries of its slices sent before its time per element was known
        self.probes: dict = {}


_run = _Run(None)


def _run_of(scheduler) -> _Run:
    global _run
    if _run.scheduler is not scheduler:
        _run = _Run(scheduler)
    return _run


def bind(call, iterate) -> None:
    global _fallback, _iterate
    _fallback, _iterate = call, iterate


def mapping(obj):
    """What the comprehension iterates (``abi.iterate(obj)``), stepped by a Map when
    it may make slices."""
    global _open
    _open = None
    iterable = _iterate(obj)
    if type(obj) not in _SEQUENCES:
        return iterable
    m = _open = Map()
    return m.steps(iterable)


def each(fn, /, *args):
    """One element's ``fn(*args)``: added to the open slice, else a call as any other."""
    m = _open
    if m is not None:
        piece = m.piece
        if piece is not None and fn is piece.fn and m.log and m.log[-1] is piece.entry \
                and m.scheduler.logs[-1] is m.log:
            for arg in args:
                if type(arg) not in _ATOMS:
                    break
            else:
                future = Future(piece.entry)
                piece.futures.append(future)
                piece.arglists.append(args)
                if len(piece.arglists) >= piece.cap:
                    m.close()
                return future
        return m.slow(fn, args)
    return _fallback(fn, *args)


class Map:
    """One run of a comprehension: its open slice, and the callee it refused."""

    def __init__(self):
        self.scheduler = None  # and the log its elements go to, once a slice opens
        self.log = None
        self.piece = None
        self.refused = None

    def steps(self, iterable):
        global _open
        try:
            yield from iterable
        except BaseException:  # the comprehension ends with an error: no waiting here
            self.close(wait=False)
            raise
        finally:
            if _open is self:
                _open = None
        self.close()

    def slow(self, fn, args):
        """Not the open slice's element: close it, open one for ``fn`` if it may, or call."""
        global _open
        self.close()
        if fn is not self.refused and all(type(arg) in _ATOMS for arg in args):
            if self.open(fn):
                return each(fn, *args)
            self.refused = fn
        try:
            return _fallback(fn, *args)
        finally:
            _open = self  # a workflow called there may have run comprehensions of its own

    def open(self, fn) -> bool:
        """A slice for ``fn``'s next elements, if the per-element path would send it as is."""
        if type(fn) not in (types.FunctionType, callees.TaskFunction) \
                or callees.kind_of(fn) is not callees.TASK:
            return False
        options = callees.task_options(fn)
        if options is not None and (options.retries or options.retry_on or options.timeout):
            return False
        if callees.return_arity(fn) is not None or callees.first_call_warnings:
            return False
        scheduler = current()
        if self.scheduler is None:
            self.scheduler, self.log = scheduler, scheduler.logs[-1]
        elif scheduler is not self.scheduler or scheduler.logs[-1] is not self.log:
            return False
        run_options = scheduler.options
        if scheduler.context_pending or scheduler.observers or scheduler.checkpoint is not None \
                or run_options.keep_going or run_options.retries \
                or run_options.task_timeout is not None or run_options.lookahead < 16:
            return False  # each wants something per task: see docs/decisions.md, "Maps"
        if scheduler.executor is None:
            scheduler._open_executor()
        if scheduler.executor.inline:
            return False
        if fn not in _seconds:
            probes = _run_of(scheduler).probes.setdefault(fn, [])
            if len(probes) >= 2 * scheduler.executor.workers:
                # Every worker has an element of it: wait for the first to come back, and
                # then make slices of the size its time asks for (all the workers do
                # meanwhile is those elements, which is all they would do anyway).
                scheduler.drain(until=lambda: fn in _seconds or all(
                    entry.finished or entry.discarded for entry in probes))
                probes.clear()
        inputs = callees.implicit_inputs(fn)
        found: list = []
        find_futures(inputs, found)
        if found:
            return False
        site = _tb.call_site()
        entry = Entry(TASK, fn, None, {}, site, callees.task_name(fn), early=True)
        if scheduler.effect is not None:
            # What the per-element path asks of each task (runtime/ordering.py): its
            # arguments are atoms, out of any effect's reach; the rest is the same for
            # every element. Only a task free to go ahead of the effect is in a slice.
            if type(fn) is callees.TaskFunction:
                inputs = [*inputs, fn.__wrapped__]
            scheduler.order(entry, inputs)
            if entry.after is not None or entry.check is not None:
                return False
        entry.handling = sys.exc_info()[1]
        entry.deps = 1  # not ready while elements are added (see close)
        self.piece = entry.slice = Slice(fn, entry, self._cap(fn))
        if fn not in _seconds:
            _run.probes[fn].append(entry)
        scheduler.add(entry, ())  # (if it raises an earlier failure, close() drops the slice)
        log = scheduler.logs[-1]
        if log is not self.log or not log or log[-1] is not entry:
            self.close()  # not the last entry of this log after all: no elements in it
            return False
        return True

    def _cap(self, fn) -> int:
        seconds = _seconds.get(fn)
        if seconds is None:
            return 1
        cap = MAX_SLICE if seconds <= SLICE_SECONDS / MAX_SLICE else int(SLICE_SECONDS / seconds)
        return max(1, min(cap, self.scheduler.options.lookahead // 4))

    def close(self, wait: bool = True) -> None:
        """The open slice is complete: it goes out, and (``wait``) the look-ahead is kept."""
        piece = self.piece
        if piece is None:
            return
        self.piece = None
        scheduler = self.scheduler
        entry = piece.entry
        entry.args, entry.kwargs = (piece.arglists,), {}
        entry.deps -= 1
        size = len(piece.arglists)
        if entry.discarded or entry.finished:
            return
        if size == 0:  # no element came: nothing to run, nothing to show
            scheduler._finish(entry, value=None)
        else:
            run = _run_of(scheduler)
            run.slices.append((entry, size))
            run.extra += size - 1
            scheduler._start(entry)
            if scheduler.ready:
                scheduler._dispatch(force=True)
        if not wait:
            return
        limit = scheduler.options.lookahead
        if _weight(scheduler) >= limit:
            scheduler.drain(until=lambda: _weight(scheduler) < limit // 2)
        elif not scheduler.inbox.empty():
            scheduler.drain()


def _weight(scheduler) -> int:
    """Entries pending in the log, a slice counting as its elements."""
    run = _run_of(scheduler)
    slices = run.slices
    while slices and (slices[0][0].committed or slices[0][0].discarded):
        run.extra -= slices.popleft()[1] - 1
    return len(scheduler.logs[-1]) + run.extra


class Slice:
    """Consecutive elements of one map: their callee, argument tuples and futures."""

    __slots__ = ("fn", "entry", "cap", "arglists", "futures")

    def __init__(self, fn, entry, cap):
        self.fn = fn
        self.entry = entry
        self.cap = cap
        self.arglists: list = []
        self.futures: list = []

    def received(self, scheduler, entry, ok, payload, output, timing) -> None:
        """The worker's reply: the elements' values up to the first failure, if any."""
        if len(payload) == 3:  # an ErrorInfo: its function or arguments could not be loaded
            scheduler._finish(entry, failure=outcomes.rebuild(payload, entry))
            return
        data, failed = payload
        try:
            values = serialize.load(data)
        except Exception as exc:  # noqa: BLE001 - reported at the slice's turn
            scheduler._finish(entry, failure=(exc, (), exc.__traceback__))
            return
        done = len(values) + (not ok)
        if done:
            _seconds[self.fn] = (timing[1] - timing[0]) / done
        entry.output = output or None
        futures = self.futures
        for future, value in zip(futures, values, strict=False):  # fewer after a failure
            future._af_value = value
            future._af_settle(value)
            dependents = future._af_dependents
            if dependents:
                future._af_dependents = ()
                scheduler._wake_dependents(dependents, None, None)
        if ok:
            scheduler._finish(entry, value=None)
        else:
            scheduler._finish(entry, failure=outcomes.rebuild(failed, entry))

    def settle(self, scheduler, failure) -> None:
        """The slice finished: elements without a value fail with it (or, if none
        failed, have one already). Then it lets go of them: the futures keep the
        entry, not the other way round."""
        futures = self.futures
        self.futures = self.arglists = ()
        if failure is None:
            return
        error = failure[1]._af_error if failure[0] == "dependency" else failure[0]
        for future in futures:
            if future._af_value is _UNSET and future._af_error is None:
                future._af_error = error
                future._af_settle(error=error)
                dependents = future._af_dependents
                if dependents:
                    future._af_dependents = ()
                    scheduler._wake_dependents(dependents, failure, future)
