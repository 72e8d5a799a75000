"""``autofuture.Future``: what a task call, or a lazy read of one, gives back.

A ``concurrent.futures.Future`` so that ``wait``, ``as_completed`` and
callbacks work. Values are set by the workflow thread only, so ``result()``
called there drives the scheduler instead of waiting for a thread that is
itself. Users never construct one.

The protocol methods have one policy each, for futures that escape into
ordinary (unrewritten) code, where Python itself asks for a value:

- ``repr`` never blocks, nor do IPython's ``_repr_pretty_`` and
  ``_repr_html_``, which show the value once there is one (or the error);
  ``hash`` and ``==`` are identity, as
  ``concurrent.futures`` needs them to be (sets of futures in ``wait``);
- ``bool``, ``len``, ``iter``, ``str``, ``format``, numeric conversions,
  indexing, ``in`` and the arithmetic operators wait for the value and apply
  to it, so ordinary code computes what it would on the value;
- attribute access is the ``Future`` API: in futurized code ``x.attr`` is
  rewritten into a lazy read of the value's attribute, which reaches it even
  when it is called ``result`` or ``done``;
- pickling a finished future pickles its value (that is how task inputs
  carry values); pickling an unfinished one is an error.
"""

from __future__ import annotations

import concurrent.futures
import math
import operator
import threading

from . import current as _slot
from .held import Held

_UNSET = object()
_MADE = _slot.futures_made  # filled for good by the process's first Future
_CONDITION_LOCK = threading.Lock()
_HTML_DETAIL = 1000  # characters of a value's repr that _repr_html_ shows


def _identity(value):
    return value


