"""Every marked program under tests/programs/, run by autofuture on every local executor,
must print and end exactly as its plain-python run does (see e2e.py for "exactly").

    python -m pytest tests/test_programs.py -q
    python -m pytest tests/test_programs.py -q -k "sleep_loop and loky"

Each program's leading comment lines may declare ``# args:``, ``# env:`` and
``# timeout:`` (see e2e.read_header). Programs live directly in
tests/programs/; its subfolders hold helper modules (helpers/) and programs
that are not compared with plain python (timing/).
"""

from __future__ import annotations

import importlib.util
import sys
import tokenize

import e2e
import pytest

PROGRAMS = sorted(e2e.PROGRAMS_DIR.glob("*.py"))
EXECUTORS = ("loky", "thread", "serial")
WORKERS = 4

#: Programs whose traceback text is not compared whole, each with the known gap (also an
#: expected failure in test_positions.py) that makes it differ; frames and error lines
#: are still compared.
CARET_GAPS: dict = {}  # none now: the last (assert on 3.11) closed with issue 13


def whole_traceback(program) -> bool:
    """Whether the program's traceback text is compared whole (see CARET_GAPS)."""
    gap, _ = CARET_GAPS.get(program.stem, (False, ""))
    return not gap


def _program_id(program):
    return program.stem


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("program", PROGRAMS, ids=_program_id)
def test_program_matches_plain_python(program, executor, plain_run):
    header = e2e.read_header(program)
    plain = plain_run(program)
    assert not plain.timed_out, f"the plain run itself timed out: {plain.describe()}"
    fut = e2e.run_autofuture(
        program,
        executor,
        workers=WORKERS,
        args=header.args,
        env=header.env,
        timeout=header.timeout,
    )
    e2e.assert_same(plain, fut, whole_traceback(program))


# ------------------------------------------------------------- the programs are fit oracles


@pytest.mark.parametrize("program", PROGRAMS, ids=_program_id)
def test_program_is_deterministic(program, plain_run):
    """Two plain runs with different hash seeds agree, so a difference is autofuture's."""
    header = e2e.read_header(program)
    again = e2e.run_plain(
        program, header.args, {**header.env, "PYTHONHASHSEED": "12345"}, timeout=header.timeout
    )
    e2e.assert_same(plain_run(program), again)


@pytest.mark.parametrize("program", PROGRAMS, ids=_program_id)
def test_program_is_marked(program):
    with open(program, "rb") as fh:
        comments = []
        for tok in tokenize.tokenize(fh.readline):
            if tok.type == tokenize.COMMENT:
                comments.append(tok.string.strip())
            elif tok.type not in (tokenize.ENCODING, tokenize.NL, tokenize.NEWLINE):
                break
    assert comments and comments[0] == "# autofuture", f"first comment line is {comments[:1]}"


@pytest.mark.parametrize("program", PROGRAMS, ids=_program_id)
def test_program_name_shadows_no_module(program):
    """Programs run with their folder first on sys.path: a stdlib or installed name would
    shadow that module for the program, and for autofuture itself."""
    name = program.stem
    assert name not in sys.stdlib_module_names, f"{name} shadows a standard-library module"
    assert importlib.util.find_spec(name) is None, f"{name} shadows an installed module"


# --------------------------------------------------------------------------- the harness itself

_PLAIN_ERR = """\
warning from the program
Traceback (most recent call last):
  File "/somewhere/prog.py", line 12, in <module>
    b = explode(2)
        ^^^^^^^^^^
  File "/somewhere/prog.py", line 7, in explode
    raise KeyError(f"missing {n}")
KeyError: 'missing 2'
"""

# The same error with a block the plain run does not print (a remote traceback as
# __cause__, as concurrent.futures gives it): a difference when the whole text is compared.
_CHAINED_ERR = """\
warning from the program
Traceback (most recent call last):
  File "/worker/site-packages/autofuture/worker/runner.py", line 99, in run
  File "/elsewhere/prog.py", line 7, in explode
    raise KeyError(f"missing {n}")
autofuture.RemoteTraceback: remote

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/elsewhere/prog.py", line 12, in <module>
    b = explode(2)
  File "/elsewhere/prog.py", line 7, in explode
    raise KeyError(f"missing {n}")
KeyError: 'missing 2'
"""


