"""``autofuture.Future``: its type, its repr, identity, the escaped-future dunders, pickling,
and ``autofuture.result``.

In-process tests drive the program-order log with the ``serial`` executor (tasks run at
their turn, in this thread) and reset the scheduler afterwards. Anything that needs a real
pool runs as a subprocess script: a marked script whose generator body is ordinary code,
so it sees the module's futures as they are, mid-flight (how a future "escapes").
"""

from __future__ import annotations

import concurrent.futures
import math
import operator
import pickle
import re
import textwrap

import cloudpickle
import e2e
import pytest

import autofuture
from autofuture.runtime import abi
from autofuture.runtime import scheduler as _scheduler

# --------------------------------------------------------------------------- in-process


@autofuture.task
def value_of(x):
    return x


@autofuture.task
def fails(message):
    raise ValueError(message)


@pytest.fixture
def serial(scheduler_with):
    """A serial scheduler for this test; shut down and forgotten afterwards."""
    scheduler_with(executor="serial")


def task_call(fn, *args):
    """What rewritten code does for ``fn(*args)`` at a task call site."""
    return abi.call(fn, *args)


def test_future_is_a_concurrent_futures_future(serial):
    assert issubclass(autofuture.Future, concurrent.futures.Future)
    future = task_call(value_of, 3)
    assert type(future) is autofuture.Future
    assert isinstance(future, concurrent.futures.Future)


def test_repr_of_a_pending_future_does_not_run_it(serial):
    future = task_call(value_of, 3)
    text = repr(future)
    assert re.fullmatch(r"<autofuture\.Future pending value_of\(\) at test_future\.py:\d+>", text)
    # The serial executor runs a task at its turn; repr must not have taken that turn.
    assert not future.done()
    assert repr(future) == text


def test_repr_of_finished_and_failed_futures(serial):
    good = task_call(value_of, 3)
    assert autofuture.result(good) == 3
    assert re.fullmatch(r"<autofuture\.Future finished value_of\(\) at test_future\.py:\d+>",
                        repr(good))
    bad = task_call(fails, "nope")
    with pytest.raises(ValueError, match="nope"):
        autofuture.result(bad)
    assert re.fullmatch(
        r"<autofuture\.Future failed ValueError fails\(\) at test_future\.py:\d+>", repr(bad))


def test_concurrent_futures_api_on_the_workflow_thread(serial):
    future = task_call(value_of, 5)
    called = []
    future.add_done_callback(called.append)
    assert future.result() == 5
    assert future.done() and not future.cancelled() and not future.running()
    assert called == [future]
    assert future.exception() is None
    done, not_done = concurrent.futures.wait([future], timeout=5)
    assert done == {future} and not not_done


def test_hash_and_equality_are_identity(serial):
    first = task_call(value_of, 3)
    second = task_call(value_of, 3)
    assert autofuture.result(first) == autofuture.result(second) == 3
    assert first == first
    assert first != second
    assert not (first == 3)  # the point: == is identity, not the value's
    assert first != 3
    assert hash(first) == object.__hash__(first)
    assert len({first, second}) == 2
    assert {first: "a", second: "b"}[second] == "b"


