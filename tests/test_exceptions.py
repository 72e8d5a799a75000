"""Exceptions packed on a worker and rebuilt in the workflow (``autofuture.worker.exceptions``),
in one process: each arrives as itself, whatever its class's ``__init__`` takes.

The differential programs (tests/programs/error_*.py, hint_*.py) show the same through
real executors, comparing whole tracebacks with the plain run's.
"""

from __future__ import annotations

import errno
import inspect
import pickle
import sys
import threading
import traceback

import pytest

import autofuture
from autofuture.worker import exceptions as _exceptions
from autofuture.worker import frames as _frames
from autofuture.worker import runner as _worker

needs_groups = pytest.mark.skipif(sys.version_info < (3, 11), reason="exception groups: 3.11+")


def raised(exc: BaseException) -> BaseException:
    """``exc`` with a traceback, as a task's exception has one."""
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001
        return caught


def travel(exc: BaseException, handling=None) -> BaseException:
    """Through the bytes a worker sends (pickled as loky and MPI pickle results)."""
    packed = pickle.loads(pickle.dumps(_exceptions.pack(exc)))
    return _exceptions.unpack(packed, handling)


class QualityError(Exception):
    def __init__(self, sample, score):
        super().__init__(f"sample {sample} failed")
        self.sample, self.score = sample, score


class Counted(Exception):
    made = 0

    def __init__(self, message):
        type(self).made += 1
        super().__init__(message)


class Slotted(Exception):
    __slots__ = ("weight", "unset")

    def __init__(self, weight):
        super().__init__("heavy")
        self.weight = weight


class OwnReduce(Exception):
    def __init__(self, a, b):
        super().__init__(a + b)
        self.a, self.b = a, b

    def __reduce__(self):
        return (type(self), (self.a, self.b))


class Handle:
    def __reduce__(self):
        raise TypeError("a Handle stays where it is")

    def __repr__(self):
        return "Handle(7)"

    def close(self):
        pass


def test_a_custom_init_class_arrives_as_itself_without_running_init():
    before = Counted.made
    back = travel(raised(Counted("once")))
    assert type(back) is Counted and back.args == ("once",)
    assert Counted.made == before + 1  # only the original was made by __init__
    back = travel(raised(QualityError(3, 0.3)))
    assert type(back) is QualityError
    assert (back.args, back.sample, back.score, str(back)) == (("sample 3 failed",), 3, 0.3,
                                                              "sample 3 failed")


def test_fields_outside_the_dict_travel():
    back = travel(raised(Slotted(5)))
    assert back.weight == 5 and not hasattr(back, "unset")
    back = travel(raised(OSError(errno.ENOENT, "No such file", "a.txt", None)))
    assert type(back) is FileNotFoundError
    assert (back.errno, back.strerror, back.filename, back.filename2) == (
        errno.ENOENT, "No such file", "a.txt", None)
    assert str(back) == "[Errno 2] No such file: 'a.txt'"
    assert str(travel(raised(OSError("plain")))) == "plain"
    error = raised(SyntaxError("bad", ("f.py", 3, 4, "x = = 1\n", 3, 5)))
    back = travel(error)
    assert (back.filename, back.lineno, back.offset, back.text) == ("f.py", 3, 4, "x = = 1\n")
    back = travel(raised(StopIteration(42)))
    assert back.value == 42


def test_attribute_error_keeps_name_and_obj_for_its_hint():
    try:
        "text".uper()
    except AttributeError as exc:
        back = travel(exc)
    assert (back.name, back.obj) == ("uper", "text")
    printed = "".join(traceback.format_exception_only(type(back), back))
    if sys.version_info >= (3, 12):  # the traceback module computes hints from 3.12 on
        assert "Did you mean: 'upper'?" in printed


def test_an_unsendable_attribute_becomes_a_stand_in_with_a_note():
    error = AttributeError("'Handle' object has no attribute 'clos'")
    error.name, error.obj = "clos", Handle()
    error.extra = Handle()
    back = travel(raised(error))
    assert repr(back.extra) == "Handle(7)" and repr(back.obj) == "Handle(7)"
    assert "close" in dir(back.obj)  # so "Did you mean: 'close'?" still comes out
    assert back.__notes__ == [
        "autofuture: obj (a test_exceptions.Handle) could not be sent from the worker "
        "(TypeError: a Handle stays where it is); it is replaced by a stand-in showing its "
        "repr.",
        "autofuture: extra (a test_exceptions.Handle) could not be sent from the worker "
        "(TypeError: a Handle stays where it is); it is replaced by a stand-in showing its "
        "repr.",
    ]


