"""A task's frames, read on the worker and drawn again in the workflow.

A frame cannot travel, so the worker sends each as (filename, lineno, name,
end_lineno, col, end_col[, names]): the positions are those of the
instruction that was running, which is what Python draws the caret line
from. The workflow stands in for the frame with one compiled ``raise`` at
those positions, run once to get a real frame and ``tb_lasti``, so every
printer (the interpreter's, the ``traceback`` module's) prints the line,
its carets, and the function's name as the worker did.

Python computes "Did you mean" for a ``NameError`` from the last frame's
names, when it prints; the worker sends them (``names``) for that frame,
and its stand-in is given them.
"""

from __future__ import annotations

import ast
import builtins
import itertools
import os
import sys
import types

#: autofuture's own source tree (every layer's folder under it).
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_internal_files: dict[str, bool] = {}


def internal(filename: str) -> bool:
    """autofuture's own frames, and importlib's, which Python hides from tracebacks too."""
    known = _internal_files.get(filename)
    if known is None:
        known = _internal_files[filename] = filename.startswith(PACKAGE_DIR + os.sep) \
            or filename.startswith("<frozen importlib._bootstrap")
    return known


# -- the worker side ---------------------------------------------------------------------

def read(exc: BaseException) -> tuple:
    """The frames of ``exc``'s traceback that are the task's (not autofuture's), and for a
    NameError the names its last frame could see."""
    frames = []
    last = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if not internal(code.co_filename):
            frames.append((code.co_filename, tb.tb_lineno, code.co_name,
                           *_position(code, tb.tb_lasti)))
            last = tb.tb_frame
        tb = tb.tb_next
    name = getattr(exc, "name", None) if isinstance(exc, NameError) else None
    if frames and isinstance(name, str):
        frames[-1] = (*frames[-1], _visible_names(last, name))
    return tuple(frames)


def _position(code, lasti: int) -> tuple:
    """(end_lineno, col, end_col) of the instruction at ``lasti``; Nones before 3.11."""
    if lasti < 0 or not hasattr(code, "co_positions"):
        return (None, None, None)
    try:
        _, end_lineno, col, end_col = next(
            itertools.islice(code.co_positions(), lasti // 2, None))
    except StopIteration:
        return (None, None, None)
    return (end_lineno, col, end_col)


def _visible_names(frame, name: str) -> tuple:
    """What Python reads to suggest a name: (locals, globals, the name if ``self`` has it,
    the module's name). A function sent by value has only the globals it reads here:
    the workflow adds its module's others (see ``_module_names``)."""
    if sys.version_info >= (3, 12):
        local = tuple(frame.f_locals)
        this = frame.f_locals.get("self", None) if "self" in local else None
        has = name if this is not None and _hasattr(this, name) else None
    else:  # 3.10 and 3.11 read the code's variable names
        local, has = tuple(frame.f_code.co_varnames), None
    module = frame.f_globals.get("__name__")
    return (local, tuple(frame.f_globals), has, module if isinstance(module, str) else None)


def _hasattr(obj, name: str) -> bool:
    try:
        return hasattr(obj, name)
    except Exception:  # noqa: BLE001 - a property that raises: no hint, as in Python
        return False


# -- the workflow side -------------------------------------------------------------------

def traceback_of(frames, tail=None) -> types.TracebackType | None:
    """A traceback of stand-ins for ``frames`` (outermost first), followed by ``tail``."""
    for frame in reversed(frames):
        stand_in, lasti = _stand_in(*frame)
        tail = types.TracebackType(tail, stand_in, lasti, max(frame[1] or 1, 1))
    return tail


class _Marker(Exception):
    pass


_MARKER = "__autofuture_remote_frame__"
#: (frame, lasti) of a stand-in by (filename, lineno, name, end_lineno, col, end_col).
_stand_ins: dict[tuple, tuple] = {}
_STAND_INS_KEPT = 4096


def _stand_in(filename: str, lineno: int, name: str, end_lineno=None, col=None,
              end_col=None, names=None) -> tuple:
    """(frame, lasti) standing in for a frame that ran on a worker."""
    key = (filename, lineno, name, end_lineno, col, end_col)
    if names is None:
        known = _stand_ins.get(key)
        if known is not None:
            return known
    code = _code(*key)
    namespace = {"__name__": "__autofuture_remote__", _MARKER: _Marker()}
    if names is not None:
        local, global_, self_has, module_name = names
        global_ = _module_names(module_name, filename, global_)
        if sys.version_info < (3, 12):  # 3.10 and 3.11 read co_varnames, then f_globals
            try:
                code = code.replace(co_varnames=tuple(local), co_nlocals=len(local))
                local = ()
            except (TypeError, ValueError):
                pass
        # From 3.12 suggestions read f_locals, then f_globals: here the same dict.
        namespace = {**dict.fromkeys(local), **dict.fromkeys(global_), **namespace}
        if self_has:
            namespace["self"] = types.SimpleNamespace(**{self_has: None})
        namespace["__builtins__"] = builtins
    try:
        exec(code, namespace)
    except _Marker as marker:
        tb = marker.__traceback__.tb_next
        found = (tb.tb_frame, tb.tb_lasti)
    else:
        raise AssertionError("unreachable")
    if names is None:
        if len(_stand_ins) >= _STAND_INS_KEPT:
            _stand_ins.clear()
        _stand_ins[key] = found
    return found


def _module_names(module_name, filename: str, sent) -> list:
    """A frame's global names: its module's in this process when it is loaded here (a
    function sent by value took only the globals it reads), then those only the
    worker had."""
    module = sys.modules.get(module_name) if module_name else None
    names = getattr(module, "__dict__", None)
    if not isinstance(names, dict) or getattr(module, "__file__", None) != filename:
        return list(sent)
    return [*names, *(name for name in sent if name not in names)]


def _code(filename, lineno, name, end_lineno, col, end_col) -> types.CodeType:
    """One ``raise`` at the given positions (no columns: no caret line)."""
    lineno = max(lineno or 1, 1)
    if col is None or end_col is None or end_lineno is None or end_lineno < lineno \
            or (end_lineno == lineno and end_col < col):
        end_lineno, col, end_col = lineno, -1, -1
    statement = ast.Raise(exc=ast.Name(id=_MARKER, ctx=ast.Load()), cause=None)
    for node in (statement, statement.exc):
        node.lineno, node.end_lineno, node.col_offset, node.end_col_offset = \
            lineno, end_lineno, col, end_col
    code = compile(ast.Module(body=[statement], type_ignores=[]), filename, "exec")
    try:
        return code.replace(co_name=name)
    except (TypeError, ValueError):
        return code
