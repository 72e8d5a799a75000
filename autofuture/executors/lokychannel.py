"""A direct line to one loky worker: messages go over a Unix socket, not loky's queues.

loky's ``submit`` hands a call to its queue-management thread, which passes it
to a feeder thread that pickles and writes it; the reply comes back through
the management thread before the future is set. Each hop is a thread
wake-up, and they were most of a task's round trip (autofuture 265 µs, raw
loky ``submit`` 254 µs, ``ProcessPoolExecutor`` 177 µs, one run). Here the
worker's one loky call is ``serve``, a loop that reads messages from a
socket of its own and answers each in turn: the workflow writes a message
itself, and a reader thread per worker sets its future.

loky stays the process manager: it spawns the worker, notices its death (the
``serve`` call then fails with loky's own error, which says how the worker
ended) and the adapter replaces the pool. Large buffers (protocol 5) travel
out of band, written from the object's memory and read into the bytearray
they stay in, and arrive writable.

What a ``Channel`` guarantees (its interface: ``Channel(pool, directory,
capture, settled=None)``, ``submit(message) -> Future``, ``close()``, ``up()``,
``settled_yet()``):

- messages run in the order they were submitted, one at a time, and each
  future gets ``run_batch``'s result for its own message (replies come back
  in order on the one socket);
- ``submit`` never waits for the worker to start: what is submitted before
  it connects is written as soon as it does;
- a worker's death fails every message submitted to it and not yet answered
  with loky's own error (a ``BrokenProcessPool``, ``TerminatedWorkerError``
  with the exit code when loky knows it), and every later ``submit`` raises
  ``BrokenProcessPool``: the adapter then replaces the pool;
- ``settled()`` is called (from the reader thread, holding none of the channel's
  locks) once the worker has connected, or has ended before it could: the
  adapter then sends what it held back while no worker was up;
- ``close()`` lets the worker finish the message it runs, then its ``serve``
  call returns (at once if it never connected), so ``pool.shutdown(wait=True)``
  returns; no thread of the channel outlives its worker.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
import pickle
import socket
import threading
import weakref
from multiprocessing.connection import Connection

#: How long the reader waits for loky to say how a worker that hung up ended.
DEATH_NOTICE_SECONDS = 10.0


def _dumps(obj) -> list:
    """Frames: the pickle (with the sizes of the buffers that follow) and each buffer."""
    buffers: list = []
    try:
        data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    except Exception:  # noqa: BLE001 - what plain pickle cannot do, cloudpickle can
        import cloudpickle

        buffers = []
        data = cloudpickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    views = [buffer.raw() for buffer in buffers]
    head = pickle.dumps(([view.nbytes for view in views], data), protocol=5)
    return [head, *views]


def _send(conn: Connection, frames: list) -> None:
    """The head as a framed message, then each buffer's bytes as they are (their sizes
    are in the head): the kernel copies them straight from the object's memory."""
    conn.send_bytes(frames[0])
    fd = conn.fileno()
    for view in frames[1:]:
        view = view.cast("B") if view.format != "B" else view
        while view:
            view = view[os.write(fd, view):]


def _recv(conn: Connection):
    """What ``_send`` sent; each buffer is read straight into the bytearray it stays in."""
    sizes, data = pickle.loads(conn.recv_bytes())
    buffers = []
    fd = conn.fileno()
    for size in sizes:
        buffer = bytearray(size)
        view = memoryview(buffer)
        while view:
            got = os.readv(fd, [view])
            if not got:
                raise EOFError("the other side hung up within a message")
            view = view[got:]
        buffers.append(buffer)
    return pickle.loads(data, buffers=buffers)


def serve(address: str, key: bytes, capture: str) -> None:
    """The worker's side: run each message as it comes; return when the workflow hangs up."""
    from ..worker import runner

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(address)
    sock.sendall(key)
    conn = Connection(sock.detach())
    try:
        while True:
            try:
                message = _recv(conn)
            except (EOFError, OSError):
                return
            if message is None:
                return
            try:
                reply = (True, runner.run_batch(message, capture))
            except BaseException as exc:  # noqa: BLE001 - the workflow hears of it
                reply = (False, exc)
            try:
                frames = _dumps(reply)
            except Exception as exc:  # noqa: BLE001 - an exception that cannot travel
                frames = _dumps((False, RuntimeError(f"{type(reply[1]).__name__}: {exc}")))
            _send(conn, frames)
    finally:
        conn.close()


