"""The fixed text of an exported Swift/T program: its helpers and the Python they run.

``language/swift_t.py`` translates a script's top level; every value in the
program it writes is a Swift/T ``string`` holding a Python literal (``repr``
of the value), and every computation is one call of Swift/T's
``python_persist()`` built-in on a worker. This module holds what does not
depend on the script: the Swift/T helper functions at the head of the
program, the small Python runtime they load into each worker's interpreter,
and the quoting of Python text into Swift/T string literals.

Why ``python_persist`` and not ``python``: ``python()`` finalizes the
interpreter after each call, so every task would load the script's functions
and imports again (and extension modules do not survive re-initialization);
the persistent interpreter keeps them, as autofuture's workers keep loaded
functions. Each call still starts from literals only: nothing of one task's
results is shared with another except through the values passed.

Turbine runs the code argument with a globals dict and a separate locals
dict, so a function defined by the code would not see names the code bound
next to it. The script's functions therefore live in a module object of
their own (``sys.modules``), made once per worker by ``_af_rt.load``.
"""

from __future__ import annotations

# Runs once per worker interpreter (as the module ``_af_rt``).
RUNTIME = '''\
import ast, contextlib, io, sys, time, traceback, types

def _stub():
    """autofuture's decorators as no-ops, where the worker's Python lacks autofuture."""
    m = types.ModuleType("autofuture")
    def deco(fn=None, **options):
        return fn if callable(fn) else (lambda f: f)
    m.task = m.local = m.workflow = deco
    m.result = lambda value: value
    return m

def load(name, source, filename):
    m = sys.modules.get(name)
    if m is None:
        try:
            import autofuture
        except ImportError:
            sys.modules["autofuture"] = _stub()
        m = types.ModuleType(name)
        m.__file__ = filename
        exec(compile(source, filename, "exec"), m.__dict__)
        sys.modules[name] = m
    return m

def expose(module, namespace):
    for key, value in module.__dict__.items():
        if not key.startswith("__"):
            namespace[key] = value

def out(value):
    """The value as a Python literal, checked to read back as an equal value."""
    text = repr(value)
    try:
        back = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        back = _FAIL
    if back is _FAIL or (back != value and value == value):
        raise TypeError(f"a value of type {type(value).__name__} cannot cross to Swift/T: "
                        "only ints, floats, strings, bools, None and lists, tuples, "
                        "dicts and sets of them can")
    return text

_FAIL = object()

def guard(thunk):
    """Runs one expression; a failure's traceback goes to stderr before Turbine aborts."""
    try:
        return thunk()
    except BaseException as exc:
        report = traceback.TracebackException.from_exception(exc)
        report.stack = traceback.StackSummary.from_list(
            [frame for frame in report.stack if frame.filename != "<string>"])
        sys.stderr.write("".join(report.format()))
        sys.stderr.flush()
        drain(sys.stderr)
        raise

def drain(stream, limit=2.0):
    """Waits (at most ``limit`` s) until mpiexec's forwarder has read what the stream holds.

    Turbine's MPI_Abort kills every rank at once: text still in the pipe would
    be lost, and the traceback with it (Linux tells how much is unread: FIONREAD).
    """
    try:
        import fcntl, struct, termios
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            unread = fcntl.ioctl(stream.fileno(), termios.FIONREAD, bytes(4))
            if struct.unpack("i", unread)[0] == 0:
                return
            time.sleep(0.002)
    except (ImportError, OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # not a pipe (a file, a terminal), or not Linux: nothing to wait for

def value(thunk):
    return guard(lambda: out(thunk()))

def task(thunk):
    """A task's result and what it printed, split again by _af_task at the first newline."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = guard(lambda: out(thunk()))
    return result + "\\n" + buffer.getvalue()

def truth(thunk):
    return str(bool(guard(thunk)))

def unpack(value, index, count):
    if len(value) != count:
        raise ValueError(f"cannot unpack {len(value)} values into {count} names")
    return value[index]

def items(thunk):
    return "\\n".join(guard(lambda: [out(element) for element in thunk()]))

def text(*values, sep=" ", end="\\n", flush=False):
    return (" " if sep is None else sep).join(map(str, values)) + ("\\n" if end is None else end)
'''


def swift_string(text: str) -> str:
    """``text`` as a Swift/T string literal (C-style escapes; STC reads ``\\xHH``)."""
    out = ['"']
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def load_code(module: str, definitions: str, filename: str) -> str:
    """The Python that every call runs first: the runtime and the script's functions, once."""
    return (
        "import sys as _af_sys, types as _af_types\n"
        "if '_af_rt' not in _af_sys.modules:\n"
        "    _af_m = _af_types.ModuleType('_af_rt')\n"
        f"    exec({RUNTIME!a}, _af_m.__dict__)\n"
        "    _af_sys.modules['_af_rt'] = _af_m\n"
        "_af_rt = globals()['_af_rt'] = _af_sys.modules['_af_rt']\n"
        f"_af_rt.expose(_af_rt.load({module!a}, {definitions!a}, {filename!a}), globals())\n"
    )


def prelude(load: str) -> str:
    """The Swift/T helpers every exported program starts with."""
    code = swift_string(load)
    return f"""\
import location;
import python;
import string;

// Python text in, Python text out: every call loads the script's functions first.
(string s) _af_py(string code) {{
  s = python_persist({code} + code, "_af_s");
}}

// A value: the Python literal of an expression over literals.
(string s) _af_eval(string text) {{
  s = _af_py("_af_s = _af_rt.value(lambda: (" + text + "))");
}}

// A task call: its result's literal, and what it printed (replayed in program order).
(string r, string o) _af_task(string call) {{
  string s = _af_py("_af_s = _af_rt.task(lambda: (" + call + "))");
  int cut = find(s, "\\n", 0, strlen(s));
  r = substring(s, 0, cut);
  o = substring(s, cut + 1, strlen(s) - cut - 1);
}}

// The truth of a test, as Python's bool() gives it.
(boolean b) _af_truth(string text) {{
  b = _af_py("_af_s = _af_rt.truth(lambda: (" + text + "))") == "True";
}}

// The elements of a sequence, one literal each, in order.
(string items[]) _af_items(string text) {{
  items = split(_af_py("_af_s = _af_rt.items(lambda: (" + text + "))"), "\\n");
}}

// The text a print() call writes (text is a call of _af_rt.text).
(string s) _af_print(string text) {{
  s = _af_py("_af_s = _af_rt.guard(lambda: " + text + ")");
}}

// Writes text exactly as it is, always from rank 0 (a worker: servers are the last ranks):
// one process writing, flushed each time, so the => chain keeps the order through mpiexec.
@dispatch=WORKER
(void o) _af_write(string text) "turbine" "0.0.1" [
  "puts -nonewline <<text>>; flush stdout"
];

(void o) _af_emit(string text) {{
  o = @location=locationFromRank(0) _af_write(text);
}}
"""
