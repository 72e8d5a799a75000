"""``--progress`` and ``-v``/``-q``: what autofuture itself writes on stderr during a run.

The bar is checked as a user sees it: the run's stderr is a pseudo-terminal
(``pty.openpty``), while its stdout is a pipe whose bytes must be the plain
run's. On a stderr that is not a terminal, ``--progress`` draws nothing unless
``--progress=always``. ``-v``/``-q`` are checked on real runs the same way.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import e2e
import pytest

from autofuture.entrypoints import options
from autofuture.observe import progress as _progress

TIMEOUT = 60.0

PROGRAM = """\
# autofuture
import time


def work(i):
    time.sleep(0.1)
    return i * i


for i in range(12):
    r = work(i)
    print("result", i, r)
print("done")
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("progress")
    (cwd / "prog.py").write_text(PROGRAM, encoding="utf-8")
    plain = e2e._run([sys.executable, "prog.py"], cwd, None, TIMEOUT)
    assert plain.returncode == 0
    return cwd, plain


def autofuture(cwd: Path, *argv: str) -> e2e.Run:
    result = e2e._run([sys.executable, "-m", "autofuture", *argv], cwd, None, TIMEOUT)
    assert not result.timed_out, f"hung: {result.describe()}\n{result.stderr[-2000:]}"
    return result


def on_pty(cwd: Path, argv: list[str], stdout_too: bool = False, columns: int = 100):
    """Run with stderr (and stdout if asked) on a pseudo-terminal: (stdout, terminal, status)."""
    master, slave = pty.openpty()
    if columns:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "autofuture", *argv], cwd=cwd, env=e2e._child_env(None),
        stdin=subprocess.DEVNULL, stdout=slave if stdout_too else subprocess.PIPE, stderr=slave,
        start_new_session=True)
    e2e.STARTED_SESSIONS.append(proc.pid)
    os.close(slave)
    screen = bytearray()
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer of the terminal has closed it
                    break
                if not chunk:
                    break
                screen += chunk
            elif proc.poll() is not None and not select.select([master], [], [], 0.2)[0]:
                break
        else:
            e2e.kill_session(proc.pid)
            pytest.fail(f"hung: {argv}")
        stdout = b"" if stdout_too else proc.stdout.read()
        status = proc.wait(timeout=TIMEOUT)
    finally:
        os.close(master)
        if proc.stdout:
            proc.stdout.close()
    return stdout, screen.decode("utf-8", "replace"), status


# --------------------------------------------------------------------------- the bar


@pytest.mark.parametrize("columns", [100, 0], ids=["100-columns", "size-unknown"])
def test_the_bar_is_drawn_on_a_terminal_and_stdout_is_unchanged(program, columns):
    cwd, plain = program
    stdout, screen, status = on_pty(cwd, ["-n", "2", "--progress", "prog.py"], columns=columns)
    assert status == 0
    assert stdout.decode() == plain.stdout  # byte for byte: the bar never touches stdout
    draws = [d for d in screen.split("\r") if d.startswith("autofuture")]
    assert len(draws) >= 3, screen  # it is live: drawn again as the run goes on
    last = draws[-1]
    assert re.search(r"autofuture 100%\|█+\| 12/12 tasks \[\d\d:\d\d<00:00, +[\d.]+ tasks/s, "
                     r"running 0, queued 0, failed 0\]", last), last
    assert any("queued" in d and "/12 tasks" in d and "100%" not in d for d in draws), draws
    assert screen.endswith("\r\n")  # the final counts stay on screen
    if columns:
        assert all(len(d.rstrip()) <= columns for d in draws)


def test_program_output_on_the_same_terminal_is_never_cut_by_the_bar(program):
    cwd, _ = program
    _, screen, status = on_pty(cwd, ["-n", "2", "--progress", "prog.py"], stdout_too=True)
    assert status == 0
    for i in range(12):
        # Each line of the program starts a terminal line and is written whole.
        assert re.search(rf"(^|[\r\n])result {i} {i * i}\r\n", screen), screen
    assert re.search(r"(^|[\r\n])done\r\n", screen)
    assert "12/12 tasks" in screen.rsplit("done", 1)[1]  # the final bar is below the output


def test_the_bar_counts_failures(tmp_path):
    (tmp_path / "fails.py").write_text(textwrap.dedent("""\
        # autofuture
        def work(i):
            if i == 2:
                raise ValueError("no")
            return i


        def after(x):
            return x


        results = [work(i) for i in range(5)]
        print(after(results[2]))
    """))
    stdout, screen, status = on_pty(tmp_path, ["-n", "2", "--keep-going", "--progress",
                                               "fails.py"])
    assert status == 1
    assert "ValueError: no" in screen
    final = [d for d in screen.split("\r") if d.startswith("autofuture ")][-1]
    assert "6/6 tasks" in final and "failed 2" in final, final


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(program):
    cwd, plain = program
    result = autofuture(cwd, "-n", "2", "--progress", "prog.py")
    assert result.returncode == 0
    assert result.stdout == plain.stdout
    assert result.stderr == ""


def test_progress_always_draws_on_a_pipe_too(program):
    cwd, plain = program
    result = autofuture(cwd, "-n", "2", "--progress=always", "prog.py")
    assert result.returncode == 0
    assert result.stdout == plain.stdout
    assert "12/12 tasks" in result.stderr.split("\r")[-1]
    assert "\x1b[" not in result.stderr  # no terminal escape codes into a file


