"""Doorbells: a rank waiting for an MPI message sleeps in ``poll`` on a pipe that
whoever sends to it writes one byte to, instead of probing between sleeps.

MPI has no wait that leaves the core (MPICH's blocking probe spins), and a
rank that sleeps between probes is rescheduled in its turn, which on a busy
node (2 cores, 10 processes) is hundreds of microseconds late. A process woken
from a blocking read is scheduled at once. So each rank keeps a pipe; every
other rank on the same node opens its write end through
``/proc/<pid>/fd/<n>`` (no file, no socket, no port: only processes of the
same user on the same node can), and after sending a message writes one byte
to the receiver's pipe. The byte is only a hint: a rank woken finds its
message by probing as before, and never waits on its pipe longer than
``LONGEST_WAIT_SECONDS`` (a message whose ring went missing costs that much
time, never a hang).

A rank waits on its doorbell only when every other rank can ring it; when
one cannot (another node, another pid namespace, or ``AUTOFUTURE_MPI_DOORBELL=0``
on any rank), no rank uses doorbells and all probe as before.
"""

from __future__ import annotations

import os
import select
import stat

from ... import _config

#: A rank waiting on its doorbell probes again at least this often.
FIRST_WAIT_SECONDS = 0.001
LONGEST_WAIT_SECONDS = 0.05
#: After a ring, probe without pause this long: the first probe often misses it.
RUNG_PROBE_SECONDS = 0.0002


class _Bells:
    read = None      # this rank's pipe (read end, non-blocking), when it waits on it
    poller = None
    ring = {}        # rank -> write end of that rank's pipe (this rank's own included)


_bells = _Bells()


def enabled() -> bool:
    """``AUTOFUTURE_MPI_DOORBELL=0`` turns doorbells off for the whole job (then ranks probe)."""
    value = _config.env_str("MPI_DOORBELL", "1").strip().lower()
    return value not in ("0", "false", "no", "off")


def setup(comm, rank: int, host: str, wanted: bool) -> bool:
    """Make this rank's doorbell and open the other ranks' (collective); True if used.

    ``wanted`` must be False on a rank that never waits by probing (the
    blocking ``AUTOFUTURE_MPI_WAIT=block``) or has doorbells turned off: then
    no rank uses them.
    """
    read = write = None
    card = None
    if wanted:
        try:
            read, write = os.pipe()
            os.set_blocking(read, False)
            card = (host, os.getpid(), write, os.fstat(write).st_ino)
        except OSError:
            card = None
    cards = comm.allgather(card)
    opened = {}
    # Every rank on this node and willing, or nobody opens anything.
    if all(theirs is not None and theirs[0] == host for theirs in cards):
        for other, theirs in enumerate(cards):
            fd = _open(*theirs[1:]) if other != rank else None
            if fd is None and other != rank:
                break  # another pid namespace, or not that pipe
            if fd is not None:
                opened[other] = fd
    # Used only if every rank can ring every other one.
    usable = all(count == len(cards) - 1 for count in comm.allgather(len(opened)))
    if not usable:
        for fd in (read, write, *opened.values()):
            if fd is not None:
                os.close(fd)
        return False
    opened[rank] = write
    _bells.read = read
    _bells.ring = opened
    _bells.poller = select.poll()
    _bells.poller.register(read, select.POLLIN)
    return True


def _open(pid: int, fd: int, inode: int):
    """The write end of process ``pid``'s pipe, if it is that pipe on this node, else None."""
    path = f"/proc/{pid}/fd/{fd}"
    try:
        found = os.stat(path)
        if not stat.S_ISFIFO(found.st_mode) or found.st_ino != inode:
            return None  # a process of the same pid elsewhere, or not ours to see
        return os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None


def used() -> bool:
    return _bells.read is not None


def ring(rank: int) -> None:
    """Wake ``rank`` if it waits on its doorbell (after sending it a message)."""
    fd = _bells.ring.get(rank)
    if fd is not None:
        try:
            os.write(fd, b"\0")
        except OSError:
            pass  # full (it is rung already) or its reader is gone (the run is ending)


def send(comm, message, rank: int, tag: int) -> None:
    """``comm.send`` that rings ``rank``.

    A small message is sent whole at once, and the ring comes last (the
    receiver, woken, often takes this core: better done with the send by
    then); a big one is delivered only while the receiver takes it, so the
    ring goes before the wait.
    """
    request = comm.isend(message, rank, tag)
    if not request.test()[0]:
        ring(rank)
        request.wait()
        return
    ring(rank)


def wait(seconds: float) -> bool:
    """Sleep until this rank's doorbell rings, at most ``seconds``; True if it rang."""
    if not _bells.poller.poll(seconds * 1000.0):
        return False
    try:
        while os.read(_bells.read, 4096):
            pass
    except OSError:  # BlockingIOError: every ring read
        pass
    return True
