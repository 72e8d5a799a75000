"""Tracebacks that look like the plain run's.

A task error is raised in the workflow long after its call, from inside the
runtime. Its traceback is rebuilt from the call site (the user's frames as
they were at the call) and the task's own frames on the worker, so it runs
through the user's call-site line and the line that raised, and nothing of
autofuture's (unless ``AUTOFUTURE_DEBUG=1``).
"""

from __future__ import annotations

import dis
import os
import sys
import types

from .. import _config
from ..worker import frames

_internal = frames.internal  # autofuture's own frames, and importlib's


#: Code objects of the runner's frame: a call site ends there (runpy lies above). Found
#: by id: hashing a code object hashes all of its bytecode and constants, every time.
_runner_codes: dict[int, types.CodeType] = {}


def add_runner(code: types.CodeType) -> None:
    _runner_codes[id(code)] = code


def call_site(depth: int = 1) -> tuple:
    """The user's frames at this moment, innermost first: ((frame, lineno, lasti), ...)."""
    frame = sys._getframe(depth)
    site = []
    while frame is not None:
        code = frame.f_code
        if id(code) in _runner_codes:
            break
        if not _internal(code.co_filename):
            site.append((frame, frame.f_lineno, frame.f_lasti))
        frame = frame.f_back
    return tuple(site)


_returned: list = [None]  # the frame of the workflow function returning to call_workflow


def returning(frame) -> None:
    """A workflow function's frame, as it returns its futures to a futurized caller."""
    _returned[0] = frame


def call_workflow(fn, box: list):
    """``fn(*args, **kwargs)`` for a workflow function, ``box`` being ``[args, kwargs]``;
    then its finished frame lets go of its locals.

    The call sites of the tasks it started keep its frame (tracebacks are built
    through it), and with it the frames it was called from: a frame that outlives
    its call keeps every local. A future the function is done with would then look
    still in use, and a task reading that result on its worker would get a copy
    instead of taking it (a chain of steps copying each array). So the arguments
    reach ``fn`` through no local of ours or of ``abi.call``, and ``fn``'s own frame
    is cleared once it returned; tracebacks need only its code, globals and line.
    """
    _returned[0] = None
    result = fn(*box.pop(0), **box.pop())
    frame, _returned[0] = _returned[0], None
    if frame is not None and frame.f_code is getattr(getattr(fn, "__func__", fn),
                                                    "__code__", None):
        try:
            frame.clear()
        except RuntimeError:  # still running (a generator, another thread's)
            pass
    return result


def site_text(site) -> str:
    """'file.py:12' for the innermost user frame of a call site."""
    if not site:
        return "?"
    frame, lineno, _ = site[0]
    filename = frame.f_code.co_filename
    name = _basenames.get(filename)
    if name is None:
        name = _basenames[filename] = os.path.basename(filename)
    return f"{name}:{lineno}"


_basenames: dict[str, str] = {}


def name_file(filename: str, name: str) -> None:
    """Call sites in ``filename`` are labelled ``name``: a notebook cell's 'In[3]',
    where its file is a temporary name the user never sees."""
    _basenames[filename] = name


_trampoline_codes: dict[tuple[str, int], types.CodeType] = {}
_trampolines: set = set()
# Compiled once and moved to each call site's file and line with
# ``code.replace``: compiling anew cost ~60 us per site, paid by the first
# run of every module-level call of a Python function.
_TRAMPOLINE = next(
    c
    for c in compile("def call(fn, args, kwargs): return fn(*args, **kwargs)", "", "exec").co_consts
    if isinstance(c, types.CodeType)
)


def trampoline(site):
    """A caller for a deferred local call whose frame is the user's call-site line.

    Code that looks at its caller (``warnings.warn``, ``inspect.stack``)
    then sees the user's file, line and module, as in the plain run. Its
    frame is dropped from tracebacks, which are rebuilt from the site.
    """
    if not site:
        return None
    frame, lineno, _ = site[0]
    return _trampoline_at(frame, lineno)


def call_from_user_frame(fn, args, kwargs):
    """Call ``fn`` now, as if from the user's line that is running (see ``trampoline``)."""
    frame = sys._getframe(1)
    while _internal(frame.f_code.co_filename):
        frame = frame.f_back
    return _trampoline_at(frame, frame.f_lineno)(fn, args, kwargs)