def test_progress_options_parse_before_the_script():
    parse = options.parser().parse_args
    assert parse(["--progress", "x.py", "--progress"]).progress == "auto"
    assert parse(["--progress", "x.py", "--progress"]).target == ["x.py", "--progress"]
    assert parse(["--progress=always", "x.py"]).progress == "always"
    assert parse(["x.py"]).progress == "never"


# --------------------------------------------------------------------------- in process


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True

    def fileno(self):
        raise io.UnsupportedOperation("no file descriptor")


def test_counts_follow_the_events_and_program_writes_pass_through(monkeypatch):
    err, out = FakeTerminal(), FakeTerminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    bar = _progress.start("auto")
    assert bar is not None
    assert sys.stdout is not out  # stands in while the bar is up
    for i in (1, 2, 3, 4, 5):
        bar({"event": "task", "id": i, "label": f"f() at x.py:{i}", "deps": [], "time": 0})
    bar({"event": "send", "ids": [1, 2], "bytes": 9, "time": 0})
    bar({"event": "end", "id": 1, "ok": True, "start": 0, "end": 0, "worker": "w", "bytes": 1})
    bar({"event": "end", "id": 2, "ok": False, "start": 0, "end": 0, "worker": "w", "bytes": 0})
    bar({"event": "commit", "id": 1, "failed": False, "time": 0})
    bar({"event": "commit", "id": 2, "failed": True, "time": 0})  # counted at its end
    bar({"event": "commit", "id": 3, "failed": True, "time": 0})  # its input failed
    bar({"event": "send", "ids": [4], "bytes": 9, "time": 0})
    assert bar._postfix() == "running 1, queued 1, failed 2"
    bar({"event": "commit", "id": 4, "failed": True, "time": 0})  # its worker was lost
    assert bar._postfix() == "running 0, queued 1, failed 3"
    print("partial", end="")
    print(" line")
    sys.stdout.write("two\nlines\n")
    bar.close()
    assert sys.stdout is out and sys.stderr is err
    assert out.getvalue() == "partial line\ntwo\nlines\n"
    final = err.getvalue().rsplit("\r", 1)[-1]
    assert "4/5 tasks" in final and "running 0, queued 1, failed 3]" in final, final
    assert "two" not in err.getvalue()


def test_no_bar_and_no_stand_ins_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert _progress.start("auto") is None
    assert _progress.start("never") is None
    forced = _progress.start("always")
    assert forced is not None and forced.streams == []
    forced.close()


# --------------------------------------------------------------------------- -v and -q


def test_verbose_says_executor_workers_and_a_summary_on_stderr_only(program):
    cwd, plain = program
    result = autofuture(cwd, "-n", "2", "-v", "prog.py")
    assert result.returncode == 0
    assert result.stdout == plain.stdout
    lines = result.stderr.splitlines()
    assert all(line.startswith("autofuture: ") for line in lines), lines
    assert "autofuture: running prog.py with the loky executor, 2 workers" in lines
    assert "autofuture: executor loky started with 2 workers" in lines
    assert re.search(r"^autofuture: 12 tasks \(0 failed\) in \d+ batches \(mean [\d.]+ tasks, "
                     r"largest \d+, [\d.]+ kB sent\); wall [\d.]+ s, task time [\d.]+ s on "
                     r"[12] workers$", result.stderr, re.M), result.stderr
    assert "sent a batch" not in result.stderr


def test_very_verbose_adds_every_batch_with_times(program):
    cwd, plain = program
    result = autofuture(cwd, "-n", "2", "-vv", "--executor", "thread", "prog.py")
    assert result.returncode == 0
    assert result.stdout == plain.stdout
    batches = re.findall(r"^autofuture \[ *[\d.]+s\]: sent a batch of (\d+) tasks? \(#\d+",
                         result.stderr, re.M)
    assert sum(map(int, batches)) == 12, result.stderr
    assert "thread executor, 2 workers" in result.stderr


def test_quiet_prints_only_errors(program, tmp_path):
    cwd, plain = program
    result = autofuture(cwd, "-n", "2", "-q", "prog.py")
    assert (result.returncode, result.stdout, result.stderr) == (0, plain.stdout, "")
    (tmp_path / "bad.py").write_text("# autofuture\ndef f():\n    raise KeyError('k')\n\n\nf()\n")
    failed = autofuture(tmp_path, "-q", "-n", "2", "bad.py")
    assert failed.returncode == 1
    assert failed.stderr.startswith("Traceback") and "KeyError: 'k'" in failed.stderr


def test_our_lines_are_not_repeated_by_the_programs_own_logging(tmp_path):
    (tmp_path / "logs.py").write_text(textwrap.dedent("""\
        # autofuture
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s:%(name)s:%(message)s")


        def work(i):
            return i + 1


        logging.getLogger("wf").info("result %s", work(1))
    """))
    result = autofuture(tmp_path, "-v", "-n", "2", "logs.py")
    assert result.returncode == 0
    assert "INFO:wf:result 2" in result.stderr.splitlines()
    assert result.stderr.count("executor loky started") == 1
    assert "INFO:autofuture" not in result.stderr
