"""``autofuture report TRACE``: one self-contained HTML page about a traced run.

The page needs nothing but itself (inline CSS, SVG and a few lines of
script; no fonts, images or scripts from the network) so it can be mailed
or attached to a CI run. It shows:

- the figures: wall time, task time, utilisation (task time / (wall time x
  workers)), where the workers' idle time went, the driver's round trip;
- a timeline: one row per worker, one rectangle per task;
- the task graph, laid out in layers by dependency depth, with call-site
  labels (for large runs, one node per call site instead of per task);
- the slowest tasks, and time per function.

``--graph FILE.dot`` writes the task graph for Graphviz (``dot -Tsvg``).
"""

from __future__ import annotations

import argparse
import datetime
import html
import math
import statistics
import sys

from . import movement
from . import trace as _trace
from .runlog import size

#: The task graph shows one node per task up to this many tasks, and layers this wide.
GRAPH_TASK_LIMIT = 300
GRAPH_LAYER_LIMIT = 40

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
           "#9c755f", "#bab0ac", "#8cd17d", "#499894", "#d37295")
FAILED = "#e15759"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.1f} ms"
    if value < 120:
        return f"{value:.2f} s"
    return f"{value / 60:.1f} min"


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


class Analysis:
    """What the page shows, computed from a trace."""

    def __init__(self, trace: _trace.Trace) -> None:
        self.trace = trace
        self.tasks = list(trace.tasks.values())
        self.t0 = trace.start
        self.wall = max(trace.end - self.t0, 1e-9)
        self.ran = [t for t in self.tasks if t.duration is not None]
        self.busy = sum(t.duration for t in self.ran)
        self.pool = max(trace.workers, 1)
        by_worker: dict[str, list] = {}
        for task in sorted(self.ran, key=lambda t: t.start):
            by_worker.setdefault(task.worker, []).append(task)
        self.rows = by_worker  # in order of each worker's first task
        self.functions = {}
        for task in self.tasks:
            self.functions.setdefault((task.function, task.site), []).append(task)
        self.colours = {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(self.functions)}

    def colour(self, task) -> str:
        return self.colours[(task.function, task.site)]

    @property
    def utilisation(self) -> float:
        return self.busy / (self.wall * self.pool)

    def idle(self) -> dict:
        """Worker idle time: before each worker's first task, between tasks, after its last;
        pool workers that never ran a task count whole."""
        startup = gaps = tail = 0.0
        end = self.t0 + self.wall
        for tasks in self.rows.values():
            startup += max(0.0, tasks[0].start - self.t0)
            for before, after in zip(tasks, tasks[1:], strict=False):
                gaps += max(0.0, after.start - before.end)
            tail += max(0.0, end - max(t.end for t in tasks))
        unused = max(0, self.pool - len(self.rows)) * self.wall
        return {"startup": startup, "gaps": gaps, "tail": tail, "unused": unused}

    def round_trips(self) -> list[float]:
        """Per batch: from sending it to its last result arriving, less its tasks' time."""
        trips = []
        for sent, ids, _ in self.trace.batches:
            tasks = [self.trace.tasks.get(i) for i in ids]
            if sent is None or not tasks or any(t is None or t.received is None
                                                or t.duration is None for t in tasks):
                continue
            trips.append(max(t.received for t in tasks) - sent - sum(t.duration for t in tasks))
        return trips

    def first_start(self) -> float | None:
        return min((t.start for t in self.ran), default=None)


# -- the page ----------------------------------------------------------------------


def render(trace: _trace.Trace, source: str = "") -> str:
    """The whole HTML page for ``trace`` (``source`` names the trace file)."""
    a = Analysis(trace)
    head = trace.header
    title = f"autofuture report: {head.get('script', '?')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>{_e(head.get('script', '?'))}</h1>",
        f'<p class="sub">{_e(_run_line(trace, source))}</p></header>',
        _status(trace, a),
        _figures(trace, a),
        '<section id="timeline"><h2>Timeline</h2>',
        '<p class="note">One row per worker, one bar per task, from its start to its end on '
        "the worker. Hover for details; click to find the task in the graph.</p>",
        _timeline(a),
        "</section>",
        '<section id="graph"><h2>Task graph</h2>',
        _graph(a),
        "</section>",
        movement.section(a.tasks),
        '<section id="slowest"><h2>Slowest tasks</h2>',
        _slowest(a),
        "</section>",
        '<section id="functions"><h2>Time per call site</h2>',
        _per_function(a),
        "</section>",
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _run_line(trace: _trace.Trace, source: str) -> str:
    head = trace.header
    started = datetime.datetime.fromtimestamp(head.get("time", 0)).strftime("%Y-%m-%d %H:%M:%S")
    argv = " ".join(head.get("argv", []))
    return (f"{argv} · executor {head.get('executor', '?')}, {trace.workers} workers · "
            f"started {started} on {head.get('host', '?')} · autofuture "
            f"{head.get('autofuture', '?')}, Python {head.get('python', '?')}"
            + (f" · {source}" if source else ""))


