"""The opt-in start-up hook, in a fresh virtual environment as a user would set it up.

The environment (``python -m venv`` + ``pip install -e`` of this checkout) is made
once per test session; it needs PyPI for autofuture's dependencies.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from autofuture.entrypoints import startup as _startup

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 120


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AUTOFUTURE_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


@pytest.fixture(scope="session")
def venv(tmp_path_factory) -> Path:
    if sys.platform == "win32":
        pytest.skip("the test drives a POSIX virtual environment")
    path = tmp_path_factory.mktemp("startup-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=TIMEOUT,
                   env=_env())
    done = subprocess.run([str(_python(path)), "-m", "pip", "install", "-q",
                           "--disable-pip-version-check", "-e", str(REPO)],
                          capture_output=True, text=True, timeout=600, env=_env())
    if done.returncode != 0:
        pytest.fail(f"pip install -e {REPO} into a fresh venv failed:\n{done.stderr}")
    return path


def _run(venv: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(_python(venv)), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT, env=_env(**env))


def _hook(venv: Path, action: str, cwd: Path) -> subprocess.CompletedProcess:
    done = _run(venv, "-m", "autofuture", "startup-hook", action, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def hooked(venv, tmp_path):
    """The venv with the hook installed for one test, and removed after it."""
    _hook(venv, "install", tmp_path)
    yield venv
    _hook(venv, "uninstall", tmp_path)


MARKED_SCRIPT = '''\
#!/usr/bin/env python
# autofuture
"""Squares on workers; writes the main and a task's pid to PID_FILE."""
import os
import sys


def square(x):
    return x * x


def pid():
    return os.getpid()


squares = [square(i) for i in range(8)]
print("squares", squares, "sum", sum(squares))
print("args", sys.argv[1:], "main", __name__)
worker = pid()
with open(os.environ["PID_FILE"], "w") as out:
    out.write(f"{os.getpid()} {worker}\\n")
