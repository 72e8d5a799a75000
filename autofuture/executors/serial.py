"""``--executor serial``: each task inline, at its turn, in the workflow thread (pdb works)."""

from __future__ import annotations

import concurrent.futures

from ..worker import runner


class Serial:
    """Runs each task inline, in the workflow thread, at its turn; output is live."""

    name = "serial"
    workers = 1
    inline = True
    wants_labels = False
    in_process = True

    def submit(self, payloads, labels=None):
        future = concurrent.futures.Future()
        future.set_result(runner.run_batch(payloads, capture="none"))
        return future

    def shutdown(self, cancel: bool = False) -> None:
        pass
