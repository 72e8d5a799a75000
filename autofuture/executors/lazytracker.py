"""The standard library's resource tracker, started only once something is registered with it.

loky has multiprocessing's tracker running before it spawns a worker and hands
the worker its descriptor, in case a task makes or unpickles a
``shared_memory`` segment (loky#242): a process of ~30 ms of CPU on every run,
on 2 cores that the workers' boot needs, though nothing of autofuture's uses
it and few tasks do (issue 16). Here the tracker's descriptor (what the
workflow and every worker write to) is one end of a socket pair whose other
end the workflow keeps, and a thread looks at what arrives without taking
what is not its own: the ``PROBE`` lines every ``ensure_running`` writes are
taken off; the first other line (a segment registered by any process of the
run) starts the real tracker on that end, which then reads it and all that
follows, as if it had run from the start. Segments are therefore removed as
before: when the tracker's end sees every writer gone (the run over, or killed).
A registration still unseen when the workflow exits starts it then.
"""

from __future__ import annotations

import atexit
import signal
import socket
import sys
import threading

#: Each ``ensure_running`` writes one (``_check_alive``); nothing to clean up.
PROBE = b"PROBE:"


class Lazy:
    """The workflow's end of the tracker's socket, until the tracker takes it."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.pid: int | None = None

    def install(self, tracker) -> bool:
        """Stand in for ``tracker`` (multiprocessing's) if it is not running yet."""
        with tracker._lock:
            if tracker._fd is not None:
                return False
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock = ours
            tracker._fd = theirs.detach()  # _pid stays None: as in a child of the tracker's
        thread = threading.Thread(target=self._watch, daemon=True,
                                  name="autofuture-tracker-watch")
        thread.start()
        atexit.register(self.last_look)
        return True

    def _watch(self) -> None:
        if hasattr(signal, "pthread_sigmask"):  # the tracker is born with them blocked
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        while True:
            sock = self.sock
            if sock is None:
                return
            try:
                data = sock.recv(4096, socket.MSG_PEEK)
            except OSError:
                return
            if not data:
                return  # every writer is gone and nothing was registered: nothing to do
            if not self._take_probes(data):
                self.start()
                return

    def _take_probes(self, data: bytes) -> bool:
        """Take whole PROBE lines off the head; False if something else is there."""
        probes = 0
        while data.startswith(PROBE, probes):
            end = data.find(b"\n", probes)
            if end < 0:
                break
            probes = end + 1
        with self.lock:
            if self.sock is None:
                return True
            if probes:
                self.sock.recv(probes)
        return probes == len(data)

    def start(self) -> None:
        """The real tracker, on our end of the socket (once)."""
        import subprocess
        from multiprocessing import spawn, util

        with self.lock:
            sock, self.sock = self.sock, None
            if sock is None:
                return
            fd = sock.fileno()
            command = [spawn.get_executable(), *util._args_from_interpreter_flags(), "-c",
                       f"from multiprocessing.resource_tracker import main;main({fd})"]
            quiet = subprocess.DEVNULL if self.quiet else None
            try:
                self.pid = subprocess.Popen(
                    command, pass_fds=(fd,), stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=quiet).pid
            except OSError:
                pass
            sock.close()

    def last_look(self) -> None:
        """At the workflow's exit: a registration the thread has not seen yet starts it."""
        with self.lock:
            sock = self.sock
            if sock is None:
                return
            try:
                data = sock.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except OSError:
                data = b""
        if data and not self._take_probes(data):
            self.start()


_lazy: Lazy | None = None


def install(quiet: bool) -> bool:
    """multiprocessing's tracker starts when something is registered, not now."""
    global _lazy
    if sys.platform == "win32":
        return False
    from multiprocessing import resource_tracker

    lazy = Lazy(quiet)
    if lazy.install(resource_tracker._resource_tracker):
        _lazy = lazy
        return True
    return False
