"""The first loky worker's interpreter, started as soon as the command line is read.

A loky worker takes ~90 ms to boot (an interpreter, loky, autofuture's worker
modules), and the workflow ~100 ms to reach the point where loky spawns it
(its own imports, the resource trackers): one after the other, they were most
of a one-task script's start-up (issue 16). ``start`` launches an interpreter
at once that imports what a worker imports, then waits. When loky spawns the
first worker, ``adopting`` hands it that interpreter instead of a new one:
the descriptors loky would have passed to its child (the pipe it writes the
process object to, the one whose end tells it the child ended, the resource
trackers') cross a Unix socket (``SCM_RIGHTS``) and take the same numbers
there, the environment is the one loky would have given, and the child goes
on as ``loky.backend.popen_loky_posix`` does. It is the workflow's own child,
so loky waits for it and reads its exit status as for any worker, and
``worker.runner`` watches the same parent.

Started only when the run will use loky. An interpreter never taken reads
end-of-file when the workflow ends (``discard``, or the workflow's death) and
exits; one that could not import what a worker needs exits at once, and loky
then spawns the worker itself, which reports the error.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys

# pickle and socket are imported where they are used: ``start`` runs before the
# workflow has imported them, and the ~12 ms they take would each delay the first
# worker's boot (issue 16). ``start`` makes its socket pair with ``_socket``.

#: (pid, the workflow's end of the socket) of the interpreter waiting to be a worker.
_waiting: tuple | None = None


def start() -> None:
    """Launch the waiting interpreter (born with SIGINT blocked, as loky's workers
    are: see ``spawning.sigint_deferred``); on any failure, loky spawns as usual."""
    global _waiting
    import _socket

    if (_waiting is not None or not hasattr(os, "posix_spawn")
            or not hasattr(_socket.socket, "sendmsg")):
        return
    try:
        ours, theirs = (end.detach() for end in
                        _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET))
    except OSError:
        return
    try:
        os.set_inheritable(theirs, True)
        env = dict(os.environ, AUTOFUTURE_WORKER="1")
        # -c, not -m: runpy and what it imports are ~5 ms of the interpreter's boot
        command = f"from {__name__} import serve; serve({theirs})"
        pid = os.posix_spawn(sys.executable, [sys.executable, "-c", command],
                             env, setsigmask={signal.SIGINT})
    except OSError:
        os.close(ours)
        return
    finally:
        os.close(theirs)
    _waiting = (pid, ours)


@contextlib.contextmanager
def adopting():
    """While this block spawns loky workers, the first is the waiting interpreter."""
    if _waiting is None:
        yield
        return
    from loky.backend import fork_exec as module

    original = module.fork_exec

    def fork_exec(cmd, keep_fds, env=None):
        module.fork_exec = original  # the first worker only
        pid = _hand_over(cmd, keep_fds, env)
        return pid if pid is not None else original(cmd, keep_fds, env)

    module.fork_exec = fork_exec  # loky's Popen looks it up at each spawn
    try:
        yield
    finally:
        module.fork_exec = original


def _hand_over(cmd: list, keep_fds, env) -> int | None:
    """Give the waiting interpreter loky's command, descriptors and environment;
    its pid, or None if it is gone (loky then spawns the worker itself)."""
    global _waiting
    if _waiting is None:
        return None
    import pickle
    import socket

    pid, ours = _waiting
    _waiting = None
    fds = sorted(map(int, keep_fds))
    message = pickle.dumps(([str(arg) for arg in cmd], fds, {**os.environ, **(env or {})}))
    try:
        with socket.socket(fileno=ours) as conversation:
            socket.send_fds(conversation, [message], fds)
    except OSError:
        _end(pid, None)
        return None
    return pid


def discard() -> None:
    """The run is over, or never used loky: the waiting interpreter ends now."""
    global _waiting
    if _waiting is not None:
        waiting, _waiting = _waiting, None
        _end(*waiting)


def _end(pid: int, ours: int | None) -> None:
    if ours is not None:
        os.close(ours)  # it reads end-of-file and exits; SIGKILL if it is still importing
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.waitpid(pid, 0)


# -- in the child ----------------------------------------------------------------------


def serve(fd: int) -> None:
    """Import what a worker imports, wait to be handed loky's part, then be the worker."""
    os.closerange(3, fd)  # what the workflow's own parent left open is not the worker's
    os.closerange(fd + 1, _max_fd())
    import pickle
    import socket

    conversation = socket.socket(fileno=fd)
    gc.disable()  # while it imports (~7 % of their CPU); what they make lives on
    try:
        from multiprocessing import process

        from .spawning import import_loky

        import_loky()  # without psutil, which a worker's loky does not need
        import loky.backend.popen_loky_posix  # noqa: F401 - a worker's imports, done now
        from loky.backend import spawn

        from ..worker import runner  # noqa: F401
    except BaseException:  # noqa: BLE001 - loky's own spawn then reports it
        os._exit(1)
    gc.freeze()
    gc.enable()
    try:
        message, fds, _, _ = socket.recv_fds(conversation, 1 << 20, 256)
    except OSError:
        os._exit(0)
    if not message:  # the workflow ended without needing it
        os._exit(0)
    cmd, targets, env = pickle.loads(message)
    conversation.close()
    _place(fds, targets)
    os.environ.clear()
    os.environ.update(env)
    pipe = int(cmd[cmd.index("--pipe") + 1])
    # What ``python -m loky.backend.popen_loky_posix --pipe N`` does from here.
    with os.fdopen(pipe, "rb") as from_parent:
        process.current_process()._inheriting = True
        try:
            prep_data = pickle.load(from_parent)
            spawn.prepare(prep_data)
            process_obj = pickle.load(from_parent)
        finally:
            del process.current_process()._inheriting
    sys.exit(process_obj._bootstrap())


def _place(fds: list, targets: list) -> None:
    """Each received descriptor at the number loky gave it in the workflow."""
    import fcntl

    above = max(targets, default=2) + 1
    high = []
    for fd in fds:  # first out of the way of every target number
        high.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, above))
        os.close(fd)
    for fd, target in zip(high, targets, strict=True):
        os.dup2(fd, target, inheritable=False)
        os.close(fd)


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 65536)
    except (OSError, ValueError):
        return 4096
