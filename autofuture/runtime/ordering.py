"""Pending effects, and the entries that must come after them (SPEC §5).

``Ordering`` is mixed into ``Scheduler``: it keeps the current log's pending
effects (the last of them, how many may change anything, and the objects the
others may write, as ``runtime.effects`` classifies them when they are made),
and decides for a task or a read made meanwhile whether it may run ahead of
them (``runtime.runahead`` has the rule: a read that involves a mutable object
waits for the effects before it, whatever name the object is reached through,
unless what it reaches is computed to be out of their reach).

A task that must wait is captured and sent at once all the same,
speculatively (``Entry.held``): its result is held until the effect it waits
for has run, and kept only if its inputs, captured again then, give the very
bytes that were sent; otherwise it runs again with the new capture. Nothing
the program can see happens early: the result commits in program order.
"""

from __future__ import annotations

from ..worker import serialize
from . import effects as _effects
from . import held as _held
from . import runahead as _runahead
from .entries import EFFECT, READ, TASK, Entry
from .future import Future
from .values import _ATOMS, find_futures

SPECULATING, RERUN = "speculating", "rerun"  # Entry.held, besides a held result


def call_method(obj, name: str, *args, **kwargs):
    """``obj.name(*args, **kwargs)``, the method looked up when it runs."""
    return getattr(obj, name)(*args, **kwargs)


def call_value(fn, *args, **kwargs):
    """A call of what a future holds."""
    return fn(*args, **kwargs)


