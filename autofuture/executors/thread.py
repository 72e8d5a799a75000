"""``--executor thread``: a thread pool in the workflow's process."""

from __future__ import annotations

import concurrent.futures

from ..worker import runner
from .pool import PoolAdapter


class Thread(PoolAdapter):
    """Tasks on threads of this process; their output is captured per thread."""

    name = "thread"
    in_process = True

    def __init__(self, workers: int):
        self._restore_streams = runner.capture_thread_output()
        pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="autofuture")
        super().__init__(pool, workers, capture="thread")

    def shutdown(self, cancel: bool = False) -> None:
        super().shutdown(cancel)
        self._restore_streams()
