"""The mark: is this module written in futurized Python?

A module opts in with a comment line that is exactly ``# autofuture`` among
its leading comment lines.  Only the header is tokenized -- never the body,
and never by a substring search -- so that the words ``# autofuture`` in a
string, or in a comment further down, do not turn futurization on, and a
file with a syntax error in its body is still recognised (its error is then
reported by the compiler, at the right place, like any import's).
"""

from __future__ import annotations

import io
import os
import tokenize
from collections.abc import Callable

__all__ = ["is_marked", "is_marked_file", "read_header"]

MARK = "# autofuture"

# Tokens that may come before the mark.  Blank lines and comment lines
# produce NL (and COMMENT) only; NEWLINE ends a logical line, here the
# docstring's.
_PASS = frozenset({tokenize.ENCODING, tokenize.NL})


class _Truncated(Exception):
    """The header runs past the bytes read so far; read more and try again."""


def is_marked(source: bytes) -> bool:
    """True when *source* carries the mark among its leading comment lines.

    A shebang, an encoding line, blank lines and a module docstring may come
    before it; comments after the docstring count too.  The scan stops at the
    first token of the first statement.  Undecodable or untokenizable headers
    are not marked: a module whose header Python cannot read cannot opt in.
    """
    return _scan(io.BytesIO(_universal_newlines(source)).readline)


def read_header(path: str | os.PathLike[str], limit: int = 8192) -> bytes:
    """The first bytes of *path*, enough for :func:`is_marked` to decide.

    Reads *limit* bytes, and more (doubling) only when the header -- a long
    docstring or comment block -- runs past them.  The result ends at a line
    boundary unless it is the whole file, and ``is_marked(read_header(p))``
    always equals ``is_marked`` of the whole file.
    """
    with io.open_code(os.fspath(path)) as file:
        data = b""
        size = limit
        while True:
            chunk = file.read(size)
            if not chunk:
                return data
            data += chunk
            head = data[: max(data.rfind(b"\n"), data.rfind(b"\r")) + 1]
            if _decided(head):
                return head
            size *= 2


def is_marked_file(path: str | os.PathLike[str], limit: int = 8192) -> bool:
    """:func:`is_marked` of a file, reading only its header; unreadable → False."""
    try:
        return is_marked(read_header(path, limit))
    except OSError:
        return False


def _decided(head: bytes) -> bool:
    """Whether the complete lines *head* settle the verdict without reading on."""
    lines = io.BytesIO(_universal_newlines(head))

    def readline() -> bytes:
        line = lines.readline()
        if not line:
            raise _Truncated
        return line

    try:
        _scan(readline)
    except _Truncated:
        return False
    return True


def _universal_newlines(source: bytes) -> bytes:
    # Python reads source with universal newlines; tokenize splits on b"\n"
    # only, so an old-Mac file would otherwise be a single comment line.
    if b"\r" in source:
        source = source.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return source


def _scan(readline: Callable[[], bytes]) -> bool:
    docstring = "none"  # -> "open" at its first string -> "done" at its NEWLINE
    try:
        for token in tokenize.tokenize(readline):
            if token.type == tokenize.COMMENT:
                if token.start[1] == 0 and token.string.rstrip() == MARK:
                    return True
            elif token.type in _PASS:
                continue
            elif token.type == tokenize.NEWLINE:
                if docstring == "open":
                    docstring = "done"
            elif (
                token.type == tokenize.STRING
                and docstring != "done"
                and _is_text_literal(token.string)
            ):
                docstring = "open"  # implicit concatenation stays one docstring
            else:
                return False  # the first statement: the header is over
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, ValueError):
        return False
    return False


def _is_text_literal(token: str) -> bool:
    """Only a plain (or raw) string constant is a docstring; b'' and f'' are statements."""
    prefix = token[: min(i for i in (token.find("'"), token.find('"')) if i >= 0)]
    return not set(prefix.lower()) & {"b", "f"}