def test_notes_and_a_chain_three_deep_with_every_link_s_traceback():
    def innermost():
        return int("x")

    try:
        try:
            try:
                innermost()
            except ValueError as first:
                first.__notes__ = ["first note"]  # what add_note (3.11+) makes
                raise KeyError("second")  # noqa: B904 - an implicit context
        except KeyError as second:
            raise QualityError(1, 0.1) from second
    except QualityError as third:
        back = travel(third)
    second = back.__cause__
    first = second.__context__
    assert (type(second), type(first)) == (KeyError, ValueError)
    assert back.__context__ is second and back.__suppress_context__
    assert not second.__suppress_context__ and second.__cause__ is None
    assert first.__notes__ == ["first note"]
    # Each link's own frames, with the innermost function's line.
    names = [summary.name for summary in traceback.extract_tb(first.__traceback__)]
    assert names[-2:] == ["test_notes_and_a_chain_three_deep_with_every_link_s_traceback",
                          "innermost"]
    assert back.__traceback__ is None  # the root's is made from its call site when raised


def test_from_none_and_a_cycle():
    try:
        raise KeyError("k")
    except KeyError:
        try:
            raise LookupError("quiet") from None
        except LookupError as exc:
            quiet = exc
    back = travel(quiet)
    assert back.__cause__ is None and back.__suppress_context__
    assert type(back.__context__) is KeyError
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a
    back = travel(a)
    assert back.__context__.__context__ is back


def test_an_exception_held_in_args_is_linked_not_copied():
    inner = raised(ValueError("inner"))
    outer = raised(RuntimeError("outer", inner))
    outer.__context__ = inner
    back = travel(outer)
    assert back.args[1] is back.__context__


def test_a_class_with_its_own_reduce_is_rebuilt_its_way():
    back = travel(raised(OwnReduce(2, 3)))
    assert (type(back), back.args, back.a, back.b) == (OwnReduce, (5,), 2, 3)


@needs_groups
def test_exception_groups_keep_their_members_and_subclass():
    class Rows(ExceptionGroup):  # noqa: F821 - 3.11+
        def __new__(cls, message, errors, table):
            self = super().__new__(cls, message, errors)
            self.table = table
            return self

        def __init__(self, message, errors, table):
            super().__init__(message, errors)

    members = [raised(QualityError(1, 0.1)), raised(KeyError("k"))]
    group = raised(Rows("2 bad", members, "t1"))
    back = travel(group)
    assert type(back) is Rows and back.message == "2 bad" and back.table == "t1"
    assert [type(e) for e in back.exceptions] == [QualityError, KeyError]
    assert back.exceptions[0].sample == 1
    assert all(e.__traceback__ is not None for e in back.exceptions)
    matched, rest = back.split(QualityError)
    assert [type(e) for e in matched.exceptions] == [QualityError]


def test_a_class_that_cannot_be_sent_is_a_remote_error_saying_why():
    class Local(Exception):
        lock_gen = (i for i in range(2))

    back = travel(raised(Local("gone")))
    assert isinstance(back, autofuture.RemoteError)
    assert str(back) == "test_a_class_that_cannot_be_sent_is_a_remote_error_saying_why." \
                        "<locals>.Local: gone".replace("test_a", "test_exceptions.test_a")
    assert back.__notes__[-1].startswith("autofuture: test_exceptions.")
    assert "its class could not be sent from the worker (TypeError: cannot pickle " \
           "'generator' object)" in back.__notes__[-1]


def test_a_class_that_cannot_be_loaded_is_a_remote_error_saying_why(monkeypatch):
    packed = _exceptions.pack(raised(QualityError(1, 0.5)))
    monkeypatch.delattr(sys.modules[__name__], "QualityError")
    back = _exceptions.unpack(packed)
    assert isinstance(back, autofuture.RemoteError)
    assert "its class could not be loaded in the workflow process" in back.__notes__[-1]
    assert back.type_name == "test_exceptions.QualityError"
    assert "QualityError" in back.remote_traceback


