"""Sending ready tasks to the executor and taking their replies.

The scheduler's side of the executor interface: ready tasks go out in
batches (one message per batch, each distinct function once), replies come
back through the inbox, and tasks whose worker was lost are charged or
sent again. ``Sending`` is the part of ``Scheduler`` that does this; the
log and its commit order are in ``scheduler``.
"""

from __future__ import annotations

import time

from ..worker import serialize, store
from . import held as _held
from . import outcomes
from .entries import Entry
from .future import Future
from .locality import Locality
from .ordering import valued

#: While workers are busy, ready tasks wait this long for a fuller batch.
HOLD_SECONDS = 0.002

#: Work per message (a batch of tasks) once task durations are known; an executor
#: may ask for more (``message_seconds``).
MESSAGE_SECONDS = 0.02

#: How often a task may be run again because another task's worker died.
MAX_FREE_RESENDS = 3


class Sending(Locality):
    """Batching, messages and replies; mixed into ``Scheduler``, whose state it uses."""

    def _open_executor(self) -> None:
        from ..executors import registry

        try:
            self.executor = registry.create(self.options.executor, self.options.workers,
                                              live_output=self.options.task_output == "live")
        except Exception as exc:
            raise registry.ExecutorError(
                f"--executor {self.options.executor}: could not start it: "
                f"{type(exc).__name__}: {exc}") from exc
        self.message_seconds = getattr(self.executor, "message_seconds", MESSAGE_SECONDS)
        self._start_holding()

    def _dispatch(self, force: bool = False) -> None:
        """Hand ready tasks to the executor, a batch per message, two messages per worker.

        While every worker has work, small batches wait to grow (up to about
        20 ms of work each); ``force`` sends what there is, before the
        workflow blocks.
        """
        executor = self.executor
        if self.holding and _held.released:
            self._free_released()
        limit = 2 * executor.workers
        while self.ready and self.in_flight < limit:
            target = self._batch_target()
            free = limit - self.in_flight
            if force or self.in_flight == 0 or len(self.ready) >= target \
                    or time.monotonic() - self.ready_since > HOLD_SECONDS:
                size = max(1, min(target, -(-len(self.ready) // free)))
            else:
                return
            batch = []
            while self.ready and len(batch) < size:
                entry = self.ready[0]
                if entry.timeout is not None and batch:
                    break  # a task with a time limit travels alone: its message is its run
                self.ready.popleft()
                if not entry.discarded:
                    batch.append(entry)
                    if entry.timeout is not None:
                        break
            if batch:
                self._send(batch)
            self.ready_since = time.monotonic()

    def _batch_target(self) -> int:
        """About 20 ms of work per message once task durations are known; else one.

        An executor whose messages cost more (a Dask or Parsl round trip is
        milliseconds) asks for more work per message with ``message_seconds``.
        """
        mean = self.mean_task_seconds
        seconds = self.message_seconds
        if mean is None or mean > seconds / 2:
            return 1
        return 512 if mean <= seconds / 512 else int(seconds / mean)

    def _send(self, batch: list) -> None:
        """Serialize a batch (as of now, which is each task's program position) and send it."""
        message = self._message(batch)
        if message is None:
            return
        batch, message = message
        self.in_flight += 1
        if self.observers:
            self._emit({"event": "send", "ids": [entry.number for entry in batch],
                        "bytes": sum(payload_size(task[2]) for task in message[2])
                        + sum(len(payload) for _, payload in message[1]),
                        "time": time.time()})
        if self.executor.inline:
            from ..worker import runner as _worker
            if batch[0].timeout is not None:
                outcomes.limits_used(self.executor)
            # Serial output is live (pdb works), unless it must be kept for --checkpoint.
            capture = "none" if self.checkpoint is None else "process"
            self._receive((batch, outcomes.done_future(_worker.run_batch(message, capture))))
            return
        # The labels let an executor name the task a lost worker was running.
        labels = [entry.label for entry in batch] if self.executor.wants_labels else None
        try:
            if batch[0].timeout is not None:  # it travels alone (see _dispatch)
                outcomes.limits_used(self.executor)
            if batch[0].timeout is None or not getattr(self.executor, "enforces_timeouts", False):
                done = self.executor.submit(message, labels=labels)
            else:
                done = self.executor.submit(message, labels=labels, timeouts=[batch[0].timeout])
        except Exception as exc:  # a broken pool: these tasks' workers are lost
            self._receive((batch, outcomes.failed_future(exc)))
            return
        done.add_done_callback(lambda f, batch=batch: self.inbox.put((batch, f)))

    def _message(self, batch: list):
        """(batch, (context stamp, function payloads, task payloads)), or None if none can travel.

        Each distinct function goes once per message, as (token, payload)
        (see ``runtime.payloads``); a task whose function or arguments cannot be
        serialized fails alone, at its turn.
        """
        functions: dict[int, tuple] = {}  # id(function) -> (token, payload), once per message
        function_errors: dict[int, Exception] = {}
        indexes: dict[int, int] = {}  # id(function payload) -> index in the message
        function_payloads: list = []
        sendable, tasks = [], []
        for entry in batch:
            if entry.sent is None:
                fn = entry.run
                try:
                    if id(fn) in function_errors:
                        raise function_errors[id(fn)]
                    if id(fn) not in functions:
                        try:
                            functions[id(fn)] = self.functions.get(fn)
                        except Exception as exc:
                            function_errors[id(fn)] = exc
                            raise
                    if self.holding:
                        payload = self._collect(entry, self._task_payload)
                    else:
                        payload = self._task_payload(entry)
                    entry.sent = (functions[id(fn)], payload)
                except Exception as exc:
                    failure = (outcomes.serialization_error(entry, exc), (), None)
                    self._finish(entry, failure=failure)
                    continue
                if entry.held is None:  # a speculative task's inputs are captured again
                    entry.args = entry.kwargs = None
            function_payload, task_payload = entry.sent
            if self.checkpoint is not None and self._restored(entry):
                continue
            if entry.needs and not self._inputs_ready(entry):
                continue  # parked until its lost inputs are made again
            index = indexes.get(id(function_payload))
            if index is None:
                index = indexes[id(function_payload)] = len(function_payloads)
                function_payloads.append(function_payload)
            if entry.slice is None:
                tasks.append((index, entry.number, task_payload))
            else:  # the worker runs it element by element (worker.runner._run_slice)
                tasks.append((index, entry.number, task_payload, True))
            sendable.append(entry)
        if not sendable:
            return None
        message = (self.context.current(), function_payloads, tasks)
        if self.options.keep_going:  # every task of it runs (worker.runner.run_batch)
            return sendable, (*message, self._hold_part(sendable), True)
        if self.holding:
            return sendable, (*message, self._hold_part(sendable))
        return sendable, message

    def _restored(self, entry: Entry) -> bool:
        """With --checkpoint: a task that finished in an earlier run is not run again."""
        (_, function_payload), task_payload = entry.sent
        entry.record = self.checkpoint.key(function_payload, serialize.serialized(task_payload),
                                           entry.label)
        where = ("<unknown>", 0)
        if entry.site:
            frame, lineno, _ = entry.site[0]
            where = (frame.f_code.co_filename, lineno)
        record = self.checkpoint.load(entry.record, where)
        if record is None:
            return False
        payload, entry.output = record
        if self.observers:
            self._emit({"event": "restored", "id": entry.number, "time": time.time()})
        self._finish(entry, value=serialize.load(payload))
        return True

    def _task_payload(self, entry: Entry) -> tuple:
        """An entry's (args, kwargs), with large buffers out of band for other processes
        (inline when they are all numbers, strings and the like: see serialize).

        Threads of this process get copies instead: a task's inputs are values
        captured at the call, never the workflow's own arrays.
        """
        args, kwargs = entry.args, entry.kwargs
        for arg in args:  # a loop, not a call: this runs for every task
            if type(arg) is Future:
                args, kwargs = valued(args, kwargs)
                break
        else:
            if kwargs:
                args, kwargs = valued(args, kwargs)
        payload, buffers = serialize.call_payload(args, kwargs)
        if payload is None:
            return payload, buffers
        if entry.held is not None or getattr(self.executor, "in_process", False):
            # Copies: a speculative capture must stay what it was when it is compared.
            buffers = [bytearray(buffer) for buffer in buffers]
        return payload, buffers

    def _receive(self, message) -> None:
        batch, done = message
        self.in_flight -= 1
        try:
            results = done.result()
        except BaseException as exc:  # noqa: BLE001 - the executor lost the batch
            self._lost_batch(batch, exc)
            return
        durations = []
        before = not_run = None
        for entry, (ok, payload, output, timing) in zip(batch, results, strict=True):
            if not ok and payload[1] == "<not run>":  # the message stopped at ``before``
                not_run = not_run or []
                not_run.append(entry)
                continue
            before = entry
            if entry.slice is not None:  # a map's slice: its elements' values, or a failure
                entry.slice.received(self, entry, ok, payload, output, timing)
                continue
            durations.append(timing[1] - timing[0])
            if entry.node is not None:  # a lost result made again: its output was shown
                self._recomputed(entry, ok, payload)
                continue
            if not ok and payload[1] == "<held lost>":
                self._input_lost(entry, int(payload[2]))
                continue
            entry.output = output or None  # most tasks print nothing
            held = ok and payload[0] == store.HELD_TAG
            if self.observers:
                event = {"event": "end", "id": entry.number, "start": timing[0],
                         "end": timing[1], "worker": timing[2], "ok": ok,
                         "bytes": payload_size(payload) if ok and not held else 0}
                if held:
                    event["held"] = payload[1][1]
                if entry.needs:
                    event["inputs"] = self._inputs_seen(entry, timing[2])
                self._emit(event)
            if held:
                if entry.lost_on:
                    getattr(self.executor, "recovered", lambda ranks: None)(entry.lost_on)
                self._finish(entry, value=self._held_value(entry, payload))
                continue
            if ok:
                try:
                    value = serialize.load(payload)
                except Exception as exc:
                    self._finish(entry, failure=(exc, (), exc.__traceback__))
                    continue
                if entry.record is not None:
                    self.checkpoint.store(entry.record, serialize.serialized(payload), output)
                if entry.lost_on:  # the run need not fail for the ranks it cost
                    getattr(self.executor, "recovered", lambda ranks: None)(entry.lost_on)
                self._finish(entry, value=value)
            else:
                failure = outcomes.rebuild(payload, entry)
                lost = getattr(failure[0], "_af_rank_lost", None)
                if lost is not None and len(entry.attempts) < entry.retries:
                    # An MPI rank died running it: retries run it on another rank, as
                    # they run a task whose loky worker died on a fresh worker.
                    rank, what = lost
                    entry.attempts += (what,)
                    entry.lost_on = (entry.lost_on or []) + [rank]
                    self._resend(entry)
                    continue
                if isinstance(failure[0], entry.retry_on) \
                        and len(entry.attempts) < entry.retries:
                    entry.attempts += (f"{type(failure[0]).__name__}: {failure[0]}",)
                    self._resend(entry)
                    continue
                self._finish(entry, failure=outcomes.with_attempts(failure, entry))
        if durations:
            mean = sum(durations) / len(durations)
            previous = self.mean_task_seconds
            self.mean_task_seconds = mean if previous is None else 0.7 * previous + 0.3 * mean
        if not_run:
            self._not_run(before, not_run)

    def _not_run(self, failed: Entry | None, entries: list) -> None:
        """Tasks a worker did not run because ``failed``, before them in their message,
        failed (``worker.runner.run_batch``).

        Those after it in the current log wait for its turn: its failure then ends
        the run or the ``try`` block, discarding them (the plain run never got to
        them), or an earlier failure discards it (see ``_release_behind``). The
        others, and all of them if ``failed`` is to run again (a retry, a
        speculative task), go out again before later work, as the other tasks of a
        lost worker's message do.
        """
        waits = failed is not None and failed.finished and failed.failure is not None \
            and failed.node is None and failed in self.log
        behind = []
        for entry in entries:
            if waits and entry.number > failed.number and entry.node is None:
                behind.append(entry)  # (task numbers follow the log's order)
            else:
                self._resend(entry)
        if behind:
            self.behind_failure.append((failed, behind))

    def _release_behind(self) -> None:
        """A failure committed or was discarded: the tasks held behind it are sent
        again, unless discarded with it (see ``_not_run``)."""
        waiting = []
        for failed, behind in self.behind_failure:
            if failed.committed or failed.discarded:
                for entry in behind:
                    self._resend(entry)
            else:
                waiting.append((failed, behind))
        self.behind_failure = waiting

    def _lost_batch(self, batch: list, exc: BaseException) -> None:
        """A worker died: the task it ran fails (or runs again); the others run again free.

        A task whose worker was killed for running past its time limit fails with
        ``TimeoutError`` instead (or runs again, if it has retries left).
        """
        culprits = getattr(self.executor, "lost_tasks", lambda exc: None)(exc)
        timed_out = getattr(self.executor, "timed_out", None)
        how = outcomes.how_lost(exc)
        if self.observers:
            self._emit({"event": "lost", "ids": [entry.number for entry in batch],
                        "culprits": sorted(entry.number for entry in batch
                                           if culprits and entry.number in culprits),
                        "how": how, "time": time.time()})
        for entry in batch:
            if entry.node is not None:  # a recompute: run it again (a bounded number of times)
                self._recompute_lost(entry)
                continue
            # Not found among the dead workers' tasks: run it again at no charge (a
            # few times at most, in case a death could not be attributed at all).
            innocent = culprits is not None and entry.number not in culprits
            if innocent and entry.resends < MAX_FREE_RESENDS:
                entry.resends += 1
                self._resend(entry)
                continue
            limit = timed_out.pop(entry.number, None) if timed_out and not innocent else None
            if limit is not None:
                entry.attempts += (f"it ran past its time limit of {limit:g} s",)
            else:
                entry.attempts += (f"its worker died ({how})",)
            if culprits:
                culprits.discard(entry.number)  # charged once; a new attempt starts clean
            if len(entry.attempts) <= entry.retries:
                self._resend(entry)
            elif limit is not None:
                self._finish(entry, failure=(outcomes.timed_out(entry, limit), (), None))
            else:
                self._finish(entry, failure=(outcomes.lost(entry, how), (), None))

    def _resend(self, entry: Entry) -> None:
        """Another attempt with the same serialized inputs (captured at the call).

        It goes before every ready task called after it: the oldest pending work is
        what the workflow's next commit waits for. (Appended at the end, the head of
        the log waited behind all the later work once a worker died.)
        """
        if entry.node is not None:
            self._again(entry)
            return
        if entry.discarded or entry.finished:
            return
        ready = self.ready
        if not ready:
            self.ready_since = time.monotonic()
        if not ready or ready[-1].number < entry.number:
            ready.append(entry)
            return
        for index, other in enumerate(ready):
            if other.number > entry.number:
                ready.insert(index, entry)
                return
        ready.append(entry)


def payload_size(payload) -> int:
    data, buffers = serialize.serialized(payload)
    return len(data) + sum(memoryview(buffer).nbytes for buffer in buffers)