def _status(trace: _trace.Trace, a: Analysis) -> str:
    outcomes: dict[str, int] = {}
    for task in a.tasks:
        outcomes[task.outcome] = outcomes.get(task.outcome, 0) + 1
    counts = ", ".join(f"{n} {name}" for name, n in sorted(outcomes.items()))
    if trace.complete:
        status = trace.exit.get("status")
        kind = "ok" if status == 0 else "bad"
        text = f"Exited with status {status}. {len(a.tasks)} tasks: {counts or 'none'}."
    else:
        kind = "bad"
        text = (f"Incomplete: the trace ends without the run's exit, so the run was killed or "
                f"crashed; this is what happened until then. {len(a.tasks)} tasks: "
                f"{counts or 'none'}.")
    if trace.problems:
        text += f" {len(trace.problems)} unreadable line(s) skipped."
    return f'<p class="status {kind}" id="status">{_e(text)}</p>'


def _figures(trace: _trace.Trace, a: Analysis) -> str:
    idle = a.idle()
    trips = a.round_trips()
    first = a.first_start()
    submits = [t.submit for t in a.tasks if t.submit is not None]
    bytes_in = sum(b for _, _, b in trace.batches)
    bytes_out = sum(t.bytes_out for t in a.tasks)
    batch_mean = (sum(len(ids) for _, ids, _ in trace.batches) / len(trace.batches)
                  if trace.batches else 0)
    capacity = a.wall * a.pool

    def share(seconds: float) -> str:
        return f"{_seconds(seconds)} ({_percent(seconds / capacity)})"

    rows = [
        ("Wall time", _seconds(a.wall), "from the start of the run to its exit"),
        ("Task time", _seconds(a.busy), f"the sum of {len(a.ran)} tasks' run times"),
        ("Workers", f"{a.pool}", f"{len(a.rows)} ran tasks"),
        ("Utilisation", _percent(a.utilisation), "task time / (wall time × workers)"),
        ("Idle before the first task", share(idle["startup"]),
         "summed over workers, with its share of wall time × workers: from the start of the "
         "run to each worker's first task (start-up, imports, the workflow reaching its "
         "first calls)"),
        ("Idle between tasks", share(idle["gaps"]),
         "waiting for inputs, or for the driver to send work"),
        ("Idle after the last task", share(idle["tail"]),
         "the rest of the workflow, shutting down"),
    ]
    if idle["unused"]:
        rows.append(("Idle: never used", share(idle["unused"]),
                     "workers of the pool that ran no task"))
    if trips:
        rows.append(("Driver round trip per batch", _seconds(statistics.median(trips)),
                     f"median over {len(trips)} batches of the time from sending a batch to its "
                     "results arriving, less its tasks' run time (serialization, transport, "
                     "waiting in the pool's queue)"))
    if first is not None and submits:
        rows.append(("First call to first start", _seconds(first - min(submits)),
                     "includes starting the workers"))
    rows.append(("Batches", f"{len(trace.batches)}", f"mean {batch_mean:.1f} tasks per batch"))
    rows.append(("Bytes sent / returned", f"{size(bytes_in)} / {size(bytes_out)}",
                 "functions and arguments out, results back"))
    body = "".join(f'<tr><th>{_e(name)}</th><td class="num">{_e(value)}</td>'
                   f'<td class="note">{_e(note)}</td></tr>' for name, value, note in rows)
    return f'<section id="figures"><h2>Figures</h2><table class="figures">{body}</table></section>'


# -- timeline ---------------------------------------------------------------------------

_LABEL_W, _PLOT_W, _ROW_H, _AXIS_H = 130, 1000, 24, 26


