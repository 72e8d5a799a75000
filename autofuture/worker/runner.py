"""The worker side: one function that every executor runs.

``run_batch`` receives serialized tasks, runs each with its output captured
(up to the first failure, unless the run keeps going), and returns plain
tuples: it imports nothing of the workflow, so a worker never imports a
marked module or re-runs ``__main__``. Keeping one function
for ``serial``, ``thread``, ``loky``, ``mpi`` and foreign executors is what
makes them agree: each sees the same serialized inputs.
"""

from __future__ import annotations

import gc
import io
import os
import signal
import sys
import threading
import time

from . import context as _context
from . import exceptions, serialize, store

# One task result: (ok, payload, output, timing). ``payload`` is the
# serialized value when ok, else an ``ErrorInfo`` tuple (see ``error_info``).
# ``output`` is a list of (stream, text) with stream 1 for stdout and 2 for
# stderr, in the order written. ``timing`` is (start, end, worker id).


#: Where this worker notes the task it runs (see ``_mark_running``); read at start,
#: since each task then gets the workflow's environment.
_slots_dir = None
#: A worker process of our own (loky's, an MPI rank): its context is the tasks' alone,
#: so it is checked before each task, not only before each message.
_own_process = False


def init_worker() -> None:
    """Workers leave Ctrl-C to the workflow, which cancels and shuts them down."""
    global _slots_dir, _own_process
    _own_process = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # born with it blocked (_executors._sigint_deferred)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _slots_dir = os.environ.get("AUTOFUTURE_SLOTS")
    store.set_directory(_slots_dir)
    # loky ends a worker whose memory grew by 300 MB since its first task, taking it for
    # a leak. Results it holds for later tasks (worker.store) are no leak, and
    # --worker-memory bounds them: a worker that ended would lose them all.
    loky_worker = sys.modules.get("loky.process_executor")
    if loky_worker is not None and hasattr(loky_worker, "_MAX_MEMORY_LEAK_SIZE"):
        loky_worker._MAX_MEMORY_LEAK_SIZE = float("inf")
    # The workflow's pid from loky's environment, not getppid(): a workflow killed while
    # this worker booted has already left it to init, and it would wait for init's end.
    parent = int(os.environ.get("AUTOFUTURE_WORKFLOW_PID") or os.getppid())
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True,
                     name="autofuture-orphan-watch").start()
    # What the worker has now (loky, the standard library, autofuture) lives to its end:
    # left out of every collection, and out of the one at exit, which walked it all
    # (10-15 ms of a short run's end, where the workflow waits for the worker; issue 16).
    gc.freeze()


def preload(names: list[str]) -> None:
    """Import installed packages the workflow's script imports, while this worker waits
    for its first task (whose function would import them as it is loaded, one import
    after the other: the workflow's, then the worker's). Quietly, and nothing if one
    fails: the task that needs it reports that."""
    import contextlib
    import importlib

    sink = io.StringIO()
    for name in names:
        if name in sys.modules:
            continue
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - the task that imports it says what failed
            pass


def preload_message(names: list[str]) -> tuple:
    """A message (see ``run_batch``) whose one task is ``preload(names)``; its reply is
    of no use to anyone."""
    return (None, [(None, serialize.dumps(preload))], [(0, 0, (None, ((list(names),), {})))])


#: The real ``os._exit``: under MPI a task's own ``os._exit`` is reported to rank 0 as a
#: lost rank (_mpi), and a worker ending because its parent is gone is no task's doing.
exit_now = os._exit


_watching_parent = False


def exit_with_parent() -> None:
    """From now on, this process exits within a second of its parent's death (once)."""
    global _watching_parent
    if not _watching_parent:
        _watching_parent = True
        threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True,
                         name="autofuture-orphan-watch").start()