class Ordering:
    def _init_ordering(self) -> None:
        # The current log's pending effects: the last of them, how many may change
        # anything (a library's code, code that reaches objects by name), and the
        # objects the others may write (by id: [object, how many]).
        self.effect: Entry | None = None
        self.opaque = 0
        self.clock = 0  # counts the entries made: where values stopped being private
        self.writes: dict[int, list] = {}

    # -- what a read made now may see -------------------------------------------------

    def order(self, entry: Entry, inputs, deep: bool = True) -> None:
        """A task or read made now: after the pending effects if it may read what they
        change (``inputs``: its arguments and what else it reads; ``deep``: all they
        hold too, not only their own structure)."""
        effect = self.effect
        if effect is None:
            return
        futures: list = []
        for obj in inputs:
            if type(obj) not in _runahead.VALUES \
                    and self._reaches_writes(obj, deep, futures, entry.kind == TASK):
                entry.after = effect  # no exemption
                return
        if futures:
            entry.after = effect
            entry.check = (self.clock + 1, futures)  # ``add`` gives it that clock

    def conflicts(self, obj, deep: bool) -> bool:
        """Could a pending effect change what a read of ``obj`` made now sees (``deep``:
        of all it holds too, futures among it included)?"""
        if self.effect is None:
            return False
        if not deep:  # ``obj`` alone: no walk (the fast paths of reads ask this)
            t = type(obj)
            if t in _ATOMS or t is tuple or t is frozenset or isinstance(obj, type):
                return False
            if t is Future:
                return True
            writes = self.writes
            return bool(writes) and id(obj) in writes or bool(self.opaque) \
                and not _runahead.fixed(obj)
        futures: list = []
        return self._reaches_writes(obj, deep, futures) or bool(futures)

    def _reaches_writes(self, obj, deep: bool, futures: list, capture=False) -> bool:
        mutables = _runahead.reach(obj, deep, futures, capture)
        if mutables is None:
            return True
        if not mutables:
            return False
        if self.opaque:
            return True
        writes = self.writes
        return bool(writes) and any(id(item) in writes for item in mutables)

    def settle_effects(self) -> None:
        """Run every pending effect (and what comes before it) of the current log."""
        effect = self.effect
        if effect is not None:
            self.drain(until=lambda: effect.committed or effect.discarded)

    # -- effects: made, and run --------------------------------------------------------

    def _classify(self, entry: Entry, found: list) -> None:
        """What a new effect may change (see ``effects.effect_writes``); the futures it
        keeps (all, when it may change anything) are no longer private."""
        known = None
        if not self.opaque:  # after a call that may change anything, nothing is known
            run, args = entry.run, entry.args
            if run is call_method and type(args[0]) in _effects.CONTAINERS:
                run, args = getattr(args[0], args[1], None), args[2:]
            elif run is call_method and type(args[0]) is not Future:
                run, args = getattr(type(args[0]), args[1], None), (args[0], *args[2:])
            elif run is call_method or run is call_value:
                run = None
            if run is not None:
                known = _effects.effect_writes(run, args, entry.kwargs)
                if known is None:  # a call of the program's: what can it reach?
                    reach = _effects.call_reach(run, args, entry.kwargs)
                    if reach is not None:
                        if self.writes and any(id(obj) in self.writes for obj in reach):
                            # earlier effects may link more to these before it runs
                            reach += (obj for obj, _ in self.writes.values())
                        known = (reach, (*args, *entry.kwargs.values()))
        entry.future._af_shared = 1  # whatever it returns may be held anywhere
        self.effect = entry
        if known is None:
            entry.writes = None
            self.opaque += 1
            _runahead.share(found, self.clock)
            return
        entry.writes, kept = known
        writes = self.writes
        for obj in entry.writes:
            counted = writes.get(id(obj))
            if counted is None:
                writes[id(obj)] = [obj, 1]
            else:
                counted[1] += 1
        if kept:
            kept_found: list = []
            find_futures(kept, kept_found)
            _runahead.share(kept_found, self.clock)

    def _release_effect(self, entry: Entry) -> None:
        """An effect ran or was discarded: it is pending no longer."""
        if entry is self.effect:
            self.effect = None
        if entry.writes is None:
            self.opaque -= 1
        else:
            writes = self.writes
            for obj in entry.writes:
                counted = writes[id(obj)]
                counted[1] -= 1
                if not counted[1]:
                    del writes[id(obj)]
        entry.writes = ()

    def _effects_saved(self) -> tuple:
        """While a read or an effect runs, its own log starts with no pending effect."""
        saved = self.effect, self.opaque, self.writes
        self.effect, self.opaque, self.writes = None, 0, {}
        return saved

    def _effects_restored(self, saved: tuple) -> None:
        self.effect, self.opaque, self.writes = saved

    # -- entries that wait for an effect -----------------------------------------------

    def _held_back(self, entry: Entry) -> bool:
        """Must ``entry``, whose inputs are ready, wait for the effect it was made after?
        A task is then sent speculatively where it can be, and not held back."""
        after = entry.after
        check = entry.check
        if not (after.committed or after.discarded) and not (
                check and _runahead.may_pass(check, entry if entry.kind == READ else None)):
            if after.waiters:
                after.waiters.append(entry)
            else:
                after.waiters = [entry]
            if not (entry.kind == TASK and check is None and self._may_speculate()):
                return True
            entry.held = SPECULATING  # checked when ``after`` has run (_validate)
        entry.after = entry.check = None
        return False

    def _may_speculate(self) -> bool:
        """Can a task be sent before the effects it may read (see ``_validate``)?"""
        if self.executor is None:
            self._open_executor()
        return not self.executor.inline and self.checkpoint is None \
            and self.context_pending == 0

    def _wake(self, waiters) -> None:
        """The effect these entries waited for has run."""
        for waiter in waiters:
            if waiter.finished or waiter.discarded:
                continue
            if waiter.held is not None:
                self._validate(waiter)
            elif waiter.deps == 0:
                self._start(waiter)

    def _validate(self, entry: Entry) -> None:
        """The effects before a speculative task have run: keep its result if its inputs,
        captured now, are what it was sent; else it runs again with this capture."""
        held = entry.held
        entry.held = None
        if entry.sent is None:
            if held is not SPECULATING:  # its capture failed: try again, now
                self._rerun(entry)
            return  # not sent yet: it is captured when it is, a time that is right
        try:
            same = self._captured_again(entry)
        except Exception:  # noqa: BLE001 - cannot be captured now: it runs again, and fails
            same = False
        if same:
            entry.args = entry.kwargs = None
            if held is not SPECULATING:
                self._finish(entry, *held)
        elif held is SPECULATING:
            entry.held = RERUN  # still running: sent again when it is back
        else:
            self._rerun(entry)

    def _captured_again(self, entry: Entry) -> bool:
        (_, function_sent), (data_sent, rest_sent) = entry.sent
        if self.functions.get(entry.run)[1] != function_sent:
            return False
        # Held inputs are captured as the references they were sent as, not fetched.
        collecting, _held.collecting = _held.collecting, []
        try:
            data, rest = serialize.call_payload(*valued(entry.args, entry.kwargs))
        finally:
            _held.collecting = collecting
        if data is None or data_sent is None:
            return data is data_sent and rest == rest_sent
        return data == data_sent and len(rest) == len(rest_sent) and all(
            _raw(now) == _raw(then) for now, then in zip(rest, rest_sent, strict=True))

    def _rerun(self, entry: Entry) -> None:
        entry.output = None
        entry.sent = None
        self._done_needs(entry)  # its held inputs are counted again at the new capture
        self._resend(entry)

    def _held_result(self, entry: Entry, value, failure) -> bool:
        """A speculative task's result came: held for ``_validate`` (True), or the task
        runs again now (a new capture was taken meanwhile)."""
        if entry.held is RERUN:
            entry.held = None
            self._rerun(entry)
        else:
            entry.held = (value, failure)
        return True


def valued(args, kwargs) -> tuple:
    """A task's arguments with the futures among them (all finished) replaced by their
    values: the same payload whether an argument was a future or its value, so that a
    --checkpoint key does not depend on which it was at the call. (A value held on a
    worker stays its future, which is sent as a reference to it.)"""
    if any(type(arg) is Future for arg in args):
        args = tuple(_plain(arg) for arg in args)
    if kwargs and any(type(value) is Future for value in kwargs.values()):
        kwargs = {k: _plain(v) for k, v in kwargs.items()}
    return args, kwargs


def _plain(x):
    if type(x) is Future and type(x._af_value) is not _held.Held:
        return x._af_value
    return x


def _raw(buffer) -> memoryview:
    """A payload's out-of-band buffer as bytes, to compare (NaN and all)."""
    raw = getattr(buffer, "raw", None)
    return raw() if raw is not None else memoryview(buffer).cast("B")


__all__ = ["EFFECT", "RERUN", "SPECULATING", "Ordering", "call_method", "call_value", "valued"]
