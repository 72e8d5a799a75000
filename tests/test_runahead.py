"""What may run ahead of pending effects (``runtime.runahead``): the parts that are pure
functions of objects, tested on objects. The rule at work, end to end, is in the
alias programs under tests/programs/ and in test_concurrency.py."""

from __future__ import annotations

import collections
import contextlib
import io
import json
import operator
import sys
import threading
import types

import pytest

from autofuture.runtime import callees as _dispatch
from autofuture.runtime import effects as _effects
from autofuture.runtime import runahead as _runahead
from autofuture.runtime.future import Future

Point = collections.namedtuple("Point", "x y")


class Plain:
    def __init__(self):
        self.items = [1]


class Guarded:
    def __init__(self):
        self._n = 0

    @property
    def n(self):
        return self._n

    @n.setter
    def n(self, value):
        self._n = value


@pytest.mark.parametrize(("obj", "expected"), [
    (1, True), ("s", True), (b"b", True), (None, True), (range(3), True), (2.5, True),
    ((1, ("a", None)), True), (frozenset({1, 2}), True), (Point(1, 2), True),
    ((1, [2]), False), ([1], False), ({"a": 1}, False), (Plain(), False),
    (Point(1, [2]), False), (len, True), (operator.add, True), (io, True),
])
def test_fixed(obj, expected):
    assert _runahead.fixed(obj) is expected


def test_a_tuple_too_long_to_look_through_counts_as_mutable():
    assert _runahead.fixed(tuple(range(_runahead.LIMIT)))
    assert not _runahead.fixed(tuple(range(_runahead.LIMIT + 1)))


def test_reach_of_a_structural_read_is_the_object_alone():
    inner = [1]
    outer = {"a": inner}
    futures: list = []
    assert _runahead.reach(outer, False, futures) == [outer]
    assert {id(x) for x in _runahead.reach(outer, True, futures)} >= {id(outer), id(inner)}
    assert futures == []


def test_reach_collects_futures_without_following_them():
    future = Future()
    futures: list = []
    held = [future, (future, 1)]
    assert _runahead.reach(held, True, futures) == [held]
    assert futures == [future, future]


def test_reach_of_an_instance_includes_what_it_holds():
    obj = Plain()
    reached = _runahead.reach(obj, True, [])
    assert any(item is obj.items for item in reached)


def test_reach_gives_up_past_the_limit():
    assert _runahead.reach([[i] for i in range(_runahead.LIMIT + 1)], True, []) is None


def test_print_writes_its_stream_and_keeps_nothing(monkeypatch):
    buffer = io.StringIO()
    assert _effects.effect_writes(print, ("x",), {"file": buffer}) == ((buffer,), ())
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert _effects.effect_writes(print, ("x",), {}) == ((sys.stdout,), ())


def test_print_to_a_stream_of_the_program_may_change_anything():
    class Stream:
        def write(self, text):
            pass

    assert _effects.effect_writes(print, ("x",), {"file": Stream()}) is None


def test_builtin_container_methods_write_their_container_and_keep_their_arguments():
    items, kept = [], [1]
    assert _effects.effect_writes(items.append, (kept,), {}) == ((items,), (kept,))
    table = {}
    assert _effects.effect_writes(table.update, ({"a": 1},), {})[0] == (table,)
    assert _effects.effect_writes(items.count, (1,), {}) == ((), ())


def test_a_method_that_iterates_a_generator_may_change_anything():
    items = []
    assert _effects.effect_writes(items.extend, ((x for x in "ab"),), {}) is None


def test_assignments_write_their_target():
    obj, table = Plain(), {}
    assert _effects.effect_writes(setattr, (obj, "items", 2), {}) == ((obj,), (2,))
    assert _effects.effect_writes(operator.setitem, (table, "k", 3), {}) == \
        ((table,), ("k", 3))


def test_a_property_setter_or_a_class_may_change_anything():
    assert _effects.effect_writes(setattr, (Guarded(), "n", 1), {}) is None
    assert _effects.effect_writes(setattr, (Plain, "x", 1), {}) is None


def test_functions_of_the_program_and_of_libraries_may_change_anything():
    def helper(x):
        return x

    assert _effects.effect_writes(helper, (1,), {}) is None
    assert _effects.effect_writes(sys.stdout.write, ("x",), {}) is None


def test_private_is_judged_at_the_entry_s_place():
    future = Future()
    assert _runahead.private(future)
    _runahead.share([future], 5)
    assert _runahead.private(future, clock=4)
    assert not _runahead.private(future, clock=5)
    assert not _runahead.private(future)


def test_a_read_is_shared_when_what_it_was_read_from_is():
    source, read = Future(), Future()
    read._af_sources = [source]
    assert _runahead.private(read)
    _runahead.share([source], 1)
    assert not _runahead.private(read)


