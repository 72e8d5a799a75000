"""Which task a worker on this host was running when it died.

Each worker process notes the number of the task it runs in a small file of
a private directory, named by its pid (``worker.runner._mark_running``). When
an engine reports a lost message, the files of dead processes say which tasks
were running there: those failed; the others of the message are innocent and
run again for free. For workers on the workflow's own host only: a local Dask
cluster's, a local Parsl pool's and loky's.
"""

from __future__ import annotations

import os
import shutil
import tempfile


class Slots:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="autofuture-")
        self.lost: set[int] = set()  # every message of a lost worker asks; all must hear

    def lost_tasks(self, exc=None) -> set[int]:
        """Numbers of the tasks that were running in workers that have died."""
        return dead_tasks(self.path, self.lost)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def dead_tasks(directory: str, lost: set[int]) -> set[int]:
    """Add to ``lost`` the tasks noted in ``directory`` by processes that have died."""
    try:
        names = os.listdir(directory)
    except OSError:
        return lost
    for name in names:
        if not name.isdigit() or alive(int(name)):
            continue
        path = os.path.join(directory, name)
        slot = read_slot(path)
        try:
            os.unlink(path)
        except OSError:
            continue
        if slot is not None and slot[0]:
            lost.add(slot[0])
    return lost


def read_slot(path: str) -> tuple[int, float] | None:
    """(task number, since when) from a worker's slot file; (0, t) between tasks."""
    try:
        with open(path, "rb") as file:
            fields = file.read().split()
        return int(fields[0]), float(fields[1]) if len(fields) > 1 else 0.0
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            return file.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
