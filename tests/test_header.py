"""The mark: which headers opt a module in (SPEC §2, "The mark")."""

from __future__ import annotations

import pytest

from autofuture._header import is_marked, is_marked_file, read_header

DOC = b'"""A module.\n\nWith a long docstring.\n"""\n'
SHEBANG = b"#!/usr/bin/env python\n"

CASES = [
    # (id, source, marked)
    ("bare", b"# autofuture\nx = 1\n", True),
    ("no-newline-at-eof", b"# autofuture", True),
    ("trailing-whitespace", b"# autofuture \t \nx = 1\n", True),
    ("shebang", b"#!/usr/bin/env python3\n# autofuture\nx = 1\n", True),
    ("encoding", b"# -*- coding: latin-1 -*-\n# autofuture\nx = '\xe9'\n", True),
    ("shebang-encoding", b"#!/usr/bin/python\n# coding: utf-8\n# autofuture\n", True),
    ("docstring-first", DOC + b"# autofuture\nx = 1\n", True),
    ("raw-docstring", b'r"""doc"""\n# autofuture\n', True),
    ("concatenated-docstring", b'"""a""" "b"\n# autofuture\n', True),
    ("blank-lines", b"\n\n   \n\n# autofuture\n", True),
    ("among-comments", b"# Copyright 2026 Someone\n#\n# autofuture\n# more\nx = 1\n", True),
    ("everything", SHEBANG + b"# coding: utf-8\n\n" + DOC + b"\n# (c)\n# autofuture\n", True),
    ("crlf", (SHEBANG + DOC + b"# autofuture\nx = 1\n").replace(b"\n", b"\r\n"), True),
    ("cr-only", b"# header\r# autofuture\rx = 1\r", True),
    ("bom", b"\xef\xbb\xbf# autofuture\nx = 1\n", True),
    ("bom-and-utf8-cookie", b"\xef\xbb\xbf# coding: utf-8\n# autofuture\n", True),
    ("syntax-error-in-body", b"# autofuture\ndef f(:\n    pass\n", True),
    ("unclosed-bracket-in-body", b"# autofuture\nx = (\n", True),
    ("empty", b"", False),
    ("unmarked", b"import os\nprint(os.sep)\n", False),
    ("no-space", b"#autofuture\nx = 1\n", False),
    ("two-spaces", b"#  autofuture\nx = 1\n", False),
    ("extra-words", b"# autofuture extra\nx = 1\n", False),
    ("colon", b"# autofuture: on\n", False),
    ("upper-case", b"# AUTOFUTURE\n", False),
    ("indented", b"   # autofuture\n", False),
    ("after-first-statement", b"import os\n# autofuture\n", False),
    ("after-future-import", b"from __future__ import annotations\n# autofuture\n", False),
    ("after-docstring-and-statement", DOC + b"x = 1\n# autofuture\n", False),
    ("same-line-as-docstring", b'"""doc"""  # autofuture\n', False),
    ("second-string-is-a-statement", b'"""doc"""\n"""more"""\n# autofuture\n', False),
    ("bytes-is-not-a-docstring", b'b"""doc"""\n# autofuture\n', False),
    ("f-string-is-not-a-docstring", b'f"""doc"""\n# autofuture\n', False),
    ("docstring-method-call", b'"""doc""".strip()\n# autofuture\n', False),
    ("inside-docstring", b'"""\n# autofuture\n"""\nx = 1\n', False),
    ("in-body-string", b'x = """\n# autofuture\n"""\n', False),
    ("in-body-comment", b"def f():\n    pass\n# autofuture\n", False),
    ("after-semicolon-docstring", b'"""doc""";\n# autofuture\n', False),
    ("unterminated-docstring", b'"""never closed\n# autofuture\n', False),
    ("bad-codec", b"# -*- coding: no-such-codec -*-\n# autofuture\n", False),
    ("bom-contradicts-cookie", b"\xef\xbb\xbf# coding: latin-1\n# autofuture\n", False),
    ("invalid-utf8", b"# caf\xe9\n# autofuture\n", False),
    ("indented-first-line", b"  x = 1\n# autofuture\n", False),
]


@pytest.mark.parametrize(("source", "marked"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_is_marked(source: bytes, marked: bool) -> None:
    assert is_marked(source) is marked


@pytest.mark.parametrize("limit", [1, 2, 7, 16, 64, 8192])
def test_read_header_decides_like_the_whole_file(tmp_path, limit: int) -> None:
    # Whatever prefix read_header stops at, the verdict is the whole file's.
    for i, (_, source, marked) in enumerate(CASES):
        path = tmp_path / f"m{i}.py"
        path.write_bytes(source)
        head = read_header(path, limit)
        assert source.startswith(head)
        assert is_marked(head) is marked, (source, head)
        assert is_marked_file(path, limit) is marked


def test_read_header_reads_only_the_header(tmp_path) -> None:
    path = tmp_path / "big.py"
    path.write_bytes(b"# autofuture\n" + b"x = 1\n" * 100_000)
    assert len(read_header(path, 4096)) <= 4096


def test_read_header_reads_past_a_long_docstring(tmp_path) -> None:
    docstring = b'"""' + b"Documentation line.\n" * 2000 + b'"""\n'
    path = tmp_path / "documented.py"
    path.write_bytes(docstring + b"# autofuture\nx = 1\n")
    assert len(docstring) > 8192
    assert len(read_header(path)) > len(docstring)
    assert is_marked_file(path)


def test_a_mark_far_down_the_body_is_not_read(tmp_path) -> None:
    path = tmp_path / "late.py"
    path.write_bytes(b"x = 1\n" + b"# filler\n" * 5000 + b"# autofuture\n")
    assert not is_marked_file(path)
    assert len(read_header(path, 64)) <= 64


def test_unreadable_files_are_not_marked(tmp_path) -> None:
    assert not is_marked_file(tmp_path / "missing.py")
    assert not is_marked_file(tmp_path)  # a directory
