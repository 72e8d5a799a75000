"""``autofuture check`` and ``autofuture show``: the load-time pipeline without running."""

from __future__ import annotations

import argparse
import os
import sys
import traceback

from ..language import pipeline


def _python_files(paths: list[str]):
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                                 and d not in ("__pycache__", "node_modules"))
                for name in sorted(files):
                    if name.endswith(".py"):
                        yield os.path.join(root, name)
        else:
            yield path


def check_command(argv: list[str]) -> int:
    """``autofuture check PATH...``: every problem of every marked file, one per line."""
    from ..language.header import is_marked

    parser = argparse.ArgumentParser(
        prog="autofuture check",
        description="Report single-assignment and arity problems of marked modules "
                    "without running them.")
    parser.add_argument("paths", nargs="+", metavar="PATH")
    args = parser.parse_args(argv)
    found = 0
    for path in _python_files(args.paths):
        try:
            with open(path, "rb") as file:
                source = file.read()
        except OSError as exc:
            print(f"{path}:0:1: AF000 cannot read: {exc.strerror}")
            found += 1
            continue
        if not is_marked(source):
            continue
        try:
            problems = pipeline.problems(source, path)
        except SyntaxError as exc:
            print(f"{path}:{exc.lineno or 0}:{exc.offset or 1}: E999 SyntaxError: {exc.msg}")
            found += 1
            continue
        for problem in problems:
            print(problem.format())
            found += 1
    return 1 if found else 0


def show_command(argv: list[str]) -> int:
    """``autofuture show FILE``: the rewritten source, as the runtime will run it."""
    parser = argparse.ArgumentParser(prog="autofuture show",
                                     description="Print the rewritten source of a file.")
    parser.add_argument("file", metavar="FILE")
    args = parser.parse_args(argv)
    try:
        with open(args.file, "rb") as file:
            source = file.read()
    except OSError as exc:
        print(f"autofuture show: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        print(pipeline.show(source, args.file))
    except SyntaxError as exc:
        traceback.print_exception(type(exc), exc, None)
        return 1
    return 0