@pytest.mark.parametrize(
    ("value", "apply", "expected"),
    [
        (0, bool, False),
        (4, bool, True),
        ([1, 2, 3], len, 3),
        ([1, 2, 3], list, [1, 2, 3]),
        ([1, 2, 3], lambda f: [x * 2 for x in f], [2, 4, 6]),
        ([1, 2, 3], lambda f: 2 in f, True),
        ({"k": 1}, lambda f: "k" in f, True),
        ([1, 2, 3], lambda f: f[1], 2),
        ({"k": 1}, lambda f: f["k"], 1),
        ([1, 2, 3], lambda f: f[::-1], [3, 2, 1]),
        (7, str, "7"),
        ("txt", str, "txt"),
        (7, lambda f: f"{f:>4}|", "   7|"),
        (2.5, lambda f: format(f, ".2f"), "2.50"),
        (7.9, int, 7),
        (7, float, 7.0),
        (3 + 1j, complex, 3 + 1j),
        (2, operator.index, 2),
        (2, lambda f: ["a", "b", "c"][f], "c"),
        (2, lambda f: range(10)[f:], range(2, 10)),
        (6, lambda f: f + 1, 7),
        (6, lambda f: 1 + f, 7),
        (6, lambda f: f - 1, 5),
        (6, lambda f: 10 - f, 4),
        (6, lambda f: f * 2, 12),
        (6, lambda f: 2 * f, 12),
        (6, lambda f: f / 4, 1.5),
        (6, lambda f: 3 / f, 0.5),
        (7, lambda f: f // 2, 3),
        (7, lambda f: 15 // f, 2),
        (7, lambda f: f % 4, 3),
        (7, lambda f: 20 % f, 6),
        (3, lambda f: f**2, 9),
        (3, lambda f: 2**f, 8),
        (6, lambda f: f & 3, 2),
        (6, lambda f: 3 & f, 2),
        (6, lambda f: f | 1, 7),
        (6, lambda f: 1 | f, 7),
        (6, lambda f: f ^ 2, 4),
        (6, lambda f: 2 ^ f, 4),
        (6, lambda f: f << 1, 12),
        (6, lambda f: 1 << f, 64),
        (6, lambda f: f >> 1, 3),
        (6, lambda f: 64 >> f, 1),
        (6, operator.neg, -6),
        (-6, operator.pos, -6),
        (-6, abs, 6),
        (6, operator.invert, -7),
        (6, lambda f: f < 7, True),
        (6, lambda f: f <= 5, False),
        (6, lambda f: f > 5, True),
        (6, lambda f: f >= 7, False),
        (6, lambda f: 7 > f, True),
        (6, lambda f: 5 >= f, False),
        ([1], lambda f: f + [2], [1, 2]),
        ([1], lambda f: [0] + f, [0, 1]),
        ("b", lambda f: "a" + f, "ab"),
        (7.9, math.floor, 7),
        (16, math.sqrt, 4.0),
    ],
)
def test_escaped_future_acts_on_its_value(serial, value, apply, expected):
    future = task_call(value_of, value)
    assert not future.done()
    assert apply(future) == expected
    assert future.done()


def test_binary_operators_on_two_futures(serial):
    left, right = task_call(value_of, 6), task_call(value_of, 4)
    assert left + right == 10
    assert left * right == 24
    assert left - right == 2
    assert left < 7 and right < left


@pytest.mark.parametrize("apply", [
    lambda f: divmod(f, 2), lambda f: divmod(20, f), round, math.trunc,
], ids=["divmod", "rdivmod", "round", "trunc"])
def test_escaped_future_numeric_builtins(serial, apply):
    future = task_call(value_of, 7)
    assert apply(future) == apply(7)


def test_escaped_future_raises_the_task_error(serial):
    future = task_call(fails, "broken input")
    with pytest.raises(ValueError, match="broken input"):
        future + 1


def test_pickling_a_finished_future_pickles_its_value(serial):
    future = task_call(value_of, {"a": [1, 2]})
    assert autofuture.result(future) == {"a": [1, 2]}
    assert pickle.loads(pickle.dumps(future)) == {"a": [1, 2]}
    assert pickle.loads(cloudpickle.dumps([future, future])) == [{"a": [1, 2]}] * 2


def test_pickling_an_unfinished_future_is_a_type_error_naming_result(serial):
    future = task_call(value_of, 1)
    with pytest.raises(TypeError, match=r"autofuture\.result") as info:
        pickle.dumps(future)
    assert "value_of()" in str(info.value)
    with pytest.raises(TypeError, match=r"autofuture\.result"):
        cloudpickle.dumps(future)
    assert not future.done()


def test_result_of_futures_and_plain_values(serial):
    future = task_call(value_of, [4, 5])
    assert autofuture.result(future) == [4, 5]
    assert autofuture.result(future) == [4, 5]  # again: the same value
    plain = object()
    assert autofuture.result(plain) is plain
    assert autofuture.result(None) is None
    assert autofuture.result(3) == 3
    failing = task_call(fails, "bad")
    with pytest.raises(ValueError, match="bad"):
        autofuture.result(failing)


def test_result_in_futurized_code_waits_there_and_gives_the_value(serial):
    """``autofuture.result(x)`` as rewritten code calls it: not a pending local call
    whose own future comes back, but the value, once everything before it ran."""
    seen = []
    first = task_call(value_of, 1)
    abi.call(seen.append, first)  # a local call, pending until first has a value
    got = abi.call(autofuture.result, task_call(value_of, 2))
    assert type(got) is int and got == 2
    assert seen == [1]
    task_call(fails, "earlier")
    with pytest.raises(ValueError, match="earlier"):
        abi.call(autofuture.result, task_call(value_of, 4))


def test_result_without_a_scheduler_is_the_value():
    assert _scheduler.current_or_none() is None
    assert autofuture.result("plain") == "plain"


# --------------------------------------------------------------------------- from scripts


def _script(tmp_path, name, source):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return path


def _line_of(path, text):
    """The 1-based number of the line of ``path`` that contains ``text``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


REPR_SCRIPT = """
    # autofuture
    import time


    def slow(value, delay):
        time.sleep(delay)
        return value


    def fails():
        time.sleep(0.2)
        raise ValueError("boom")


    class Peek:
        # Ordinary code, run where the program compares it (a read runs at its
        # place): it reads the module's future itself, not its value. (A generator's
        # step would run at its turn, after the task.)
        def __init__(self, label, name):
            self.label, self.name, self.seen = label, name, []

        def __eq__(self, other):
            start = time.monotonic()
            text = repr(globals()[self.name])
            self.seen.append((self.label, text, time.monotonic() - start))
            return True


    running = Peek("running", "G")
    later = Peek("failed", "B")
    G = slow(42, 2.0)
    if running == 0:
        for label, text, took in running.seen:
            print(label, "|", text, "|", took < 1.0)
    if G > 0:
        done = Peek("finished", "G")
        if done == 0:
            for label, text, took in done.seen:
                print(label, "|", text, "|", took < 1.0)
    try:
        B = fails()
        print("not reached", B)
    except ValueError as exc:
        print("caught", exc)
    if later == 0:
        for label, text, took in later.seen:
            print(label, "|", text, "|", took < 1.0)
"""


@pytest.mark.parametrize("executor", ["loky", "thread"])
def test_repr_never_blocks_in_a_script(tmp_path, executor):
    script = _script(tmp_path, "repr_states.py", REPR_SCRIPT)
    slow_line = _line_of(script, "G = slow(42")
    fails_line = _line_of(script, "B = fails()")
    run = e2e.run_autofuture(script, executor, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        f"running | <autofuture.Future pending slow() at repr_states.py:{slow_line}> | True",
        f"finished | <autofuture.Future finished slow() at repr_states.py:{slow_line}> | True",
        "caught boom",
        f"failed | <autofuture.Future failed ValueError fails() at repr_states.py:{fails_line}>"
        " | True",
    ]


DUNDER_SCRIPT = """
    # autofuture
    import time


    def slow(value):
        time.sleep(0.3)
        return value


    def escaped():
        # Ordinary code reading pending futures: each protocol waits and uses the value.
        yield "bool", bool(N), bool(Z)
        yield "len", len(L), len(D)
        yield "iter", list(L), [x * 2 for x in L], sorted(D)
        yield "contains", 2 in L, 9 in L, "k" in D
        yield "getitem", L[1], L[-1], D["k"], L[1:]
        yield "str", str(N), str(S), f"{N:>5}|{F:.2f}|{S!s}"
        yield "convert", int(F), float(N), [10, 20, 30, 40, 50, 60, 70][N]
        yield "arith", N + 1, 1 + N, N - 2, 10 - N, N * F, N / 4, 7 // N, N % 4
        yield "arith2", 2**N, N**2, N & 3, N | 8, N ^ 1, N << 1, N >> 1, -N, abs(-N), ~N
        yield "both", N + N, N * F, L + [9], [0] + L, "x" + S
        yield "compare", N < 7, 7 > N, N <= 5, N >= F


    looks = escaped()
    N = slow(6)
    Z = slow(0)
    F = slow(2.5)
    S = slow("text")
    L = slow([1, 2, 3])
    D = slow({"k": 1, "j": 2})
    for row in looks:
        print(*row)
"""


@pytest.mark.parametrize("executor", ["loky", "thread"])
def test_escaped_futures_act_on_values_in_a_script(tmp_path, executor):
    script = _script(tmp_path, "escaped.py", DUNDER_SCRIPT)
    plain = e2e.run_plain(script, timeout=60)
    assert plain.returncode == 0, plain.stderr
    run = e2e.run_autofuture(script, executor, timeout=60)
    e2e.assert_same(plain, run)
    assert "bool True False" in run.stdout
