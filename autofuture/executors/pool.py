"""What every executor adapter shares: the interface, the error, the default size.

Every adapter offers ``submit(message, labels) -> concurrent.futures.Future``
(the future's result is ``runner.run_batch``'s list), ``workers``,
``wants_labels`` (whether ``submit`` uses the tasks' labels) and
``shutdown(cancel)``. One with ``enforces_timeouts`` also takes
``submit(..., timeouts=[seconds])`` (a task with a limit travels alone) and
names in ``timed_out`` the tasks whose worker it killed for running past
theirs; ``lost_tasks(exc)``, where workers can die, names the tasks a lost
message's dead worker was running. The scheduler knows nothing about which
one it has.
"""

from __future__ import annotations

import os


class ExecutorError(Exception):
    """An executor could not be created from the user's options."""


class PoolAdapter:
    inline = False
    wants_labels = False  # submit() is given the tasks' labels only if it uses them
    in_process = False  # True when tasks run in this process and share its memory

    def __init__(self, pool, workers: int, capture: str):
        self.pool = pool
        self.workers = workers
        self.capture = capture

    def submit(self, payloads, labels=None):
        from ..worker import runner

        return self.pool.submit(runner.run_batch, payloads, self.capture)

    def shutdown(self, cancel: bool = False) -> None:
        self.pool.shutdown(wait=not cancel, cancel_futures=cancel)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1