def _trampoline_at(frame, lineno: int):
    key = (frame.f_code.co_filename, lineno)
    code = _trampoline_codes.get(key)
    if code is None:
        code = _TRAMPOLINE.replace(
            co_filename=key[0], co_firstlineno=max(lineno, 1), co_name=frame.f_code.co_name
        )
        _trampoline_codes[key] = code
        _trampolines.add(code)
    return types.FunctionType(code, frame.f_globals)


# -- where in a call it failed ------------------------------------------------------------
#
# One runtime call stands for a whole construct: ``__af__.method(obj, "name", ...)``
# for ``obj.name(...)``, ``__af__.fstring(...)`` for an f-string, ``__af__.unpack``
# for a target. Python points an error in the method lookup at ``obj.name``, (from
# 3.12) an error in a field at that field, and an unpacking error at the (inner)
# target; the rewriter gives those parts instructions of their own, at their own
# spans, and a failure there is reported with the frame's instruction moved onto them.

_AT = "__autofuture_at__"


def failed_at(exc: BaseException, part: str, detail) -> BaseException:
    """Note on ``exc`` the part of the call it came from: ("attribute", name),
    ("field", number of the f-string's field) or ("target", number of the unpacking
    target's tuple, depth first)."""
    try:
        setattr(exc, _AT, (part, detail))
    except (AttributeError, TypeError):
        pass
    return exc


def refine(site, exc: BaseException):
    """``site`` with its innermost instruction moved onto the part ``exc`` came from."""
    noted = getattr(exc, "__dict__", {}).pop(_AT, None)
    if noted is None or not site or not hasattr(types.CodeType, "co_positions"):
        return site
    frame, lineno, lasti = site[0]
    part, detail = noted
    instructions = list(dis.get_instructions(frame.f_code))
    # f_lasti may point into the call's inline caches, past its own offset.
    at = next((i for i in range(len(instructions) - 1, -1, -1)
               if instructions[i].offset <= lasti), None)
    if at is None:
        return site
    call = instructions[at].positions
    found = None
    if part == "attribute":
        # ``obj.name`` starts where the call does and ends inside it; in ``a.f().f()``
        # the outer call's lookup is the longest.
        for ins in instructions[:at]:
            if ins.opname == "LOAD_CONST" and ins.argval == detail \
                    and ins.positions[:1] == call[:1] and ins.positions[2] == call[2] \
                    and _within(ins.positions, call) \
                    and (found is None or _end(ins.positions) > _end(found.positions)):
                found = ins
    elif part == "target":
        # ``a, (b, c) = ...``: the target's tuples are unpacked right after the call,
        # depth first, each instruction at its tuple.
        unpacks = [ins for ins in instructions[at + 1:]
                   if ins.opname in ("UNPACK_SEQUENCE", "UNPACK_EX")]
        if detail < len(unpacks):
            found = unpacks[detail]
    elif part == "field" and sys.version_info >= (3, 12):  # 3.11 puts fields at the f-string
        start = next((i for i in range(at - 1, -1, -1)
                      if instructions[i].argval == "fstring"
                      and instructions[i].positions[:1] == call[:1]
                      and instructions[i].positions[2] == call[2]), None)
        if start is not None:
            fields = [ins for ins in instructions[start:at] if _within(ins.positions, call)
                      and (ins.opname == "BUILD_TUPLE" and ins.arg == 3
                           or ins.opname == "LOAD_CONST" and type(ins.argval) is tuple
                           and len(ins.argval) == 3)]
            outer = [ins for ins in fields if not any(
                other.positions != ins.positions and _within(ins.positions, other.positions)
                for other in fields)]
            if detail < len(outer):
                found = outer[detail]
    if found is None:
        return site
    return ((frame, lineno, found.offset), *site[1:])


def _end(position) -> tuple:
    return (position[1], position[3])


def _within(inner, outer) -> bool:
    if None in inner or None in outer:
        return False
    return (outer[0], outer[2]) <= (inner[0], inner[2]) and _end(inner) <= _end(outer)


def here(exc: BaseException) -> BaseException:
    """An error raised now by a runtime call, with the traceback Python would give it
    (its instruction moved as ``refine`` says)."""
    return mark(exc, build(refine(call_site(2), exc), local_tb=exc.__traceback__))


