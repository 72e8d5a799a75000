"""Running ``mpiexec -n N python -m autofuture ...`` from the tests, and finding what it left.

Shared by test_mpi.py and test_faults_mpi.py; the ``mpi`` fixture that owns
the leftover check is in conftest.py.

MPICH's process manager puts its proxy and every rank in sessions of their
own, so the usual check for processes left behind (conftest.py, by session)
cannot see them: each run carries a variable ``AUTOFUTURE_MPI_TEST=<token>``
in its environment, which every rank inherits, and after the test no live
process may still carry it.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path

import e2e
import pytest


def _find_mpiexec() -> str | None:
    beside = Path(sys.executable).with_name("mpiexec")
    if beside.exists():
        return str(beside)
    return shutil.which("mpiexec")


MPIEXEC = _find_mpiexec()
try:
    import mpi4py  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    MPI4PY = False
else:
    MPI4PY = True

# Per run; every run takes about a second, so this only trips on a hang.
TIMEOUT = 60.0
# How long ranks may take to exit once mpiexec has returned.
STRAGGLER_GRACE = 5.0
# An error or Ctrl-C on rank 0 must end every rank within this (SPEC §7).
ABORT_WITHIN = 3.0

MARKER = "AUTOFUTURE_MPI_TEST"


def skip_without_mpi() -> None:
    """Skip the calling test module unless mpiexec and mpi4py are both there."""
    if MPIEXEC is None or not MPI4PY:  # pragma: no cover - depends on the environment
        pytest.skip(
            "the MPI tests need mpiexec and mpi4py: pip install mpi4py mpich "
            f"(mpiexec {'found' if MPIEXEC else 'not found'}, "
            f"mpi4py {'found' if MPI4PY else 'not importable'})",
            allow_module_level=True,
        )


def marked_processes(token: str) -> dict[int, str]:
    """Live processes whose environment carries ``MARKER=token``: pid -> command line."""
    needle = f"{MARKER}={token}".encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if needle in environ.split(b"\0") and stat.rpartition(")")[2].split()[0] != "Z":
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                cmdline = b"?"
            found[int(entry)] = cmdline.replace(b"\0", b" ").decode("utf-8", "replace").strip()
    return found


class MPIRunner:
    """Runs ``mpiexec -n N python -m autofuture ...``; owns the leftover check."""

    def __init__(self):
        self.token = uuid.uuid4().hex

    def env(self, extra=None) -> dict[str, str]:
        return {MARKER: self.token, **(extra or {})}

    def argv(self, ranks: int, program: Path, args=(), opts=(), launcher=()) -> list[str]:
        """``mpiexec [launcher] -n RANKS python -m autofuture [opts] program [args]``."""
        return [MPIEXEC, *launcher, "-n", str(ranks), sys.executable, "-m", "autofuture", *opts,
                Path(program).name, *args]

    def run(self, ranks: int, program: Path, args=(), opts=(), env=None,
            timeout: float = TIMEOUT) -> e2e.Run:
        program = Path(program).resolve()
        return e2e._run(self.argv(ranks, program, args, opts), program.parent,
                        self.env(env), timeout)

    def processes(self) -> dict[int, str]:
        """The run's processes alive now (mpiexec, its proxy, the ranks): pid -> command."""
        return marked_processes(self.token)

    def leftovers(self, grace: float = STRAGGLER_GRACE) -> dict[int, str]:
        """The run's processes still alive after up to ``grace`` seconds."""
        deadline = time.monotonic() + grace
        while True:
            left = marked_processes(self.token)
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.05)
