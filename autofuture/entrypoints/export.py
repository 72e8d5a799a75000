"""``autofuture export --swift-t script.py [-o script.swift]``.

Reads the script, runs ``autofuture check``'s checks and then the Swift/T
translation (``language/swift_t.py``); every problem is printed as
``path:line:col: CODE message`` and nothing is written unless there is none.
The output file is written whole or not at all (a temporary file renamed),
so a refused or interrupted export never leaves a half program behind. The
command is the mark: the script need not carry ``# autofuture``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from ..language import pipeline, swift_t


def command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="autofuture export",
        description="Translate a marked script into a program for another workflow system.")
    parser.add_argument("--swift-t", action="store_true", required=True,
                        help="write a Swift/T program (run it with swift-t -n 3 FILE.swift)")
    parser.add_argument("script", metavar="script.py")
    parser.add_argument("-o", "--output", metavar="FILE", default=None,
                        help="where to write (default: the script's name with .swift; "
                             "- for standard output)")
    args = parser.parse_args(argv)
    path = args.script
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except OSError as exc:
        print(f"autofuture export: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        source = raw.decode("utf-8")
        tree = pipeline.parse(raw, path)
    except (SyntaxError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None) or 0
        column = getattr(exc, "offset", None) or 1
        message = getattr(exc, "msg", None) or str(exc)
        print(f"{path}:{line}:{column}: E999 {type(exc).__name__}: {message}")
        return 1
    problems = [p for p in pipeline.problems(raw, path) if not p.warning]
    if not problems:
        program, problems = swift_t.export(tree, source, path)
    for problem in problems:
        print(problem.format())
    if problems:
        print(f"autofuture export: {path} was not exported ({len(problems)} "
              f"problem{'s' if len(problems) != 1 else ''})", file=sys.stderr)
        return 1
    output = args.output or os.path.splitext(path)[0] + ".swift"
    if output == "-":
        sys.stdout.write(program)
        return 0
    try:
        _write(output, program)
    except OSError as exc:
        print(f"autofuture export: cannot write {output}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def _write(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".autofuture-export-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
