"""The ``autofuture`` logger, what ``-v``/``-q`` make of it, and a run's observers.

autofuture's own messages go through ``logging.getLogger("autofuture")``,
never ``print``: a program that configures logging can route them, and
the command line's handler writes to stderr only, so the program's stdout
stays byte for byte what its plain run prints.

Levels: ``-q`` shows errors only; the default shows warnings; ``-v`` adds
the run's shape (executor, workers, a closing summary); ``-vv`` adds every
batch sent to the workers.

``Watch`` puts ``--trace``, ``--progress`` and the ``-v`` log among the
scheduler's observers for the length of one run, and takes them out after.
"""

from __future__ import annotations

import logging
import sys
import time

logger = logging.getLogger("autofuture")
logger.addHandler(logging.NullHandler())  # a library logs nothing unless configured

_LEVELS = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (like logging's last resort).

    The progress bar and the thread executor stand in for ``sys.stderr``
    during a run; a handler bound to the stream of start-up time would
    write under the bar.
    """

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.setStream; the stream is always stderr
        pass

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.flush()  # what the program printed before stays before, under 2>&1
        except Exception:
            pass
        super().emit(record)


class _Formatter(logging.Formatter):
    """``autofuture: message``; with ``-vv``, seconds since start-up too."""

    def __init__(self, timed: bool) -> None:
        super().__init__()
        self.timed = timed
        self.started = time.monotonic()

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.WARNING:
            message = f"{record.levelname.lower()}: {message}"
        if self.timed:
            return f"autofuture [{time.monotonic() - self.started:7.3f}s]: {message}"
        return f"autofuture: {message}"


_handler: _StderrHandler | None = None


def setup(verbosity: int) -> None:
    """Send the ``autofuture`` logger to stderr: -1 errors only, 0 warnings, 1 info, 2 debug."""
    global _handler
    level = _LEVELS[max(-1, min(2, verbosity))]
    if _handler is None:
        _handler = _StderrHandler()
        logger.addHandler(_handler)
    _handler.setFormatter(_Formatter(timed=level <= logging.DEBUG))
    logger.setLevel(level)
    # The program's own logging.basicConfig must not print our lines a second time.
    logger.propagate = False


def size(n: int) -> str:
    """'512 B', '1.2 kB', '3.4 MB'."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if n < 1000 or unit == "GB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


class RunLog:
    """An observer that logs the run's shape: -v its executor and summary, -vv each batch."""

    def __init__(self, started: float | None = None) -> None:
        self.started = time.time() if started is None else started
        self.tasks = 0
        self.failed = 0
        self.batches = 0
        self.largest = 0
        self.sent_bytes = 0
        self.task_seconds = 0.0
        self.workers: set = set()
        self.executor_seen = False

    def __call__(self, event: dict) -> None:
        kind = event["event"]
        if kind == "task":
            self.tasks += 1
        elif kind == "send":
            if not self.executor_seen:
                self.executor_seen = True
                describe_executor()
            ids = event["ids"]
            self.batches += 1
            self.largest = max(self.largest, len(ids))
            self.sent_bytes += event["bytes"]
            if logger.isEnabledFor(logging.DEBUG):
                which = f"#{ids[0]}" if len(ids) == 1 else f"#{ids[0]}..#{ids[-1]}"
                logger.debug("sent a batch of %d task%s (%s, %s)", len(ids),
                             "" if len(ids) == 1 else "s", which, size(event["bytes"]))
        elif kind == "end":
            self.task_seconds += event["end"] - event["start"]
            self.workers.add(event["worker"])
        elif kind == "commit" and event["failed"]:
            self.failed += 1

    def summary(self) -> None:
        if not self.tasks or not logger.isEnabledFor(logging.INFO):
            return
        wall = max(time.time() - self.started, 1e-9)
        mean = self.tasks / self.batches if self.batches else 0.0
        logger.info(
            "%d tasks (%d failed) in %d batches (mean %.1f tasks, largest %d, %s sent); "
            "wall %.2f s, task time %.2f s on %d workers",
            self.tasks, self.failed, self.batches, mean, self.largest, size(self.sent_bytes),
            wall, self.task_seconds, len(self.workers))


def describe_executor() -> None:
    """Log the executor the scheduler opened (called once it exists)."""
    from ..runtime import scheduler as _scheduler

    scheduler = _scheduler.current_or_none()
    executor = getattr(scheduler, "executor", None)
    if executor is not None:
        logger.info("executor %s started with %d worker%s", executor.name, executor.workers,
                    "" if executor.workers == 1 else "s")


class Watch:
    """The observers of one run: ``--trace``, ``--progress``, ``-v``; closed after the run."""

    def __init__(self, path: str, script_args: list[str], options) -> None:
        from ..executors import registry
        from ..runtime import scheduler as _scheduler

        self.observers: list = []
        self.trace = self.progress = self.runlog = None
        executor = options.executor
        workers = _workers_asked(options, registry)
        if workers is None:  # mpi (one per rank) or a foreign pool: known once it opens
            logger.info("running %s with the %s executor", path, executor)
        else:
            logger.info("running %s with the %s executor, %d worker%s%s", path, executor,
                        workers, "" if workers == 1 else "s",
                        "" if options.workers else " (one per core; -n sets it)")
        trace_path = getattr(options, "trace", None)
        if trace_path:
            from . import trace as _trace

            self.trace = _trace.TraceWriter(
                trace_path, _trace.header(path, [path, *script_args], executor, workers))
            if self.trace.writing:
                self.observers.append(self.trace)
                logger.info("writing the trace to %s", trace_path)
        mode = getattr(options, "progress", None) or "never"
        if mode != "never":
            from . import progress as _progress

            self.progress = _progress.start(mode)
            if self.progress is not None:
                self.observers.append(self.progress)
            else:
                logger.info("no progress bar: stderr is not a terminal (--progress=always "
                            "draws one anyway)")
        if logger.isEnabledFor(logging.INFO):
            self.runlog = RunLog()
            self.observers.append(self.runlog)
        _scheduler.observers.extend(self.observers)

    def close(self, status: int | None) -> None:
        """After the run: the bar's last state, the trace's exit line, the -v summary."""
        from ..runtime import scheduler as _scheduler

        for observer in self.observers:
            try:
                _scheduler.observers.remove(observer)
            except ValueError:
                pass
        if self.progress is not None:
            self.progress.close()
        if self.trace is not None:
            self.trace.close(status)
        if self.runlog is not None:
            self.runlog.summary()


def _workers_asked(options, executors) -> int | None:
    """The pool size the options give, where they decide it."""
    if options.workers:
        return options.workers
    if options.executor == "serial":
        return 1
    if options.executor in ("loky", "thread"):
        return executors.default_workers()
    return None