def _exit_with_parent(parent: int) -> None:
    """A worker whose workflow died (even by SIGKILL) exits within a second, mid-task.

    Under MPI the parent is the launcher's (hydra's proxy, slurmstepd): gone, it
    has taken the job with it.
    """
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            exit_now(1)


class _Discard:
    """Where captured output goes between tasks: nowhere."""

    def append(self, chunk) -> None:
        pass


_DISCARD = _Discard()


class _Capture(io.TextIOBase):
    """A text stream that records what a task writes, keeping stdout/stderr order.

    A worker process has one pair (``_captures``), pointed at each task's list
    in turn: making and finalizing a stream object costs about a microsecond
    each, twice per task. So a stream a task kept (a logging handler made in a
    task) records into whichever task runs; between tasks, what reaches it (from
    a thread a task left running) is dropped. Closing it closes nothing.
    """

    def __init__(self, stream: int, encoding: str = "utf-8"):
        self._chunks = _DISCARD
        self._stream = stream
        self._encoding = encoding

    @property
    def encoding(self):
        return self._encoding

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if text:
            self._chunks.append((self._stream, text))
        return len(text)

    def flush(self):
        pass

    def close(self):
        pass


_capture_pair = None


def _captures(real) -> tuple:
    """This process's (stdout, stderr) captures, made with the real streams' encodings."""
    global _capture_pair
    if _capture_pair is None:
        _capture_pair = (_Capture(1, getattr(real[0], "encoding", "utf-8")),
                         _Capture(2, getattr(real[1], "encoding", "utf-8")))
    return _capture_pair


