"""``--executor loky`` (the default): loky's reusable pool of worker processes."""

from __future__ import annotations

from .holding import UnixHolders
from .pool import PoolAdapter
from .slots import Slots
from .spawning import (
    InitWorker,
    before_kills,
    sigint_deferred,
    start_resource_trackers_quietly,
    worker_env,
)


class Loky(UnixHolders, PoolAdapter):
    """Worker processes from loky: spawned cleanly, never re-running ``__main__``.

    loky fails every task in flight when one worker dies. Each worker notes
    the task it runs in a file of a private directory, so that the workflow
    can tell the task that was running in the dead worker from the innocent
    ones, which run again on a repaired pool.
    """

    name = "loky"

    def __init__(self, workers: int):
        self.slots = Slots()
        super().__init__(self._pool(workers), workers, capture="process")

    def _pool(self, workers: int):
        from loky import get_reusable_executor

        with sigint_deferred():
            start_resource_trackers_quietly()
        self.booting = True
        return get_reusable_executor(
            max_workers=workers, timeout=60, initializer=InitWorker(),
            env=worker_env(self.slots.path),
        )

    def submit(self, message, labels=None):
        try:
            return self._submit(message)
        except _pool_broken():
            self.pool = self._pool(self.workers)  # a worker died: a fresh pool
            return self._submit(message)

    def _submit(self, message):
        from ..worker import runner

        if not self.booting:
            return self.pool.submit(runner.run_batch, message, self.capture)
        # The first message starts the workers, and loky's threads that start any later
        # ones: all of them are born with SIGINT blocked (see spawning.sigint_deferred).
        with sigint_deferred():
            future = self.pool.submit(runner.run_batch, message, self.capture)
        self.booting = False
        return future

    def lost_tasks(self, exc=None) -> set[int]:
        """Numbers of the tasks that were running in workers that have died."""
        return self.slots.lost_tasks()

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            before_kills()
            self.pool.shutdown(wait=False, kill_workers=True)
        else:
            self.pool.shutdown(wait=True)
        self.slots.remove()


def _pool_broken() -> tuple:
    """What loky's submit raises once a worker died or the pool was shut down."""
    from loky.process_executor import BrokenProcessPool, ShutdownExecutorError

    return (BrokenProcessPool, ShutdownExecutorError, RuntimeError)
