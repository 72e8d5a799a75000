"""Results kept where they were computed: a worker's store of held values.

A task whose result is big (``HOLD_BYTES`` or more once serialized, numpy
arrays mostly) does not send it back: its worker keeps the value in memory,
under a key ``(run, task number)``, and replies with a small note instead
(``held_payload``). The workflow's futures then hold a reference
(``runtime.held``); a later task on the same worker gets the value without
any bytes moving; a task on another worker, or the workflow when it needs the
value (``print``, ``if``, ``autofuture.result``), fetches it from the holder
once. The workflow frees a value when no future refers to it any more.

Transport. Every loky worker that holds a value listens on a Unix socket in
the run's private directory (``AUTOFUTURE_SLOTS``, mode 0700: no network
port, no other user); a fetch is one request and the value's pickle with its
buffers sent from their own memory and received into the memory the new
array uses (one copy, in the kernel). MPI ranks move values rank to rank over
autofuture's communicator instead (``executors.mpi``), through the
``fetchers`` hook below.

A value taken by a task on its own worker is a copy (a round trip through
pickle with the buffers copied once), as a task's inputs always are, so a
task that mutates its input changes nothing another task sees, unless the
workflow said the task is the value's last user (``take``): then the task
gets the object itself and the store forgets it.
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
import threading

from . import serialize

#: Results at least this big (their pickle and buffers, in bytes) stay on the worker.
#: ``AUTOFUTURE_HOLD_BYTES`` changes it (0 holds nothing). Below it, moving the value
#: costs less than the extra round trip a fetch would cost later.
HOLD_BYTES = 256 * 1024

#: How long the workflow waits for a worker to confirm a free before going on without.
TELL_SECONDS = 5.0

_HEADER = struct.Struct("!Q")
HELD_TAG = b"H"  # a held payload's first element (serialized payloads start with C, D or P)


class HeldLost(Exception):
    """A task's input was held by a worker that is gone (its lineage makes it again)."""

    def __init__(self, number: int):
        super().__init__(number)
        self.number = number

    def __str__(self) -> str:
        return f"the result of task {self.number} was lost with the worker that held it"


class _Store:
    def __init__(self):
        self.values: dict = {}  # (run, number) -> value
        self.sizes: dict = {}
        self.lock = threading.Lock()
        self.address = None
        self.where: dict = {}  # number -> address or ("value", payload), for this message
        self.run = None
        self.directory = None  # where this worker listens (loky's private directory)


_store = _Store()

#: Address kinds other than Unix socket paths (MPI ranks): kind -> fetch(address, key, take).
fetchers: dict = {}


def set_address(address) -> None:
    """This worker may hold results, and is reached at ``address`` (MPI ranks)."""
    _store.address = address


def set_directory(path) -> None:
    """This worker may hold results, listening in ``path`` (set when the worker starts)."""
    _store.directory = path


def hold_threshold() -> int:
    from .. import _config

    text = _config.env_str("HOLD_BYTES")
    try:
        return max(0, int(text)) if text else HOLD_BYTES
    except ValueError:
        return HOLD_BYTES


def begin(hold) -> None:
    """The message's holding instructions: (run, where, threshold) or None."""
    if hold is None:
        _store.run, _store.where = None, {}
    else:
        _store.run, _store.where = hold[0], hold[1]


def maybe_hold(number: int, value, payload, threshold: int):
    """The payload to reply with: ``payload`` itself, or a note that the value stays here."""
    run = _store.run
    if run is None or not threshold or payload[0] is None:
        return payload
    data, buffers = payload
    nbytes = len(data) + sum(memoryview(buffer).nbytes for buffer in buffers)
    if nbytes < threshold:
        return payload
    address = _listen()
    if address is None:
        return payload
    with _store.lock:
        _store.values[(run, number)] = value
        _store.sizes[(run, number)] = nbytes
    return (HELD_TAG, (number, nbytes, address, _type_name(value)))


def size_of(key) -> int:
    return _store.sizes.get(key, 0)


def held_bytes() -> int:
    return sum(_store.sizes.values())


def _type_name(value) -> str:
    t = type(value)
    return f"{t.__module__}.{t.__qualname__}"


# -- on the worker that runs a task: its inputs --------------------------------------------

def lookup(number: int):
    """An input held somewhere: called while a task's arguments are unpickled."""
    key = (_store.run, number)
    spec = _store.where.get(number)
    take = isinstance(spec, tuple) and len(spec) == 3 and spec[2]
    with _store.lock:
        if key in _store.values:
            if take:
                _store.sizes.pop(key, None)
                return _store.values.pop(key)
            return _copy(_store.values[key])
    if spec is None:
        raise HeldLost(number)
    if spec[0] == "value":
        return serialize.load(spec[1])
    address = spec[1]
    try:
        return fetch(address, key, take)
    except (OSError, EOFError, KeyError) as exc:
        raise HeldLost(number) from exc


def _copy(value):
    data, buffers = serialize.dumps_split(value)
    return serialize.loads(data, [bytearray(buffer) for buffer in buffers])


