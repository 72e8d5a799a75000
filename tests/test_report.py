"""``autofuture report TRACE``: the page made from a real traced run, read as HTML and
rendered by a real browser (Debian's ``chromium``, headless).

The browser test checks what was laid out, not only what was written: one
timeline row per worker and one visible bar per task, every dependency drawn
as an edge, labels that fit their boxes, and the page's script working. It
saves a screenshot; ``UPDATE_DOCS_IMAGES=1`` also copies it to
``docs/images/report.png``.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import e2e
import pytest

from autofuture.observe import report as _report
from autofuture.observe import trace as _trace

TIMEOUT = 60.0
REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                         if os.path.exists("/usr/bin/chromium") else None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium package is not installed "
                             "(.ci/run installs it: apt-get install -y chromium)")

PIPELINE = """\
# autofuture
\"\"\"Load shards, clean and summarise each, merge the summaries pairwise.\"\"\"
import time


def load(shard):
    time.sleep(0.12 + 0.06 * (shard % 3))
    return list(range(shard * 100, shard * 100 + 100))


def clean(rows):
    time.sleep(0.08)
    return [r for r in rows if r % 7]


def summarise(rows):
    time.sleep(0.05 + 0.02 * (len(rows) % 4))
    return sum(rows) / len(rows)


def merge(a, b):
    time.sleep(0.03)
    return (a + b) / 2


rounded = lambda x: round(x, 2)  # noqa: E731
s0, s1, s2, s3, s4, s5, s6, s7 = [summarise(clean(load(shard))) for shard in range(8)]
m01, m23, m45, m67 = merge(s0, s1), merge(s2, s3), merge(s4, s5), merge(s6, s7)
left, right = merge(m01, m23), merge(m45, m67)
print("mean of means:", rounded(merge(left, right)))
"""


class Elements(html.parser.HTMLParser):
    """Every start tag as (tag, attributes), and the text inside the page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def having(self, tag: str, css_class: str) -> list[dict]:
        return [a for t, a in self.tags
                if t == tag and css_class in (a.get("class") or "").split()]