def _ticks(span: float, target: int = 8) -> list[float]:
    raw = span / target
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    count = int(span / step) + 1
    return [i * step for i in range(count)]


def _timeline(a: Analysis) -> str:
    if not a.rows:
        return '<p class="empty">No task ran, so there is nothing to draw.</p>'
    scale = _PLOT_W / a.wall
    height = _AXIS_H + _ROW_H * len(a.rows) + 4
    width = _LABEL_W + _PLOT_W + 20
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="timeline of {len(a.ran)} tasks on {len(a.rows)} workers">']
    for tick in _ticks(a.wall):
        x = _LABEL_W + tick * scale
        out.append(f'<line class="tick" x1="{x:.1f}" y1="{_AXIS_H - 6}" x2="{x:.1f}" '
                   f'y2="{height}"/><text class="axis" x="{x:.1f}" y="{_AXIS_H - 10}" '
                   f'text-anchor="middle">{_e(_axis_label(tick))}</text>')
    for row, (worker, tasks) in enumerate(a.rows.items()):
        y = _AXIS_H + row * _ROW_H
        out.append(f'<g class="worker-row" data-worker="{_e(worker)}">'
                   f'<rect class="lane" x="{_LABEL_W}" y="{y}" width="{_PLOT_W}" '
                   f'height="{_ROW_H - 2}"/>'
                   f'<text class="worker" x="{_LABEL_W - 8}" y="{y + _ROW_H / 2 + 3}" '
                   f'text-anchor="end">{_e(worker)}</text>')
        for task in tasks:
            x = _LABEL_W + (task.start - a.t0) * scale
            w = max(task.duration * scale, 1.5)
            failed = ' failed' if task.outcome != "ok" else ''
            out.append(
                f'<rect class="task{failed}" data-task-id="{task.id}" x="{x:.2f}" '
                f'y="{y + 2}" width="{w:.2f}" height="{_ROW_H - 6}" fill="{a.colour(task)}">'
                f"<title>{_e(_tooltip(task))}</title></rect>")
        out.append("</g>")
    out.append("</svg>")
    return "".join(out)


def _axis_label(seconds: float) -> str:
    return "0" if seconds == 0 else _seconds(seconds)


def _tooltip(task) -> str:
    lines = [f"#{task.id} {task.label}", f"outcome: {task.outcome}"]
    if task.duration is not None:
        lines.append(f"ran {_seconds(task.duration)} on {task.worker}")
    if task.submit is not None and task.start is not None:
        lines.append(f"called to start: {_seconds(task.start - task.submit)}")
    lines.append(f"in ~{size(task.bytes_in)}, out {size(task.bytes_out)}")
    if task.deps:
        lines.append("after " + ", ".join(f"#{d}" for d in task.deps))
    return "\n".join(lines)


# -- the task graph ------------------------------------------------------------------


def _layers(nodes: dict, preds: dict) -> dict:
    """Longest-path layer of each node (edges from lower ids only, so no cycles)."""
    layer = {}
    for node in nodes:
        layer[node] = 1 + max((layer[p] for p in preds.get(node, ()) if p in layer), default=-1)
    return layer


def graph_model(a: Analysis):
    """(per_task, nodes {key: (title, subtitle, colour, tooltip, failed)}, edges [(a, b, n)])."""
    tasks = a.trace.tasks
    preds = {t.id: [d for d in t.deps if d in tasks] for t in a.tasks}
    layer = _layers({t.id: t for t in a.tasks}, preds)
    widths: dict[int, int] = {}
    for value in layer.values():
        widths[value] = widths.get(value, 0) + 1
    per_task = len(tasks) <= GRAPH_TASK_LIMIT and max(widths.values(), default=0) \
        <= GRAPH_LAYER_LIMIT
    if per_task:
        nodes = {t.id: (f"{t.function}()", f"{t.site} · #{t.id}", a.colour(t), _tooltip(t),
                        t.outcome != "ok") for t in a.tasks}
        edges = [(d, t.id, 1) for t in a.tasks for d in preds[t.id]]
        return True, nodes, edges, layer
    sites: dict[tuple, list] = a.functions
    key_of = {t.id: (t.function, t.site) for t in a.tasks}
    index = {key: i for i, key in enumerate(sites)}
    nodes = {}
    for key, group in sites.items():
        total = sum(t.duration or 0 for t in group)
        failed = sum(t.outcome != "ok" for t in group)
        nodes[index[key]] = (f"{key[0]}() ×{len(group)}", key[1], a.colours[key],
                             f"{key[0]}() at {key[1]}: {len(group)} tasks, "
                             f"{_seconds(total)} in all, {failed} not ok", failed > 0)
    counts: dict[tuple, int] = {}
    for t in a.tasks:
        for d in preds[t.id]:
            edge = (index[key_of[d]], index[key_of[t.id]])
            counts[edge] = counts.get(edge, 0) + 1
    site_layer = {}
    for t in a.tasks:
        i = index[key_of[t.id]]
        site_layer[i] = min(site_layer.get(i, layer[t.id]), layer[t.id])
    return False, nodes, [(x, y, n) for (x, y), n in counts.items()], site_layer


