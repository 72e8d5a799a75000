"""``--checkpoint DIR``: finished task results kept, so a rerun recomputes nothing done.

A record is keyed on what the task is and sees: its serialized function
(code and the globals it reads, not its name alone), its serialized
arguments, its call site, and the versions that decide what it computes
(Python, autofuture). One file per task, written atomically, readable by
the user only. Records are signed with a key kept in the directory: a
record that is corrupt, or written by someone without the key, is ignored
with a warning and never unpickled.

A directory that cannot be written (a full disk, a read-only mount, no
permission) never stops the run: the ``autofuture`` logger warns once, naming
the directory and the reason, and the run goes on. Every record is a temporary
file that is ``os.replace``-d when complete and removed when anything fails,
so a reader (a rerun, or another run sharing the directory) only ever sees
whole records; the key is published with ``os.link``, which fails when
another run got there first, so runs that start together share one key.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import logging
import os
import pickle
import secrets
import sys
import tempfile
import warnings

MAGIC = b"AFCK1"
_SIGNATURE = 32

logger = logging.getLogger("autofuture")


class CheckpointWarning(UserWarning):
    """A checkpoint record could not be used; the task runs again."""


class Checkpoint:
    def __init__(self, directory: str):
        from .._version import __version__

        self.directory = os.path.abspath(directory)
        self.versions = f"{sys.version}|autofuture {__version__}".encode()
        self.warned = False  # one warning per run about writing, however many records fail
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            self._private()
            self.secret = self._secret()
        except OSError as exc:
            # No key: no record can be read or signed. The run goes on without them.
            self.secret = None
            self._warn(f"cannot use checkpoint directory {self.directory}: {_reason(exc)}; "
                       "the run goes on without checkpointing")

    def _private(self) -> None:
        """Readable by the user only; a directory we cannot change (read-only, someone
        else's) keeps its mode: its records can still be read."""
        try:
            os.chmod(self.directory, 0o700)
        except OSError:
            pass

    def _secret(self) -> bytes:
        """The directory's key: read, or made and published if there is none.

        Runs starting together each make one, and only the first is published
        (``exclusive``); the others read it. A key file of the wrong length is
        damaged: it is replaced, and the records it signed are ignored.
        """
        path = os.path.join(self.directory, ".key")
        secret = secrets.token_bytes(32)
        for _ in range(2):
            try:
                with open(path, "rb") as file:
                    found = file.read()
            except FileNotFoundError:
                found = None
            if found is not None and len(found) == 32:
                return found
            try:
                self._write(path, secret, exclusive=found is None)
                return secret
            except FileExistsError:
                continue  # another run published its key first: read that one
        raise OSError(errno.EEXIST, "its key file changed while it was read", path)

    def key(self, function_payload: bytes, task_payload: tuple, site: str) -> str:
        digest = hashlib.sha256(self.versions)
        digest.update(function_payload)
        data, buffers = task_payload
        digest.update(data)
        for buffer in buffers:
            digest.update(memoryview(buffer).cast("B"))
        digest.update(site.encode())
        return digest.hexdigest()

    def load(self, key: str, where: tuple[str, int] = ("<unknown>", 0)):
        """(payload, output) of a finished task, or None; ``where`` is its call site."""
        if self.secret is None:
            return None
        path = os.path.join(self.directory, key)
        try:
            with open(path, "rb") as file:
                record = file.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._ignore(path, f"it cannot be read ({exc.strerror})", where)
        body = record[len(MAGIC) + _SIGNATURE:]
        signature = record[len(MAGIC):len(MAGIC) + _SIGNATURE]
        if not record.startswith(MAGIC) or not hmac.compare_digest(signature, self._sign(body)):
            return self._ignore(path, "it is corrupt or was not written by this checkpoint",
                                where)
        try:
            payload, output = pickle.loads(body)
        except Exception as exc:
            return self._ignore(path, f"it cannot be unpickled ({exc})", where)
        return payload, output

    def store(self, key: str, payload, output) -> None:
        """Keep a finished task's result; a write that fails is warned about once per run."""
        if self.secret is None:
            return
        data, buffers = payload
        body = pickle.dumps(((data, [bytes(memoryview(b).cast("B")) for b in buffers]), output),
                            protocol=5)
        try:
            self._write(os.path.join(self.directory, key), MAGIC + self._sign(body) + body)
        except OSError as exc:
            # Later records are still tried: a disk may get space back.
            self._warn(f"cannot write checkpoint records in {self.directory}: {_reason(exc)}; "
                       "the run goes on, and a rerun computes again the tasks whose record "
                       "is missing")

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self.secret, body, hashlib.sha256).digest()

    def _write(self, path: str, data: bytes, exclusive: bool = False) -> None:
        """Write *path* whole or not at all; ``exclusive``: never replace an existing file."""
        handle, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.chmod(temp, 0o600)
            if exclusive:
                _publish(temp, path)
            else:
                os.replace(temp, path)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise

    def _warn(self, message: str) -> None:
        if not self.warned:
            self.warned = True
            logger.warning("%s", message)

    def _ignore(self, path: str, why: str, where: tuple[str, int]) -> None:
        """Warn at the task's call site, where the user can see which task runs again."""
        warnings.warn_explicit(
            f"autofuture: ignoring checkpoint record {path}: {why}; the task runs again",
            CheckpointWarning, where[0], where[1])
        return None


def _reason(exc: OSError) -> str:
    """'No space left on device', 'Read-only file system', ...: the system's words."""
    return exc.strerror or str(exc)


def _publish(temp: str, path: str) -> None:
    """Give the complete file *temp* the name *path*, unless *path* exists."""
    try:
        os.link(temp, path)  # FileExistsError when another run was first
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: the last writer wins, as before
        os.replace(temp, path)
        return
    try:
        os.unlink(temp)
    except OSError:
        pass
