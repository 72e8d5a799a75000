"""Notebooks (SPEC §9): futurized cells in a real IPython kernel, driven by nbclient.

A futurized cell shows what the plain cell shows: each notebook here runs
twice, once as written and once with its autofuture magic lines made
``pass``, and every cell's outputs must be the same (prints, displayed
values, errors with their tracebacks). The other tests share one kernel:
parallel tasks on warm workers (overlapping task intervals on two worker
processes, never a timing threshold), values after a cell, per-cell checks,
options, a future shown while pending, a marked module's failing task, and
interrupted cells after which the kernel goes on. The last test shuts
kernels down and restarts them and finds none of their workers left.

The kernel is this Python's (``sys.executable -m ipykernel_launcher``, from a
kernel spec of the test's own), with the repository first on ``PYTHONPATH``
and no ``AUTOFUTURE_*`` variables.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import e2e
import nbformat
import pytest
from IPython.lib.pretty import pretty
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

import autofuture
from autofuture.runtime import abi as _runtime

EXAMPLES = sorted((e2e.REPO_ROOT / "examples").glob("*.ipynb"))
KERNEL = "autofuture-tests"
CELL_TIMEOUT = 60  # seconds; a hang fails the test instead of the CI run
#: How soon an interrupted cell's work is cancelled (the issue's promise), and how soon
#: a stopped kernel's workers must be gone.
CANCEL_WITHIN = 2.0
GONE_WITHIN = 10.0

# A magic line: what the plain run of a notebook does without.
_MAGIC = re.compile(r"(%%autofuture|%autofuture|%load_ext autofuture)\b.*")


@pytest.fixture(scope="module", autouse=True)
def kernel_spec(tmp_path_factory):
    """A kernel spec that runs this Python, found first whatever others the machine has."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "autofuture tests", "language": "python"}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(root))
        yield


def _kernel_env() -> dict[str, str]:
    return {name: value for name, value in e2e._child_env(None).items()
            if not name.startswith("AUTOFUTURE_")}


class Kernel:
    """A live kernel that runs cells one at a time, as a notebook's user would."""

    def __init__(self, cwd: Path):
        self.nb = nbformat.v4.new_notebook()
        self.client = NotebookClient(
            self.nb, timeout=CELL_TIMEOUT, startup_timeout=60, allow_errors=True,
            kernel_name=KERNEL, record_timing=False,
            resources={"metadata": {"path": str(cwd)}})
        self._setup = None

    def __enter__(self) -> Kernel:
        self._setup = self.client.setup_kernel(env=_kernel_env())
        self._setup.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self._setup.__exit__(*exc_info)

    @property
    def pid(self) -> int:
        return self.client.km.provisioner.process.pid

    def run(self, source: str) -> list[dict]:
        cell = nbformat.v4.new_code_cell(source)
        self.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.nb.cells) - 1)
        return shown(cell)

    def value(self, source: str):
        """The displayed value of a cell's last expression, read back as a literal."""
        outputs = self.run(source)
        results = [o for o in outputs if o["output_type"] == "execute_result"]
        assert results, f"no value from {source!r}: {describe(outputs)}"
        return ast.literal_eval(results[-1]["data"]["text/plain"])

    def interrupt(self) -> None:
        """The notebook's stop button: SIGINT to the kernel's process group, as jupyter_client
        sends it (here without an event loop, so that any thread may press it)."""
        os.killpg(os.getpgid(self.pid), signal.SIGINT)

    def restart(self) -> int:
        run_sync(self.client.km.restart_kernel)()
        return self.pid


def shown(cell) -> list[dict]:
    """What a cell shows: its outputs, with consecutive writes to one stream joined (how a
    kernel cuts a cell's prints into messages depends on timing, not on the cell)."""
    outputs: list[dict] = []
    for output in cell.get("outputs", []):
        output = json.loads(json.dumps(output))
        last = outputs[-1] if outputs else None
        if output["output_type"] == "stream" and last is not None \
                and last["output_type"] == "stream" and last["name"] == output["name"]:
            last["text"] += output["text"]
        else:
            outputs.append(output)
    return outputs


def describe(outputs: list[dict]) -> str:
    """Outputs as a person reads them, tracebacks without colours."""
    lines = []
    for output in outputs:
        if output["output_type"] == "error":
            lines.append(strip_colours("\n".join(output["traceback"])))
        elif output["output_type"] == "stream":
            lines.append(f"[{output['name']}] {output['text']}")
        else:
            lines.append(f"[{output['output_type']}] {output.get('data')}")
    return "\n".join(lines)


