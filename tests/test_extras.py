"""Issue 15: the cluster engines are optional extras, and their names are checked up front.

Without Dask's ``distributed`` (or Parsl), ``--executor dask`` (``parsl``) is a
usage error naming the extra to install, before the script starts. The names
are parsed without importing either engine.
"""

from __future__ import annotations

import e2e
import pytest

from autofuture.executors import dask as _dask
from autofuture.executors import parsl as _parsl
from autofuture.executors import registry as _executors

HIDE = """\
import sys


class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {hidden!r}:
            raise ModuleNotFoundError(name)


sys.meta_path.insert(0, Hide())
"""


@pytest.mark.parametrize(("executor", "hidden", "extra"), [
    ("dask", ("distributed", "dask"), "autofuture[dask]"),
    ("dask://127.0.0.1:8786", ("distributed", "dask"), "autofuture[dask]"),
    ("dask", ("cryptography",), "autofuture[dask]"),
    ("parsl", ("parsl",), "autofuture[parsl]"),
    ("parsl:config.py", ("parsl",), "autofuture[parsl]"),
])
def test_a_missing_extra_is_a_usage_error_naming_it(tmp_path, executor, hidden, extra):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HIDE.format(hidden=set(hidden)))
    script = tmp_path / "x.py"
    script.write_text("print('ran')\n")
    run = e2e.run_autofuture(script, executor, env={"PYTHONPATH": f"{site}:{e2e.REPO_ROOT}"})
    assert run.returncode == 2, run.stderr
    assert f"pip install '{extra}'" in run.stderr and run.stdout == "", run.stderr


@pytest.mark.parametrize(("name", "address"), [
    ("dask", None),
    ("dask://node17:8786", "tcp://node17:8786"),
    ("tcp://10.1.2.3:8786", "tcp://10.1.2.3:8786"),
    ("tls://node17:8786", "tls://node17:8786"),
])
def test_dask_addresses(name, address, monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    assert _dask.is_dask(name)
    assert _dask.address(name) == address


def test_dask_scheduler_address_from_the_environment(monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tls://node17:8786")
    assert _dask.address("dask") == "tls://node17:8786"


@pytest.mark.parametrize("name", ["loky", "mypkg:make", "parsl", "daskish", "tcp"])
def test_other_names_are_not_dask(name):
    assert not _dask.is_dask(name)


@pytest.mark.parametrize("name", ["parsl", "parsl:config.py", "parsl:site.config"])
def test_parsl_names(name):
    assert _parsl.is_parsl(name) and not _dask.is_dask(name)


def test_unknown_names_list_every_choice():
    problem = _executors.check_name("spark")
    assert "dask, dask://HOST:PORT, parsl, parsl:CONFIG" in problem
