"""Which body a versioned loop runs once futures exist (language.plainloop, runtime.plainbody).

The differential programs (``plain_loop_first.py``, ``plain_loop_after.py``)
show that either body prints what plain Python prints; these tests show that
the body run as written is the one taken when the look before the loop holds,
and the rewritten one when it must not be: the rewritten body reads
attributes through ``__af__.getattr``, the body as written never does.
"""

from __future__ import annotations

import builtins
import textwrap

import pytest

from autofuture.language import hook
from autofuture.runtime import abi, plainbody
from autofuture.runtime.future import Future

PROGRAM = textwrap.dedent('''\
    # autofuture
    class Record:
        def __init__(self, kind, value):
            self.kind = kind
            self.value = value


    class WithMethod:
        def __init__(self, value):
            self.value = value

        def doubled(self):
            return 2 * self.value


    def square(x):
        return x * x


    plain = [Record("ab"[i % 2], i) for i in range(50)]
    methods = [WithMethod(i) for i in range(50)]
    too_many = [Record("x", i) for i in range(2000)]
    first = square(3)
    if first != 9:  # waits: nothing is pending after it
        raise SystemExit(first)
    records = CASE
    seen = []
    for i in range(ROUNDS):
        seen.append(records[i % len(records)].value)
''')


@pytest.fixture
def run_program(tmp_path, scheduler_with, monkeypatch):
    """Run the program in this process (serial executor) with ``records`` bound to one
    case; the values the loop saw, and the rewritten body's attribute reads."""
    scheduler_with(executor="serial")
    reads = []
    rewritten_getattr = abi.getattr

    def counting(obj, name, *default):
        reads.append(name)
        return rewritten_getattr(obj, name, *default)

    monkeypatch.setattr(abi, "getattr", counting)

    def run(case: str, rounds: int) -> tuple[list, list]:
        path = tmp_path / f"probe_{case}.py"
        path.write_text(PROGRAM.replace("CASE", case).replace("ROUNDS", str(rounds)))
        namespace = {"__name__": "probe", "__file__": str(path), "__builtins__": builtins}
        exec(hook.compile_path(path), namespace)
        loop_reads = [name for name in reads if name == "value"]
        return namespace["seen"], loop_reads

    return run


def test_a_body_reading_plain_records_runs_as_written_once_futures_exist(run_program):
    seen, reads = run_program("plain", 200)
    assert plainbody.FUTURES_MADE  # square(3) made one
    assert seen == [i % 50 for i in range(200)]
    assert reads == []


@pytest.mark.parametrize("case", ["methods", "too_many"])
def test_a_body_that_could_read_a_future_is_the_rewritten_one(run_program, case):
    # Instances of a class with a method (reading one may run Python code); more
    # values than the look reads.
    seen, reads = run_program(case, 3)
    assert seen == [0, 1, 2]
    assert reads == ["value"] * 3


def test_a_future_made_after_the_look_sends_the_loop_to_the_rewritten_body(
        run_program, monkeypatch):
    looks = []
    real_looked = plainbody.looked

    def look_then_make_a_future(*args):
        flag = real_looked(*args)
        looks.append(bool(flag))
        Future()  # a new future: every look made before it ends
        return flag

    monkeypatch.setattr(plainbody, "looked", look_then_make_a_future)
    seen, reads = run_program("plain", 4)
    assert seen == [0, 1, 2, 3]
    assert looks == [True]
    assert reads == ["value"] * 4


def test_a_pending_entry_keeps_the_loop_rewritten(scheduler_with):
    scheduler_with(executor="serial")
    Future()  # futures exist
    plain_values = [1, 2]  # what the look reads, by name, in this frame
    scheduler = abi.current()
    scheduler.logs[-1].append(object())  # stands for an entry not yet committed
    try:
        assert not plainbody.look(plainbody.ONLY_C, ("plain_values",), (), ())
    finally:
        scheduler.logs[-1].pop()
    assert plainbody.look(plainbody.ONLY_C, ("plain_values",), (), ()) == [True]
    assert not plainbody.look(True, ("plain_values",), (), ())  # a callee that is Python code
    plain_values.append(Future())
    assert not plainbody.look(plainbody.ONLY_C, ("plain_values",), (), ())


def test_the_look_reads_through_plain_values_only():
    plain = plainbody._plain
    assert plain([1, "a", (2.0, None), {"k": [b"x"]}, len, int, [].append])
    assert not plain([type("Cls", (), {"attribute": 1})()])  # a class attribute: unread
    assert not plain([lambda: 1])
    assert not plain([[0] * (plainbody.LOOK_LIMIT + 1)])
    assert not plain([plainbody])  # a module is read only as a callee's receiver
    record = type("Record", (), {"__init__": lambda self: None})()
    assert plain([record])
    record.value = Future()
    assert not plain([[record]])