def _run(stdout="", stderr="", returncode=0):
    return e2e.Run(("prog",), "/", stdout, stderr, returncode, False, 0.0)


def test_traceback_frames_are_basename_line_pairs_of_the_last_traceback():
    assert e2e.traceback_frames(_PLAIN_ERR) == [("prog.py", 12), ("prog.py", 7)]
    assert e2e.traceback_frames(_CHAINED_ERR) == [("prog.py", 12), ("prog.py", 7)]
    assert e2e.traceback_frames("no traceback here\n") == []


def test_final_error_line_and_program_stderr():
    assert e2e.final_error_line(_PLAIN_ERR) == "KeyError: 'missing 2'"
    assert e2e.final_error_line("fatal: disk full\n\n") == "fatal: disk full"
    assert e2e.final_error_line("") == ""
    assert e2e.program_stderr(_PLAIN_ERR) == "warning from the program\n"
    assert e2e.program_stderr("only text\n") == "only text\n"


def test_assert_same_accepts_equal_runs():
    e2e.assert_same(_run("out\n", _PLAIN_ERR, 1), _run("out\n", _PLAIN_ERR, 1))


def test_assert_same_compares_the_whole_traceback_text():
    """A block of its own, a missing caret line or hint, another path: each is a difference;
    left out by name, only frames and the error line are compared."""
    plain = _run("out\n", _PLAIN_ERR, 1)
    uncaret = _PLAIN_ERR.replace("        ^^^^^^^^^^\n", "")
    hinted = _PLAIN_ERR.replace("'missing 2'", "'missing 2'. Did you mean: 'x'?")
    moved = _PLAIN_ERR.replace("/somewhere/", "/elsewhere/")
    for other in (_CHAINED_ERR, uncaret, moved):
        with pytest.raises(AssertionError, match="traceback text"):
            e2e.assert_same(plain, _run("out\n", other, 1))
        e2e.assert_same(plain, _run("out\n", other, 1), whole_traceback=False)
    with pytest.raises(AssertionError, match="traceback text"):
        e2e.assert_same(plain, _run("out\n", hinted, 1))


def test_caret_gaps_name_programs_that_exist():
    assert set(CARET_GAPS) <= {program.stem for program in PROGRAMS}


@pytest.mark.parametrize(
    ("fut", "complaint"),
    [
        (_run("out\nextra\n", _PLAIN_ERR, 1), "stdout"),
        (_run("out", _PLAIN_ERR, 1), "stdout"),
        (_run("out\n", _PLAIN_ERR, 0), "exit status"),
        (_run("out\n", _PLAIN_ERR.replace("line 7,", "line 8,"), 1), "traceback frames"),
        (_run("out\n", _PLAIN_ERR.replace("'missing 2'", "'missing 3'"), 1), "final error line"),
        (_run("out\n", _PLAIN_ERR.replace("warning", "Warning"), 1), "stderr before"),
        (_run("out\n", "", 0), "exit status"),
        (_run("out\n", _PLAIN_ERR, None), "exit status"),
    ],
)
def test_assert_same_reports_each_difference(fut, complaint):
    with pytest.raises(AssertionError, match=complaint):
        e2e.assert_same(_run("out\n", _PLAIN_ERR, 1), fut)


def test_assert_same_wants_the_plain_exception_chain():
    plain = _run("", _CHAINED_ERR.replace("autofuture.RemoteTraceback: remote", "ValueError: x"), 1)
    with pytest.raises(AssertionError, match="exception chain"):
        e2e.assert_same(plain, _run("", _PLAIN_ERR, 1))


def test_read_header(tmp_path):
    program = tmp_path / "prog.py"
    program.write_text(
        "# autofuture\n"
        "# args: a 'b c' 3\n"
        "# env: X=1 Y='two words'\n"
        "# timeout: 7\n"
        "print(1)\n"
        "# args: after the first statement, so not part of the header\n"
    )
    header = e2e.read_header(program)
    assert header.args == ("a", "b c", "3")
    assert header.env == {"X": "1", "Y": "two words"}
    assert header.timeout == 7.0
    assert e2e.read_header(e2e.PROGRAMS_DIR / "sleep_loop.py") == e2e.Header()
