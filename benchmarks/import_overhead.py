"""Import time of a 2,000-line marked module: cold, warm, and unmarked.

Generates one module, ``bigmod``, twice in a temporary directory: once with
the ``# autofuture`` mark and once without (the mark line replaced by an
ordinary comment, so both have the same lines). Each measurement is a fresh
subprocess that runs ``import autofuture; autofuture.install()`` and then
times only ``import bigmod`` with ``time.perf_counter``:

* cold      -- marked, its cache deleted first: check, rewrite, compile, write the cache;
* warm      -- marked, loaded from autofuture's cache;
* unmarked  -- the unmarked module from its plain ``.pyc`` (hook installed, so the
  timed statement is the same; the finder only reads the header);
* no hook   -- the unmarked module in a process that never installed the hook.

The first marked module a process imports also loads autofuture's runtime
(the scheduler, cloudpickle, ...), once per process. So cold and warm are
measured twice: as the first marked import (what ``install()`` then one
import costs), and with the runtime already loaded by importing a tiny marked
module first, untimed (what each further marked module costs; under
``python -m autofuture`` the runtime is always loaded before the script's
imports). The unmarked module is measured that way too, so that the
per-module cost compares like with like: the process that ran a marked
module has more objects, and its garbage collections fall elsewhere.

The hook sits first on ``sys.meta_path``, so every import of the process,
marked or not, passes through its finder. What that costs an unmarked
import is measured on many small modules, where it is not lost in the time
a big module takes to run: a process that imported autofuture imports
``--modules`` one-line modules (each with a docstring, as most modules
have), with and without ``install()``; the difference, per module, is the
finder's toll.

Each child runs ``gc.collect()`` just before the timed statement. Where the
cyclic collector's next pass falls depends on everything the process
allocated before (tokenizing one header more or less moves it), and a pass
that falls while the new module's namespace is young walks all of it: a
quarter of this import, by instruction counts, for runs that are unlucky,
and any change to what runs first changes which runs are. Collecting first
starts every case from the same point.

The cases are interleaved, repetition by repetition, so that drift in the
machine's speed affects all of them alike. The table gives the median and
the min-max spread; the ratios divide medians by the unmarked median. The same
figures, with every sample, go to a JSON file.

Usage:

    python benchmarks/import_overhead.py [--repeat 15] [--lines 2000] [--modules 200] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

import _common

NAME = "import_overhead"

LABELS = {
    "cold": "cold (check + rewrite + cache write)",
    "warm": "warm (autofuture cache)",
    "cold, runtime loaded": "cold, runtime already loaded",
    "warm, runtime loaded": "warm, runtime already loaded",
    "unmarked": "unmarked (plain .pyc, hook installed)",
    "unmarked, runtime loaded": "unmarked, runtime already loaded",
    "no hook": "unmarked (plain .pyc, no hook)",
    "small, hook": "{modules} small unmarked modules, hook installed",
    "small, no hook": "{modules} small unmarked modules, no hook",
}

HEADER = '''\
{mark}
"""A generated module for the import-overhead benchmark.

