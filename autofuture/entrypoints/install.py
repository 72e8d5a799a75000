"""``autofuture.install()``: futurize marked modules imported from plain Python code.

Exported at the top of the package; it lives here, among the other ways in,
so that the start-up hook and the pytest plugin can call it without
importing upwards.
"""

from __future__ import annotations

_RUN_OPTIONS = ("executor", "workers", "lookahead", "keep_going", "task_output", "retries")


def install(*, scan_site_packages: bool = False, **run_options):
    """Futurize marked modules imported from now on; returns a handle with ``uninstall()``
    that also works as a context manager.

    ``executor``, ``workers``, ``lookahead``, ``keep_going``, ``task_output`` and
    ``retries`` set what ``python -m autofuture`` options set (defaults: the
    ``AUTOFUTURE_EXECUTOR`` and ``AUTOFUTURE_WORKERS`` variables, else loky on all
    cores). The workflow thread blocks while it waits for a value: in Jupyter
    or under asyncio that blocks the kernel's or the loop's thread, like any
    long computation in a cell; run the workflow in a thread to keep a loop
    responsive.
    """
    from ..language.hook import install as _install
    from ..runtime import scheduler

    unknown = set(run_options) - set(_RUN_OPTIONS)
    if unknown:
        raise TypeError(f"install() got unknown options {sorted(unknown)}; "
                        f"it takes scan_site_packages and {', '.join(_RUN_OPTIONS)}")
    if run_options:
        scheduler.configure(scheduler.Options(**run_options))
    return _install(scan_site_packages=scan_site_packages)
