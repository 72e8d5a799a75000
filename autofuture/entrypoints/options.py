"""The command line's options: ``python -m autofuture --help``.

Apart from ``cli`` because argparse takes ~7 ms to import, and ``cli.main``
starts the first worker before that (issue 16).
"""

from __future__ import annotations

import argparse

USAGE = """\
python -m autofuture [options] script.py [args ...]
       python -m autofuture [options] -m module [args ...]
       python -m autofuture check PATH [PATH ...]
       python -m autofuture show FILE
       python -m autofuture export --swift-t script.py [-o script.swift]
       python -m autofuture report TRACE [-o report.html] [--graph FILE.dot]
       python -m autofuture startup-hook {install,uninstall,status}"""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _bytes(text: str) -> int:
    """'512M', '2G', '1.5G', '1000000': a size in bytes (K, M, G, T are powers of 1024)."""
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = cleaned[-1:] if cleaned[-1:] in _UNITS and cleaned[-1:] else ""
    try:
        value = float(cleaned[:-1] if unit else cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 512M or 2G, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text!r}")
    return int(value * _UNITS[unit])


def _seconds(text: str) -> float | None:
    from ..runtime import entries

    value, problem = entries.parse_timeout(text)
    if problem is not None or not text.strip():
        raise argparse.ArgumentTypeError(problem or "expected a number of seconds, got ''")
    return value


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autofuture", usage=USAGE,
        description="Run a Python script with its task calls in parallel; it prints what "
                    "its plain run prints.",
    )
    parser.add_argument("-n", "--workers", type=_positive, default=None,
                        help="number of workers (default: all cores)")
    parser.add_argument("--executor", default=None,
                        metavar="{loky,mpi,thread,serial,dask,dask://HOST:PORT,parsl,"
                                "parsl:CONFIG,MODULE:FACTORY}",
                        help="what runs the tasks (default: loky; mpi under mpiexec)")
    parser.add_argument("--keep-going", action="store_true",
                        help="finish all work that does not depend on a failure")
    parser.add_argument("--checkpoint", metavar="DIR", default=None,
                        help="keep each finished task's result in DIR, so that running the "
                             "program again recomputes nothing already done")
    parser.add_argument("--retries", type=int, default=0, metavar="N",
                        help="run a task whose worker died up to N more times (default: 0; "
                             "autofuture.task(retries=..., retry_on=...) sets it per task)")
    parser.add_argument("--task-timeout", type=_seconds, default=None, metavar="SECONDS",
                        help="a task running longer fails with TimeoutError, its worker "
                             "killed and replaced (default: no limit; also "
                             "AUTOFUTURE_TASK_TIMEOUT; autofuture.task(timeout=...) sets it "
                             "per task)")
    parser.add_argument("--lookahead", type=_positive, default=10_000,
                        help="how many pending operations the workflow may run ahead "
                             "(default: 10000)")
    parser.add_argument("--worker-memory", type=_bytes, default=None, metavar="SIZE",
                        help="how much of its results a worker may keep for later tasks "
                             "(e.g. 2G; default: half the machine's memory divided among "
                             "the workers); past it, the oldest go to the workflow process")
    parser.add_argument("--task-output", choices=("capture", "live"), default="capture",
                        help="'capture' replays a task's prints at its call's turn (default); "
                             "'live' lets them through as they happen")
    parser.add_argument("--trace", metavar="FILE", default=None,
                        help="write every task's events to FILE as JSON lines while it runs "
                             "(autofuture report FILE makes a page of them)")
    parser.add_argument("--progress", dest="progress", action="store_const", const="auto",
                        default="never",
                        help="a live bar of the tasks on stderr, when stderr is a terminal")
    parser.add_argument("--progress=always", dest="progress", action="store_const",
                        const="always", help="the bar even when stderr is not a terminal")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="say on stderr what autofuture does: executor, workers, a summary "
                             "(-vv: every batch)")
    parser.add_argument("-q", "--quiet", action="count", default=0,
                        help="print nothing of autofuture's own but errors")
    parser.add_argument("--version", action="version", version=f"autofuture {_version()}")
    parser.add_argument("-m", dest="module", metavar="module", default=None,
                        help="run a module as a script, like python -m")
    parser.add_argument("target", nargs=argparse.REMAINDER,
                        help="the script and its arguments")
    return parser


def _version() -> str:
    from .._version import __version__

    return __version__
