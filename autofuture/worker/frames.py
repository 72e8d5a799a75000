"""A task's frames, read on the worker and drawn again in the workflow.

A frame cannot travel, so the worker sends each as (filename, lineno, name,
end_lineno, col, end_col[, names[, parameters, first]]): the positions are
those of the instruction that was running, which is what Python draws the
caret line from. The workflow stands in for the frame with one compiled
``raise`` at those positions, run once to get a real frame and ``tb_lasti``
(a real instruction: IPython's ``executing`` never returns from -1), so
every printer (the interpreter's, the ``traceback`` module's) prints the
line, its carets, and the function's name as the worker did.

For a function, the worker also sends its parameters as a ``def`` declares
them (``parameters``, each defaulting to None: no value travels) and its
code's first line (``first``): the ``raise`` then sits in a function of
that name and those parameters declared at that line, so a renderer that
shows the signature and the function's lines (IPython: "in fails(x)" and
the lines from its ``def``) shows the plain run's. Code no ``def`` can
declare (a module, a class body, a lambda, a generator expression's
``.0``) sends None for both and gets a module-level stand-in.

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
            frames.append(entry(code, tb.tb_lineno, tb.tb_lasti))
            last = tb.tb_frame
        tb = tb.tb_next
    name = getattr(exc, "name", None) if isinstance(exc, NameError) else None
    if frames and isinstance(name, str):
        frames[-1] = (*frames[-1][:_NAMES], _visible_names(last, name), *frames[-1][_NAMES + 1:])
    return tuple(frames)


_NAMES = 6  # where a frame's tuple has its ``names`` (None but for a NameError's last)


def entry(code: types.CodeType, lineno: int, lasti: int = -1) -> tuple:
    """One frame's tuple: (filename, lineno, name, end_lineno, col, end_col, names,
    parameters, first), ``names`` None (``read`` fills it in)."""
    parameters = _parameters(code)
    return (code.co_filename, lineno, code.co_name, *_position(code, lasti), None,
            parameters, code.co_firstlineno if parameters is not None else None)


_OPTIMIZED, _NEWLOCALS, _VARARGS, _VARKEYWORDS = 0x1, 0x2, 0x4, 0x8  # inspect.CO_*


def _parameters(code: types.CodeType) -> str | None:
    """'a=None, /, x=None, *rest, k=None, **kw': ``code``'s parameters as a ``def``
    declares them, each defaulting to None; None for code no ``def`` declares (a module,
    a class body, a lambda, a generator expression, whose ``.0`` is no name)."""
    flags = code.co_flags
    if flags & (_OPTIMIZED | _NEWLOCALS) != _OPTIMIZED | _NEWLOCALS \
            or not code.co_name.isidentifier():
        return None
    names, count, kwonly = code.co_varnames, code.co_argcount, code.co_kwonlyargcount
    rest = count + kwonly
    starred = [names[rest]] if flags & _VARARGS else []
    keywords = [names[rest + len(starred)]] if flags & _VARKEYWORDS else []
    if not all(name.isidentifier() for name in (*names[:rest], *starred, *keywords)):
        return None
    parts = [f"{name}=None" for name in names[:count]]
    if code.co_posonlyargcount:
        parts.insert(code.co_posonlyargcount, "/")
    parts += ["*" + name for name in starred] or (["*"] if kwonly else [])
    parts += [f"{name}=None" for name in names[count:rest]]
    parts += ["**" + name for name in keywords]
    return ", ".join(parts)


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
#: (frame, lasti) of a stand-in by (filename, lineno, name, end_lineno, col, end_col,
#: parameters, first): a frame's tuple without its ``names``, which are not cached.
_stand_ins: dict[tuple, tuple] = {}
_STAND_INS_KEPT = 4096


def _stand_in(filename: str, lineno: int, name: str, end_lineno=None, col=None,
              end_col=None, names=None, parameters=None, first=None) -> tuple:
    """(frame, lasti) standing in for a frame that ran on a worker."""
    key = (filename, lineno, name, end_lineno, col, end_col, parameters, first)
    if names is None:
        known = _stand_ins.get(key)
        if known is not None:
            return known
    function = _function(*key) if parameters is not None else None
    code = function.__code__ if function is not None else _code(*key[:6])
    namespace = {"__name__": "__autofuture_remote__", _MARKER: _Marker()}
    if names is not None:
        local, global_, self_has, module_name = names
        global_ = _module_names(module_name, filename, global_)
        if sys.version_info < (3, 12):  # 3.10 and 3.11 read co_varnames, then f_globals
            try:  # a function's: its parameters first, as the worker's own
                code = code.replace(co_varnames=tuple(local), co_nlocals=len(local))
                local = ()
            except (TypeError, ValueError):
                pass
        elif self_has and function is not None and not _give_self(function, self_has):
            # 3.12+ look for ``self`` in f_locals: a module's are its globals.
            function, code = None, _code(*key[:6])
        # From 3.12 suggestions read f_locals, then f_globals: at module level the same
        # dict; a function's parameters come first in both.
        namespace = {**dict.fromkeys(local), **dict.fromkeys(global_), **namespace}
        if self_has:
            namespace["self"] = types.SimpleNamespace(**{self_has: None})
        namespace["__builtins__"] = builtins
    try:
        if function is None:
            exec(code, namespace)
        else:
            fresh = types.FunctionType(code, namespace, name, function.__defaults__)
            fresh.__kwdefaults__ = function.__kwdefaults__
            fresh()
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


def _give_self(function: types.FunctionType, attribute: str) -> bool:
    """Make ``function``'s parameter ``self`` default to an object that has
    ``attribute`` (Python suggests "self.attribute"); False if it has no such parameter."""
    code = function.__code__
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    if "self" not in names:
        return False
    this = types.SimpleNamespace(**{attribute: None})
    at = names.index("self")
    if at < code.co_argcount:
        defaults = list(function.__defaults__)
        defaults[at] = this
        function.__defaults__ = tuple(defaults)
    else:
        function.__kwdefaults__ = {**function.__kwdefaults__, "self": this}
    return True


def _module_names(module_name, filename: str, sent) -> list:
    """A frame's global names: its module's in this process when it is loaded here (a
    function sent by value took only the globals it reads), then those only the
    worker had."""
    module = sys.modules.get(module_name) if module_name else None
    names = getattr(module, "__dict__", None)
    if not isinstance(names, dict) or getattr(module, "__file__", None) != filename:
        return list(sent)
    return [*names, *(name for name in sent if name not in names)]


def _raise_at(lineno, end_lineno, col, end_col) -> ast.Raise:
    """``raise <marker>`` at the given positions (no columns: no caret line)."""
    lineno = max(lineno or 1, 1)
    if col is None or end_col is None or end_lineno is None or end_lineno < lineno \
            or (end_lineno == lineno and end_col < col):
        end_lineno, col, end_col = lineno, -1, -1
    statement = ast.Raise(exc=ast.Name(id=_MARKER, ctx=ast.Load()), cause=None)
    for node in (statement, statement.exc):
        node.lineno, node.end_lineno, node.col_offset, node.end_col_offset = \
            lineno, end_lineno, col, end_col
    return statement


def _named(code: types.CodeType, name: str) -> types.CodeType:
    try:
        code = code.replace(co_name=name)
        return code.replace(co_qualname=name)  # 3.11+: a renderer's fallback name
    except (TypeError, ValueError):
        return code


def _code(filename, lineno, name, end_lineno, col, end_col) -> types.CodeType:
    """Module-level code: one ``raise`` at the given positions."""
    statement = _raise_at(lineno, end_lineno, col, end_col)
    return _named(compile(ast.Module(body=[statement], type_ignores=[]), filename, "exec"),
                  name)


def _function(filename, lineno, name, end_lineno, col, end_col, parameters, first):
    """``def <name>(<parameters>)`` declared at line ``first``, whose body is one
    ``raise`` at the given positions; None where no such ``def`` compiles."""
    if not isinstance(first, int) or not 0 < first <= max(lineno or 1, 1):
        return None
    try:
        tree = ast.parse(f"def _frame({parameters}):\n pass\n")
    except SyntaxError:
        return None
    ast.increment_lineno(tree, first - 1)
    tree.body[0].body = [_raise_at(lineno, end_lineno, col, end_col)]
    namespace: dict = {}
    try:
        exec(compile(tree, filename, "exec"), namespace)
    except (SyntaxError, ValueError):
        return None
    function = namespace["_frame"]
    function.__code__ = _named(function.__code__, name)
    return function