# -- the listener: other workers and the workflow fetch and free ---------------------------

def _listen():
    """This worker's address (starting its listener once), or None where it has none."""
    if _store.address is not None:
        return _store.address
    directory = _store.directory
    if not directory or not os.path.isdir(directory):
        return None
    path = os.path.join(directory, f"{os.getpid()}.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if os.path.exists(path):
            os.unlink(path)
        server.bind(path)
        server.listen(64)
    except OSError:
        server.close()
        return None
    threading.Thread(target=_accept, args=(server,), daemon=True,
                     name="autofuture-store").start()
    _store.address = ("unix", path)
    return _store.address


def _accept(server) -> None:
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        threading.Thread(target=_serve, args=(conn,), daemon=True,
                         name="autofuture-store-conn").start()


def _serve(conn) -> None:
    with conn:
        while True:
            try:
                op, arg = pickle.loads(recv_frame(conn))
            except (OSError, EOFError, pickle.PickleError):
                return
            try:
                if op == "get":
                    key, take = arg
                    send_value(conn, take_or_get(key, take))
                else:
                    handle(op, arg)
                    send_frame(conn, b"k")  # done: a task sent after this sees it
            except OSError:
                return


def take_or_get(key, take: bool):
    """The held value for a fetch (forgotten here when ``take``), or KeyError."""
    with _store.lock:
        if take:
            _store.sizes.pop(key, None)
            return _store.values.pop(key, MISSING)
        return _store.values.get(key, MISSING)


def handle(op: str, arg) -> None:
    """'free' a list of keys."""
    with _store.lock:
        if op == "free":
            for key in arg:
                _store.values.pop(key, None)
                _store.sizes.pop(key, None)


MISSING = object()


# -- frames: a length, then bytes (shared with the workflow's side) ------------------------

def send_frame(conn, data) -> None:
    view = memoryview(data).cast("B")
    conn.sendall(_HEADER.pack(view.nbytes))
    conn.sendall(view)


def recv_frame(conn, into=None):
    header = _recv_exact(conn, bytearray(_HEADER.size))
    size = _HEADER.unpack(header)[0]
    return _recv_exact(conn, bytearray(size) if into is None else into(size))


def _recv_exact(conn, buffer):
    view = memoryview(buffer)
    got = 0
    while got < len(view):
        n = conn.recv_into(view[got:])
        if n == 0:
            raise EOFError("the holder closed the connection")
        got += n
    return buffer


def send_value(conn, value) -> None:
    if value is MISSING:
        send_frame(conn, pickle.dumps(None))
        return
    data, buffers = serialize.dumps_split(value)
    raws = [memoryview(buffer).cast("B") for buffer in buffers]
    send_frame(conn, pickle.dumps((len(data), [raw.nbytes for raw in raws])))
    send_frame(conn, data)
    for raw in raws:
        send_frame(conn, raw)


def recv_value(conn):
    """(value, bytes received); KeyError when the holder no longer has it."""
    header = pickle.loads(recv_frame(conn))
    if header is None:
        raise KeyError("not held")
    _, sizes = header
    data = bytes(recv_frame(conn))
    buffers = [recv_frame(conn) for _ in sizes]
    return serialize.loads(data, buffers), len(data) + sum(sizes)


_connections: dict = {}
_connections_lock = threading.Lock()


def connect(path: str):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        raise
    return conn


def fetch(address, key, take: bool = False):
    """The value under ``key`` from the worker at ``address`` (this worker's side)."""
    if address[0] != "unix":
        return fetchers[address[0]](address, key, take)
    value, _ = request(address[1], key, take)
    return value


def request(path: str, key, take: bool):
    """(value, bytes) over a cached connection to ``path``; OSError/EOFError/KeyError."""
    with _connections_lock:
        conn = _connections.pop(path, None)
    for attempt in (0, 1):
        if conn is None:
            conn = connect(path)
        try:
            send_frame(conn, pickle.dumps(("get", (key, take))))
            result = recv_value(conn)
        except (OSError, EOFError):
            conn.close()
            conn = None
            if attempt:
                raise
            continue
        except KeyError:
            with _connections_lock:
                _connections.setdefault(path, conn)
            raise
        with _connections_lock:
            _connections.setdefault(path, conn)
        return result
    raise OSError("unreachable")


def tell(path: str, op: str, arg) -> None:
    """Send 'free' to the worker at ``path`` and wait until it is done (so the
    memory is back before the next message); a worker that is gone needs none."""
    with _connections_lock:
        conn = _connections.pop(path, None)
    try:
        if conn is None:
            conn = connect(path)
        conn.settimeout(TELL_SECONDS)  # a worker stopped by a signal must not stop the run
        send_frame(conn, pickle.dumps((op, arg)))
        recv_frame(conn)
        conn.settimeout(None)
    except (OSError, EOFError):
        if conn is not None:
            conn.close()
        return
    with _connections_lock:
        _connections.setdefault(path, conn)


def close_connections() -> None:
    with _connections_lock:
        conns = list(_connections.values())
        _connections.clear()
    for conn in conns:
        conn.close()