Mostly small functions and classes, with top-level constants and tables
that bind every name once.
"""
import math
from collections import namedtuple

Point = namedtuple("Point", "x y")
ORIGIN = Point(0.0, 0.0)
'''

FUNCTION_BLOCK = '''
def step_{i}(x: float, y: float = {i}.0) -> float:
    """Step {i} of a computation nobody runs."""
    z = x * y + {i}
    if z > 100:
        return math.sqrt(z)
    return z - y

LIMIT_{i} = {i} * 3 + 1
LABELS_{i} = ("step_{i}", LIMIT_{i}, {i} % 7)
'''

CLASS_BLOCK = '''
class Shape_{i}:
    """A small class; its body is ordinary Python."""

    sides = {sides}

    def __init__(self, size: float) -> None:
        self.size = size

    def area(self) -> float:
        return self.sides * self.size * self.size / 4.0

SHAPE_{i} = Shape_{i}
TABLE_{i} = {{"name": "shape_{i}", "sides": {sides}, "origin": ORIGIN}}
'''


def generate(marked: bool, lines: int) -> str:
    """The benchmark module, exactly *lines* lines long, with or without the mark."""
    out = HEADER.format(mark="# autofuture" if marked else "# an ordinary module").splitlines()
    blocks = []
    i = 0
    while True:
        template = CLASS_BLOCK if i % 4 == 3 else FUNCTION_BLOCK
        block = template.format(i=i, sides=i % 7 + 3).splitlines()
        if len(out) + sum(map(len, blocks)) + len(block) > lines - 2:
            break
        blocks.append(block)
        i += 1
    for block in blocks:
        out.extend(block)
    out.append("")
    pad = 0
    while len(out) < lines:
        out.append(f"PAD_{pad} = {pad}")
        pad += 1
    return "\n".join(out[:lines]) + "\n"


PRIMER = "# autofuture\n\"\"\"Loads autofuture's runtime before the timed import.\"\"\"\nX = 1\n"

SMALL = '"""Small module {i}: the finder reads this header and finds no mark."""\nX = {i}\n'

CHILD = textwrap.dedent('''\
    import gc, json, sys, time
    sys.path.insert(0, {directory!r})
    if {hook!r}:
        import autofuture
        autofuture.install()
    if {primer!r}:
        sys.path.insert(0, {primer!r})
        import primer
    gc.collect()
    start = time.perf_counter()
    import bigmod
    elapsed = time.perf_counter() - start
    loader = type(bigmod.__spec__.loader)
    print(json.dumps({{"seconds": elapsed,
                      "loader": loader.__module__ + "." + loader.__qualname__}}))
''')


# Both variants import autofuture, so that only install() differs.
SMALL_CHILD = textwrap.dedent('''\
    import gc, importlib, json, sys, time
    sys.path.insert(0, {directory!r})
    import autofuture
    if {hook!r}:
        autofuture.install()
    names = ["small_%d" % i for i in range({modules!r})]
    gc.collect()
    start = time.perf_counter()
    for name in names:
        importlib.import_module(name)
    elapsed = time.perf_counter() - start
    print(json.dumps({{"seconds": elapsed}}))
''')


def measure(directory: Path, hook: bool, env: dict[str, str], primer: Path | None = None) -> dict:
    code = CHILD.format(directory=str(directory), hook=hook,
                        primer=str(primer) if primer else "")
    proc = _common.run_child([sys.executable, "-c", code], env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_small(directory: Path, hook: bool, modules: int, env: dict[str, str]) -> dict:
    code = SMALL_CHILD.format(directory=str(directory), hook=hook, modules=modules)
    proc = _common.run_child([sys.executable, "-c", code], env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15, help="repetitions per case (15)")
    parser.add_argument("--lines", type=int, default=2000, help="module length (2000)")
    parser.add_argument("--modules", type=int, default=200,
                        help="small modules for the hook's toll on unmarked imports (200)")
    parser.add_argument("--json", help=f"result file (default benchmarks/results/{NAME}.json)")
    args = parser.parse_args(argv)

    env = _common.child_env()
    with tempfile.TemporaryDirectory(prefix="autofuture-bench-") as tmp:
        marked_dir = Path(tmp, "marked")
        plain_dir = Path(tmp, "plain")
        for directory, marked in ((marked_dir, True), (plain_dir, False)):
            directory.mkdir()
            (directory / "bigmod.py").write_text(generate(marked, args.lines), encoding="utf-8")
        marked_cache = marked_dir / "__pycache__"

        primer_dir = Path(tmp, "primer")
        primer_dir.mkdir()
        (primer_dir / "primer.py").write_text(PRIMER, encoding="utf-8")
        small_dir = Path(tmp, "small")
        small_dir.mkdir()
        for i in range(args.modules):
            (small_dir / f"small_{i}.py").write_text(SMALL.format(i=i), encoding="utf-8")

        # Prime the caches (and fail early, with the child's output, if anything is wrong).
        loaders = {
            "marked": measure(marked_dir, True, env)["loader"],
            "unmarked": measure(plain_dir, True, env)["loader"],
        }
        measure(plain_dir, False, env)
        measure(marked_dir, True, env, primer_dir)
        measure_small(small_dir, False, args.modules, env)  # writes their .pyc files
        if not loaders["marked"].startswith("autofuture"):
            print(f"the marked module was not loaded by autofuture (loader {loaders['marked']})",
                  file=sys.stderr)
            return 1

        samples: dict[str, list[float]] = {name: [] for name in LABELS}
        for _ in range(args.repeat):
            shutil.rmtree(marked_cache, ignore_errors=True)
            samples["cold"].append(measure(marked_dir, True, env)["seconds"])
            samples["warm"].append(measure(marked_dir, True, env)["seconds"])
            shutil.rmtree(marked_cache, ignore_errors=True)
            samples["cold, runtime loaded"].append(
                measure(marked_dir, True, env, primer_dir)["seconds"])
            samples["warm, runtime loaded"].append(
                measure(marked_dir, True, env, primer_dir)["seconds"])
            samples["unmarked"].append(measure(plain_dir, True, env)["seconds"])
            samples["unmarked, runtime loaded"].append(
                measure(plain_dir, True, env, primer_dir)["seconds"])
            samples["no hook"].append(measure(plain_dir, False, env)["seconds"])
            samples["small, hook"].append(
                measure_small(small_dir, True, args.modules, env)["seconds"])
            samples["small, no hook"].append(
                measure_small(small_dir, False, args.modules, env)["seconds"])
        cache_files = sorted(p.name for p in marked_cache.glob("*"))

    cases = {name: _common.summary(values) for name, values in samples.items()}
    median = {name: stats["median"] for name, stats in cases.items()}
    big = [name for name in cases if not name.startswith("small")]
    ratios = {f"{name}/unmarked": median[name] / median["unmarked"] for name in big}
    ratios["warm, runtime loaded/unmarked, runtime loaded"] = (
        median["warm, runtime loaded"] / median["unmarked, runtime loaded"])
    ratios["small, hook/small, no hook"] = median["small, hook"] / median["small, no hook"]
    toll = (median["small, hook"] - median["small, no hook"]) / args.modules

    print(f"import of a {args.lines}-line module, median of {args.repeat} runs, milliseconds")
    print(f"{'case':<48} {'median':>8} {'min':>8} {'max':>8} {'/unmarked':>10}")
    for name, stats in cases.items():
        ratio = f"{ratios[name + '/unmarked']:9.2f}x" if name in big else ""
        label = LABELS[name].format(modules=args.modules)
        print(f"{label:<48} {stats['median'] * 1e3:8.2f} {stats['min'] * 1e3:8.2f}"
              f" {stats['max'] * 1e3:8.2f} {ratio}")
    print(f"warm/unmarked = {ratios['warm/unmarked']:.2f}x, "
          f"cold/unmarked = {ratios['cold/unmarked']:.2f}x (first marked import); "
          f"{ratios['warm, runtime loaded/unmarked']:.2f}x and "
          f"{ratios['cold, runtime loaded/unmarked']:.2f}x with the runtime loaded "
          f"(goal: warm <= 1.2x)")
    print(f"like for like, both with the runtime loaded: warm/unmarked = "
          f"{ratios['warm, runtime loaded/unmarked, runtime loaded']:.2f}x")
    print(f"the hook's toll on unmarked imports: {toll * 1e6:.1f} us per module "
          f"({ratios['small, hook/small, no hook']:.2f}x for {args.modules} one-line modules)")
    print(f"cache files: {', '.join(cache_files) or 'none'}")

    target = _common.write_json(args.json, NAME, {
        "lines": args.lines,
        "modules": args.modules,
        "repeat": args.repeat,
        "unit": "seconds",
        "loaders": loaders,
        "cache_files": cache_files,
        "cases": cases,
        "ratios": ratios,
        "hook_toll_seconds_per_module": toll,
    })
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
