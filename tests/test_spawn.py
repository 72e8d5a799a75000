"""Issue 15: however an executor starts its worker processes, the workflow runs once.

multiprocessing's spawn and forkserver prepare a child by importing the
parent's ``__main__`` again; for a workflow that is the whole program. Each
case runs a marked script whose top level appends its pid to a file, on an
executor from ``--executor MODULE:FACTORY``, and wants one line in that file
and the plain run's output.
"""

from __future__ import annotations

import importlib.util
import textwrap

import e2e
import pytest

FACTORIES = """\
import concurrent.futures
import multiprocessing


def spawn(workers):
    context = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(2, mp_context=context)


def forkserver(workers):
    context = multiprocessing.get_context("forkserver")
    return concurrent.futures.ProcessPoolExecutor(2, mp_context=context)


def dask_local_cluster(workers):
    from distributed import Client, LocalCluster

    # The scheduler's HTTP port: any free one (its default, 8787, may be taken).
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           scheduler_kwargs={"dashboard": False,
                                             "dashboard_address": "127.0.0.1:0"})
    return Client(cluster).get_executor()
"""

WORKFLOW = """\
# autofuture
import os
import sys

print("the workflow starts")
with open("runs.txt", "a") as runs:
    runs.write(f"{os.getpid()}\\n")


class Point:
    def __init__(self, x):
        self.x = x


def square(point):
    print("square of", point.x)
    return Point(point.x * point.x)


squares = [square(Point(i)) for i in range(6)]
print("sum", sum(p.x for p in squares))
print("a warning", file=sys.stderr)
"""


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("factory", [
    "spawn",
    "forkserver",
    pytest.param("dask_local_cluster", marks=pytest.mark.skipif(
        not _has("distributed"), reason="needs distributed (pip install autofuture[dask])")),
])
def test_spawned_workers_never_run_the_workflow(tmp_path, factory):
    (tmp_path / "factories.py").write_text(FACTORIES)
    script = tmp_path / "workflow.py"
    script.write_text(textwrap.dedent(WORKFLOW))
    runs = tmp_path / "runs.txt"
    plain = e2e.run_plain(script)
    assert runs.read_text().count("\n") == 1
    runs.unlink()
    fut = e2e.run_autofuture(script, f"factories:{factory}", workers=2, timeout=90)
    e2e.assert_same(plain, fut)
    assert runs.read_text().count("\n") == 1, (
        f"the workflow's top level ran {runs.read_text().count(chr(10))} times:\n{fut.stderr}")


def test_the_workflow_keeps_its_own_spec_and_file(tmp_path):
    """The guard changes what spawned children are told, not what the program reads."""
    script = tmp_path / "identity.py"
    script.write_text("# autofuture\nimport os, sys\n"
                      "print(__spec__, os.path.basename(__file__))\n"
                      "main = sys.modules['__main__']\n"
                      "print(main.__spec__, os.path.basename(main.__file__))\n")
    e2e.assert_same(e2e.run_plain(script), e2e.run_autofuture(script, "loky", workers=1))
