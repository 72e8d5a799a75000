"""``--checkpoint DIR``: finished task results kept, so a rerun recomputes nothing done.

A record is keyed on what the task is and sees: its serialized function
(code and the globals it reads, not its name alone), its serialized
arguments, its call site, and the versions that decide what it computes
(Python, autofuture). One file per task, written atomically, readable by
the user only. Records are signed with a key kept in the directory: a
record that is corrupt, or written by someone without the key, is ignored
with a warning and never unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import sys
import tempfile
import warnings

MAGIC = b"AFCK1"
_SIGNATURE = 32


class CheckpointWarning(UserWarning):
    """A checkpoint record could not be used; the task runs again."""


class Checkpoint:
    def __init__(self, directory: str):
        from .._version import __version__

        self.directory = os.path.abspath(directory)
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        os.chmod(self.directory, 0o700)
        self.secret = self._secret()
        self.versions = f"{sys.version}|autofuture {__version__}".encode()

    def _secret(self) -> bytes:
        path = os.path.join(self.directory, ".key")
        try:
            with open(path, "rb") as file:
                secret = file.read()
            if len(secret) == 32:
                return secret
        except FileNotFoundError:
            pass
        secret = secrets.token_bytes(32)
        self._write(path, secret)
        return secret

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
        data, buffers = payload
        body = pickle.dumps(((data, [bytes(memoryview(b).cast("B")) for b in buffers]), output),
                            protocol=5)
        try:
            self._write(os.path.join(self.directory, key), MAGIC + self._sign(body) + body)
        except OSError as exc:
            warnings.warn(f"autofuture: could not write checkpoint record {key}: {exc}",
                          CheckpointWarning, stacklevel=2)

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self.secret, body, hashlib.sha256).digest()

    def _write(self, path: str, data: bytes) -> None:
        handle, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.chmod(temp, 0o600)
            os.replace(temp, path)
        except BaseException:
            try:
                os.unlink(temp)
            except OSError:
                pass
            raise

    def _ignore(self, path: str, why: str, where: tuple[str, int]) -> None:
        """Warn at the task's call site, where the user can see which task runs again."""
        warnings.warn_explicit(
            f"autofuture: ignoring checkpoint record {path}: {why}; the task runs again",
            CheckpointWarning, where[0], where[1])
        return None