class Future(concurrent.futures.Future):
    """The future value of a task call or of a lazy operation on futures."""

    # _af_value: the value, or _UNSET; _af_error: the exception when it failed.
    # _af_entry: the program-order log entry that produces it.
    # _af_dependents: entries waiting for it. _af_shared: 0 while its value is
    # private (a task's result no effect or the workflow has been given: see
    # _runahead), else the scheduler's clock when it stopped being (entries made
    # from then on see it held outside futures). _af_sources: the futures a read
    # was made from. _af_arity: the length a return annotation promises, if any.
    # _af_label: "f() at file.py:12".

    def __init__(self, entry=None, arity: int | None = None):
        # concurrent.futures.Future's fields, without its Condition: most
        # futures are never waited on from another thread, and a Condition
        # costs microseconds and hundreds of bytes. See ``_condition``.
        self._state = "PENDING"
        self._result = None
        self._exception = None
        self._af_waiters = None  # the two lists of concurrent.futures, made when needed
        self._af_callbacks = None
        self._af_condition = None
        self._af_value = _UNSET
        self._af_error = None
        self._af_entry = entry
        self._af_dependents = ()
        self._af_shared = 0
        self._af_arity = arity
        self._af_sources = ()
        if not _MADE:
            _MADE.append(True)
        if _slot.looks:  # a loop running its body as written goes back to a checked one
            _slot.end_looks()

    @property
    def _af_label(self) -> str:
        entry = self._af_entry
        return entry.call_label if entry is not None else ""

    @property
    def _condition(self):
        """Made when first needed (a waiter, a callback, another thread's ``result()``)."""
        if self._af_condition is None:
            with _CONDITION_LOCK:
                if self._af_condition is None:
                    self._af_condition = threading.Condition()
        return self._af_condition

    @property
    def _waiters(self) -> list:
        if self._af_waiters is None:
            self._af_waiters = []
        return self._af_waiters

    @property
    def _done_callbacks(self) -> list:
        if self._af_callbacks is None:
            self._af_callbacks = []
        return self._af_callbacks

    def _af_settle(self, value=_UNSET, error=None) -> None:
        """Finish as concurrent.futures does, cheaply when no one can be waiting."""
        if self._af_condition is None:
            with _CONDITION_LOCK:
                if self._af_condition is None:
                    if error is None:
                        self._result, self._state = value, "FINISHED"
                    else:
                        self._exception, self._state = error, "FINISHED"
                    return
        if error is None:
            self.set_result(value)
        else:
            self.set_exception(error)

    def __repr__(self) -> str:
        if self._af_error is not None:
            state = f"failed {type(self._af_error).__name__}"
        elif self._af_value is not _UNSET:
            state = "finished"
        else:
            state = "pending"
        return f"<autofuture.Future {state} {self._af_label}>".replace("  ", " ")

    def _af_state(self) -> str:
        if self._af_error is not None:
            return "failed"
        return "pending" if self._af_value is _UNSET else "finished"

    def _af_error_text(self) -> str:
        error = self._af_error
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

    def _repr_pretty_(self, printer, cycle) -> None:
        """IPython's text form: the state and the value (or error), without waiting."""
        state = self._af_state()
        head = f"<autofuture.Future {state} {self._af_label}".rstrip()
        if state == "finished" and not cycle:
            with printer.group(4, head + ": ", ">"):
                printer.pretty(self._af_value)
        elif state == "failed":
            printer.text(f"{head}: {self._af_error_text()}>")
        else:
            printer.text(head + ">")

    def _repr_html_(self) -> str:
        """A notebook's rich form of the same, without waiting."""
        import html  # only notebooks ask: not on every run's start-up

        state = self._af_state()
        text = f"autofuture.Future <b>{state}</b> {html.escape(self._af_label)}"
        if state == "finished":
            detail = repr(self._af_value)
        else:
            detail = self._af_error_text() if state == "failed" else ""
        if len(detail) > _HTML_DETAIL:
            detail = detail[:_HTML_DETAIL] + "…"
        if detail:
            text += f": <code>{html.escape(detail)}</code>"
        return f'<span class="autofuture-future autofuture-{state}">&lt;{text}&gt;</span>'

    def result(self, timeout=None):
        scheduler = _slot.scheduler
        if scheduler is not None and scheduler.on_workflow_thread():
            return scheduler.wait_value(self)
        value = super().result(timeout)
        return value.get() if type(value) is Held else value

    def exception(self, timeout=None):
        scheduler = _slot.scheduler
        if scheduler is not None and scheduler.on_workflow_thread():
            scheduler.wait_done(self)
        return super().exception(timeout)

    def __reduce__(self):
        if self._af_value is _UNSET:
            raise TypeError(
                f"cannot serialize an unfinished autofuture.Future ({self._af_label}); "
                "autofuture.result(x) waits for its value"
            )
        value = self._af_value
        if type(value) is Held:  # a reference to where it is, or the value once fetched
            return value.reduce()
        return (_identity, (value,))

    # -- escaped into ordinary code: wait, then act on the value ------------

    def __bool__(self):
        return bool(self.result())

    def __len__(self):
        return len(self.result())

    def __iter__(self):
        return iter(self.result())

    def __contains__(self, item):
        return item in self.result()

    def __getitem__(self, key):
        return self.result()[key]

    def __str__(self):
        return str(self.result())

    def __format__(self, spec):
        return format(self.result(), spec)

    def __int__(self):
        return int(self.result())

    def __float__(self):
        return float(self.result())

    def __complex__(self):
        return complex(self.result())

    def __index__(self):
        return operator.index(self.result())

    def __neg__(self):
        return -self.result()

    def __pos__(self):
        return +self.result()

    def __abs__(self):
        return abs(self.result())

    def __invert__(self):
        return ~self.result()

    def __round__(self, ndigits=None):
        return round(self.result(), ndigits)

    def __trunc__(self):
        return math.trunc(self.result())

    def __floor__(self):
        return math.floor(self.result())

    def __ceil__(self):
        return math.ceil(self.result())

    __hash__ = object.__hash__


def _value_of(x):
    return x.result() if isinstance(x, Future) else x


def _binary(op):
    def forward(self, other):
        return op(self.result(), _value_of(other))

    def reflected(self, other):
        return op(_value_of(other), self.result())

    return forward, reflected


for _name, _op in [
    ("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
    ("matmul", operator.matmul), ("truediv", operator.truediv),
    ("floordiv", operator.floordiv), ("mod", operator.mod), ("pow", operator.pow),
    ("lshift", operator.lshift), ("rshift", operator.rshift), ("and", operator.and_),
    ("or", operator.or_), ("xor", operator.xor), ("divmod", divmod),
]:
    _forward, _reflected = _binary(_op)
    setattr(Future, f"__{_name}__", _forward)
    setattr(Future, f"__r{_name}__", _reflected)

for _name, _op in [("lt", operator.lt), ("le", operator.le), ("gt", operator.gt),
                   ("ge", operator.ge)]:
    setattr(Future, f"__{_name}__", _binary(_op)[0])

del _name, _op, _forward, _reflected


def result(x):
    """Wait for the value of ``x`` (a future, or anything else, returned as it is)."""
    if isinstance(x, Future):
        return x.result()
    return x
