"""Helpers shared by the benchmarks: child environments, statistics, JSON output.

Standard library only, so the benchmarks run wherever autofuture installs.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Variables that would change what is measured: where bytecode goes, whether it
# is written, and autofuture's own debug output.
_DROPPED = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "AUTOFUTURE_DEBUG", "PYTHONPATH")


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a measured subprocess.

    The checkout's own ``autofuture`` comes first on ``PYTHONPATH``, so the
    benchmark measures this tree whether or not it was installed. The
    interpreter's own ``bin`` comes first on ``PATH``, as in an activated
    environment: Parsl's peer starts ``interchange.py`` and its workers from there.
    """
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env.update(extra)
    return env


def run_child(args: list[str], *, env: dict[str, str], cwd: str | None = None,
              timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a subprocess to completion; on failure, show its output and stop."""
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.stderr.write(f"benchmark child failed with exit status {proc.returncode}: "
                         f"{' '.join(args)}\n--- stdout ---\n{proc.stdout}"
                         f"--- stderr ---\n{proc.stderr}")
        raise SystemExit(1)
    return proc


def summary(samples: list[float]) -> dict[str, float | list[float]]:
    """Median, min and max of *samples*, plus the samples themselves."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "samples": list(samples),
    }


def metadata() -> dict[str, object]:
    """What the figures depend on: interpreter, machine, versions, commit."""
    try:
        from importlib.metadata import version

        loky_version = version("loky")
    except Exception:
        loky_version = None
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT,
                                capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        commit = None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        # Other work on the machine shows in the spread; record how much there was.
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "loky": loky_version,
        "commit": commit,
    }


def write_json(path: str | os.PathLike[str] | None, name: str, data: dict) -> Path:
    """Write *data* (with :func:`metadata`) to *path*, by default ``results/<name>.json``."""
    target = Path(path) if path else RESULTS_DIR / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    record = {"benchmark": name, **metadata(), **data}
    target.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return target
