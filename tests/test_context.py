"""The process context a message carries (``_context``): re-pickled only when it changed,
applied by a worker only when new to it or changed by a task since.

    python -m pytest tests/test_context.py -q
"""

from __future__ import annotations

import os
import sys

import pytest

from autofuture.worker import context as _context


@pytest.fixture(autouse=True)
def fresh_worker_state(monkeypatch):
    monkeypatch.setattr(_context, "_applied", _context._NOTHING_APPLIED)
    monkeypatch.setattr(_context, "_own", {})
    monkeypatch.setattr(_context, "_is_own", None)


@pytest.fixture
def reads(monkeypatch):
    """How many times a worker unpickled a stamp."""
    calls = []
    real = _context.read

    def counting(stamp):
        calls.append(stamp[0])
        return real(stamp)

    monkeypatch.setattr(_context, "read", counting)
    return calls


def test_the_stamp_is_kept_while_nothing_changes():
    stamp = _context.Stamp()
    first = stamp.current()
    assert stamp.current() is first
    assert _context.read(first) == (os.getcwd(), dict(os.environ), sys.path, sys.argv)


@pytest.mark.parametrize("change", ["environ", "unsetenv", "chdir", "path", "argv"])
def test_each_kind_of_change_makes_a_new_version(change, monkeypatch, tmp_path):
    monkeypatch.setenv("AF_CONTEXT_TEST", "before")
    stamp = _context.Stamp()
    first = stamp.current()
    if change == "environ":
        monkeypatch.setenv("AF_CONTEXT_TEST", "after")
    elif change == "unsetenv":
        monkeypatch.delenv("AF_CONTEXT_TEST")
    elif change == "chdir":
        monkeypatch.chdir(tmp_path)
    elif change == "path":
        monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path)])
    else:
        monkeypatch.setattr(sys, "argv", [*sys.argv, "--more"])
    second = stamp.current()
    assert second[0] != first[0]
    cwd, env, path, argv = _context.read(second)
    assert (cwd, env, path, argv) == (os.getcwd(), dict(os.environ), sys.path, sys.argv)
    assert stamp.current() is second


def test_versions_differ_between_stamps():
    assert _context.Stamp().current()[0] != _context.Stamp().current()[0]


def test_a_worker_applies_a_version_once(reads):
    stamp = _context.Stamp().current()
    for _ in range(3):
        _context.apply(stamp)
    assert reads == [stamp[0]]


def test_a_worker_undoes_what_a_task_changed(reads, monkeypatch, tmp_path):
    """A task's os.chdir or os.environ change must not reach the next task."""
    monkeypatch.setenv("AF_CONTEXT_TEST", "workflow")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    stamp = _context.Stamp().current()
    _context.apply(stamp)
    os.chdir("elsewhere")  # what a task did
    os.environ["AF_CONTEXT_TEST"] = "task"
    sys.argv.append("--task")
    try:
        _context.apply(stamp)
        assert os.getcwd() == str(tmp_path)
        assert os.environ["AF_CONTEXT_TEST"] == "workflow"
        assert "--task" not in sys.argv
        assert len(reads) == 2
    finally:
        if sys.argv[-1:] == ["--task"]:
            sys.argv.pop()


def test_own_variables_stay(monkeypatch):
    """An MPI rank keeps its launcher's variables whatever the workflow's are."""
    monkeypatch.setenv("AF_RANK_TEST", "0")
    stamp = _context.Stamp().current()
    monkeypatch.setenv("AF_RANK_TEST", "2")
    _context.keep_own({"AF_RANK_TEST": "2"}, lambda name: name.startswith("AF_RANK_"))
    _context.apply(stamp)
    assert os.environ["AF_RANK_TEST"] == "2"