def build(site, remote_frames=(), local_tb=None) -> types.TracebackType | None:
    """A traceback from the call site (outermost first) down to where it was raised.

    ``remote_frames`` are a task's frames as ``worker.frames.read`` gives them;
    ``local_tb`` is the real traceback of a local call that ran later.
    """
    entries = [(frame, lasti, lineno) for frame, lineno, lasti in reversed(site)]
    tail = strip(local_tb) if local_tb is not None else None
    return _chain(entries, frames.traceback_of(remote_frames, tail))


def _chain(entries, tail=None):
    """A traceback of (frame, lasti, lineno) entries, outermost first, then ``tail``."""
    for frame, lasti, lineno in reversed(entries):
        tail = types.TracebackType(tail, frame, lasti, lineno)
    return tail


def strip(tb, pin=()):
    """The same traceback without autofuture's own frames.

    ``pin``: file names whose frames, where one has run on since its entry was
    made (a call site's frame, which went on running ahead), are replaced by a
    stand-in at the entry's line, for a renderer that reads a frame's current
    line instead of the traceback's (IPython's, for a notebook cell, which has
    no file it could read).
    """
    kept = []
    while tb is not None:
        frame, lasti, lineno = tb.tb_frame, tb.tb_lasti, tb.tb_lineno
        code = frame.f_code
        if not _internal(code.co_filename) and code not in _trampolines:
            if code.co_filename in pin and frame.f_lineno != lineno:
                stand_in = frames.traceback_of([frames.entry(code, lineno)])
                frame, lasti = stand_in.tb_frame, stand_in.tb_lasti
            kept.append((frame, lasti, lineno))
        tb = tb.tb_next
    return _chain(kept)


def _users_part(tb):
    """A Ctrl-C's traceback without what autofuture was calling when it came (loky
    starting its workers, a kernel's output stream being flushed): the user's code
    goes on below our frames only through a runner (the program, a notebook cell)
    or a trampoline (a local call)."""
    kept = []
    calling = False  # in frames that autofuture's own frames called
    while tb is not None:
        code = tb.tb_frame.f_code
        if code in _trampolines or id(code) in _runner_codes:
            calling = False
        elif _internal(code.co_filename):
            calling = True
        elif calling:
            tb = tb.tb_next
            continue
        kept.append((tb.tb_frame, tb.tb_lasti, tb.tb_lineno))
        tb = tb.tb_next
    return _chain(kept)


def in_handler(exc: BaseException) -> None:
    """Before 3.11, an ``except`` clause's ``sys.exc_info()`` keeps the traceback the
    exception was caught with, apart from ``exc.__traceback__``, and
    ``traceback.print_exc()`` prints that one: the handler gets the user's too.
    (``PyErr_SetExcInfo`` sets the handled exception of the frame calling this.)"""
    if sys.version_info >= (3, 11):
        return
    import ctypes

    api = ctypes.pythonapi
    api.Py_IncRef.argtypes = [ctypes.py_object]
    api.PyErr_SetExcInfo.argtypes = [ctypes.py_object] * 3
    api.PyErr_SetExcInfo.restype = None
    handled = (type(exc), exc, exc.__traceback__)
    for obj in handled:
        api.Py_IncRef(obj)  # PyErr_SetExcInfo takes a reference to each
    api.PyErr_SetExcInfo(*handled)


def mark(exc: BaseException, tb) -> BaseException:
    """Attach a rebuilt traceback; printing starts from it, not from where it surfaced."""
    exc.__traceback__ = tb
    try:
        exc.__autofuture_tb__ = tb
    except AttributeError:
        pass
    return exc


def clean(exc: BaseException, pin=()) -> None:
    """Make every traceback in the exception chain the one the user should see
    (``pin``: see ``strip``)."""
    if _config.debug():
        return
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        rebuilt = getattr(exc, "__autofuture_tb__", None)
        tb = exc.__traceback__
        if rebuilt is not None:
            probe = tb
            while probe is not None and probe is not rebuilt:
                probe = probe.tb_next
            tb = rebuilt if probe is not None or tb is None else tb
        if isinstance(exc, KeyboardInterrupt):
            tb = _users_part(tb)
        exc.__traceback__ = strip(tb, pin)
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def print_exception(exc: BaseException, hook=None) -> None:
    """Print an uncaught error as Python does: through ``sys.excepthook`` (or ``hook``).

    Before 3.12 only the interpreter's own printer (the default hook) adds
    "Did you mean" to a NameError or AttributeError; the traceback module does
    not.
    """
    clean(exc)
    (hook or sys.excepthook)(type(exc), exc, exc.__traceback__)
