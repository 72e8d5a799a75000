"""The mark: is this module written in futurized Python?

A module opts in with a comment line that is exactly ``# autofuture`` among
its leading comment lines.  Only the header is read -- never the body, and
never by a substring search -- so that the words ``# autofuture`` in a
string, or in a comment further down, do not turn futurization on, and a
file with a syntax error in its body is still recognised (its error is then
reported by the compiler, at the right place, like any import's).

``tokenize`` is the definition.  But every module a program imports from
outside the standard library passes through this check, and tokenizing
even a short header costs tens of microseconds, so the usual headers --
blank and comment lines around at most one plain docstring, in UTF-8 -- are
read by :func:`_quick`, a few regular expressions over the bytes.  Anything
else (a coding cookie, a concatenated docstring, a header longer than the
bytes read so far) goes to ``tokenize``.  ``_quick`` answers only where its
answer is tokenize's; a differential test holds it to that.
"""

from __future__ import annotations

import codecs
import io
import os
import re
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
    verdict = _quick(source, eof=True)
    return _tokenized(source) if verdict is None else verdict


def _tokenized(source: bytes) -> bool:
    """:func:`is_marked` by tokenizing alone: the definition ``_quick`` follows."""
    return _scan(io.BytesIO(_universal_newlines(source)).readline)


def read_header(path: str | os.PathLike[str], limit: int = 8192) -> bytes:
    """The first bytes of *path*, enough for :func:`is_marked` to decide.

    Reads *limit* bytes, and more (doubling) only when the header -- a long
    docstring or comment block -- runs past them.  The result ends at a line
    boundary unless it is the whole file, and ``is_marked(read_header(p))``
    always equals ``is_marked`` of the whole file.
    """
    with io.open_code(os.fspath(path)) as file:
        return _read(file, limit)[0]


def is_marked_file(path: str | os.PathLike[str], limit: int = 8192) -> bool:
    """:func:`is_marked` of a file, reading only its header; unreadable → False."""
    try:
        with io.open_code(os.fspath(path)) as file:
            return _read(file, limit)[1]
    except OSError:
        return False


def _read(file: io.BufferedReader, limit: int) -> tuple[bytes, bool]:
    """:func:`read_header` of an open file and its verdict, reached in one pass."""
    data = b""
    size = limit
    while True:
        chunk = file.read(size)
        if not chunk:
            return data, is_marked(data)
        data += chunk
        head = data[: max(data.rfind(b"\n"), data.rfind(b"\r")) + 1]
        verdict = _quick(head, eof=False)
        if verdict is None:
            verdict = _decide(head)
        if verdict is not None:
            return head, verdict
        size *= 2


def _decide(head: bytes) -> bool | None:
    """The tokenized verdict of the complete lines *head*; None if it needs more lines."""
    lines = io.BytesIO(_universal_newlines(head))

    def readline() -> bytes:
        line = lines.readline()
        if not line:
            raise _Truncated
        return line

    try:
        return _scan(readline)
    except _Truncated:
        return None


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


# The quick reading of the usual headers, newlines already made "\n".
# Blank and comment lines:
_LEADING = re.compile(rb"(?:[ \t\f]*(?:#[^\n]*)?\n)*")
# A docstring that is one plain, raw or u-string literal, then the rest of
# its line: spaces and a comment.  The string bodies are tokenize's patterns
# (a backslash escapes the next character, a newline included).
_DOCSTRING = re.compile(
    rb"[rRuU]?(?:"
    rb'"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    rb"|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
    rb'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
    rb"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'"
    rb")[ \t\f]*(?:#[^\n]*)?\n",
    re.DOTALL,
)
_MARK_BYTES = MARK.encode()
_QUOTES = b"'\""


def _quick(data: bytes, eof: bool) -> bool | None:
    """Tokenize's verdict on a usual header, or None: let tokenize decide.

    *data* is the start of a file, the whole file when *eof*.  Answers for
    blank and comment lines around at most one docstring that is a single
    plain string literal, in UTF-8 without a coding cookie, when the header
    ends within *data*.  A statement ends the header, and so does a string
    after the docstring or one with a ``b`` or ``f`` prefix (not a docstring).
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    data = _universal_newlines(data)
    if not eof:
        data = data[: data.rfind(b"\n") + 1]  # complete lines only
    elif not data.endswith(b"\n"):
        data += b"\n"
    # tokenize decodes up to two lines looking for a cookie, and a cookie may
    # name any codec: files that may have one are tokenize's to read.
    second = data.find(b"\n", data.find(b"\n") + 1) + 1
    if not second:
        if not eof:
            return None  # the second line may hold a cookie
        second = len(data)
    if b"coding" in data[:second]:
        return None
    if b"\0" in data:
        return None  # tokenize of 3.12+ stops at a null byte, 3.11's reads on

    pos, docstring = 0, False
    while True:
        end = _LEADING.match(data, pos).end()
        found = _mark_line(data, pos, end, second)
        if found is not False:
            return found
        if end == len(data):
            return False if eof else None
        first = data[end]
        if first in b" \t\f\\":
            return None  # an indented line or a line continuation: unusual
        opens_text = first in _QUOTES or (first in b"rRuU" and data[end + 1] in _QUOTES)
        if docstring or not opens_text:
            return False  # the first statement (a b"" or f"" string is one too)
        match = _DOCSTRING.match(data, end)
        if match is None:
            return None  # concatenated, followed by code, unterminated or cut off
        pos, docstring = match.end(), True


def _mark_line(data: bytes, start: int, end: int, decoded: int) -> bool | None:
    """Whether the comment lines ``data[start:end]`` hold the mark at column 0.

    None when a line up to the mark, or within the first *decoded* bytes
    (which tokenize decodes in any case), is not UTF-8: tokenize decides.
    """
    at = data.find(_MARK_BYTES, start, end)
    while at >= 0:
        if at == 0 or data[at - 1] == ord("\n"):
            line_end = data.index(b"\n", at)
            try:
                data[: max(line_end, decoded)].decode("utf-8")
            except UnicodeDecodeError:
                return None
            if data[at:line_end].decode("utf-8").rstrip() == MARK:
                return True
        at = data.find(_MARK_BYTES, at + 1, end)
    return False


def _is_text_literal(token: str) -> bool:
    """Only a plain (or raw) string constant is a docstring; b'' and f'' are statements."""
    prefix = token[: min(i for i in (token.find("'"), token.find('"')) if i >= 0)]
    return not set(prefix.lower()) & {"b", "f"}
