"""Task time limits under MPI: a rank past its task's limit is given up.

A rank cannot be stopped from rank 0 (it may be another node's process, and a
kill would make the launcher end the job before rank 0 said why) nor
replaced. So when a task with a limit (``autofuture.task(timeout=...)``,
``--task-timeout``; such a task travels alone in its message) runs past it,
its task fails with ``TimeoutError`` naming it (or runs again on another
rank, if it has retries left), the rank gets no more work, and the job ends
with MPI_Abort and a non-zero status, since that rank never answers the end
of the run. A thread of rank 0 looks about every ``POLL_SECONDS`` while a
limited message is in flight.
"""

from __future__ import annotations

import threading
import time

#: How often rank 0 looks for a message past its time limit, while any has one.
POLL_SECONDS = 0.1


def start(executor) -> None:
    """A message with a limit was queued (lock held): make sure someone watches."""
    executor._limited += 1
    if executor._police_thread is None:
        executor._police_thread = threading.Thread(target=_police, args=(executor,),
                                                   daemon=True, name="autofuture-mpi-timeouts")
        executor._police_thread.start()


def sent(item, load: int) -> None:
    """``item`` went to a rank that had ``load`` messages: it starts now if none."""
    if load == 0:
        item.started = time.monotonic()


def finished(executor, item, rank: int) -> None:
    """``item`` is done on ``rank`` (lock held): the rank's next message starts now."""
    if item.limit is not None:
        executor._limited -= 1
    for other in executor._sent.values():
        if other.rank == rank and other.started is None:
            other.started = time.monotonic()
            break


def _police(executor) -> None:
    while not executor._closing:
        time.sleep(POLL_SECONDS)
        expired = []
        with executor._lock:
            if not executor._limited:
                continue
            now = time.monotonic()
            for item in list(executor._sent.values()):
                if item.limit is not None and item.started is not None \
                        and now - item.started > item.limit:
                    expired.append(_time_out(executor, item))
            failed = executor._pump() if expired else []
            executor._changed.notify_all()
        executor.fail(failed)
        for item, results in expired:
            item.future.set_result(results)


def _time_out(executor, item):
    """(item, its failed results): ``item`` ran past its limit on its rank (lock held)."""
    rank = item.rank
    del executor._sent[item.id]
    executor._limited -= 1
    executor._orphans.append(item.request)
    label = item.labels[0] if item.labels else "a task"
    lost = executor._lost
    lost[rank] = (f"MPI rank {rank} was given up: task {label} ran past its time limit of "
                  f"{item.limit:g} s")
    executor._hung = True  # it will never say goodbye: the job ends with MPI_Abort
    again = (rank, lost[rank]) if len(lost) < len(executor._ranks) else None
    # Messages the rank was sent but never started go to the other ranks.
    for other in sorted((m for m in executor._sent.values() if m.rank == rank),
                        key=lambda m: m.id, reverse=True):
        del executor._sent[other.id]
        executor._orphans.append(other.request)
        other.rank = other.request = other.started = None
        executor._queue.appendleft(other)
    if len(lost) == len(executor._ranks):
        why = "not run: " + executor._lost_text()
        for queued in executor._queue:
            queued.future.set_result(executor.failed_results(queued.labels, why))
        executor._queue.clear()
    message = (f"task {label} ran past its time limit of {item.limit:g} s on MPI rank {rank}. "
               "A rank running a task cannot be stopped or replaced: it gets no more work, "
               "and the run ends with a non-zero status.")
    return item, executor.failed_results(item.labels, message, again=again, error=TimeoutError)
