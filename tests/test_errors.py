"""Every error a user can cause reads as a plain sentence naming what went wrong and where,
and stderr shows the user's frames only: never autofuture's own (``e2e.INTERNAL_FRAME``)
unless ``AUTOFUTURE_DEBUG=1``, which shows them.

Each case is a small marked script run under ``python -m autofuture`` in a subprocess with
a hard timeout; ``conftest.py`` fails a test whose runs leave a process behind.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import e2e
import pytest

INTERNAL = e2e.INTERNAL_FRAME
TIMEOUT = 60.0


@dataclasses.dataclass(frozen=True)
class Case:
    source: str
    final: str  # a regex the last line of stderr must match in full
    where: tuple[str, ...]  # texts of lines that must appear as File "...", line N frames
    stdout: str = ""
    executors: tuple[str, ...] = ("loky", "thread", "serial")


CASES = {
    "task_error": Case(
        source="""
            # autofuture
            def step(i):
                if i == 3:
                    raise ValueError(f"step {i} failed: the input was {i}")
                return i


            for i in range(6):
                r = step(i)
                print("result", i, r)
        """,
        final=r"ValueError: step 3 failed: the input was 3",
        where=("r = step(i)", "raise ValueError("),
        stdout="result 0 0\nresult 1 1\nresult 2 2\n",
    ),
    "local_error_deferred": Case(
        source="""
            # autofuture
            import time


            def slow(i):
                time.sleep(0.3)
                print("slow", i)
                return i


            def parse(text):
                return int(text)


            a = slow(1)
            b = slow(2)
            n = parse("x1")
            print("never", a, b, n)
        """,
        final=r"ValueError: invalid literal for int\(\) with base 10: 'x1'",
        where=('n = parse("x1")', "return int(text)"),
        stdout="slow 1\nslow 2\n",
    ),
    "unpack_arity": Case(
        source="""
            # autofuture
            def pair(i):
                if i == 2:
                    return (i, i, i)
                return (i, i + 1)


            for i in range(4):
                a, b = pair(i)
                print(i, a, b)
        """,
        final=r"ValueError: too many values to unpack \(expected 2\)",
        where=("a, b = pair(i)",),
        stdout="0 0 1\n1 1 2\n",
    ),
    "rebinding_at_load": Case(
        source="""
            # autofuture
            print("started")


            def f(x):
                return x


            x = f(1)
            x = f(2)
        """,
        final=r"autofuture\.RebindError: name 'x' is bound again here; it was first bound at "
              r"line 9, column 1\. .+",
        where=("x = f(2)",),
        executors=("loky",),
    ),
    "unpicklable_argument": Case(
        source="""
            # autofuture
            import socket
            import time


            def slow(i):
                time.sleep(0.2)
                return i


            def send(conn, payload):
                return payload


            link = socket.socket()
            a = slow(1)
            print("a", a)
            sent = send(link, "hello")
            print("never", sent)
        """,
        final=r"autofuture\.SerializationError: argument 'conn' of task send\(\) is a "
              r"socket\.socket, which cannot be sent to a worker .+\.",
        where=('sent = send(link, "hello")',),
        stdout="a 1\n",
    ),
    "lost_worker": Case(
        source="""
            # autofuture
            import os
            import time


            def fine(i):
                return i


            def crash():
                time.sleep(0.2)
                os.kill(os.getpid(), 9)


            a = fine(1)
            print("a", a)
            c = crash()
            print("never", c)
        """,
        final=r"autofuture\.WorkerLostError: the worker running task crash\(\) at "
              r"errors_lost_worker\.py:17 .+\.",
        where=("c = crash()",),
        stdout="a 1\n",
        executors=("loky",),
    ),
}

PARAMS = [pytest.param(name, executor, id=f"{name}-{executor}")
          for name, case in CASES.items() for executor in case.executors]


def write_case(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"errors_{name}.py"
    path.write_text(textwrap.dedent(CASES[name].source).lstrip(), encoding="utf-8")
    return path


def run_case(tmp_path: Path, name: str, executor: str, env=None) -> e2e.Run:
    script = write_case(tmp_path, name)
    run = e2e.run_autofuture(script, executor, workers=4, env=env, timeout=TIMEOUT)
    assert not run.timed_out, f"hung: {run.describe()}\n{run.stderr[-3000:]}"
    return run


def frames_named(script: Path, texts) -> list[str]:
    lines = script.read_text(encoding="utf-8").splitlines()
    wanted = []
    for text in texts:
        number = next(i for i, line in enumerate(lines, 1) if text in line)
        wanted.append(f'"{script}", line {number}')
    return wanted


def test_cases_line_numbers_are_right(tmp_path):
    """The expected messages above hard-code two line numbers; keep them honest."""
    rebind = write_case(tmp_path, "rebinding_at_load").read_text().splitlines()
    assert rebind[8] == "x = f(1)"
    lost = write_case(tmp_path, "lost_worker").read_text().splitlines()
    assert lost[16] == "c = crash()"


@pytest.mark.parametrize(("name", "executor"), PARAMS)
def test_error_is_a_plain_sentence_naming_what_and_where(tmp_path, name, executor):
    case = CASES[name]
    run = run_case(tmp_path, name, executor)
    script = tmp_path / f"errors_{name}.py"
    assert run.returncode == 1, run.stderr
    assert run.stdout == case.stdout
    last = e2e.final_error_line(run.stderr)
    assert re.fullmatch(case.final, last), f"last line: {last!r}\n{run.stderr}"
    for frame in frames_named(script, case.where):
        assert f"File {frame}" in run.stderr, f"{frame} missing from:\n{run.stderr}"
    message = last.partition(": ")[2]
    for jargon in ("NoneType", "_scheduler", "Entry", "payload", "<autofuture"):
        assert jargon not in message
    # ... and nothing of autofuture's own on stderr.
    assert not INTERNAL.search(run.stderr), run.stderr


DEBUG_PARAMS = [
    pytest.param(name, CASES[name].executors[0], id=name)
    for name in CASES
]


@pytest.mark.parametrize(("name", "executor"), DEBUG_PARAMS)
def test_debug_shows_autofuture_frames(tmp_path, name, executor):
    case = CASES[name]
    run = run_case(tmp_path, name, executor, env={"AUTOFUTURE_DEBUG": "1"})
    assert run.returncode == 1
    assert run.stdout == case.stdout
    assert re.fullmatch(case.final, e2e.final_error_line(run.stderr))
    assert INTERNAL.search(run.stderr), run.stderr
