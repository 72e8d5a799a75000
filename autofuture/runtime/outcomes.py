"""What a finished task becomes in the workflow: its value, its output, or its error.

A worker's reply is rebuilt here into the exception the user sees (with the
attempts it took), and a lost worker into a ``WorkerLostError`` that says
what happened and what to check.
"""

from __future__ import annotations

import concurrent.futures
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


def with_attempts(failure, entry: Entry):
    """The last attempt's error, with a note listing the attempts before it."""
    if entry.attempts and hasattr(failure[0], "add_note"):
        failure[0].add_note(
            f"autofuture: task {entry.label} was tried {len(entry.attempts) + 1} times; "
            + "; ".join(f"attempt {n}: {what}" for n, what in enumerate(entry.attempts, 1)))
    return failure