'''


def _pids(path: Path) -> tuple[int, int]:
    main, task = path.read_text().split()
    return int(main), int(task)


def test_install_run_uninstall(venv, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(MARKED_SCRIPT)
    pids = tmp_path / "pids"
    target = Path(_startup.PTH_NAME)

    plain = _run(venv, "script.py", "a", "b", cwd=tmp_path, PID_FILE=str(pids))
    assert plain.returncode == 0, plain.stderr
    main, task = _pids(pids)
    assert main == task  # no hook: plain Python

    installed = _hook(venv, "install", tmp_path)
    try:
        assert target.name in installed.stdout
        status = _hook(venv, "status", tmp_path)
        assert "installed (" in status.stdout
        pth = Path(status.stdout.rsplit("(", 1)[1].rstrip(")\n"))
        assert pth.read_text() == _startup.PTH_LINE
        assert pth.parent == Path(_run(venv, "-c", "import sysconfig; "
                                       "print(sysconfig.get_paths()['purelib'])",
                                       cwd=tmp_path).stdout.strip())

        futurized = _run(venv, "script.py", "a", "b", cwd=tmp_path, PID_FILE=str(pids))
        assert futurized.returncode == 0, futurized.stderr
        assert (futurized.stdout, futurized.stderr) == (plain.stdout, plain.stderr)
        main, task = _pids(pids)
        assert main != task  # loky, the default: the task ran on a worker

        # AUTOFUTURE_STARTUP=0 turns it off for one run; the executor variable is read
        _run(venv, "script.py", cwd=tmp_path, PID_FILE=str(pids), AUTOFUTURE_STARTUP="0")
        assert len(set(_pids(pids))) == 1
        serial = _run(venv, "script.py", cwd=tmp_path, PID_FILE=str(pids),
                      AUTOFUTURE_EXECUTOR="serial")
        assert serial.returncode == 0, serial.stderr
        assert len(set(_pids(pids))) == 1
    finally:
        removed = _hook(venv, "uninstall", tmp_path)
    assert "removed" in removed.stdout
    assert "not installed" in _hook(venv, "status", tmp_path).stdout

    again = _run(venv, "script.py", "a", "b", cwd=tmp_path, PID_FILE=str(pids))
    assert (again.returncode, again.stdout) == (0, plain.stdout)
    main, task = _pids(pids)
    assert main == task  # plain again
    assert "was not installed" in _hook(venv, "uninstall", tmp_path).stdout


def test_plain_script_importing_marked_module(hooked, tmp_path):
    (tmp_path / "lib.py").write_text(textwrap.dedent('''\
        # autofuture
        import os


        def pid():
            return os.getpid()


        def total(values):
            return sum(values)


        worker = pid()
        answer = total([total([1, 2]), 39])
        print("lib imported")
        '''))
    (tmp_path / "main.py").write_text(textwrap.dedent('''\
        import os
        import sys

        import lib

        print("answer", lib.answer, "on a worker", lib.worker != os.getpid())
        print("autofuture imported", "autofuture" in sys.modules)
        '''))
    (tmp_path / "unrelated.py").write_text(
        'import sys\nimport json\nprint("autofuture imported", "autofuture" in sys.modules)\n')
    done = _run(hooked, "main.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "lib imported\nanswer 42 on a worker True\nautofuture imported True\n"
    # a script importing nothing marked never even imports autofuture
    cheap = _run(hooked, "unrelated.py", cwd=tmp_path)
    assert (cheap.returncode, cheap.stdout, cheap.stderr) == (0, "autofuture imported False\n", "")


def test_failing_marked_script_reports_like_python(hooked, tmp_path):
    (tmp_path / "fails.py").write_text(textwrap.dedent('''\
        # autofuture
        import sys


        def parse(text):
            return int(text)


        numbers = [parse(t) for t in ["1", "x"]]
        print(sum(numbers))
        '''))
    (tmp_path / "exits.py").write_text('# autofuture\nimport sys\n\nsys.exit(3)\n')
    done = _run(hooked, "fails.py", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert any(line.endswith('fails.py", line 9, in <module>') for line in lines)
    assert any(line.endswith('fails.py", line 6, in parse') for line in lines)
    assert lines[-1] == "ValueError: invalid literal for int() with base 10: 'x'"
    assert "autofuture/" not in done.stderr
    assert _run(hooked, "exits.py", cwd=tmp_path).returncode == 3


def test_other_ways_of_starting_python_are_left_alone(hooked, tmp_path):
    (tmp_path / "marked_mod.py").write_text(
        '# autofuture\nimport os\n\n\ndef pid():\n    return os.getpid()\n\n\nworker = pid()\n')
    code = "import os, marked_mod; print(marked_mod.worker == os.getpid())"
    done = _run(hooked, "-c", code, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "True\n"), done.stderr


def test_broken_autofuture_does_not_break_python(tmp_path):
    """The .pth line in an environment where autofuture is missing, or broken."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True,
                   timeout=TIMEOUT, env=_env())
    purelib = subprocess.run([str(_python(bare)), "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, env=_env()).stdout
    Path(purelib.strip(), _startup.PTH_NAME).write_text(_startup.PTH_LINE)
    script = tmp_path / "hello.py"
    script.write_text("# autofuture\nprint('hello')\n")
    missing = _run(bare, str(script), cwd=tmp_path)
    assert (missing.returncode, missing.stdout, missing.stderr) == (0, "hello\n", "")
    broken = tmp_path / "broken" / "autofuture"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("")
    (broken / "_startup.py").write_text("raise RuntimeError('broken')\n")
    done = _run(bare, str(script), cwd=tmp_path, PYTHONPATH=str(broken.parent))
    assert (done.returncode, done.stdout, done.stderr) == (0, "hello\n", "")


def test_hooks_file_is_the_installed_line():
    assert (REPO / "hooks" / "autofuture.pth").read_text() == _startup.PTH_LINE


def test_a_mark_below_a_long_docstring_is_found(hooked, tmp_path):
    """The start-up hook's byte test reads 8 KiB first; the header may be longer."""
    script = tmp_path / "long_doc.py"
    script.write_text('"""' + "A long description.\n" * 600 + '"""\n' + textwrap.dedent("""\
        # autofuture
        import os


        def pid():
            return os.getpid()


        worker = pid()
        print("on a worker", worker != os.getpid())
        """))
    assert script.stat().st_size > 8192
    done = _run(hooked, script.name, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "on a worker True\n"), done.stderr
    plain = _run(hooked, "-S", script.name, cwd=tmp_path)  # -S: no .pth hook, plain Python
    assert (plain.returncode, plain.stdout) == (0, "on a worker False\n"), plain.stderr


@pytest.mark.parametrize(("text", "expected"), [
    (b"# autofuture\nimport os\n", True),
    (b"import os\n" * 2000, False),  # longer than the first read, no mark at all
    # A docstring longer than the first read puts the mark beyond it.
    (b'"""' + b"x" * 10_000 + b'"""\n# autofuture\nimport os\n', True),
    # The mark straddling the end of the first read.
    (b"#" * (8192 - 5) + b"\n# autofuture\n", True),
])
def test_the_cheap_byte_test_misses_no_mark(text, expected):
    assert _startup._may_carry_mark(io.BytesIO(text)) is expected