def test_sharing_a_read_shares_what_it_was_read_from():
    source, read = Future(), Future()
    read._af_sources = [source]
    _runahead.share([read], 3)
    assert not _runahead.private(source)


MODULE = """
COUNT = 0
ITEMS = []


def bump():
    global COUNT
    COUNT = COUNT + 1


def calls_bump():
    bump()


def appends():
    ITEMS.append(1)


def counter():
    n = 0

    def inc():
        nonlocal n
        n = n + 1

    return inc
"""


@contextlib.contextmanager
def marked(tmp_path, name: str, source: str):
    """A module of ``source``, as if imported from a marked file (in sys.modules)."""
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)
    _dispatch.marked_files.add(str(path))
    sys.modules[name] = module
    try:
        yield module
    finally:
        del sys.modules[name]
        _dispatch.marked_files.discard(str(path))


@pytest.fixture
def marked_module(tmp_path):
    with marked(tmp_path, "marked_for_rebinds", MODULE) as module:
        yield module


def test_rebinds_follows_the_marked_functions_a_call_reads(marked_module):
    assert _effects.rebinds(marked_module.bump)
    assert _effects.rebinds(marked_module.calls_bump)
    assert not _effects.rebinds(marked_module.appends)
    assert _effects.rebinds(marked_module.counter())
    assert not _effects.rebinds(print)


def test_exempt_reads_run_no_code_of_the_program():
    assert _runahead.exempt_read(operator.getitem, ([1, 2], 0), {})
    assert _runahead.exempt_read(getattr, (Plain(), "items"), {})
    assert not _runahead.exempt_read(getattr, (Guarded(), "n"), {})
    assert _runahead.exempt_read(sorted, ([3, 1, 2],), {})
    assert not _runahead.exempt_read(sorted, ([Plain()],), {})
    assert not _runahead.exempt_read(sorted, ([3, 1],), {"key": abs})


REGISTRY_MODULE = """
class Registry:
    entries = []

    def add(self, value):
        Registry.entries.append(value)


class Plain:
    def add(self, value):
        return Plain, value
"""


def test_a_marked_class_holding_a_list_is_not_fixed_nor_its_methods_that_name_it(tmp_path):
    with marked(tmp_path, "marked_registry", REGISTRY_MODULE) as module:
        assert _runahead.fixed(module.Plain) and _runahead.fixed(module.Plain.add)
        assert not _runahead.fixed(module.Registry)
        assert not _runahead.fixed(module.Registry.add)
        assert not _runahead.fixed(module.Registry.add)  # no verdict of the cycle was kept


REACH_MODULE = """
import json

LOG = []
OTHER = []


class Acc:
    def __init__(self):
        self.items = []

    def add(self, value):
        self.items.append(value)
        self._note()

    def _note(self):
        LOG.append(len(self.items))


def record(value):
    LOG.append(value)


def dump(value):
    return json.dumps(value)


def by_name(name):
    return globals()[name]


def computed(obj, name):
    return getattr(obj, name)
"""


@pytest.fixture
def reach_module(tmp_path):
    with marked(tmp_path, "marked_reach", REACH_MODULE) as module:
        yield module


def _ids(objects):
    return {id(obj) for obj in objects}


def test_a_method_reaches_its_object_what_it_holds_and_the_globals_its_class_reads(
        reach_module):
    acc = reach_module.Acc()
    reached = _ids(_effects.call_reach(acc.add, (1,), {}))
    assert {id(acc), id(acc.items), id(reach_module.LOG)} <= reached
    assert id(reach_module.OTHER) not in reached


def test_a_function_reaches_the_globals_it_reads(reach_module):
    reached = _ids(_effects.call_reach(reach_module.record, ([],), {}))
    assert id(reach_module.LOG) in reached and id(reach_module.OTHER) not in reached


@pytest.mark.parametrize("name", ["dump", "by_name", "computed"])
def test_code_that_reaches_by_name_or_a_library_may_change_anything(reach_module, name):
    assert _effects.call_reach(getattr(reach_module, name), (1, "x"), {}) is None


def test_a_library_s_function_or_object_may_change_anything(reach_module):
    assert _effects.call_reach(json.dumps, ({},), {}) is None
    lock = threading.Lock()
    assert _effects.call_reach(reach_module.record, (lock,), {}) is None


def test_a_task_s_private_result_reaches_nothing_and_a_shared_pending_one_anything(
        reach_module):
    private, shared = Future(), Future()
    _runahead.share([shared], 1)
    assert _effects.call_reach(reach_module.record, (private,), {}) is not None
    assert _effects.call_reach(reach_module.record, (shared,), {}) is None
