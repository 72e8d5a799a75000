"""What tasks see of the workflow's process: working directory, environment,
``sys.path`` and ``sys.argv`` as of their call (SPEC §5).

Both halves of the protocol live here. The workflow stamps every message
with ``(version, blob)``: a version that changes whenever the context does,
and the context pickled once per version. A worker unpickles and applies
the blob only when the version is new to it or when a task has changed its
own context since (``os.chdir`` in a task must not leak into the next
one); otherwise it checks in a few microseconds and goes on. Every message
carries the blob, so any worker (a fresh one after a lost worker, another
MPI rank) can apply it without having seen an earlier one.

Comparing ``os.environ`` as a ``dict`` decodes every variable (tens of
microseconds per message); its encoded mapping compares in one C call.
"""

from __future__ import annotations

import itertools
import os
import pickle
import sys

_versions = itertools.count(1)
#: Versions of one workflow process differ from another's (a foreign executor's
#: workers may serve several workflows).
_origin = os.urandom(8).hex()


def _environ_data():
    """``os.environ``'s own mapping, compared without decoding (CPython keeps one)."""
    data = getattr(os.environ, "_data", None)
    return data if isinstance(data, dict) else dict(os.environ)




# -- the workflow's half ------------------------------------------------------------------

class Stamp:
    """The workflow's context as a message carries it, re-pickled only when it changed."""

    def __init__(self):
        self._seen = None  # (cwd, encoded environment, sys.path, sys.argv), copies
        self._stamp = None

    def current(self) -> tuple:
        cwd = os.getcwd()
        env = _environ_data()
        seen = self._seen
        if seen is None or seen[0] != cwd or seen[1] != env or seen[2] != sys.path \
                or seen[3] != sys.argv:
            self._seen = (cwd, dict(env), list(sys.path), list(sys.argv))
            blob = pickle.dumps((cwd, dict(os.environ), list(sys.path), list(sys.argv)),
                                protocol=pickle.HIGHEST_PROTOCOL)
            self._stamp = ((os.getpid(), _origin, next(_versions)), blob)
        return self._stamp


def read(stamp) -> tuple:
    """(cwd, environment, sys.path, sys.argv) from a message's stamp."""
    return pickle.loads(stamp[1])


# -- the worker's half --------------------------------------------------------------------

#: (version, cwd, encoded environment, sys.path, sys.argv) as of the last apply.
_NOTHING_APPLIED = (None, None, None, None, None)
_applied = _NOTHING_APPLIED
#: Variables this process keeps whatever the workflow's are (an MPI rank's launcher
#: variables), and the test that names them.
_own: dict = {}
_is_own = None


def keep_own(variables: dict, is_own) -> None:
    """Keep ``variables`` (and drop the workflow's variables that ``is_own`` names) in
    every environment applied from now on."""
    global _own, _is_own, _applied
    _own, _is_own, _applied = dict(variables), is_own, _NOTHING_APPLIED


def apply(stamp) -> None:
    """Make this process's context the stamp's, unless it already is."""
    global _applied
    if stamp is None:
        return
    version, cwd, env, path, argv = _applied
    if version == stamp[0] and argv == sys.argv and path == sys.path \
            and cwd == os.getcwd() and env == _environ_data():
        return
    version = stamp[0]
    _applied = _NOTHING_APPLIED  # until it is applied in full
    cwd, env, path, argv = read(stamp)
    if _is_own is not None:
        env = {k: v for k, v in env.items() if not _is_own(k)}
        env.update(_own)
    if os.getcwd() != cwd:
        os.chdir(cwd)
    if dict(os.environ) != env:
        os.environ.clear()
        os.environ.update(env)
    if sys.path != path:
        sys.path[:] = path
    sys.argv[:] = argv
    _applied = (version, os.getcwd(), dict(_environ_data()), list(sys.path), list(sys.argv))
