"""Big arguments reach loky workers over the workflow's own Unix socket, not loky's queue.

loky sends a message by pickling it in band (every buffer copied into the
pickle), writing it to a pipe in small pieces and reading it back into new
memory: moving a 100 MiB array to a worker took half a second there, five
times what the same bytes cost over a Unix socket, the way held results move
between workers (``worker.store``). So before a message goes to loky, every
buffer of its task arguments (and of inputs the workflow already fetched) of
``worker.store.HOLD_BYTES`` or more stays here: the message carries a
``store.Far`` note instead, and the worker fetches the bytes while it loads
the task, straight into the memory the new array uses (``store.bring``).

The outbox listens in the run's private directory (mode 0700), like the
workers; the buffers are the views the message already had (no copy), kept
until the message's reply (or loss) is in.
"""

from __future__ import annotations

import itertools
import os
import pickle
import socket
import threading

from ..worker import store


class Outbox:
    def __init__(self, directory: str, threshold: int):
        self.path = os.path.join(directory, "workflow.sock")
        self.threshold = threshold
        self.buffers: dict = {}
        self.keys = itertools.count(1)
        self.server = None
        self.lock = threading.Lock()

    def strip(self, message):
        """(the message with its big buffers left here, the keys to drop when it is done)."""
        if not self.threshold:
            return message, ()
        keys: list = []
        tasks = [(index, number, self._payload(payload, keys))
                 for index, number, payload in message[2]]
        if len(message) > 3 and message[3] is not None:
            run, where, *rest = message[3]
            where = {number: (spec[0], self._payload(spec[1], keys)) if spec[0] == "value"
                     else spec for number, spec in where.items()}
            message = (*message[:3], (run, where, *rest))
        if not keys:
            return message, ()
        return (message[0], message[1], tasks, *message[3:]), keys

    def _payload(self, payload, keys: list):
        data, buffers = payload
        if data is None or not buffers:
            return payload
        out = []
        for buffer in buffers:
            try:
                view = memoryview(buffer).cast("B")
            except (TypeError, ValueError):  # not contiguous: loky pickles it as it is
                out.append(buffer)
                continue
            if view.nbytes < self.threshold or not self._listening():
                out.append(buffer)
                continue
            key = next(self.keys)
            self.buffers[key] = view
            keys.append(key)
            out.append(store.Far(self.path, key, view.nbytes, view.readonly))
        return data, out

    def drop(self, keys) -> None:
        for key in keys:
            self.buffers.pop(key, None)

    def _listening(self) -> bool:
        with self.lock:
            if self.server is None:
                server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    server.bind(self.path)
                    server.listen(64)
                except OSError:
                    server.close()
                    self.threshold = 0  # no socket here: everything goes through loky
                    return False
                self.server = server
                threading.Thread(target=self._accept, daemon=True,
                                 name="autofuture-outbox").start()
            return True

    def _accept(self) -> None:
        server = self.server
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True,
                             name="autofuture-outbox-conn").start()

    def _serve(self, conn) -> None:
        with conn:
            while True:
                try:
                    op, key = pickle.loads(store.recv_frame(conn))
                    view = self.buffers.get(key) if op == "buffer" else None
                    if view is None:
                        store.send_frame(conn, b"")  # gone: the worker reports it lost
                        continue
                    store.send_frame(conn, view)
                except (OSError, EOFError, pickle.PickleError, ValueError):
                    return

    def close(self) -> None:
        self.buffers.clear()
        if self.server is not None:
            self.server.close()
            self.server = None
