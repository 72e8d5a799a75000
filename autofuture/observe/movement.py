"""The report's data movement section: where results lived and what bytes moved.

With results kept on workers (issue 19), what crosses a process boundary is
what costs: a held result read by a task on another worker moves once; a
result the workflow reads is fetched into it; small results come back inline
with their task's reply. This section sums them from the trace and lists the
tasks that moved most, with where each result is at the end of the run.
"""

from __future__ import annotations

import html

from .runlog import size


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def section(tasks: list, top: int = 15) -> str:
    """The HTML of the section, for ``observe.report``."""
    held = sum(t.held for t in tasks)
    if not held and not any(t.fetched or t.read_held for t in tasks):
        return ('<section id="data"><h2>Data movement</h2><p class="empty">No result stayed '
                "on a worker: every result came back with its task (all were small, or the "
                "executor or --checkpoint keeps them in the workflow).</p></section>")
    inline = sum(t.bytes_out for t in tasks)
    fetched = sum(t.fetched for t in tasks)
    moved = sum(t.moved_in for t in tasks)
    local = sum(t.read_held - t.moved_in for t in tasks)
    recomputed = sum(t.recomputed for t in tasks)
    figures = [
        ("kept on workers", size(held), "results that stayed where they were computed"),
        ("read where they were", size(local), "held inputs a task found on its own worker"),
        ("moved between workers", size(moved), "held inputs a task fetched from another "
                                                 "worker"),
        ("to the workflow", size(inline + fetched),
         f"{size(inline)} in replies, {size(fetched)} fetched where the workflow needed them"),
    ]
    if recomputed:
        figures.append(("made again", str(recomputed), "results lost with their worker and "
                                                      "recomputed from their lineage"))
    rows = "".join(f"<tr><th>{_e(k)}</th><td class=\"num\">{_e(v)}</td><td>{_e(n)}</td></tr>"
                   for k, v, n in figures)
    busiest = sorted(tasks, key=lambda t: -(t.moved_in + t.fetched + t.held))[:top]
    lines = []
    for t in busiest:
        if not (t.moved_in or t.fetched or t.held or t.read_held):
            continue
        lines.append(
            f'<tr data-task-id="{t.id}"><td>{t.id}</td><td><code>{_e(t.function)}()</code></td>'
            f"<td>{_e(t.site)}</td><td>{_e(t.worker or '–')}</td>"
            f'<td class="num">{size(t.read_held)}</td><td class="num">{size(t.moved_in)}</td>'
            f'<td class="num">{size(t.held)}</td><td class="num">{size(t.fetched)}</td>'
            f"<td>{_e(t.lives or ('workflow' if t.bytes_out else '–'))}</td></tr>")
    head = ("<tr><th>#</th><th>function</th><th>call site</th><th>ran on</th>"
            '<th class="num">read</th><th class="num">moved in</th><th class="num">kept</th>'
            '<th class="num">fetched</th><th>its result at the end</th></tr>')
    return ('<section id="data"><h2>Data movement</h2>'
            f'<table class="figures"><tbody>{rows}</tbody></table>'
            f'<table class="tasks"><thead>{head}</thead><tbody>{"".join(lines)}</tbody></table>'
            '<p class="note"><em>read</em>: bytes of held results the task read; <em>moved '
            "in</em>: of those, from another worker; <em>kept</em>: its own result, left on its "
            "worker; <em>fetched</em>: brought into the workflow.</p></section>")
