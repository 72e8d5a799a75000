"""Where the run's one scheduler is kept.

Futures, observers and rewritten code find the scheduler here, so that none
of them imports the scheduler's module, which imports them.
"""

from __future__ import annotations

import threading

#: The run's scheduler, or None between runs; read directly on hot paths.
scheduler = None
_lock = threading.Lock()
#: Empty until the process makes its first ``autofuture.Future`` (``Future.__init__``),
#: then ``[True]`` for good. While it is empty no future exists anywhere: rewritten
#: loops run their bodies as written (``language.plainloop``) and nothing is looked
#: through for futures (``values.find_futures``).
futures_made: list = []
#: ``[True]`` while no future was made since a loop's look found its body's values plain
#: (``runtime.plainbody.look``: its body then runs as written although futures exist).
#: A new future ends every such look (``end_looks``): the list is emptied and replaced.
looks: list = []


def get():
    return scheduler


def get_or_create(factory):
    """The scheduler, made by ``factory()`` if there is none yet (once, under a lock)."""
    global scheduler
    if scheduler is None:
        with _lock:
            if scheduler is None:
                scheduler = factory()
    return scheduler


def clear() -> None:
    global scheduler
    scheduler = None


def end_looks() -> None:
    """A future was made: no earlier look holds any more (later looks get a new list)."""
    global looks
    looks.clear()
    looks = []
