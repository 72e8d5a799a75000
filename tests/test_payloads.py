"""A task function's payload (``_payloads``): serialized once while nothing it is made of
changes, and loaded once per worker under its token (``_worker``).

    python -m pytest tests/test_payloads.py -q

The functions below stand for functions of a marked module: the fixture marks this file.
"""

from __future__ import annotations

import json
import os

import pytest

from autofuture.runtime import callees
from autofuture.runtime import payloads as _payloads
from autofuture.worker import context, runner, serialize

SCALE = 2
LIMITS = (1, 10)
CONFIG = {"n": 1}


def scaled(x):
    return x * SCALE


def clipped(x):
    low, high = LIMITS
    return max(low, min(high, x))


def configured():
    return CONFIG["n"]


def offset(x, k=3):
    return x + k


def remembers(x, seen=[]):  # noqa: B006 - a mutable default is the point
    seen.append(x)
    return len(seen)


def helper():
    return SCALE + 1


def via_helper():
    return helper() * 10


def uses_library(x):
    return json.dumps({"x": x, "sep": os.sep})


class Point:
    def __init__(self, x):
        self.x = x


def makes_point(x):
    return Point(x).x


def closure_over(value):
    def read():
        return value

    return read


def counter():
    count = 0

    def bump():
        nonlocal count
        count += 1
        return count

    return bump


@pytest.fixture(autouse=True)
def marked_here():
    callees.marked_files.add(__file__)
    yield
    callees.marked_files.discard(__file__)


def tokens(fn, times=2):
    payloads = _payloads.FunctionPayloads()
    return [payloads.get(fn)[0] for _ in range(times)]


@pytest.mark.parametrize("fn", [scaled, clipped, offset, via_helper, uses_library,
                                closure_over(5), closure_over((1, "a"))],
                         ids=lambda fn: fn.__name__)
def test_functions_of_immutable_inputs_are_kept(fn):
    first, second = tokens(fn)
    assert first is not None
    assert second == first


@pytest.mark.parametrize("fn", [configured, remembers, makes_point, counter(),
                                closure_over([1])],
                         ids=lambda fn: fn.__name__)
def test_functions_that_read_or_write_what_can_change_are_not_kept(fn):
    assert tokens(fn) == [None, None]


def test_a_rebound_global_makes_a_new_payload(monkeypatch):
    payloads = _payloads.FunctionPayloads()
    first, payload = payloads.get(scaled)
    monkeypatch.setitem(globals(), "SCALE", 10)
    second, new_payload = payloads.get(scaled)
    assert second not in (None, first)
    assert serialize.loads(new_payload)(1) == 10
    assert payloads.get(scaled)[0] == second


def test_a_global_of_a_helper_counts(monkeypatch):
    payloads = _payloads.FunctionPayloads()
    first, _ = payloads.get(via_helper)
    monkeypatch.setitem(globals(), "SCALE", 4)
    second, payload = payloads.get(via_helper)
    assert second != first
    assert serialize.loads(payload)() == 50


def test_new_defaults_make_a_new_payload(monkeypatch):
    payloads = _payloads.FunctionPayloads()
    first, _ = payloads.get(offset)
    monkeypatch.setattr(offset, "__defaults__", (7,))
    second, payload = payloads.get(offset)
    assert second != first
    assert serialize.loads(payload)(1) == 8
    monkeypatch.setattr(offset, "__defaults__", ([7],))
    assert payloads.get(offset)[0] is None


def test_a_global_that_becomes_mutable_is_no_longer_kept(monkeypatch):
    payloads = _payloads.FunctionPayloads()
    assert payloads.get(clipped)[0] is not None
    monkeypatch.setitem(globals(), "LIMITS", [1, 5])
    token, payload = payloads.get(clipped)
    assert token is None
    assert serialize.loads(payload)(20) == 5


def test_a_library_function_is_kept_whatever_its_module_holds():
    """Sent by name: what its module holds stays in the worker's own import."""
    first, second = tokens(json.dumps)
    assert first is not None
    assert second == first


def message(fn, *args):
    payloads = _payloads.FunctionPayloads()
    return (context.Stamp().current(), [payloads.get(fn)],
            [(0, 1, serialize.dumps_split((args, {})))])


@pytest.fixture
def loads(monkeypatch):
    """The functions a worker loaded."""
    monkeypatch.setattr(runner, "_functions", {})
    loaded = []
    real = runner._load

    def counting(payload, what, buffers=()):
        if what == "function":
            loaded.append(payload)
        return real(payload, what, buffers)

    monkeypatch.setattr(runner, "_load", counting)
    return loaded


def test_a_worker_loads_a_kept_function_once(loads):
    sent = message(scaled, 3)
    for _ in range(3):
        [(ok, payload, _, _)] = runner.run_batch(sent, capture="none")
        assert ok and serialize.load(payload) == 6
    assert len(loads) == 1


def test_a_worker_loads_other_functions_each_time(loads):
    sent = message(configured)
    for _ in range(2):
        [(ok, payload, _, _)] = runner.run_batch(sent, capture="none")
        assert ok and serialize.load(payload) == 1
    assert len(loads) == 2


def test_a_function_that_fails_to_load_is_not_kept(loads):
    sent = (None, [(("test", 1), b"P-not-a-pickle")], [(0, 1, serialize.dumps_split(((), {})))])
    for _ in range(2):
        [(ok, info, _, _)] = runner.run_batch(sent, capture="none")
        assert not ok
    assert len(loads) == 2


# --------------------------------------------------------------------------- inline values

@pytest.mark.parametrize("args, kwargs", [((1, 2.5, "s", b"b", None, True, 3j), {}),
                                          ((), {"k": 1}), ((10**100,), {})])
def test_atoms_travel_inline_and_serialize_as_before(args, kwargs):
    payload = serialize.call_payload(args, kwargs)
    assert payload == (None, (args, kwargs))
    assert serialize.load(payload) == (args, kwargs)
    # checkpoint keys and records are made of these bytes: the same as before
    assert serialize.serialized(payload) == serialize.dumps_split((args, kwargs))


@pytest.mark.parametrize("args, kwargs", [(([1],), {}), (((1, 2),), {}), ((), {"k": [1]}),
                                          ((Point(1),), {})])
def test_anything_else_is_serialized_at_the_call(args, kwargs):
    """A list may change after the call (captured by value); a tuple may hold anything."""
    data, buffers = serialize.call_payload(args, kwargs)
    assert type(data) is bytes
    loaded_args, loaded_kwargs = serialize.load((data, buffers))
    assert len(loaded_args) == len(args) and loaded_kwargs.keys() == kwargs.keys()


@pytest.mark.parametrize("value", [7, "text", b"\x00" * 10, None, 2.5])
def test_atom_results_travel_inline(value):
    payload = serialize.value_payload(value)
    assert payload == (None, value)
    assert serialize.load(payload) == value
    assert serialize.serialized(payload) == serialize.dumps_split(value)


def test_a_worker_runs_inline_arguments_and_returns_inline_results(loads):
    payloads = _payloads.FunctionPayloads()
    sent = (context.Stamp().current(), [payloads.get(offset)],
            [(0, 1, serialize.call_payload((1,), {"k": 4})),
             (0, 2, serialize.call_payload((2,), {}))])
    results = runner.run_batch(sent, capture="none")
    assert [(ok, payload) for ok, payload, _, _ in results] == [(True, (None, 5)),
                                                                (True, (None, 5))]
