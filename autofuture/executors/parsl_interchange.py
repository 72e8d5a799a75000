"""Parsl's interchange for ``--executor parsl``, leaving when the workflow dies.

Parsl starts its interchange as a process of its own, in the workflow's
process group (a terminal's Ctrl-C reaches it), and never stops it if the
workflow is killed (SIGKILL, the OOM killer); its managers keep
heartbeating to it, and the whole block lives on. Started through this
module, the interchange exits within a second of its parent (the workflow),
and the managers, missing its heartbeats, follow it (``executors.parsl``'s
heartbeat threshold).
"""

import os
import runpy
import signal
import threading

if __name__ == "__main__":
    from autofuture.worker.runner import _exit_with_parent

    # A terminal's Ctrl-C reaches the whole process group; the workflow decides, and
    # stops the interchange itself (Parsl would wait for a dead one's answers forever).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True,
                     name="autofuture-orphan-watch").start()
    runpy.run_module("parsl.executors.high_throughput.interchange", run_name="__main__",
                     alter_sys=True)