def autofuture(cwd: Path, *argv: str) -> e2e.Run:
    result = e2e._run([sys.executable, "-m", "autofuture", *argv], cwd, None, TIMEOUT)
    assert not result.timed_out, f"hung: {result.describe()}\n{result.stderr[-2000:]}"
    return result


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A traced run of PIPELINE on loky with two workers, and its report and graph."""
    cwd = tmp_path_factory.mktemp("report")
    (cwd / "pipeline.py").write_text(PIPELINE, encoding="utf-8")
    run = autofuture(cwd, "-n", "2", "--executor", "loky", "--trace", "run.jsonl", "pipeline.py")
    assert run.returncode == 0, run.stderr
    made = autofuture(cwd, "report", "run.jsonl", "-o", "report.html", "--graph", "graph.dot")
    assert made.returncode == 0, made.stderr
    assert made.stdout == "autofuture report: wrote report.html and graph.dot from 32 tasks\n"
    trace = _trace.read(str(cwd / "run.jsonl"))
    page = (cwd / "report.html").read_text(encoding="utf-8")
    return cwd, trace, page


def dependencies(trace) -> set[tuple[int, int]]:
    return {(d, t.id) for t in trace.tasks.values() for d in t.deps}


# --------------------------------------------------------------------------- the HTML


def test_the_page_needs_nothing_from_the_network(report):
    _, _, page = report
    assert set(re.findall(r"https?://[^\s\"')]+", page)) <= {"http://www.w3.org/2000/svg"}
    tags = {tag for tag, _ in Elements(page).tags}
    assert not tags & {"link", "img", "iframe", "object", "embed"}
    assert " src=" not in page and "@import" not in page and "url(http" not in page


def test_the_timeline_has_a_row_per_worker_and_a_bar_per_task(report):
    _, trace, page = report
    elements = Elements(page)
    rows = elements.having("g", "worker-row")
    workers = {t.worker for t in trace.tasks.values()}
    assert sorted(r["data-worker"] for r in rows) == sorted(workers)
    assert len(workers) == 2  # 32 tasks of 50 ms and more: both workers ran some
    bars = elements.having("rect", "task")
    assert sorted(int(b["data-task-id"]) for b in bars) == sorted(trace.tasks) == \
        list(range(1, 33))


def test_the_graph_has_every_dependency_and_call_site_labels(report):
    _, trace, page = report
    elements = Elements(page)
    edges = {(int(p["data-from"]), int(p["data-to"])) for p in elements.having("path", "edge")}
    assert edges == dependencies(trace)
    by_function: dict[str, list] = {}
    for task in trace.tasks.values():
        by_function.setdefault(task.function, []).append(task)
    assert {f: len(ts) for f, ts in by_function.items()} == {
        "load": 8, "clean": 8, "summarise": 8, "merge": 7, "<lambda>": 1}
    final = by_function["merge"][-1]
    assert sorted(final.deps) == sorted(t.id for t in by_function["merge"][4:6])
    assert len(elements.having("g", "node")) == 32
    text = "".join(elements.text)
    line = PIPELINE.splitlines().index(
        next(x for x in PIPELINE.splitlines() if x.startswith("m01"))) + 1
    assert f"pipeline.py:{line} · #{by_function['merge'][0].id}" in text
    assert "<lambda>()" in text  # escaped in the source, text in the page
    assert "&lt;lambda&gt;()" in page and "<lambda>()" not in page


def test_figures_slowest_tasks_and_sites(report):
    _, trace, page = report
    analysis = _report.Analysis(trace)
    assert 0 < analysis.utilisation <= 1
    text = "".join(Elements(page).text)
    assert f"Utilisation{_report._percent(analysis.utilisation)}" in text
    assert "Exited with status 0. 32 tasks: 32 ok." in text
    rows = re.findall(r'<tr data-task-id="(\d+)">', page)
    durations = [trace.tasks[int(i)].duration for i in rows]
    assert len(rows) == 15 and durations == sorted(durations, reverse=True)
    assert trace.tasks[int(rows[0])].function == "load"
    idle = analysis.idle()
    total = analysis.busy + idle["startup"] + idle["gaps"] + idle["tail"] + idle["unused"]
    assert total == pytest.approx(analysis.wall * analysis.pool, rel=0.02)


def test_graphviz_file_has_a_node_per_task_and_every_edge(report):
    cwd, trace, _ = report
    dot = (cwd / "graph.dot").read_text(encoding="utf-8")
    assert dot.startswith("digraph autofuture {")
    edges = {(int(a), int(b)) for a, b in re.findall(r"^  t(\d+) -> t(\d+);$", dot, re.M)}
    assert edges == dependencies(trace)
    assert len(re.findall(r"^  t\d+ \[label=", dot, re.M)) == 32
    assert 'label="<lambda>()\\npipeline.py:' in dot
    if shutil.which("dot") is None:
        return  # Graphviz itself is optional
    svg = subprocess.run(["dot", "-Tsvg", "graph.dot"], cwd=cwd, capture_output=True,
                         timeout=TIMEOUT, check=True)
    assert b"<svg" in svg.stdout


def test_a_failed_run_is_marked_and_a_bad_trace_is_refused(tmp_path):
    (tmp_path / "fails.py").write_text(textwrap.dedent("""\
        # autofuture
        def work(i):
            if i == 1:
                raise ValueError("bad")
            return i


        results = [work(i) for i in range(3)]
        print(results[0])
    """))
    run = autofuture(tmp_path, "-n", "2", "--keep-going", "--trace", "t.jsonl", "fails.py")
    assert run.returncode == 1
    made = autofuture(tmp_path, "report", "t.jsonl")
    assert made.returncode == 0 and "wrote t.html" in made.stdout
    page = (tmp_path / "t.html").read_text(encoding="utf-8")
    elements = Elements(page)
    assert len(elements.having("rect", "failed")) == 1
    assert elements.having("p", "bad")
    assert "Exited with status 1" in page
    (tmp_path / "junk.jsonl").write_text("not json\n")
    refused = autofuture(tmp_path, "report", "junk.jsonl")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "junk.jsonl" in refused.stderr and "Traceback" not in refused.stderr
    missing = autofuture(tmp_path, "report", "nope.jsonl")
    assert missing.returncode == 2 and "cannot read nope.jsonl" in missing.stderr


def test_large_runs_get_one_graph_node_per_call_site(tmp_path):
    trace = _fan_out_trace(tmp_path, 400)
    page = _report.render(trace)
    elements = Elements(page)
    nodes = elements.having("g", "node")
    assert len(nodes) == 2  # fan-out then gather: two call sites
    counts = {int(p["data-count"]) for p in elements.having("path", "edge")}
    assert counts == {399}
    assert len(elements.having("rect", "task")) == 400  # the timeline still has them all


def _fan_out_trace(tmp_path: Path, n: int) -> _trace.Trace:
    events = [{"event": "run", "format": 1, "script": "fan.py", "argv": ["fan.py"],
               "executor": "thread", "workers": 2, "time": 0.0}]
    for i in range(1, n):
        events += [
            {"event": "task", "id": i, "label": "part() at fan.py:5", "deps": [], "time": 0.0},
            {"event": "send", "ids": [i], "bytes": 100, "time": 0.01},
            {"event": "end", "id": i, "start": 0.01 * i, "end": 0.01 * i + 0.005,
             "worker": f"autofuture_{i % 2}", "ok": True, "bytes": 10, "time": 0.01 * i + 0.01},
        ]
    events += [{"event": "task", "id": n, "label": "gather() at fan.py:6",
                "deps": list(range(1, n)), "time": 0.0},
               {"event": "send", "ids": [n], "bytes": 100, "time": 0.01 * n},
               {"event": "end", "id": n, "start": 0.01 * n, "end": 0.01 * n + 0.01,
                "worker": "autofuture_0", "ok": True, "bytes": 10, "time": 0.01 * n + 0.02},
               {"event": "exit", "status": 0, "time": 0.01 * n + 0.05}]
    path = tmp_path / "fan.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return _trace.read(str(path))


# --------------------------------------------------------------------------- in a browser

CHECK = """
<script>
(function () {
  function shown(el) { var r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; }
  var rows = Array.from(document.querySelectorAll('svg.timeline g.worker-row'));
  var nodes = Array.from(document.querySelectorAll('svg.graph g.node'));
  var first = document.querySelector('svg.timeline rect.task');
  first.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  var id = first.getAttribute('data-task-id');
  var check = {
    rows: rows.map(function (row) {
      var bars = Array.from(row.querySelectorAll('rect.task'));
      return {worker: row.getAttribute('data-worker'), top: row.getBoundingClientRect().top,
              bars: bars.length, shown: bars.filter(shown).length};
    }),
    edges: Array.from(document.querySelectorAll('svg.graph path.edge')).map(function (p) {
      return [+p.getAttribute('data-from'), +p.getAttribute('data-to'), p.getTotalLength()];
    }),
    nodes: nodes.filter(shown).length,
    overflowing: nodes.filter(function (n) {
      var box = n.querySelector('rect').getBBox().width;
      return Array.from(n.querySelectorAll('text')).some(function (t) {
        return t.getComputedTextLength() + 8 > box; });
    }).length,
    highlighted: document.querySelectorAll('[data-task-id="' + id + '"].hl').length,
    slowest: document.querySelectorAll('#slowest tbody tr').length
  };
  document.body.setAttribute('data-check', JSON.stringify(check));
})();
</script>
"""


def chromium(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--hide-scrollbars", "--no-first-run", f"--user-data-dir={cwd / 'profile'}", *args],
        cwd=cwd, capture_output=True, timeout=TIMEOUT * 2)


@needs_chromium
def test_the_page_renders_in_chromium(report):
    cwd, trace, page = report
    checked = cwd / "checked.html"
    checked.write_text(page.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    done = chromium("--dump-dom", checked.as_uri(), cwd=cwd)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    match = re.search(rb'data-check="([^"]*)"', done.stdout)
    assert match, "the check script did not run:\n" + done.stdout.decode()[:2000]
    check = json.loads(html.unescape(match.group(1).decode()))
    rows = check["rows"]
    assert len(rows) == 2 == len({t.worker for t in trace.tasks.values()})
    assert len({row["top"] for row in rows}) == 2  # two rows, one above the other
    assert sum(row["bars"] for row in rows) == 32
    assert all(row["shown"] == row["bars"] for row in rows)  # every bar has an area
    edges = {(a, b) for a, b, _ in check["edges"]}
    assert edges == dependencies(trace)
    assert all(length > 10 for _, _, length in check["edges"])
    assert check["nodes"] == 32
    assert check["overflowing"] == 0  # every label fits in its box
    assert check["highlighted"] >= 2  # a click finds the task in the graph too
    assert check["slowest"] == 15


@needs_chromium
def test_screenshot_of_the_report(report):
    cwd, _, _ = report
    png = cwd / "report.png"
    done = chromium(f"--screenshot={png}", "--window-size=1300,1400",
                    (cwd / "report.html").as_uri(), cwd=cwd)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1300, 1400)
    assert len(data) > 60_000  # a blank or unstyled page compresses far smaller
    if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
        target = REPO / "docs" / "images" / "report.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)
