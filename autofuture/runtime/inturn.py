"""Reads of plain objects at their program position (SPEC §5), for ``runtime.abi``.

While an effect is pending, the workflow may not read an object that effect
may change before it has run, whatever name the object is reached through
(``runtime.runahead`` has the rule). What rewritten code reads itself (a
test, a loop, an unpacking) settles the effects first (``settled``); a loop
over something that can change takes each step after the effects made
before it, by earlier iterations too (``in_turn``); ``conflicts`` says
whether a read of builtin code may run now or becomes a lazy read in the log.
"""

from __future__ import annotations

import gc

from . import current as _slot
from . import runahead as _runahead
from .runahead import VALUES

#: Containers whose truth, length, items and iteration are builtin code reading
#: their own structure.
STRUCTURED = frozenset({list, dict, set, tuple, frozenset, bytearray})


def effect_pending():
    """The scheduler when an effect is pending in its current log, else None."""
    scheduler = _slot.scheduler
    if scheduler is None or scheduler.effect is None:
        return None
    return scheduler


def clock() -> int:
    """A stamp after every entry made so far (see ``runahead.share``)."""
    return _slot.scheduler.clock + 1 if _slot.scheduler is not None else 1


def settled(obj) -> None:
    """The workflow is about to read the plain object ``obj`` itself (a test, a loop, an
    unpacking): effects before this point that may change it run first."""
    scheduler = _slot.scheduler
    if scheduler is not None and scheduler.effect is not None \
            and scheduler.conflicts(obj, deep=type(obj) not in STRUCTURED):
        scheduler.settle_effects()


def conflicts(scheduler, fn, args, kwargs=None) -> bool:
    """Could a pending effect change what ``fn(*args, **kwargs)``, a read, sees now?"""
    deep = bool(kwargs) or not _runahead.structural_read(fn, args)
    for arg in args:
        if type(arg) not in VALUES and scheduler.conflicts(arg, deep):
            return True
    return bool(kwargs) and any(scheduler.conflicts(value, True) for value in kwargs.values())


#: Builtin views and iterators whose next item is read from the containers they
#: hold (found with gc.get_referents), from those containers' structure alone.
_ITERATORS = frozenset(type(x) for x in (
    {}.keys(), {}.values(), {}.items(), iter([]), iter(()), iter({}), iter(set()),
    iter({}.values()), iter({}.items()), reversed([]), iter(range(1)), iter(""),
    enumerate(()), zip(), reversed({}),
))


def _iterated(obj) -> list | None:
    """The containers a step of iterating ``obj`` reads the structure of; None when a
    step may run code of the program's (a generator, an object's ``__next__``)."""
    t = type(obj)
    if t in STRUCTURED:
        return [obj]
    if t not in _ITERATORS:
        return None
    found: list = []
    stack = gc.get_referents(obj)
    while stack:
        held = stack.pop()
        kind = type(held)
        if kind in VALUES:
            continue
        if kind is tuple:  # zip's iterators, enumerate's last result
            stack.extend(held)
        elif kind in STRUCTURED:
            found.append(held)
        elif kind in _ITERATORS:
            stack.extend(gc.get_referents(held))
        else:
            return None
    return found


def in_turn(iterable):
    """Iterate ``iterable``, each step after the effects before it that may change it."""
    sources = _iterated(iterable)

    def settle(scheduler):
        if sources is None:  # a generator or an object: it may read anything
            conflict = scheduler.conflicts(iterable, True)
        else:
            conflict = any(scheduler.conflicts(source, False) for source in sources)
        if conflict:
            scheduler.settle_effects()

    scheduler = _slot.scheduler
    if scheduler is not None and scheduler.effect is not None:
        settle(scheduler)
    iterator = iter(iterable)
    while True:
        scheduler = _slot.scheduler
        if scheduler is not None and scheduler.effect is not None:
            settle(scheduler)
        try:
            item = next(iterator)
        except StopIteration:
            return
        yield item
