"""The mark: which headers opt a module in (SPEC §2, "The mark")."""

from __future__ import annotations

import random

import pytest

from autofuture.language.header import _quick, _tokenized, is_marked, is_marked_file, read_header

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


# -- the quick reading agrees with tokenize ----------------------------------

# Header lines, usual and odd, that random headers are made of.
FRAGMENTS = [
    b"#!/usr/bin/env python\n", b"# -*- coding: utf-8 -*-\n", b"# coding: latin-1\n",
    b"# coding: bogus\n", b"\n", b"   \n", b"\t\n", b"\f\n", b"# comment\n", b"   # indented\n",
    b"# autofuture\n", b"# autofuture  \t\n", b"# autofuture\xc2\xa0\n", b"#autofuture\n",
    b"# autofuture x\n", b"\f# autofuture\n", b"  # autofuture\n", b"# autofuture\x0b\n",
    b"# autofuture\x00\n",
    b'"""doc"""\n', b"'''doc'''\n", b'"doc"\n', b"'doc'\n", b'r"""raw\\"""\n', b'u"doc"\n',
    b'R"doc"\n', b'U"""x"""\n', b'b"""doc"""\n', b'f"doc"\n', b'rb"x"\n', b'ur"x"\n', b'Rb"x"\n',
    b'"""\n# autofuture\n"""\n', b'"""a\\"""b"""\n', b'"""a""""\n', b'""""a"""\n', b'"a\\\nb"\n',
    b'"""a\\\n"""\n', b'"""doc"""  # autofuture\n', b'"""doc""" "b"\n', b'"""doc""".strip()\n',
    b'"""doc""";\n', b'"""doc"""\\\n', b'"""never closed\n', b'"unterminated\n', b'""\n',
    b'"""\'\'\'"""\n', b"x = 1\n", b"import os\n", b"  x = 1\n", b"\\\n", b"\f\\\n", b"(\n",
    b"@dec\n", b"1\n", b"$\n", b"\x00\n", b"caf\xe9\n", b"# caf\xe9\n", b"\xc3\xa9 = 1\n",
    b"\xc2\xa0x\n", b"rx = 1\n", b"\x0b\n", b"def f(:\n",
]


def random_header(rng: random.Random) -> bytes:
    source = b"".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 6)))
    if rng.random() < 0.1:
        source = b"\xef\xbb\xbf" + source
    newline = rng.random()
    if newline < 0.15:
        source = source.replace(b"\n", b"\r\n")
    elif newline < 0.25:
        source = source.replace(b"\n", b"\r")
    if source and rng.random() < 0.2:
        source = source[:-1]  # no newline at the end
    return source


def test_the_quick_reading_answers_as_tokenize_does() -> None:
    # _quick answers (True or False) only with tokenize's verdict on the
    # whole file, given the whole file or any prefix of it; None defers.
    rng = random.Random(20260)
    sources = [case[1] for case in CASES] + [random_header(rng) for _ in range(2500)]
    answered = 0
    for source in sources:
        verdict = _tokenized(source)
        quick = _quick(source, eof=True)
        assert quick in (None, verdict), source
        answered += quick is not None
        for cut in range(len(source)):
            assert _quick(source[:cut], eof=False) in (None, verdict), (source, cut)
        assert is_marked(source) is verdict
    assert answered > len(sources) // 2, "the quick reading should answer most headers"


@pytest.mark.parametrize(
    "source",
    [
        b"# autofuture\nx = 1\n",
        b"#!/usr/bin/env python3\n# autofuture\n",
        DOC + b"# autofuture\nimport os\n",
        b"# Copyright\n\n" + DOC + b"\n# autofuture\n",
        b"\xef\xbb\xbf" + DOC + b"from __future__ import annotations\n",
        b"import os\n",
        (DOC + b"# autofuture\n").replace(b"\n", b"\r\n"),
        b'r"""C:\\path"""\nx = 1\n',
    ],
)
def test_the_usual_headers_are_read_without_tokenizing(source: bytes) -> None:
    assert _quick(source, eof=True) is _tokenized(source)
