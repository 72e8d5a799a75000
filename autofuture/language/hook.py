"""The import hook: futurize marked modules as they are imported.

Three small parts, as in typeguard's hook:

* :class:`MarkedFinder`, a meta path finder that asks the regular
  ``PathFinder`` where a module is and claims it only when it is a ``.py``
  source file carrying the mark.  It never opens a file of the standard
  library or site-packages to look (a futurized program imports hundreds of
  them, and none is futurized), unless ``install(scan_site_packages=True)``.
* :class:`MarkedLoader`, a ``SourceFileLoader`` whose ``get_code`` goes
  through the pipeline and our own cache.  Being a ``SourceFileLoader``, it
  keeps ``importlib.resources``, ``get_source`` and ``is_package`` working.
* :func:`install`, which puts the one finder first on ``sys.meta_path``
  until the last handle is uninstalled.

:func:`compile_path` serves ``python -m autofuture script.py``, where the
command line, not the mark, says the script is futurized.
"""

from __future__ import annotations

import importlib.machinery
import io
import os
import site
import sys
import sysconfig
import threading
import types
import warnings
from collections.abc import Sequence

from .. import _config
from . import cache as _cache
from . import header

__all__ = [
    "HookHandle",
    "MarkedFinder",
    "MarkedLoader",
    "MarkedModuleImportedEarly",
    "compile_path",
    "install",
]

_SUFFIXES = tuple(importlib.machinery.SOURCE_SUFFIXES)


class MarkedModuleImportedEarly(UserWarning):
    """A marked module was imported as plain Python before the hook was installed.

    A ``UserWarning`` rather than an ``ImportWarning`` because the latter is
    ignored by default, and this one points at a real surprise: the module
    runs sequentially.
    """


def _roots(paths: Sequence[str | None]) -> tuple[str, ...]:
    found = []
    for path in paths:
        if path:
            root = os.path.normcase(os.path.realpath(path))
            if root not in found:
                found.append(root)
    return tuple(found)


def _site_roots() -> tuple[str, ...]:
    paths: list[str | None] = []
    for scheme_vars in (None, {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}):
        scheme = sysconfig.get_paths(vars=scheme_vars)
        paths += [scheme.get("purelib"), scheme.get("platlib")]
    paths += getattr(site, "getsitepackages", list)()
    if hasattr(site, "getusersitepackages"):
        paths.append(site.getusersitepackages())
    return _roots(paths)


def _stdlib_roots() -> tuple[str, ...]:
    scheme = sysconfig.get_paths()
    return _roots([scheme.get("stdlib"), scheme.get("platstdlib")])


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


class MarkedFinder:
    """Claims marked ``.py`` modules and packages found by ``PathFinder``.

    A meta path finder by its ``find_spec``, not by ``importlib.abc``'s base class,
    which imports ``importlib.resources`` and ``pathlib`` (~10 ms of every start,
    issue 16).
    """

    def __init__(self, scan_site_packages: bool = False) -> None:
        self.scan_site_packages = scan_site_packages
        # Computed once: sysconfig and site answers do not change at run time.
        self._stdlib = _stdlib_roots()
        self._site = _site_roots()
        # Where each directory really is ("site", "stdlib" or "other"): every
        # import passes here, and resolving a path costs a system call per
        # component. importlib.invalidate_caches() forgets it.
        self._places: dict[str, str] = {}

    def may_open(self, filename: str) -> bool:
        """Whether looking for the mark in *filename* is allowed at all.

        Site-packages usually sits inside the standard library's directory,
        so it is tested first: ``scan_site_packages`` unlocks it, never the
        standard library itself.
        """
        if os.path.islink(filename):  # the file itself may lead elsewhere
            place = self._place(os.path.realpath(filename))
        else:
            directory = os.path.dirname(filename)
            place = self._places.get(directory)
            if place is None:
                place = self._place(os.path.realpath(directory))
                if os.path.isabs(directory):  # a relative one moves with os.chdir
                    self._places[directory] = place
        if place == "site":
            return self.scan_site_packages
        return place != "stdlib"

    def _place(self, real: str) -> str:
        path = os.path.normcase(real)
        if _under(path, self._site):
            return "site"
        return "stdlib" if _under(path, self._stdlib) else "other"

    def invalidate_caches(self) -> None:
        """Forget where directories are (``importlib.invalidate_caches()`` calls this)."""
        self._places.clear()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in sys.builtin_module_names or _own(fullname):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if (
            spec is None
            or spec.origin is None  # namespace package: no file to rewrite
            or not isinstance(spec.loader, importlib.machinery.SourceFileLoader)
            or not spec.origin.endswith(_SUFFIXES)
            or not self.may_open(spec.origin)
            or not header.is_marked_file(spec.origin)
        ):
            return None
        spec.loader = MarkedLoader(fullname, spec.origin)
        return spec


