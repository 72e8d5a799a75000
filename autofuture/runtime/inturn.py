"""Reads of plain objects at their program position (SPEC §5), for ``runtime.abi``.

While an effect is pending, the workflow may not read an object that effect
may change before it has run, whatever name the object is reached through
(``runtime.runahead`` has the rule). What rewritten code reads itself (a
test, a loop, an unpacking) settles the effects first (``settled``); a loop
over something that can change takes each step after the effects made
before it, by earlier iterations too (``in_turn``), and a loop whose steps
run the program's own code (a generator's body, which may print) takes each
step after everything before it; ``conflicts`` says whether a read of
builtin code may run now or becomes a lazy read in the log.
"""

from __future__ import annotations

import dis
import functools
import gc
import io
import types

from . import callees as _callees
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


#: Instructions by which a generator's step may run code other than reads: calls,
#: iterating or delegating to another object, imports, and stores outside its frame.
_RUNS_CODE = frozenset(
    op for name, op in dis.opmap.items()
    if name.startswith(("CALL", "PRECALL", "GET_ITER", "GET_AITER", "GET_YIELD_FROM_ITER",
                        "SEND", "YIELD_FROM", "IMPORT", "STORE_GLOBAL", "DELETE_GLOBAL",
                        "STORE_ATTR", "DELETE_ATTR", "STORE_SUBSCR", "DELETE_SUBSCR",
                        "STORE_DEREF", "DELETE_DEREF", "STORE_NAME", "DELETE_NAME"))
    and not name.startswith("CALL_INTRINSIC"))  # 3.12's own steps (a StopIteration's)
_DEPTH = 8


@functools.lru_cache(maxsize=256)
def _quiet_code(code) -> bool:
    """Code that only reads: no call or delegation, no store outside its own locals
    (nested code objects included). Reads that run code (a property, ``__eq__``)
    are taken to read only, as everywhere (docs/decisions.md)."""
    for instruction in dis.get_instructions(code):
        if instruction.opcode in _RUNS_CODE:
            return False
    return all(_quiet_code(const) for const in code.co_consts if isinstance(const, types.CodeType))


def _quiet(obj, depth: int = 0) -> bool:
    """Does taking a step of iterating ``obj`` run no code of the program's that may write
    (print, change an object, read what a task wrote)? Unknown objects may."""
    t = type(obj)
    if t in VALUES or t in STRUCTURED or isinstance(obj, io.IOBase):
        return True  # a file's lines are read at the loop's place (docs/decisions.md)
    if depth > _DEPTH:
        return False
    if t is types.GeneratorType:
        frame = obj.gi_frame
        if frame is None:
            return True  # finished
        return _quiet_code(obj.gi_code) and all(
            _quiet(value, depth + 1) for value in frame.f_locals.values())
    if t is type:
        return True  # a builtin class (map(str, xs)); a class of the program's is not
    if t is types.BuiltinFunctionType:
        return _callees.is_pure(obj)
    if t is tuple or t in _ITERATORS or not t.__flags__ & _HEAPTYPE and \
            t.__module__ in ("builtins", "itertools") and hasattr(t, "__next__"):
        return all(_quiet(held, depth + 1) for held in _held(obj) if held is not t)
    return False


def _held(obj):
    """What a builtin iterator holds; the items of its tuples and lists too, which it
    may iterate in turn (``chain``'s iterables, ``zip``'s iterators)."""
    for held in gc.get_referents(obj):
        if type(held) is tuple or type(held) is list:
            yield from held
        else:
            yield held


_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement


def in_turn(iterable):
    """Iterate ``iterable``, each step after the effects before it that may change it;
    when a step runs the program's code, after everything before it."""
    if not _quiet(iterable):
        return _one_at_a_time(iterable)
    return _ahead(iterable)


def _one_at_a_time(iterable):
    """Each step is a local call of the program's code: it runs at its turn, after
    every task and effect before it (a generator that prints, between the tasks'
    output; it raises the first earlier failure first, as the plain run would)."""
    iterator = iter(iterable)
    while True:
        scheduler = _slot.scheduler
        if scheduler is not None and scheduler.logs[-1]:
            scheduler.barrier()
        try:
            item = next(iterator)
        except StopIteration:
            return
        yield item


def _ahead(iterable):
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
