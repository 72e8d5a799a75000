"""How big values move (issue 19's speed): taken, not copied; past loky's queue.

- A chain of steps written as a recursive ``@autofuture.workflow`` gives each
  step's result to the next step on its worker (``take``) instead of copying it:
  the workflow function's frame, kept by the call sites of its tasks, no longer
  keeps the futures it is done with.
- Big task arguments made in the workflow reach a loky worker out of band
  (``executors/lokychannel.py``); what the task sees is what the plain run's
  call sees, a mutation in the workflow after the call included.
"""

from __future__ import annotations

import json
from pathlib import Path

import e2e
import pytest

np = pytest.importorskip("numpy")

DEADLINE = 120.0

CHAIN = """\
# autofuture
import numpy as np
import autofuture

def step(a: np.ndarray) -> np.ndarray:
    return a + 1.0

@autofuture.workflow
def chain(a: np.ndarray, k: int) -> np.ndarray:
    if k == 0:
        return a
    return chain(step(a), k - 1)

@autofuture.workflow
def kept(a: np.ndarray) -> tuple:
    first = step(a)
    last = chain(step(first), 3)
    return first, last

start = np.zeros(512 * 1024)                     # 4 MiB
final = autofuture.result(chain(start, 6))
print(final[0], final[-1], start[0])
first, last = kept(np.zeros(512 * 1024))
print(first[0], last[0])                         # first must not see the later steps
"""


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_recursive_workflow_chain_takes_each_array_instead_of_copying(tmp_path):
    program = tmp_path / "chain.py"
    program.write_text(CHAIN)
    trace = tmp_path / "trace.jsonl"
    plain = e2e.run_plain(program, timeout=DEADLINE)
    fut = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE,
                             extra_opts=["--trace", str(trace)])
    e2e.assert_same(plain, fut)
    assert plain.stdout.splitlines() == ["6.0 6.0 0.0", "1.0 5.0"]
    seen = events(trace)
    line = {e["id"]: e["line"] for e in seen if e["event"] == "task"}
    taken = {i for e in seen if e["event"] == "free" and e["why"] == "taken"
             for i in e["ids"]}
    held = [e["id"] for e in seen if e["event"] == "end" and "held" in e]
    # chain(start, 6): six steps, each but the last read by the next, which takes it.
    chain_steps = sorted(i for i in held if line[i] == 12)[:6]
    assert len(chain_steps) == 6
    assert set(chain_steps[:5]) <= taken, "a step's input was copied, not taken"
    # kept(): 'first' is still referred to when the next step reads it: copied, not taken.
    first = min(i for i in held if line[i] == 16)
    assert first not in taken


ARGUMENTS = """\
# autofuture
import numpy as np

def describe(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple:
    return float(a.sum()), float(b.sum()), float(c[1]), b.flags.writeable, b is c

def double(a: np.ndarray) -> np.ndarray:
    return a * 2.0

big = np.arange(1024 * 1024, dtype=np.float64)          # 8 MiB
frozen = np.ones(300 * 1024)
frozen.flags.writeable = False
print(describe(big, frozen, frozen))
big[1] = 5.0                        # after the call, in the workflow
print(describe(big, frozen, big))
twice = double(big)
print(float(twice[1]), float(twice[-1]))
print(float(double(twice)[2]))      # a fetched value sent again
print(big[0], big[1])
sums = []
for i in range(4):
    sums.append(describe(big, frozen, big)[0])
    big[:] = float(i)               # the task must see big as of its call
print(sums)
"""


def test_big_arguments_reach_the_task_as_the_plain_call_sees_them(tmp_path):
    program = tmp_path / "arguments.py"
    program.write_text(ARGUMENTS)
    plain = e2e.run_plain(program, timeout=DEADLINE)
    fut = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE)
    e2e.assert_same(plain, fut)
