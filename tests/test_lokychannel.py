"""The default executor's line to each loky worker (executors/lokychannel.py).

Messages go over a socket of the worker's own, with large buffers as frames
of their own; loky still spawns the worker and says how it died. What the
user sees must not change: arrays arrive writable on both sides (the plain
run is the oracle), and a worker killed with messages queued on its line
fails each of them with loky's account of its death, never hangs.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import e2e
import pytest

DEADLINE = 120.0

BIG_ARRAYS = """\
# autofuture
import numpy as np


def double(a):
    return a * 2, a.flags.writeable   # its argument arrives writable, as in the plain run


def make(n):
    return np.arange(n, dtype=np.float64)


big = make(1_000_000)            # 8 MB: out of band, both ways
big[0] = 5.0                     # the workflow's result array is writable
twice, writable = double(big)
twice[1] = 1.0
print(float(big[0]), float(big[-1]), float(twice[0]), float(twice[1]), float(twice[-1]),
      writable, twice.flags.writeable)
small, _ = double(np.ones(3))
print(small.tolist())
try:
    double("a" * 3)
except AttributeError as exc:
    print("error:", exc)
"""


def test_big_arrays_travel_both_ways_and_arrive_writable(tmp_path):
    pytest.importorskip("numpy")
    program = tmp_path / "arrays.py"
    program.write_text(BIG_ARRAYS)
    plain = e2e.run_plain(program, timeout=DEADLINE)
    fut = e2e.run_autofuture(program, "loky", workers=2, timeout=DEADLINE)
    e2e.assert_same(plain, fut)
    assert "5.0 999999.0 10.0 1.0 1999998.0 True True" in fut.stdout


def _message(fn, *args):
    """One task of ``fn(*args)`` as the scheduler sends it (see worker.runner.run_batch)."""
    from autofuture.worker import context, serialize

    return (context.Stamp().current(), [(None, serialize.dumps(fn))],
            [(0, 1, serialize.call_payload(args, {}))])


def test_a_killed_worker_fails_every_message_on_its_line_with_loky_s_account(tmp_path):
    from loky import ProcessPoolExecutor
    from loky.process_executor import BrokenProcessPool

    from autofuture.executors.lokychannel import Channel
    from autofuture.worker import runner

    pool = ProcessPoolExecutor(max_workers=1, initializer=runner.init_worker)
    try:
        channel = Channel(pool, str(tmp_path), "process")
        first = channel.submit(_message(os.getpid))
        (ok, payload, _, _), = first.result(timeout=DEADLINE)
        assert ok
        pid = payload[1]
        assert pid != os.getpid()
        running = channel.submit(_message(time.sleep, 60))
        queued = channel.submit(_message(os.getpid))
        os.kill(pid, signal.SIGKILL)
        for future in (running, queued):
            with pytest.raises(BrokenProcessPool) as caught:
                future.result(timeout=DEADLINE)
            assert "SIGKILL" in str(caught.value) or "-9" in str(caught.value), caught.value
        with pytest.raises(BrokenProcessPool):
            channel.submit(_message(os.getpid))
    finally:
        pool.shutdown(wait=True, kill_workers=True)


def test_a_worker_that_dies_before_it_connects_fails_what_was_sent(tmp_path):
    """The first message waits for the worker's connection; a worker that never comes
    (its initializer ends it) fails it instead of leaving the workflow waiting."""
    from loky import ProcessPoolExecutor
    from loky.process_executor import BrokenProcessPool

    from autofuture.executors.lokychannel import Channel

    pool = ProcessPoolExecutor(max_workers=1, initializer=os._exit, initargs=(3,))
    try:
        channel = Channel(pool, str(tmp_path), "process")
        future = channel.submit(_message(os.getpid))
        with pytest.raises(BrokenProcessPool):
            future.result(timeout=DEADLINE)
        channel.thread.join(DEADLINE)
        assert not channel.thread.is_alive()
        assert not os.listdir(tmp_path), "the socket file was left behind"
    finally:
        pool.shutdown(wait=True, kill_workers=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