class ThreadLocalStreams(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr while tasks run on threads of this process.

    A thread running a task writes to its own capture; every other thread
    writes through to the real stream.
    """

    local = threading.local()

    def __init__(self, real, stream: int):
        self._real = real
        self._stream = stream

    def write(self, text):
        chunks = getattr(self.local, "chunks", None)
        if chunks is None:
            return self._real.write(text)
        if text:
            chunks.append((self._stream, text))
        return len(text)

    def flush(self):
        if getattr(self.local, "chunks", None) is None:
            self._real.flush()

    def writable(self):
        return True

    def __getattr__(self, name):
        return getattr(self._real, name)


def capture_thread_output():
    """Route this process's stdout/stderr through per-thread captures; returns the undo."""
    saved = sys.stdout, sys.stderr
    sys.stdout = ThreadLocalStreams(saved[0], 1)
    sys.stderr = ThreadLocalStreams(saved[1], 2)

    def restore() -> None:
        if isinstance(sys.stdout, ThreadLocalStreams):
            sys.stdout, sys.stderr = saved

    return restore


def error_info(exc: BaseException, frames=None, note: str | None = None,
               outside: BaseException | None = None) -> tuple:
    """A failed task's ``ErrorInfo``: (packed exception, type name, message).

    ``frames`` and ``outside`` are ``exceptions.pack``'s; ``note`` is added to
    what the workflow shows.
    """
    if note is not None:
        exceptions.add_notes(exc, [note])
    try:
        packed = exceptions.pack(exc, frames, outside)
    except Exception:  # noqa: BLE001 - defensive: the message still goes
        packed = None
    return (packed, type(exc).__qualname__, exceptions.message(exc))


class _Output:
    """While a task runs, what it prints goes to ``chunks``: ``capture`` "process"
    takes this process's streams, "thread" this thread's, "none" leaves them."""

    __slots__ = ("chunks", "capture", "saved", "ours")

    def __init__(self, chunks: list, capture: str):
        self.chunks, self.capture, self.saved, self.ours = chunks, capture, None, ()

    def __enter__(self):
        if self.capture == "process":
            self.saved = sys.stdout, sys.stderr
            self.ours = out, err = _captures(self.saved)
            out._chunks = err._chunks = self.chunks
            sys.stdout, sys.stderr = out, err
        elif self.capture == "thread":
            ThreadLocalStreams.local.chunks = self.chunks

    def __exit__(self, *exc_info):
        if self.saved is not None:
            for stream in self.ours:  # a write after the task's end goes nowhere
                stream._chunks = _DISCARD
            sys.stdout, sys.stderr = self.saved
        elif self.capture == "thread":
            ThreadLocalStreams.local.chunks = None


def _run_one(fn, args, kwargs, capture: str, worker: str, number: int = 0, hold: int = 0):
    chunks: list = []
    start = time.time()
    # Run inline (serial), a task raises with what the workflow's thread handles as
    # __context__: not the task's, so it is left out.
    outside = sys.exc_info()[1] if capture == "none" else None
    with _Output(chunks, capture):
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - a task error, raised in program order
            return (False, error_info(exc, outside=outside), chunks, (start, time.time(), worker))
        try:
            data = serialize.value_payload(value, out_of_band=capture == "process")
            if hold:
                data = store.maybe_hold(number, value, data, hold)
        except Exception as exc:
            info = (None, "SerializationError",
                    f"its result, a {type(value).__module__}.{type(value).__qualname__}, "
                    f"could not be sent back to the workflow ({exc})")
            return (False, info, chunks, (start, time.time(), worker))
        return (True, data, chunks, (start, time.time(), worker))


def _run_slice(fn, arglists, capture: str, worker: str, context) -> tuple:
    """A map's slice: ``fn(*args)`` for each argument tuple in order, as ``run_batch``
    runs separate tasks (the context checked between them, output captured), up to
    the first failure; one result for all: (ok, (values, ErrorInfo or None), output,
    timing). The values travel as one payload, the output as one list: ``marks``
    cut it where an element whose value cannot be sent ends it instead.
    """
    chunks: list = []
    marks: list = []
    start = time.time()
    outside = sys.exc_info()[1] if capture == "none" else None
    values: list = []
    failed = None
    reset = _own_process
    with _Output(chunks, capture):
        for args in arglists:
            if reset and values:
                _context.apply(context)
            try:
                values.append(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - this element's error, in order
                failed = error_info(exc, outside=outside)
                break
            marks.append(len(chunks))
    out_of_band = capture == "process"
    try:
        data = serialize.value_payload(values, out_of_band=out_of_band)
    except Exception:  # noqa: BLE001 - the first element whose value cannot travel fails
        for index, value in enumerate(values):
            try:
                serialize.value_payload(value, out_of_band=out_of_band)
            except Exception as exc:  # noqa: BLE001
                failed = (None, "SerializationError",
                          f"its result, a {type(value).__module__}.{type(value).__qualname__}, "
                          f"could not be sent back to the workflow ({exc})")
                del values[index:], chunks[marks[index]:]
                break
        data = serialize.value_payload(values, out_of_band=out_of_band)
    return (failed is None, (data, failed), chunks, (start, time.time(), worker))


def _load(payload, what: str, buffers=()):
    """(value, None), or (None, failed result) when the payload cannot be read here."""
    if payload is None:  # inline (see serialize.call_payload)
        return buffers, None
    try:
        return serialize.loads(payload, buffers), None
    except store.HeldLost as exc:  # the workflow makes the input again and resends
        info = (None, "<held lost>", str(exc.number))
        return None, (False, info, [], (time.time(), time.time(), ""))
    except BaseException as exc:  # noqa: BLE001 - reported to the workflow
        info = error_info(exc, frames=(), note="autofuture: raised on the worker while loading "
                          f"the task's {what}.")
        return None, (False, info, [], (time.time(), time.time(), ""))


_slot = None


def _mark_running(number: int) -> None:
    """Record which task this worker process runs and since when, where the workflow can
    read it (``AUTOFUTURE_SLOTS``: a private directory, one small file per worker): if the
    worker dies, its task is known, and a task past its time limit is found by its start.

    One ``pwrite`` of a fixed-size record: a reader sees the old record or the new one
    (``executors.slots.read_slot``).
    """
    global _slot
    if _slot is None:
        if not _slots_dir:
            _slot = -1
            return
        _slot = os.open(os.path.join(_slots_dir, str(os.getpid())),
                        os.O_WRONLY | os.O_CREAT, 0o600)
    if _slot >= 0:
        os.pwrite(_slot, b"%20d %20.6f" % (number, time.time()), 0)


_process = ""
#: 'host ' in a worker of another engine (Dask, Parsl), whose workers may be on other hosts.
_host = ""


def _process_name() -> str:
    """'pid 1234', made once per process (a system call and a string per message otherwise)."""
    global _process
    if not _process:
        _process = f"{_host}pid {os.getpid()}"
    return _process


def _forget_process_name() -> None:
    global _process
    _process = ""


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_process_name)


#: Functions loaded under a token (see ``runtime.payloads``), across messages.
_functions: dict = {}
_FUNCTIONS_KEPT = 256


def _function(entry) -> tuple:
    """(function, None) or (None, failed result) for a message's (token, payload)."""
    token, payload = entry
    if token is None:
        return _load(payload, "function")
    loaded = _functions.get(token)
    if loaded is None:
        loaded = _load(payload, "function")
        if loaded[1] is None:
            if len(_functions) >= _FUNCTIONS_KEPT:
                _functions.clear()
            _functions[token] = loaded
    return loaded


#: The result of a task a message did not run, because one before it failed (``run_batch``).
NOT_RUN = (None, "<not run>", "")


def run_batch(message, capture: str = "process", worker: str | None = None) -> list[tuple]:
    """Run one message of tasks in order; ``capture`` is 'process', 'thread' or 'none'.

    ``message`` is (context stamp, function payloads, tasks[, hold[, keep going]]):
    the workflow's cwd/env/sys.path/argv as ``worker.context`` stamps it, each
    distinct function once as (token, payload) (see ``runtime.payloads``), and each
    task as (function index, task number, (serialized (args, kwargs), out-of-band
    buffers)). A result's value is likewise (payload, buffers), or a note that it
    stays here (``worker.store``) when ``hold`` is (run, where inputs are, threshold).
    ``worker`` names this worker in the results (default: the process, or the
    thread when capture is 'thread').

    The message stops at its first failed task, unless the run keeps going: the
    error reaches the workflow at once, not after the later tasks (which the plain
    run may never have reached), and those come back as ``NOT_RUN`` for the
    workflow to send again or drop. A lost held input (``HeldLost``) is no failure.
    """
    context, function_payloads, tasks = message[:3]
    hold = message[3] if len(message) > 3 else None
    keep_going = len(message) > 4 and message[4]
    store.begin(hold)
    threshold = hold[2] if hold is not None else 0
    _context.apply(context)
    if worker is None:
        worker = threading.current_thread().name if capture == "thread" else _process_name()
    slots = capture == "process"
    functions: dict[int, tuple] = {}
    results = []
    for index, number, (payload, buffers), *whole_slice in tasks:
        if results and not (keep_going or results[-1][0]) and results[-1][1][1] != "<held lost>":
            break  # the task before failed: the rest are NOT_RUN
        if slots:
            _mark_running(number)
        if results and _own_process:
            # What an earlier task of this message did to the cwd, the environment,
            # sys.path or sys.argv stays out of this one (a few microseconds to check).
            # Threads of the workflow's own process share its context: not theirs to reset.
            _context.apply(context)
        task, failed = _load(payload, "arguments", buffers)
        if failed is None:
            args, kwargs = task
            if index not in functions:
                functions[index] = _function(function_payloads[index])
            fn, failed = functions[index]
        if whole_slice:  # a map's slice (runtime.maps): args is (argument tuples,)
            results.append(failed or _run_slice(fn, args[0], capture, worker, context))
            continue
        results.append(failed or _run_one(fn, args, kwargs, capture, worker, number, threshold))
    if slots:
        _mark_running(0)
    if len(results) < len(tasks):
        now = time.time()
        results += [(False, NOT_RUN, [], (now, now, worker))] * (len(tasks) - len(results))
    return results


# -- workers of other engines -------------------------------------------------------------

#: Environment variables an engine gives each of its worker processes: a task sees the
#: workflow's environment, but these stay the worker's own (like an MPI rank's, see
#: executors/mpi), with those that describe one process of a batch job or one device.
_ENGINE_PREFIXES = ("DASK_", "PARSL_", "OMP_", "MKL_", "OPENBLAS_", "MALLOC_")
_ENGINE_JOB_PREFIXES = ("PMI_", "PMIX_", "OMPI_", "HYDRA_", "SLURM_PROCID", "SLURM_LOCALID",
                        "SLURM_NODEID", "SLURM_TASK_PID", "SLURMD_NODENAME")
_ENGINE_NAMES = frozenset({"HOSTNAME", "CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
                           "HIP_VISIBLE_DEVICES", "ZE_AFFINITY_MASK"})
_hosted_threads = 0


def _engine_variable(name: str) -> bool:
    return (name.startswith(_ENGINE_PREFIXES) or name.startswith(_ENGINE_JOB_PREFIXES)
            or name in _ENGINE_NAMES)


def run_hosted(message, capture: str = "process", slots: str | None = None,
               threads: int = 1) -> list[tuple]:
    """``run_batch`` in a worker process of another engine (a Dask worker, a Parsl worker).

    The first call names the process by host and pid (what ``--trace`` shows),
    keeps the engine's own variables in the environment that tasks get from
    the workflow, and notes running tasks in ``slots`` when the workflow gives
    it (a private directory on its own host, for a cluster it started; see
    ``executors.slots``). ``threads``: how many tasks the engine runs at once
    in this process; with more than one, output is captured per thread and
    the context is applied per message only, since tasks share the process.
    """
    global _host, _process, _slots_dir, _own_process, _hosted_threads
    if not _hosted_threads:
        import socket

        _host, _process = f"{socket.gethostname()} ", ""
        _slots_dir = slots
        _own_process = threads == 1
        if threads > 1:
            capture_thread_output()
        _context.keep_own({k: v for k, v in os.environ.items() if _engine_variable(k)},
                          _engine_variable)
        _hosted_threads = threads
    context, function_payloads, tasks = message[:3]
    message = (context, function_payloads, [(index, number, _writable(payload), *whole_slice)
                                            for index, number, payload, *whole_slice in tasks],
               *message[3:])
    if capture == "process" and _hosted_threads > 1:
        results = run_batch(message, "thread",
                            worker=f"{_process_name()} {threading.current_thread().name}")
    else:
        results = run_batch(message, capture)
    # Results travel in band, in bytearrays: whatever protocol the engine pickles with,
    # and the workflow gets arrays it may write to.
    return [(ok, _in_band_reply(ok, payload, len(task) > 3), output, timing)
            for task, (ok, payload, output, timing) in zip(tasks, results, strict=True)]


def _in_band_reply(ok: bool, payload, whole_slice: bool):
    """A result's value payload in band; a map's slice holds one (with its failure)."""
    if whole_slice and len(payload) == 2:
        return in_band(payload[0]), payload[1]
    return in_band(payload) if ok else payload


def in_band(payload):
    """A payload whose out-of-band buffers are bytearrays (copies), picklable in band."""
    data, rest = payload
    if data is None or not rest:
        return payload
    return data, [bytearray(buffer) for buffer in rest]


def _writable(payload):
    """An engine may hand over received buffers read-only; arrays made on them would be."""
    data, rest = payload
    if data is None or not rest:
        return payload
    return data, [buffer if not memoryview(buffer).readonly else bytearray(buffer)
                  for buffer in rest]