class MarkedLoader(importlib.machinery.SourceFileLoader):
    """Loads a marked module's rewritten code, from our cache when it is fresh.

    Overrides ``get_code`` as a whole so that ``SourceLoader`` never reads or
    writes the module's plain ``.pyc``: a later plain import must not get
    rewritten code, nor this one plain code.
    """

    def get_code(self, fullname: str) -> types.CodeType:
        filename = self.get_filename(fullname)
        return _code_for(filename, self.get_data(filename))

    def source_to_code(self, data, path, *, _optimize=-1):  # type: ignore[override]
        # Whoever compiles through this loader gets what an import gets.
        return _pipeline().source_to_code(data, os.fspath(path))


def compile_path(path: str | os.PathLike[str]) -> types.CodeType:
    """The futurized code of the script *path*, whether or not it is marked.

    The file name in the code is absolute, as Python gives ``__main__``
    since 3.9, so the cached entry matches however the script was named.
    """
    filename = os.path.abspath(os.fspath(path))
    with io.open_code(filename) as file:
        source = file.read()
    return _code_for(filename, source)


def _code_for(filename: str, source: bytes) -> types.CodeType:
    code = _cache.load(filename, source)
    if code is None:
        code = _pipeline().source_to_code(source, filename)
        _cache.store(filename, source, code)
    if _config.debug():
        text = _pipeline().show(source, filename)
        print(
            f"# autofuture: rewritten source of {filename}\n{text}\n# end of {filename}",
            file=sys.stderr,
        )
    return code


def _pipeline():
    """``language.pipeline``, imported when something is to be rewritten: a run whose
    modules all come from the cache never loads the checker and the rewriter
    (~4 ms of its start, issue 16)."""
    from . import pipeline

    return pipeline


class HookHandle:
    """One :func:`install`; the hook stays until every handle is uninstalled.

    Counting handles lets a library's ``with autofuture.install():`` nest
    inside an application's global ``install()`` without removing it.
    """

    def __init__(self, scan_site_packages: bool) -> None:
        self.scan_site_packages = scan_site_packages

    @property
    def installed(self) -> bool:
        return self in _active

    def uninstall(self) -> None:
        """Release this handle; the last one removes the finder.  Idempotent."""
        with _lock:
            if self in _active:
                _active.remove(self)
            _sync()

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        state = "installed" if self.installed else "uninstalled"
        return f"<autofuture import hook handle ({state})>"


_FINDER: MarkedFinder | None = None
_active: list[HookHandle] = []
_lock = threading.Lock()
_warned: set[tuple[str, str]] = set()


def finder() -> MarkedFinder:
    """The one finder that :func:`install` puts on ``sys.meta_path``."""
    global _FINDER
    if _FINDER is None:
        _FINDER = MarkedFinder()
    return _FINDER


def _sync() -> None:
    """Make ``sys.meta_path`` hold the finder exactly when a handle is active."""
    hook = finder()
    hook.scan_site_packages = any(h.scan_site_packages for h in _active)
    present = any(f is hook for f in sys.meta_path)
    if _active and not present:
        sys.meta_path.insert(0, hook)
    elif not _active and present:
        sys.meta_path[:] = [f for f in sys.meta_path if f is not hook]


def install(*, scan_site_packages: bool = False) -> HookHandle:
    """Futurize marked modules imported from now on; returns a handle.

    Use ``handle.uninstall()`` or ``with autofuture.install(): ...``.
    Installing again adds a handle, not a second finder.  Marked modules
    already imported as plain Python are named in a
    :class:`MarkedModuleImportedEarly` warning: they stay sequential.
    """
    handle = HookHandle(scan_site_packages)
    with _lock:
        _active.append(handle)
        _sync()
    _warn_early(finder())
    return handle


def _warn_early(hook: MarkedFinder) -> None:
    stacklevel = _user_stacklevel()
    for name, module in list(sys.modules.items()):
        filename = getattr(module, "__file__", None)
        if (
            _own(name)
            or not isinstance(filename, str)
            or not filename.endswith(_SUFFIXES)
            or isinstance(getattr(module, "__loader__", None), MarkedLoader)
            or (name, filename) in _warned
            or not hook.may_open(filename)
            or not header.is_marked_file(filename)
        ):
            continue
        _warned.add((name, filename))
        warnings.warn(
            MarkedModuleImportedEarly(
                f"module {name!r} ({filename}) is marked '# autofuture' but was "
                "imported before autofuture.install(), so it runs as plain, sequential "
                "Python. Install the hook before importing it (or reload it with "
                "importlib.reload after installing), or run the program with "
                "'python -m autofuture'."
            ),
            stacklevel=stacklevel,
        )


def _own(name: str) -> bool:
    """autofuture's own modules are never marked: not read for the mark at all (an
    editable install puts them outside site-packages, where ~70 headers cost ~30 ms
    of every start, issue 16)."""
    return name == "autofuture" or name.startswith("autofuture.")


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning of our caller at user code.

    ``autofuture.install`` wraps this module's ``install``, so the depth is
    counted, not fixed: the first frame outside the package is the user's.
    """
    package = os.path.dirname(os.path.dirname(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level