class Channel:
    """The workflow's side for one worker: ``submit(message)`` -> a concurrent future."""

    def __init__(self, pool, directory: str, capture: str, settled=None):
        # os.urandom, not secrets: the worker imports this module too, and hmac's
        # OpenSSL (secrets imports it) took it 5-10 ms of its boot (issue 16).
        self.address = os.path.join(directory, f"c-{os.urandom(4).hex()}")
        self.key = os.urandom(16)
        self.settled = settled
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.address)
        self.listener.listen(1)
        self.lock = threading.Lock()       # pending, conn, unsent, failure
        self.send_lock = threading.Lock()  # one writer at a time; pending in write order
        self.pending: collections.deque = collections.deque()
        self.unsent: list = []             # frames written once the worker connects
        self.conn: Connection | None = None
        self.failure: BaseException | None = None
        self.closing = False
        self.serving = pool.submit(serve, self.address, self.key, capture)
        self.thread = threading.Thread(target=self._read, daemon=True,
                                       name="autofuture-loky-channel")
        self.thread.start()
        # A run that ends without shutting its pool down (autofuture.install() leaves
        # it to the interpreter's exit) must hang up first: loky's exit hook waits for
        # every worker, whose serve() would wait for us. threading runs these hooks last
        # registered first, and loky registers its own as each pool starts: so every
        # channel registers, after its pool started, one that hangs up all of them.
        _open.add(self)
        getattr(threading, "_register_atexit", lambda fn: None)(_hang_up_all)

    def submit(self, message) -> concurrent.futures.Future:
        """Write the message now (or once the worker is up); its reply sets the future.

        Raises loky's ``BrokenProcessPool`` once the worker has died.
        """
        frames = _dumps(message)
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self.send_lock:
            with self.lock:
                if self.failure is not None:
                    raise _broken(self.failure)
                self.pending.append(future)
                conn = self.conn
                if conn is None:
                    self.unsent.append(frames)
                    return future
            try:
                _send(conn, frames)
            except OSError:
                pass  # the worker died: the reader fails this future with how it ended
        return future

    def _accept(self) -> Connection | None:
        """The worker's connection, or None if it ended (or we closed) before connecting."""
        self.listener.settimeout(0.2)
        while True:
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                if self.serving.done() or self.closing:
                    return None
                continue
            except OSError:
                return None
            sock.settimeout(5.0)
            try:
                key = b""
                while len(key) < len(self.key):
                    chunk = sock.recv(len(self.key) - len(key))
                    if not chunk:
                        break
                    key += chunk
            except OSError:
                key = b""
            # hmac's compare_digest is this one, without importing OpenSSL (5 ms).
            from _operator import _compare_digest

            if not _compare_digest(key, self.key):
                sock.close()  # not our worker
                continue
            sock.settimeout(None)
            return Connection(sock.detach())

    def _read(self) -> None:
        conn = self._accept()
        self.listener.close()
        try:
            os.unlink(self.address)
        except OSError:
            pass
        if conn is not None:
            with self.send_lock:
                with self.lock:
                    self.conn = conn
                    unsent, self.unsent = self.unsent, []
                try:
                    for frames in unsent:
                        _send(conn, frames)
                    if self.closing:  # shut down before the worker was up
                        _send(conn, _dumps(None))
                except OSError:
                    pass
            self._settle()
            while True:
                try:
                    ok, value = _recv(conn)
                except (EOFError, OSError):
                    break
                with self.lock:
                    future = self.pending.popleft()
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        self._ended()

    def _ended(self) -> None:
        """The worker hung up: every message it had fails with loky's account of its end."""
        try:
            self.serving.result(timeout=DEATH_NOTICE_SECONDS)
            failure: BaseException = _broken(None)  # serve returned: we were shut down
        except concurrent.futures.TimeoutError:
            failure = _broken(None)
        except BaseException as exc:  # noqa: BLE001 - loky's BrokenProcessPool, with codes
            failure = exc
        with self.lock:
            self.failure = failure
            pending, self.pending = list(self.pending), collections.deque()
            self.unsent = []
            conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()
        for future in pending:
            if not future.done():
                future.set_exception(failure)
        if conn is None:
            self._settle()  # it ended before it was ever up

    def _settle(self) -> None:
        if self.settled is not None:
            try:
                self.settled()
            except Exception:  # noqa: BLE001 - the adapter's; never the reader's end
                pass

    def up(self) -> bool:
        """The worker has connected and has not hung up."""
        return self.conn is not None

    def settled_yet(self) -> bool:
        """The worker has connected, or has ended: no longer booting."""
        return self.conn is not None or self.failure is not None

    def close(self) -> None:
        """Hang up: the worker's ``serve`` returns (after its current message)."""
        with self.send_lock:
            self.closing = True
            with self.lock:
                conn = self.conn
            if conn is not None:
                try:
                    _send(conn, _dumps(None))
                except OSError:
                    pass


_open: weakref.WeakSet = weakref.WeakSet()


def _hang_up_all() -> None:
    for channel in list(_open):
        channel.close()


def _broken(failure: BaseException | None) -> BaseException:
    from loky.process_executor import BrokenProcessPool

    if isinstance(failure, BrokenProcessPool):
        return failure
    return BrokenProcessPool("the worker's loky pool was shut down" if failure is None
                             else f"the worker ended: {failure}")
