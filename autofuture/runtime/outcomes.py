"""What a finished task becomes in the workflow: its value, its output, or its error.

A worker's reply is rebuilt here into the exception the user sees (with the
attempts it took), and a lost worker into a ``WorkerLostError`` that says
what happened and what to check.
"""

from __future__ import annotations

import concurrent.futures
import logging
import re
import sys

from .._errors import SerializationError, WorkerLostError
from ..worker import exceptions
from .entries import Entry


def done_future(value):
    future = concurrent.futures.Future()
    future.set_result(value)
    return future


def flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed or odd stream is the program's business
            pass


def failed_future(exc):
    future = concurrent.futures.Future()
    future.set_exception(exc)
    return future


def replay(output) -> None:
    for stream, text in output:
        (sys.stdout if stream == 1 else sys.stderr).write(text)


def rebuild(info, entry: Entry):
    """(exception, remote frames, None) from a worker's ErrorInfo (see runner.error_info)."""
    packed, type_name, message = info
    if packed is None:
        if type_name == "SerializationError":
            return (SerializationError(
                f"task {entry.label}: {message}. Return plain data (numbers, strings, lists, "
                "dicts, arrays) that can be pickled."), (), None)
        return (exceptions.remote_error(type_name, message, (), "it could not be sent from "
                                        "the worker"), (), None)
    return (exceptions.unpack(packed, entry.handling), exceptions.root_frames(packed), None)


def failure_exception(entry: Entry):
    failure = entry.failure
    if failure[0] == "dependency":
        root = failure[1]
        exc = root._af_error
        return exc, (), None
    exc, remote_frames, local_tb = failure
    return exc, remote_frames, local_tb


def serialization_error(entry: Entry, exc: Exception) -> SerializationError:
    from .callees import describe_unpicklable

    return SerializationError(describe_unpicklable(entry, exc))


def how_lost(exc: BaseException) -> str:
    codes = re.search(r"exit codes of the workers are \{(.*?)\}", str(exc))
    if codes:
        return f"exit code {codes.group(1)}"
    if isinstance(exc, WorkerLostError):  # an executor's own account (Dask, Parsl, MPI)
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def lost(entry: Entry, how: str) -> WorkerLostError:
    tries = ""
    if len(entry.attempts) > 1:
        tries = f" It was tried {len(entry.attempts)} times: " + "; ".join(
            f"attempt {n}: {what}" for n, what in enumerate(entry.attempts, 1)) + "."
    return WorkerLostError(
        f"the worker running task {entry.label} died before it returned ({how}).{tries} "
        "A worker that is killed, crashes (a segfault in native code), calls os._exit or "
        "runs out of memory (the OOM killer) ends this way; check the task for those."
    )


def timed_out(entry: Entry, limit: float) -> TimeoutError:
    tries = ""
    if len(entry.attempts) > 1:
        tries = f" It was tried {len(entry.attempts)} times: " + "; ".join(
            f"attempt {n}: {what}" for n, what in enumerate(entry.attempts, 1)) + "."
    return TimeoutError(
        f"task {entry.label} ran past its time limit of {limit:g} s; its worker process was "
        f"killed and replaced.{tries} Raise the limit (autofuture.task(timeout=...) or "
        "--task-timeout), or look for what the task waits on (a lock, a network call, a "
        "stopped process)."
    )


_warned_limits: set[int] = set()


def limits_used(executor) -> None:
    """A task with a time limit is sent: say once per run if the executor cannot stop it."""
    if getattr(executor, "enforces_timeouts", False) or id(executor) in _warned_limits:
        return
    _warned_limits.add(id(executor))
    logging.getLogger("autofuture").warning(
        "task time limits (--task-timeout, autofuture.task(timeout=...)) are not enforced "
        "with --executor %s: %s cannot be stopped; use --executor loky (or mpi) for them",
        getattr(executor, "name", "?"),
        "a task running in the workflow's own thread" if executor.inline else
        "a task running on a thread of the workflow's own process"
        if getattr(executor, "in_process", False) else "a task running in another pool's worker")


def with_attempts(failure, entry: Entry):
    """The last attempt's error, with a note listing the attempts before it."""
    if entry.attempts and hasattr(failure[0], "add_note"):
        failure[0].add_note(
            f"autofuture: task {entry.label} was tried {len(entry.attempts) + 1} times; "
            + "; ".join(f"attempt {n}: {what}" for n, what in enumerate(entry.attempts, 1)))
    return failure