_NODE_W, _NODE_H, _COL_W, _ROW_GAP = 150, 36, 192, 12
_FIT_WIDTH = 1800


def _graph(a: Analysis) -> str:
    if not a.tasks:
        return '<p class="empty">No tasks.</p>'
    per_task, nodes, edges, layer = graph_model(a)
    preds: dict = {}
    for x, y, _ in edges:
        preds.setdefault(y, []).append(x)
    columns: dict[int, list] = {}
    for key in nodes:
        columns.setdefault(layer[key], []).append(key)
    position: dict = {}
    for col in sorted(columns):
        keys = columns[col]
        if col:  # order by the mean row of the inputs, to keep edges short
            def centre(key, keys=keys):
                rows = [position[p][1] for p in preds.get(key, ()) if p in position]
                return sum(rows) / len(rows) if rows else keys.index(key)
            keys.sort(key=centre)
        for row, key in enumerate(keys):
            position[key] = (col, row)
    rows = max(len(k) for k in columns.values())
    width = len(columns) * _COL_W + 20
    height = rows * (_NODE_H + _ROW_GAP) + 20

    def box(key):
        col, row = position[key]
        offset = (rows - len(columns[col])) * (_NODE_H + _ROW_GAP) / 2
        return 10 + col * _COL_W, 10 + offset + row * (_NODE_H + _ROW_GAP)

    kind = "task" if per_task else "site"
    out = []
    if per_task:
        out.append(f'<p class="note">{len(nodes)} tasks and {len(edges)} dependencies, in '
                   "layers by depth: a task is to the right of every task whose result it "
                   "takes.</p>")
    else:
        out.append(f'<p class="note">{len(a.tasks)} tasks are too many to draw one by one: '
                   f"one node per call site ({len(nodes)}), an edge where a site's tasks take "
                   "results of another's, labelled with how many. <code>--graph FILE.dot</code> "
                   "writes every task for Graphviz.</p>")
    # A graph a little wider than the page shrinks to fit; a much wider one scrolls.
    fit = ' style="max-width: 100%; height: auto"' if width <= _FIT_WIDTH else ""
    out.append(f'<svg class="graph" data-kind="{kind}" xmlns="http://www.w3.org/2000/svg" '
               f'width="{width}" height="{height}" viewBox="0 0 {width} {height}"{fit}>'
               '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
               'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
               '<path d="M 0 0 L 10 5 L 0 10 z" fill="#777"/></marker></defs>')
    for x, y, n in edges:
        x1, y1 = box(x)
        x2, y2 = box(y)
        if x == y:  # a site whose tasks feed each other (a chain in a loop)
            d = (f"M {x1 + _NODE_W - 30} {y1} C {x1 + _NODE_W - 30} {y1 - 14}, "
                 f"{x1 + _NODE_W - 6} {y1 - 14}, {x1 + _NODE_W - 6} {y1}")
        else:
            sx, sy = x1 + _NODE_W, y1 + _NODE_H / 2
            ex, ey = x2, y2 + _NODE_H / 2
            bend = max(30, (ex - sx) / 2)
            d = f"M {sx} {sy} C {sx + bend} {sy}, {ex - bend} {ey}, {ex} {ey}"
        count = "" if per_task else f' data-count="{n}"'
        out.append(f'<path class="edge" data-from="{x}" data-to="{y}"{count} d="{d}" '
                   'marker-end="url(#arrow)"/>')
        if not per_task and n > 1 and x != y:
            out.append(f'<text class="edge-count" x="{(x1 + _NODE_W + x2) / 2:.0f}" '
                       f'y="{(y1 + y2) / 2 + _NODE_H / 2 - 4:.0f}">×{n}</text>')
    for key, (title, subtitle, colour, tooltip, failed) in nodes.items():
        x, y = box(key)
        attr = f'data-task-id="{key}"' if per_task else f'data-site="{_e(subtitle)}"'
        out.append(f'<g class="node{" failed" if failed else ""}" {attr} '
                   f'transform="translate({x},{y})"><title>{_e(tooltip)}</title>'
                   f'<rect width="{_NODE_W}" height="{_NODE_H}" rx="5" style="--c:{colour}"/>'
                   f'<text class="fn" x="8" y="15">{_e(_clip(title, 21))}</text>'
                   f'<text class="site" x="8" y="29">{_e(_clip(subtitle, 25))}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- tables -------------------------------------------------------------------------


def _slowest(a: Analysis, top: int = 15) -> str:
    tasks = sorted(a.ran, key=lambda t: t.duration, reverse=True)[:top]
    if not tasks:
        return '<p class="empty">No task ran.</p>'
    head = ("<tr><th>#</th><th>function</th><th>call site</th><th>worker</th>"
            '<th class="num">time</th><th class="num">waited</th><th class="num">in</th>'
            '<th class="num">out</th><th>outcome</th></tr>')
    rows = []
    for t in tasks:
        waited = t.start - t.submit if t.submit is not None else None
        rows.append(
            f'<tr data-task-id="{t.id}"><td>{t.id}</td><td><code>{_e(t.function)}()</code></td>'
            f"<td>{_e(t.site)}</td><td>{_e(t.worker)}</td>"
            f'<td class="num">{_seconds(t.duration)}</td><td class="num">{_seconds(waited)}</td>'
            f'<td class="num">{size(t.bytes_in)}</td><td class="num">{size(t.bytes_out)}</td>'
            f'<td class="{t.outcome.replace(" ", "-")}">{_e(t.outcome)}</td></tr>')
    return (f'<table class="tasks"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
            '<p class="note"><em>waited</em>: from the call to the start on a worker (inputs, '
            "batching, a free worker). <em>in</em> is the task's share of its batch's message."
            "</p>")


def _per_function(a: Analysis) -> str:
    rows = []
    for (function, site), group in sorted(
            a.functions.items(), key=lambda kv: -sum(t.duration or 0 for t in kv[1])):
        times = [t.duration for t in group if t.duration is not None]
        total = sum(times)
        bad = sum(t.outcome != "ok" for t in group)
        rows.append(
            f'<tr><td><span class="swatch" style="background:{a.colours[(function, site)]}">'
            f"</span><code>{_e(function)}()</code></td><td>{_e(site)}</td>"
            f'<td class="num">{len(group)}</td><td class="num">{_seconds(total)}</td>'
            f'<td class="num">{_seconds(total / len(times) if times else None)}</td>'
            f'<td class="num">{_seconds(max(times) if times else None)}</td>'
            f'<td class="num">{_percent(total / a.busy) if a.busy else "–"}</td>'
            f'<td class="num">{bad}</td></tr>')
    head = ('<tr><th>function</th><th>call site</th><th class="num">tasks</th>'
            '<th class="num">total</th><th class="num">mean</th><th class="num">max</th>'
            '<th class="num">share</th><th class="num">not ok</th></tr>')
    return f'<table class="sites"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


# -- Graphviz ----------------------------------------------------------------------


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot(trace: _trace.Trace) -> str:
    """The task graph in Graphviz's language: a node per task, an edge per dependency."""
    a = Analysis(trace)
    lines = ["digraph autofuture {", "  rankdir=LR;",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];']
    for t in a.tasks:
        label = "\\n".join(_dot_escape(part) for part in (
            f"{t.function}()", t.site, f"#{t.id} {_seconds(t.duration)}"))
        colour = FAILED if t.outcome != "ok" else a.colour(t)
        lines.append(f'  t{t.id} [label="{label}", fillcolor="{colour}40", color="{colour}", '
                     f'tooltip="{_dot_escape(t.label)}"];')
    for t in a.tasks:
        for d in t.deps:
            if d in trace.tasks:
                lines.append(f"  t{d} -> t{t.id};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- the command ---------------------------------------------------------------------


def command(argv: list[str]) -> int:
    """``autofuture report TRACE [-o report.html] [--graph FILE.dot]``."""
    parser = argparse.ArgumentParser(
        prog="autofuture report",
        description="Make a self-contained HTML page (timeline per worker, task graph, "
                    "slowest tasks, utilisation) from a trace written by --trace FILE.")
    parser.add_argument("trace", metavar="TRACE", help="a file written by --trace")
    parser.add_argument("-o", "--output", metavar="HTML",
                        help="where to write the page (default: TRACE with .html)")
    parser.add_argument("--graph", metavar="FILE.dot",
                        help="also write the task graph for Graphviz (dot -Tsvg FILE.dot)")
    args = parser.parse_args(argv)
    try:
        trace = _trace.read(args.trace)
    except _trace.TraceError as exc:
        print(f"autofuture report: {exc}", file=sys.stderr)
        return 2
    output = args.output or _default_output(args.trace)
    try:
        with open(output, "w", encoding="utf-8") as file:
            file.write(render(trace, source=args.trace))
        if args.graph:
            with open(args.graph, "w", encoding="utf-8") as file:
                file.write(dot(trace))
    except OSError as exc:
        print(f"autofuture report: cannot write {exc.filename}: {exc.strerror}",
              file=sys.stderr)
        return 2
    written = output + (f" and {args.graph}" if args.graph else "")
    state = "" if trace.complete else " (the run did not finish: a partial trace)"
    print(f"autofuture report: wrote {written} from {len(trace.tasks)} tasks{state}")
    return 0


def _default_output(trace_path: str) -> str:
    stem = trace_path[:-6] if trace_path.endswith(".jsonl") else trace_path
    return stem + ".html"


CSS = """
:root { color-scheme: light; --fg: #222; --muted: #666; --line: #ddd; --bg: #fff; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
       color: var(--fg); background: var(--bg); margin: 0 auto; padding: 18px 24px;
       max-width: 1240px; }
h1 { font-size: 22px; margin: 0; }
h2 { font-size: 17px; margin: 26px 0 6px; border-bottom: 1px solid var(--line);
     padding-bottom: 3px; }
.sub, .note { color: var(--muted); margin: 2px 0 8px; }
td.note { font-size: 12.5px; }
.status { padding: 8px 12px; border-radius: 5px; margin: 12px 0; }
.status.ok { background: #eaf5e6; border: 1px solid #b9dcb0; }
.status.bad { background: #fdeceb; border: 1px solid #f1b8b4; }
table { border-collapse: collapse; }
th, td { padding: 3px 10px; text-align: left; vertical-align: top; }
table.figures th { font-weight: 600; white-space: nowrap; }
table.tasks, table.sites { width: 100%; }
table.tasks thead th, table.sites thead th { border-bottom: 2px solid var(--line); }
table.tasks td, table.sites td { border-bottom: 1px solid #eee; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.failed, td.lost, td.not-run { color: #b3261e; font-weight: 600; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
          margin-right: 6px; }
code { font: 12.5px ui-monospace, "DejaVu Sans Mono", monospace; }
svg { display: block; overflow: visible; }
svg text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: #333; }
#graph, #timeline { overflow-x: auto; }
.lane { fill: #f5f6f8; }
.tick { stroke: #e3e3e3; }
text.axis { fill: #888; }
text.worker { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 10.5px; }
rect.task { stroke: #fff; stroke-width: 0.5; cursor: pointer; }
rect.task.failed { stroke: #b3261e; stroke-width: 2; }
.edge { fill: none; stroke: #999; stroke-width: 1.2; }
.edge-count { fill: #777; font-size: 10px; }
.node rect { fill: color-mix(in srgb, var(--c) 18%, white); stroke: var(--c);
             stroke-width: 1.5; cursor: pointer; }
.node.failed rect { stroke: #b3261e; stroke-width: 2.5; }
.node text.fn { font-weight: 600; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.node text.site { fill: #666; font-size: 10px; }
.hl rect, rect.hl { stroke: #111 !important; stroke-width: 3 !important; }
tr.hl td { background: #fff6cc; }
"""

SCRIPT = """
(function () {
  function mark(id) {
    document.querySelectorAll('.hl').forEach(function (el) { el.classList.remove('hl'); });
    document.querySelectorAll('[data-task-id="' + id + '"]').forEach(function (el) {
      el.classList.add('hl');
    });
  }
  document.querySelectorAll('[data-task-id]').forEach(function (el) {
    el.addEventListener('click', function () { mark(el.getAttribute('data-task-id')); });
  });
})();
"""
