"""The exceptions users can meet, and the load-time problem record behind them."""

from __future__ import annotations

import dataclasses


class RebindError(SyntaxError):
    """A name of futurized code is bound twice, or bound in a way that rebinds.

    A ``SyntaxError`` so that Python draws the caret under the user's own code
    and tools that know ``filename``/``lineno``/``offset`` point at it.
    """


class ArityError(SyntaxError):
    """An unpacking contradicts the return annotation of a function of the same module."""


class RemoteError(Exception):
    """A task failed with an exception that could not be rebuilt in the workflow process."""

    def __init__(self, type_name: str, message: str, remote_traceback: str = ""):
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name
        self.remote_traceback = remote_traceback

    def __reduce__(self):
        return (type(self), (self.type_name, str(self), self.remote_traceback))


class WorkerLostError(Exception):
    """The worker running a task died (killed, crashed, or exited) before returning."""


class SerializationError(TypeError):
    """A task input or result could not be serialized."""


class ModuleStateWarning(UserWarning):
    """A task function changes module-level state, which stays in its worker's copy.

    Given once per function, at its first call as a task, with what
    ``autofuture check`` reports about it (AF303, AF304); ``-W error`` (or a
    filter) makes it an error.
    """


class Terminated(BaseException):
    """SIGTERM reached the workflow: it stops like Ctrl-C, with status 143 (not public)."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One load-time finding, with positions in the user's file.

    ``col`` and ``end_col`` are 0-based like ``ast``; ``format()`` prints the
    1-based column that editors and flake8-style tools expect.
    """

    code: str
    message: str
    filename: str
    lineno: int
    col: int
    end_lineno: int | None = None
    end_col: int | None = None
    error: type[SyntaxError] = RebindError
    warning: bool = False
    #: The first line of the task function a warning is about (AF303, AF304): the run
    #: gives the warning at that function's first call.
    scope: int | None = None

    def format(self) -> str:
        return f"{self.filename}:{self.lineno}:{self.col + 1}: {self.code} {self.message}"

    def to_error(self, source_lines: list[str] | None = None) -> SyntaxError:
        text = None
        if source_lines and 0 < self.lineno <= len(source_lines):
            text = source_lines[self.lineno - 1]
        end_offset = None if self.end_col is None else self.end_col + 1
        return self.error(
            f"{self.message} [{self.code}]",
            (self.filename, self.lineno, self.col + 1, text, self.end_lineno, end_offset),
        )


for _public in (RebindError, ArityError, RemoteError, WorkerLostError, SerializationError,
                ModuleStateWarning):
    _public.__module__ = "autofuture"
del _public
