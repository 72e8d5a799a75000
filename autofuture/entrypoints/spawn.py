"""Child processes started with multiprocessing's spawn or forkserver never run the workflow.

multiprocessing prepares a spawned child (``spawn``, ``forkserver``, and so
every engine built on them: a ``ProcessPoolExecutor`` with a spawn context,
Dask's nannies) with ``multiprocessing.spawn.get_preparation_data``, which
names the parent's ``__main__`` by its ``__spec__`` or ``__file__``; the
child then imports that module again as ``__mp_main__``, running its top
level as plain Python. For a workflow that is the whole program, once per
child (SPEC §2: workers never run a workflow).

While a workflow module is ``sys.modules['__main__']``, the preparation data
leaves its ``__main__`` out, so the child keeps its own. Nothing the child
needs is lost: task functions and classes of ``__main__`` travel by value
(cloudpickle), never by reference to ``__main__``. The workflow's own
``__spec__`` and ``__file__`` stay what the program reads.

loky prepares its workers without ``__main__`` already; this covers the rest.
``multiprocessing.spawn`` costs some 6 ms to import, which a workflow that
never spawns should not pay: until something imports it, a finder waits for
it on ``sys.meta_path`` and wraps the function once it is loaded.
"""

from __future__ import annotations

import importlib.machinery
import sys
import weakref

#: ``__main__`` modules of workflows that autofuture runs.
_workflows: weakref.WeakSet = weakref.WeakSet()
_MAIN_KEYS = ("init_main_from_path", "init_main_from_name")


def protect(module) -> None:
    """Keep ``module`` (a workflow's ``__main__``) out of every spawned child's preparation."""
    _workflows.add(module)
    spawn = sys.modules.get("multiprocessing.spawn")
    if spawn is not None:
        _wrap(spawn)
    elif not any(isinstance(finder, _SpawnFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SpawnFinder())


def _wrap(spawn) -> None:
    if getattr(spawn.get_preparation_data, "_autofuture_original", None) is None:
        spawn.get_preparation_data = _preparation_data(spawn.get_preparation_data)


class _SpawnFinder:
    """Claims nothing: when ``multiprocessing.spawn`` is imported, wraps its loader."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "multiprocessing.spawn":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _WrappingLoader(spec.loader)
        return spec


class _WrappingLoader:
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        _wrap(module)

    def __getattr__(self, name):  # get_source, get_code, is_package...: the real loader's
        return getattr(self.loader, name)


def _preparation_data(original):
    def get_preparation_data(name, *args, **kwargs):
        data = original(name, *args, **kwargs)
        main = sys.modules.get("__main__")
        if main is not None and main in _workflows:
            for key in _MAIN_KEYS:
                data.pop(key, None)
        return data

    get_preparation_data._autofuture_original = original
    get_preparation_data.__doc__ = original.__doc__
    return get_preparation_data