def strip_colours(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def error_of(outputs: list[dict]) -> dict:
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert len(errors) == 1, describe(outputs)
    return errors[0]


def without_magics(nb):
    """The notebook as plain Python: every autofuture magic line made a ``pass``, so that
    lines keep their numbers and cells their execution counts (an empty cell has none)."""
    plain = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in plain.cells:
        if cell.cell_type == "code":
            cell.source = "\n".join("pass" if _MAGIC.fullmatch(line) else line
                                    for line in cell.source.splitlines())
    return plain


def execute(nb, cwd: Path, allow_errors: bool = False):
    """Run a whole notebook in a fresh kernel; the notebook with its outputs."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    NotebookClient(nb, timeout=CELL_TIMEOUT, startup_timeout=60, allow_errors=allow_errors,
                   kernel_name=KERNEL, record_timing=False,
                   resources={"metadata": {"path": str(cwd)}}).execute(env=_kernel_env())
    return nb


def comparable(outputs: list[dict]) -> list[dict]:
    """Outputs with tracebacks as text: IPython 8 highlights the expression a frame is
    executing where it can match the frame's bytecode to the source, which a futurized
    cell's rewritten code never matches (IPython 9 highlights none in a notebook cell)."""
    return [{**output, "traceback": [strip_colours(line) for line in output["traceback"]]}
            if output["output_type"] == "error" else output for output in outputs]


def assert_same_outputs(futurized, plain) -> None:
    for index, (fut, ref) in enumerate(zip(futurized.cells, plain.cells, strict=True)):
        if fut.cell_type != "code":
            continue
        assert comparable(shown(fut)) == comparable(shown(ref)), (
            f"cell {index} shows something else than its plain run\n--- source:\n{fut.source}"
            f"\n--- futurized:\n{describe(shown(fut))}\n--- plain:\n{describe(shown(ref))}")


# -- whole notebooks, with and without the magics -------------------------------------

def test_examples_are_there():
    assert [path.name for path in EXAMPLES] == ["monte_carlo.ipynb"]


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_notebook_shows_what_its_plain_run_shows(path):
    nb = nbformat.read(path, as_version=4)
    assert any(cell.source.startswith("%%autofuture") for cell in nb.cells)
    futurized = execute(nb, path.parent)
    plain = execute(without_magics(nb), path.parent)
    assert_same_outputs(futurized, plain)
    assert any(shown(cell) for cell in futurized.cells if cell.cell_type == "code")


CELLS = [
    "%load_ext autofuture",
    "%autofuture on -n 2",
    # Task functions: defined in a futurized cell, their calls run on workers.
    "import os\n"
    "\n"
    "def square(x):\n"
    "    print('square of', x)\n"
    "    return x * x\n"
    "\n"
    "def fails(x):\n"
    "    value = x + 1\n"
    "    raise ValueError(f'no good: {value}')\n",
    # Prints of tasks and of the cell in program order; the last value displayed.
    "xs = [square(i) for i in range(4)]\n"
    "print('sum', sum(xs))\n"
    "{'xs': xs, 'pair': (square(5), [square(6)]), 'set': {square(7)}}",
    # Running a cell again rebinds its names: allowed across cells.
    "xs = [square(i) for i in range(4)]\n"
    "print('sum', sum(xs))\n"
    "{'xs': xs, 'pair': (square(5), [square(6)]), 'set': {square(7)}}",
    "square(3);",
    "from IPython.display import HTML, display\n"
    "display(HTML(f'<b>{square(8)}</b>'))\n"
    "HTML(f'<i>{square(9)}</i>')",
    # An error: the same traceback, through this line and the task's, the same type.
    "print('before')\n"
    "bad = fails(1)\n"
    "after = square(2)\n"
    "print('not reached')",
    "%autofuture off",
    # After the cells: values, not futures, and nothing the failed cell did not reach.
    "import autofuture\n"
    "[isinstance(v, autofuture.Future) for v in (xs[0], xs[3])], "
    "[name in globals() for name in ('bad', 'after')]",
]


def test_cells_show_what_plain_cells_show(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    # One more cell, in the futurized run only: its functions were futurized cells' own.
    probe = nbformat.v4.new_code_cell("from autofuture.runtime import callees\n"
                                      "square.__code__.co_filename in callees.marked_files")
    futurized = execute(nbformat.v4.new_notebook(cells=[*nb.cells, probe]), tmp_path,
                        allow_errors=True)
    assert shown(futurized.cells.pop())[0]["data"]["text/plain"] == "True"
    plain = execute(without_magics(nb), tmp_path, allow_errors=True)
    assert_same_outputs(futurized, plain)
    error = error_of(shown(futurized.cells[7]))
    assert error["ename"] == "ValueError"
    text = strip_colours("\n".join(error["traceback"]))
    assert "----> 2 bad = fails(1)" in text and "----> 9     raise ValueError" in text, text
    assert shown(futurized.cells[-1])[0]["data"]["text/plain"] == \
        "([False, False], [False, False])"


# -- one kernel, cell after cell ----------------------------------------------------------

@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with Kernel(tmp_path_factory.mktemp("cwd")) as live:
        assert live.run("%load_ext autofuture") == []
        yield live


SPANS = """%%autofuture --executor loky -n 2
import os, time

def span(i):
    start = time.time()
    time.sleep(0.5)
    return (i, os.getpid(), start, time.time())

spans = [span(i) for i in range(4)]
spans"""


def test_tasks_overlap_on_two_warm_workers(kernel):
    spans = kernel.value(SPANS)
    assert [i for i, *_ in spans] == [0, 1, 2, 3]
    pids = {pid for _, pid, _, _ in spans}
    assert kernel.pid not in pids
    assert pids <= e2e.session_members(kernel.pid)
    overlapping = [(a, b) for a in spans for b in spans if a[1] != b[1]
                   and a[2] < b[3] and b[2] < a[3]]
    assert overlapping, f"no two tasks ran at once on different workers: {spans}"
    # The next futurized cell runs on the same worker processes: they stayed up.
    again = kernel.value("%%autofuture\nagain = [span(i) for i in range(4)]\nagain")
    assert {pid for _, pid, _, _ in again} <= pids


def test_names_hold_values_after_the_cell(kernel):
    kernel.run("%%autofuture --executor loky\n"
               "import os\n"
               "def twice(x):\n"
               "    return 2 * x\n"
               "nested = [twice(1), (twice(2), {'k': twice(3)}), {twice(4)}]\n"
               "one = twice(5)\n"
               "table = {twice(6): [twice(7)]}\n"
               "def whose(x):\n"
               "    return os.getpid()\n"
               "elsewhere = whose(0)")
    assert kernel.value("nested, one, table") == ([2, (4, {"k": 6}), {8}], 10, {12: [14]})
    assert kernel.value("import autofuture\n"
                        "found = []\n"
                        "def walk(x):\n"
                        "    found.append(isinstance(x, autofuture.Future))\n"
                        "    items = x.values() if isinstance(x, dict) else x\n"
                        "    if isinstance(x, (list, tuple, set, dict)):\n"
                        "        for item in items: walk(item)\n"
                        "walk([nested, one, table])\n"
                        "any(found), len(found)") == (False, 13)
    assert kernel.value("elsewhere != os.getpid()") is True


ALIASES = """%%autofuture --executor loky -n 2
import time
import autofuture

def work(i):
    time.sleep(0.3)
    return i

def size(xs):
    return len(xs)

class Acc:
    def __init__(self):
        self.items = []
    def add(self, v):
        self.items.append(v)

@autofuture.local
def fill(d, v):
    d["a"].append(v)

acc = Acc()
alias = acc.items
acc.add(work(1))
print(len(alias), size(alias), alias)
data = {"a": []}
part = data["a"]
fill(data, work(2))
print(len(part), size(part), part, bool(part), 2 in part)"""


def test_a_mutation_is_seen_through_every_alias_in_a_cell(kernel):
    """Cells run through the same runtime as scripts: a read through another name of
    what a pending local call changes waits for it (issue 13), as the plain cell does."""
    outputs = kernel.run(ALIASES)
    streams = [o for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout"]
    assert [o["output_type"] for o in outputs] == ["stream"], describe(outputs)
    assert streams[0]["text"] == "1 1 [1]\n1 1 [2] True True\n", describe(outputs)


def test_a_loop_that_prints_in_a_cell_still_runs_its_tasks_at_once(tmp_path):
    """The run-ahead rule in a kernel: a loop over a list whose body prints to the
    kernel's stream (ipykernel's, not a file) does not wait for each step's print (which
    waits for that step's task) before it makes the next task. If it did, each task
    would start after the one before had ended, 0.5 s apart."""
    with Kernel(tmp_path) as live:
        live.run("%load_ext autofuture")
        warm = SPANS.replace("-n 2", "-n 4")
        assert len(live.value(warm)) == 4  # four workers up
        spans = live.value("%%autofuture\n"
                           "printed = []\n"
                           "for i in [0, 1, 2, 3]:\n"
                           "    s = span(i)\n"
                           "    print('step', i)\n"
                           "    printed.append(s)\n"
                           "printed")
    assert [i for i, *_ in spans] == [0, 1, 2, 3]
    starts = [start for _, _, start, _ in spans]
    assert max(starts) - min(starts) < 1.0, f"the loop's tasks ran one after another: {spans}"


def test_a_cell_is_checked_before_it_runs(kernel):
    outputs = kernel.run("%%autofuture\nprint('never printed')\ntotal = 1\ntotal = 2\n")
    error = error_of(outputs)
    assert error["ename"] == "RebindError"
    text = strip_colours("\n".join(error["traceback"]))
    number = kernel.nb.cells[-1].execution_count
    assert f"Cell In[{number}], line 4" in text and "total = 2" in text, text
    assert "line 3" in error["evalue"] and "AF101" in error["evalue"]
    assert [o for o in outputs if o["output_type"] == "stream"] == []
    assert kernel.value("'total' in globals()") is False


def test_options_and_their_errors(kernel):
    assert kernel.value("%%autofuture --executor serial\n"
                        "import os\n"
                        "def where(x):\n"
                        "    return os.getpid()\n"
                        "where(1) == os.getpid()") is True
    for source, message in (("%%autofuture -n 0\n1", "-n must be at least 1, got 0"),
                            ("%%autofuture --executor nosuch\n1", "unknown executor 'nosuch'"),
                            ("%autofuture sideways", "invalid choice: 'sideways'")):
        # IPython shows a UsageError as one line on stderr, not as a traceback.
        outputs = kernel.run(source)
        assert [(o["output_type"], o.get("name")) for o in outputs] == [("stream", "stderr")]
        assert outputs[0]["text"].startswith("UsageError: ") and message in outputs[0]["text"]


def test_a_pending_future_is_displayed_without_waiting(kernel):
    outputs = kernel.run("%%autofuture --executor loky\n"
                         "import time\n"
                         "from IPython.display import display\n"
                         "def slow(x):\n"
                         "    time.sleep(1)\n"
                         "    return x\n"
                         "class Peek:\n"  # ordinary code, run where the cell compares it
                         "    def __eq__(self, other):\n"
                         "        return display(globals()['late']) is None\n"
                         "look = Peek()\n"
                         "late = slow(42)\n"
                         "if look == 0:\n"
                         "    pass\n"
                         "late")
    number = kernel.nb.cells[-1].execution_count
    shown_first, value = outputs
    assert shown_first["output_type"] == "display_data"
    assert shown_first["data"]["text/plain"] == \
        f"<autofuture.Future pending slow() at In[{number}]:11>"
    assert "<b>pending</b>" in shown_first["data"]["text/html"]
    assert value["data"]["text/plain"] == "42"


HELPERS = """# autofuture
def halve(x):
    if x % 2:
        raise ValueError(f"odd: {x}")
    return x // 2
"""


def test_a_failing_task_of_a_marked_module_is_shown(kernel, tmp_path):
    """Its frames are a real file's: IPython renders them with stack_data and executing
    (which never returned from a stand-in frame whose tb_lasti was -1)."""
    (tmp_path / "halving.py").write_text(HELPERS)
    (tmp_path / "halving_at_import.py").write_text(HELPERS + "first = halve(3)\n")
    kernel.run(f"import sys, autofuture\nsys.path.insert(0, {str(tmp_path)!r})\n"
               "hook = autofuture.install()\nimport halving")
    # Called from a futurized cell, and at the import of a marked module in a plain one:
    for source, line, odd in (("%%autofuture\nhalving.halve(4)\nhalving.halve(5)", 3, 5),
                              ("import halving_at_import", 1, 3)):
        error = error_of(kernel.run(source))
        text = strip_colours("\n".join(error["traceback"]))
        assert (error["ename"], error["evalue"]) == ("ValueError", f"odd: {odd}"), text
        assert f"line {line}" in text and "halving" in text, text
        assert re.search(r"----> 4\s+raise ValueError", text), text
        assert "in halve(x)" in text, text
    kernel.run("hook.uninstall()")


def _interrupt_when(kernel: Kernel, source: str, ready) -> tuple[list[dict], float]:
    """Run ``source``, press the stop button once ``ready()``; (outputs, seconds from the
    press to the end of the cell)."""
    pressed: list[float] = []

    def press_stop():
        deadline = time.monotonic() + CELL_TIMEOUT
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        pressed.append(time.monotonic())
        kernel.interrupt()

    stopper = threading.Thread(target=press_stop)
    stopper.start()
    try:
        outputs = kernel.run(source)
    finally:
        stopper.join()
    return outputs, time.monotonic() - pressed[0]


STUCK = """%%autofuture --executor loky -n {workers}
import os, time
def stuck(i):
    open(os.path.join({started!r}, str(os.getpid())), 'w').close()
    time.sleep(60)
    return i
stuck_results = [stuck(i) for i in range(4)]
print(sum(stuck_results))"""


def test_an_interrupt_cancels_the_cell_and_the_kernel_goes_on(kernel, tmp_path):
    started = tmp_path / "started"
    started.mkdir()
    # While the cell's tasks run on two workers:
    outputs, took = _interrupt_when(kernel, STUCK.format(workers=2, started=str(started)),
                                    lambda: len(os.listdir(started)) >= 2)
    assert error_of(outputs)["ename"] == "KeyboardInterrupt"
    assert [o for o in outputs if o["output_type"] == "stream"] == []
    assert took < CANCEL_WITHIN, f"the cell ended {took:.1f}s after the interrupt"
    workers = {int(name) for name in os.listdir(started)}
    deadline = time.monotonic() + CANCEL_WITHIN
    while workers & e2e.session_members(kernel.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not workers & e2e.session_members(kernel.pid), "the stuck tasks' workers still run"
    # The kernel is usable: plain cells, and futurized ones on new workers.
    assert kernel.value("'stuck_results' in globals(), 6 * 7") == (False, 42)
    fresh = kernel.value("%%autofuture\n"
                         "def where(i):\n"
                         "    return os.getpid()\n"
                         "[where(i) for i in range(2)]")
    assert not set(fresh) & workers


def test_an_interrupt_while_workers_start_shows_only_the_interrupt(kernel, tmp_path):
    started = tmp_path / "started"
    started.mkdir()
    before = e2e.session_members(kernel.pid)
    # Three workers where two ran: new ones start, and the stop button is pressed as
    # soon as one exists, while it is still starting Python (a worker that dies of it
    # would print a traceback of its imports into the cell's output).
    outputs, _ = _interrupt_when(kernel, STUCK.format(workers=3, started=str(started)),
                                 lambda: e2e.session_members(kernel.pid) - before)
    assert [o["output_type"] for o in outputs] == ["error"], describe(outputs)
    assert error_of(outputs)["ename"] == "KeyboardInterrupt"
    assert kernel.value("6 * 7") == 42


def test_no_worker_outlives_its_kernel(tmp_path):
    cell = ("%%autofuture -n 2\n"
            "import os\n"
            "def pid(i):\n"
            "    return os.getpid()\n"
            "sorted({pid(i) for i in range(8)})")
    with Kernel(tmp_path) as live:
        first = live.pid
        live.run("%load_ext autofuture")
        workers = set(live.value(cell))
        before = e2e.session_members(first)
        assert workers and workers <= before and first in before
        second = live.restart()  # the notebook's "restart kernel"
        assert second != first
        _assert_gone(before)
        live.run("%load_ext autofuture")
        workers = set(live.value(cell))
        before = e2e.session_members(second)
        assert workers and workers <= before
    _assert_gone(before)


def _assert_gone(pids: set[int]) -> None:
    deadline = time.monotonic() + GONE_WITHIN
    left = pids
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = {pid for pid in pids if _alive(pid)}
    assert not left, f"still running after the kernel ended: {sorted(left)}"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


# -- in this process: a future's displays never wait ----------------------------------------

@autofuture.task
def value_of(x):
    return x


@autofuture.task
def fails(message):
    raise ValueError(message)


@pytest.fixture
def serial(scheduler_with):
    scheduler_with(executor="serial")


def test_future_displays_show_its_state_without_waiting(serial):
    pending = _runtime.call(value_of, [1, "<two>"])
    label = r"value_of\(\) at test_notebook\.py:\d+"
    assert re.fullmatch(rf"<autofuture\.Future pending {label}>", pretty(pending))
    assert re.fullmatch(rf'<span class="autofuture-future autofuture-pending">&lt;'
                        rf"autofuture\.Future <b>pending</b> {label}&gt;</span>",
                        pending._repr_html_())
    assert not pending.done()  # the serial executor runs a task at its turn: not taken
    assert autofuture.result(pending) == [1, "<two>"]
    assert re.fullmatch(rf"<autofuture\.Future finished {label}: \[1, '<two>'\]>",
                        pretty(pending))
    assert "<b>finished</b>" in pending._repr_html_()
    assert "<code>[1, &#x27;&lt;two&gt;&#x27;]</code>" in pending._repr_html_()
    failed = _runtime.call(fails, "no <good>")
    with contextlib.suppress(ValueError):
        autofuture.result(failed)
    assert pretty(failed).endswith(": ValueError: no <good>>")
    assert "<code>ValueError: no &lt;good&gt;</code>" in failed._repr_html_()
