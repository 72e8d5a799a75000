"""``--executor MODULE:FACTORY``: any ``concurrent.futures.Executor`` the user makes."""

from __future__ import annotations

import concurrent.futures
import importlib

from ..worker import runner
from .pool import ExecutorError, PoolAdapter


class Foreign(PoolAdapter):
    """Any ``concurrent.futures.Executor`` made by ``module:factory``."""

    def __init__(self, spec: str, workers: int):
        self.name = spec
        module_name, _, attr = spec.partition(":")
        try:
            factory = importlib.import_module(module_name)
            for part in attr.split("."):
                factory = getattr(factory, part)
        except (ImportError, AttributeError) as exc:
            raise ExecutorError(
                f"--executor {spec}: cannot find {attr!r} in module {module_name!r} ({exc}); "
                "give MODULE:FACTORY where FACTORY() returns a concurrent.futures.Executor"
            ) from None
        try:
            pool = factory(workers)
        except TypeError:
            pool = factory()
        if not hasattr(pool, "submit"):
            raise ExecutorError(
                f"--executor {spec}: {attr}() returned a {type(pool).__name__}, "
                "which has no submit(); it must return a concurrent.futures.Executor"
            )
        in_process = isinstance(pool, concurrent.futures.ThreadPoolExecutor)
        self._restore_streams = runner.capture_thread_output() if in_process else None
        self.in_process = in_process
        count = getattr(pool, "_max_workers", None) or workers
        super().__init__(pool, count, capture="thread" if in_process else "process")

    def shutdown(self, cancel: bool = False) -> None:
        try:
            self.pool.shutdown(wait=not cancel, cancel_futures=cancel)
        except TypeError:
            self.pool.shutdown(wait=not cancel)
        if self._restore_streams is not None:
            self._restore_streams()