def test_the_handled_error_becomes_the_context_of_what_the_task_raised_outside_handlers():
    handled = raised(KeyError("handled by the workflow"))

    def task():
        try:
            {}["x"]
        except KeyError:
            raise ValueError("in the task's handler")  # noqa: B904

    try:
        task()
    except ValueError as exc:
        back = travel(exc, handling=handled)
    assert type(back.__context__) is KeyError and back.__context__ is not handled
    assert back.__context__.__context__ is handled  # raised outside the task's handlers
    given = ValueError("never raised")
    assert travel(given, handling=handled).__context__ is None  # no frames: never raised


def test_serial_tasks_leave_out_what_the_workflow_was_handling():
    """Run inline, a task raises with the workflow's handled error as context."""
    try:
        raise KeyError("the workflow's")
    except KeyError as outer:
        try:
            raise ValueError("the task's")
        except ValueError as exc:
            packed = _exceptions.pack(exc, outside=outer)
    assert _exceptions.unpack(packed).__context__ is None


def test_raise_as_is_keeps_the_context_raise_would_replace():
    own = raised(ValueError("own"))
    failure = raised(RuntimeError("failure"))
    failure.__context__ = own
    with pytest.raises(RuntimeError) as info:
        try:
            raise KeyError("being handled")
        except KeyError:
            _exceptions.raise_as_is(failure)
    assert info.value.__context__ is own


def test_error_info_is_plain_data():
    info = _worker.error_info(raised(QualityError(2, 0.2)))
    packed, type_name, message = info
    assert (type_name, message) == ("QualityError", "sample 2 failed")
    assert pickle.loads(pickle.dumps(info)) == info  # bytes, strings, numbers and tuples


def test_a_lock_attribute_travels_through_dill():
    error = raised(QualityError(1, 0.1))
    error.lock = threading.Lock()
    back = travel(error)
    assert not hasattr(back, "__notes__")
    assert back.lock.acquire(blocking=False)


def _fails_in_a_function(x, *rest, k=None, **options):
    return [1 / x for x in (0,)] if k else 1 / 0


@pytest.mark.parametrize("k", [None, True], ids=["function", "comprehension"])
def test_a_function_s_frame_stands_in_as_that_function_declared_where_it_was(k):
    """IPython shows "in f(x, *rest, k=None, **options)" and f's lines from its def (it
    reads both from the frame's code); a comprehension's frame (before 3.12), whose
    ``.0`` no def can declare, stands in as module-level code, as before."""
    error = raised_from(lambda: _fails_in_a_function(0, k=k))
    sent = pickle.loads(pickle.dumps(_frames.read(error)))  # the task's root frames
    back = _frames.traceback_of(sent)
    assert traceback.format_exception(ZeroDivisionError, error, back) == \
        traceback.format_exception(error)
    real, stand_in = last_frames(error.__traceback__, 2), last_frames(back, 2)
    for (frame, _), (twin, twin_lasti) in zip(real, stand_in, strict=True):
        assert twin_lasti >= 0  # a real instruction: IPython's executing loops on -1
        function = frame.f_code.co_flags & inspect.CO_NEWLOCALS and \
            frame.f_code.co_name.isidentifier()
        assert bool(twin.f_code.co_flags & inspect.CO_NEWLOCALS) == bool(function)
        if function:
            assert twin.f_code.co_firstlineno == frame.f_code.co_firstlineno
            assert inspect.getargs(twin.f_code) == inspect.getargs(frame.f_code)
            assert twin.f_code.co_name == frame.f_code.co_name


def raised_from(call) -> BaseException:
    try:
        call()
    except BaseException as caught:  # noqa: BLE001
        return caught
    raise AssertionError("did not raise")


def last_frames(tb, count: int) -> list:
    """(frame, tb_lasti) of the innermost ``count`` entries of traceback ``tb``."""
    entries = []
    while tb is not None:
        entries.append((tb.tb_frame, tb.tb_lasti))
        tb = tb.tb_next
    return entries[-count:]
