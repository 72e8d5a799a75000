"""The cache of rewritten code, kept next to Python's own ``.pyc`` files.

Modelled on pytest's assertion-rewrite cache, with the lessons it learnt:

* its own file name, ``<stem>.<cache_tag>-autofuture-<version>-s<SCHEMA>.pyc``,
  so a plain ``python`` never loads rewritten code and a new autofuture (or a
  new generated-code schema) never loads an old one;
* a PEP 552 *checked-hash* header: validity is decided by the hash of the
  source bytes, never by mtime, so an edit within the same second, or a
  restored CI cache, is seen;
* writes go to a temporary file in the same directory that is then
  ``os.replace``-d, so a thousand MPI ranks importing at once only ever see
  a complete file, and the temporary file is removed when anything fails;
* ``sys.dont_write_bytecode`` and ``sys.pycache_prefix`` are honoured, at the
  time of each write, as CPython honours them;
* every failure -- missing, unreadable, truncated, corrupt, foreign, stale,
  read-only directory -- is a miss, never an error: the cache can make an
  import faster, never break it.

A write that fails (a read-only or full ``__pycache__``, no permission) is
told once per directory on the ``autofuture`` logger, naming the directory
and the reason, unlike CPython's silence about its own ``.pyc`` files: the
program still runs, but every run rewrites those modules again, and the
user can point ``PYTHONPYCACHEPREFIX`` somewhere writable or turn writing off.
The logger, not ``warnings``: a warnings filter set to ``error`` (pytest's
``filterwarnings``, ``-W error``) must not turn a cache miss into a failed
import.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import logging
import marshal
import os
import sys
import types

from .rewrite import SCHEMA

__all__ = ["tag", "version", "cache_path", "load", "store", "pack", "unpack"]

# PEP 552 flags: bit 0 "hash-based", bit 1 "check the source".  We accept
# nothing else: an unchecked entry could be stale.
_CHECKED_HASH = 0b11
_HEADER_SIZE = 16

logger = logging.getLogger("autofuture")
_warned: set[str] = set()  # cache directories already warned about, in this process


@functools.cache
def version() -> str:
    """autofuture's version for the tag: the package's ``__version__``.

    Not ``importlib.metadata``, which costs tens of milliseconds at the first
    marked import. SCHEMA, not the version, must be bumped whenever generated
    code (or a load-time check) changes, since a development install keeps
    one version across edits.
    """
    from .._version import __version__

    return __version__


def tag() -> str | None:
    """``<cache_tag>-autofuture-<version>-s<SCHEMA>``; None when caching is off."""
    if sys.implementation.cache_tag is None:
        return None
    return f"{sys.implementation.cache_tag}-autofuture-{version()}-s{SCHEMA}"


def cache_path(source_path: str) -> str | None:
    """Where the rewritten code of *source_path* is cached, or None if nowhere.

    The directory is the one CPython would use for the module's own ``.pyc``
    (``__pycache__`` beside it, or a mirror under ``sys.pycache_prefix``),
    found through the public ``importlib.util.cache_from_source``.  ``-O``
    and ``-OO`` compile different code, so they get ``.opt-N`` like CPython.
    """
    cache_tag = tag()
    if cache_tag is None:
        return None
    try:
        directory = os.path.dirname(importlib.util.cache_from_source(source_path))
    except (NotImplementedError, ValueError):
        return None
    stem = os.path.splitext(os.path.basename(source_path))[0]
    opt = f".opt-{sys.flags.optimize}" if sys.flags.optimize else ""
    return os.path.join(directory, f"{stem}.{cache_tag}{opt}.pyc")


def pack(source: bytes, code: types.CodeType) -> bytes:
    """A checked-hash ``.pyc`` image of *code* compiled from *source*."""
    return b"".join(
        (
            importlib.util.MAGIC_NUMBER,
            _CHECKED_HASH.to_bytes(4, "little"),
            importlib.util.source_hash(source),
            marshal.dumps(code),
        )
    )


def unpack(data: bytes, source: bytes, filename: str) -> types.CodeType | None:
    """The code in *data* if it is a valid, fresh entry for *source* at *filename*.

    A file that moved keeps its hash but not its ``co_filename`` (tracebacks
    and the runtime read it), so it is a miss too and gets recompiled.
    """
    if (
        len(data) <= _HEADER_SIZE
        or data[:4] != importlib.util.MAGIC_NUMBER
        or int.from_bytes(data[4:8], "little") != _CHECKED_HASH
        or data[8:16] != importlib.util.source_hash(source)
    ):
        return None
    try:
        # A view, as CPython's loader takes: a slice would copy the whole
        # entry into fresh memory first (~60 us for 77 kB in a young process).
        code = marshal.loads(memoryview(data)[_HEADER_SIZE:])
    except Exception:  # ValueError, EOFError, TypeError: corrupt or truncated
        return None
    if not isinstance(code, types.CodeType) or code.co_filename != filename:
        return None
    return code


def load(source_path: str, source: bytes) -> types.CodeType | None:
    """The cached code for *source* read from *source_path*, or None on any miss."""
    pyc = cache_path(source_path)
    if pyc is None:
        return None
    try:
        with io.open_code(pyc) as file:
            data = file.read()
    except (OSError, ValueError):
        return None
    return unpack(data, source, source_path)


def store(source_path: str, source: bytes, code: types.CodeType) -> bool:
    """Cache *code*; True when written.  Never raises for I/O reasons.

    The temporary name carries the pid and a random part, so processes on
    different hosts sharing a file system (MPI ranks) never collide; the
    file gets the source's permission bits as CPython's ``.pyc`` files do.
    """
    if sys.dont_write_bytecode:
        return False
    pyc = cache_path(source_path)
    if pyc is None:
        return False
    try:
        mode = (os.stat(source_path).st_mode | 0o200) & 0o666
        data = pack(source, code)
    except (OSError, ValueError):
        return False
    tmp = f"{pyc}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    done = False
    try:
        os.makedirs(os.path.dirname(pyc), exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
        try:
            with open(fd, "wb") as file:
                file.write(data)
            os.replace(tmp, pyc)
            done = True
        finally:
            if not done:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
    except OSError as exc:  # read-only directory, no permission, full disk, ...
        _warn_once(os.path.dirname(pyc), exc)
    return done


def _warn_once(directory: str, exc: OSError) -> None:
    if directory in _warned:
        return
    _warned.add(directory)
    logger.warning(
        "cannot cache the rewritten code of marked modules in %s: %s; the program runs, "
        "but those modules are rewritten again at every start (set PYTHONPYCACHEPREFIX to "
        "a writable directory, or PYTHONDONTWRITEBYTECODE=1 to stop trying)",
        directory, exc.strerror or exc)
