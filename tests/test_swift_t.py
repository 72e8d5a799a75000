"""``autofuture export --swift-t`` (docs/swift-t.md).

Everywhere: every program under tests/programs_swift/ exports without a
problem, and every construct that cannot be exported is refused with a
located ``path:line:col: CODE message`` line and no file written.

Where Swift/T is installed (``swift-t`` on PATH, or ``$SWIFT_T_HOME``; built
by tools/build-swift-t.sh): each program runs three ways, ``python``,
``python -m autofuture`` and ``swift-t -n 3`` on its export, and the three
standard outputs must be equal.

    python -m pytest tests/test_swift_t.py -q
    SWIFT_T_HOME=/opt/swift-t python -m pytest tests/test_swift_t.py -q -k three_ways
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import e2e
import pytest

from autofuture.entrypoints import cli
from autofuture.language.swift_t_text import swift_string

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs_swift"
PROGRAMS = sorted(PROGRAMS_DIR.glob("*.py"))
#: Swift/T compiles with a JVM and starts an MPI job: slow on a loaded machine. A hang guard.
SWIFT_T_TIMEOUT = 600


def _find_swift_t() -> str | None:
    home = os.environ.get("SWIFT_T_HOME")
    if home:
        for candidate in (Path(home) / "stc" / "bin" / "swift-t", Path(home) / "bin" / "swift-t"):
            if os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which("swift-t")


SWIFT_T = _find_swift_t()
needs_swift_t = pytest.mark.skipif(
    SWIFT_T is None,
    reason="Swift/T not found (swift-t on PATH or SWIFT_T_HOME; tools/build-swift-t.sh builds it)")


def _export(script: Path, capsys, *options: str) -> tuple[int, str]:
    status = cli.main(["export", "--swift-t", str(script), *options])
    return status, capsys.readouterr().out


def _swift_t_env() -> dict[str, str]:
    env = dict(os.environ)
    # The worker's Python must not import this checkout's autofuture (another
    # Python's packages): the export stubs the decorators when it is absent.
    env.pop("PYTHONPATH", None)
    env["TURBINE_PYTHON_CHECK"] = "0"  # else Turbine warns on stdout about python on PATH
    env["LC_ALL"] = "C.UTF-8"  # Tcl writes in the locale's encoding (docs/swift-t.md)
    bin_dir = str(Path(SWIFT_T).parent) if SWIFT_T else ""
    env["PATH"] = os.pathsep.join(p for p in (bin_dir, env.get("PATH", "")) if p)
    return env


def _run_swift_t(program: Path) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([SWIFT_T, "-n", "3", program.name], cwd=program.parent,
                            env=_swift_t_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    e2e.STARTED_SESSIONS.append(proc.pid)
    try:
        out, err = proc.communicate(timeout=SWIFT_T_TIMEOUT)
    except subprocess.TimeoutExpired:
        e2e.kill_session(proc.pid)
        proc.communicate()
        pytest.fail(f"swift-t -n 3 {program.name} did not end within {SWIFT_T_TIMEOUT} s")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# ----------------------------------------------------------------- the programs export


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_program_exports(program, tmp_path, capsys):
    output = tmp_path / f"{program.stem}.swift"
    status, printed = _export(program, capsys, "-o", str(output))
    assert (status, printed) == (0, "")
    text = output.read_text()
    assert "python_persist(" in text and "_af_task(" in text
    assert text.rstrip().endswith(";")


def test_the_translation_maps_constructs(tmp_path, capsys):
    script = tmp_path / "shape.py"
    script.write_text(textwrap.dedent("""\
        # autofuture
        def f(x):
            return x + 1

        a = f(1)
        for i in range(3):
            print(i, f(i))
        if a > 1:
            b = f(a)
        else:
            b = 0
        print([f(i) for i in range(2)], b)
        """))
    status, text = _export(script, capsys, "-o", "-")
    assert status == 0
    assert '_af_task("f(1)")' in text
    assert "foreach " in text and 'string_join(' in text
    assert "if (_af_truth(" in text and "} else {" in text
    chain = [line for line in text.splitlines() if line.startswith("_af_emit(")]
    assert len(chain) == 1 and chain[0].count(" => ") >= 3


def test_swift_string_escapes_what_stc_reads_specially():
    assert swift_string('a"b\\c\nd\te\x01') == '"a\\"b\\\\c\\nd\\te\\x01"'
    assert swift_string("ascii only") == '"ascii only"'


def test_the_build_script_wants_a_source_tree(tmp_path):
    script = e2e.REPO_ROOT / "tools" / "build-swift-t.sh"
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "usage" in proc.stderr
    proc = subprocess.run(["bash", str(script), str(tmp_path), str(tmp_path / "prefix")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "does not look like a swift-t source tree" in proc.stderr


def test_there_are_ten_programs_at_least():
    assert len(PROGRAMS) >= 10


@needs_swift_t
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_three_ways(program, tmp_path, capsys, plain_run):
    """``python``, ``python -m autofuture`` and ``swift-t -n 3`` on the export print alike."""
    plain = plain_run(program)
    assert plain.returncode == 0, plain.describe()
    futurized = e2e.run_autofuture(program, "loky", workers=2, timeout=120)
    assert futurized.returncode == 0, futurized.describe()
    assert futurized.stdout == plain.stdout
    exported = tmp_path / f"{program.stem}.swift"
    assert _export(program, capsys, "-o", str(exported)) == (0, "")
    swift = _run_swift_t(exported)
    assert swift.returncode == 0, swift.stderr[-3000:]
    assert swift.stdout == plain.stdout


@needs_swift_t
def test_a_failing_task_fails_the_swift_t_run(tmp_path, capsys):
    """A non-zero status, the task's traceback through the user's file, nothing after it."""
    script = tmp_path / "failing.py"
    script.write_text(textwrap.dedent("""\
        # autofuture
        def inverse(x):
            return 1 / x

        print("before")
        y = inverse(0)
        print("after", y)
        """))
    assert _export(script, capsys) == (0, "")
    swift = _run_swift_t(tmp_path / "failing.swift")
    assert swift.returncode != 0
    assert "after" not in swift.stdout
    assert 'File "failing.py", line 3, in inverse' in swift.stderr
    assert "ZeroDivisionError: division by zero" in swift.stderr


# ------------------------------------------------------------------------ refusals

_TASK = "def f(x):\n    return x\n\n"

REFUSALS = [
    # (id, code after the mark and f's def, line, col, CODE, words in the message)
    ("try", "try:\n    y = f(1)\nexcept ValueError:\n    y = 0\n", 5, 1, "AF501", "try"),
    ("with", "with open('x') as fh:\n    pass\n", 5, 1, "AF501", "with"),
    ("while", "while True:\n    pass\n", 5, 1, "AF501", "while"),
    ("class", "class C:\n    pass\n", 5, 1, "AF501", "class"),
    ("lambda", "g = (lambda v: v)(1)\n", 5, 6, "AF501", "lambda"),
    ("break", "for i in range(3):\n    break\n", 6, 5, "AF501", "break"),
    ("match", "match f(1):\n    case 1:\n        pass\n", 5, 1, "AF501", "match"),
    ("raise", "raise ValueError('no')\n", 5, 1, "AF501", "raise"),
    ("for_else", "for i in range(3):\n    pass\nelse:\n    pass\n", 8, 5, "AF501", "else"),
    ("open", "data = open('x.txt').read()\n", 5, 8, "AF502", "open"),
    ("input", "name = input()\n", 5, 8, "AF502", "input"),
    ("append", "xs = [1]\nxs.append(f(2))\n", 6, 1, "AF502", "append"),
    ("os_call", "import os\nos.remove('x')\n", 6, 1, "AF502", "os.remove"),
    ("module_state", "import sys\nprint(sys.argv)\n", 6, 7, "AF502", "sys.argv"),
    ("print_file", "import sys\nprint(1, file=sys.stderr)\n", 6, 15, "AF502", "file="),
    ("print_in_expr", "y = [print(1)]\n", 5, 6, "AF502", "print"),
    ("reads_global", "N = 3\n\ndef g(x):\n    return x * N\n\nprint(g(1))\n", 8, 16,
     "AF503", "'N'"),
    ("one_arm", "if f(1):\n    y = 1\nprint(y)\n", 7, 7, "AF504", "one arm"),
    ("function_value", "g = f\n", 5, 5, "AF504", "function f"),
    ("module_value", "import os\nm = os\n", 6, 5, "AF504", "module os"),
    ("unknown", "print(undefined)\n", 5, 7, "AF504", "'undefined'"),
    ("lazy_or", "y = f(0) or f(1)\n", 5, 5, "AF505", "and/or"),
    ("lazy_ifexp", "y = f(1) if True else 0\n", 5, 5, "AF505", "conditional"),
    ("generator", "def gen():\n    yield 1\n", 5, 1, "AF506", "generator"),
    ("workflow", "import autofuture\n\n@autofuture.workflow\ndef main():\n    pass\n", 7, 2,
     "AF506", "workflow"),
    ("local", "import autofuture\n\n@autofuture.local\ndef helper():\n    return 1\n", 7, 2,
     "AF506", "local"),
    ("async", "async def co():\n    return 1\n", 5, 1, "AF506", "async"),
    ("nested_import", "for i in range(2):\n    import json\n", 6, 5, "AF506", "import"),
    ("nested_def", "if f(1):\n    def g():\n        return 1\n", 6, 5, "AF506", "def"),
    ("subscript_store", "d = {}\nd['k'] = f(1)\n", 6, 1, "AF507", "d['k']"),
    ("attribute_store", "import types\nns = types.SimpleNamespace()\nns.a = 1\n", 7, 1,
     "AF507", "ns.a"),
    ("starred", "a, *b = f([1, 2, 3])\n", 5, 1, "AF501", "starred"),
]


@pytest.mark.parametrize("body,line,col,code,words", [r[1:] for r in REFUSALS],
                         ids=[r[0] for r in REFUSALS])
def test_refused_with_its_place_and_nothing_written(body, line, col, code, words, tmp_path,
                                                     capsys):
    script = tmp_path / "script.py"
    script.write_text("# autofuture\n" + _TASK + body)
    status, printed = _export(script, capsys)
    assert status == 1
    lines = printed.splitlines()
    expected = f"{script}:{line}:{col}: {code} "
    assert any(text.startswith(expected) and words in text for text in lines), printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["script.py"]


def test_every_refusal_is_reported_in_order(tmp_path, capsys):
    script = tmp_path / "many.py"
    script.write_text("# autofuture\n" + _TASK + "with open('a'):\n    pass\n"
                      "xs = [f(1)]\nxs.append(2)\nwhile xs:\n    pass\n")
    status, printed = _export(script, capsys)
    assert status == 1
    assert [line.split(": ")[1].split()[0] for line in printed.splitlines()] == \
        ["AF501", "AF502", "AF501"]
    assert [int(line.split(":")[1]) for line in printed.splitlines()] == [5, 8, 9]
    assert not (tmp_path / "many.swift").exists()


def test_check_errors_come_first_in_checks_format(tmp_path, capsys):
    script = tmp_path / "rebind.py"
    script.write_text("# autofuture\n" + _TASK + "x = f(1)\nx = f(2)\n")
    status, printed = _export(script, capsys)
    assert status == 1
    assert printed.startswith(f"{script}:6:1: AF101 ")
    assert not (tmp_path / "rebind.swift").exists()


def test_an_existing_output_is_left_alone_when_refused(tmp_path, capsys):
    script = tmp_path / "bad.py"
    script.write_text("# autofuture\nwhile True:\n    pass\n")
    output = tmp_path / "bad.swift"
    output.write_text("old")
    assert _export(script, capsys)[0] == 1
    assert output.read_text() == "old"


def test_output_options(tmp_path, capsys):
    script = tmp_path / "ok.py"
    script.write_text("# autofuture\n" + _TASK + "print(f(1))\n")
    status, printed = _export(script, capsys, "-o", "-")
    assert status == 0 and "_af_task(\"f(1)\")" in printed
    assert not (tmp_path / "ok.swift").exists()
    assert _export(script, capsys) == (0, "")
    assert "_af_emit(" in (tmp_path / "ok.swift").read_text()


def test_the_command_line_needs_a_format(tmp_path):
    script = tmp_path / "ok.py"
    script.write_text("# autofuture\nprint(1)\n")
    proc = subprocess.run([sys.executable, "-m", "autofuture", "export", str(script)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(e2e.REPO_ROOT)})
    assert proc.returncode == 2 and "--swift-t" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "autofuture", "export", "--swift-t",
                           str(script)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(e2e.REPO_ROOT)})
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert (tmp_path / "ok.swift").exists()
