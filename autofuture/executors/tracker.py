"""loky's resource tracker process, started without importing all of loky.

loky starts its tracker with ``python -c "from M import main; main(fd)"``, M
being the module of ``loky.backend.resource_tracker.main``; importing that
module runs ``loky/__init__``, which imports the whole pool (cloudpickle,
psutil, concurrent.futures): 60-80 ms of CPU on every run, for a process
that only reads a pipe and removes what a dead run left behind (issue 16's
start-up, on 2 cores shared with the workers booting). ``executors.spawning``
has loky start this ``main`` instead: it gives ``loky`` and ``loky.backend``
their package objects without running their ``__init__``, then runs loky's
own tracker loop. Should that fail (another loky), it imports loky as loky
does.
"""

from __future__ import annotations

import os
import sys


def main(fd: int, verbose: int = 0) -> None:
    """The tracker process's entry (``-c "from ... import main; main(fd, verbose)"``)."""
    try:
        loop = _light()
    except Exception:  # noqa: BLE001 - any surprise: loky's own way
        for name in [name for name in sys.modules if name.split(".")[0] == "loky"]:
            del sys.modules[name]
        from loky.backend.resource_tracker import main as loop
    loop(fd, verbose)


def _light():
    import importlib.util

    spec = importlib.util.find_spec("loky")
    root = os.path.dirname(spec.origin)
    for name, path in (("loky", root), ("loky.backend", os.path.join(root, "backend"))):
        shell = importlib.util.spec_from_file_location(
            name, os.path.join(path, "__init__.py"), submodule_search_locations=[path])
        sys.modules[name] = importlib.util.module_from_spec(shell)  # never executed
    from loky.backend.resource_tracker import main as loop

    return loop
