"""``--progress``: a live bar of the run's tasks on stderr, drawn by tqdm.

    autofuture  45%|███▌  | 45/100 tasks [00:03<00:04, 13.20 tasks/s, running 4, queued 51, ...

``done/total`` counts the tasks called so far (the total grows as the
workflow goes on, so the ETA is for the work known so far); *running* are
tasks sent to workers without a result yet, *queued* are called but not
sent (waiting for their inputs or their batch), *failed* raised, lost
their worker, or could not run because an input failed.

tqdm, not rich: tqdm writes only the bar, to the one stream it is given,
and has no dependencies. rich's live display re-prints the program's
redirected output through its own console (wrapping long lines, decoding
escape codes), which would change the bytes the program writes.

The bar is drawn by a thread ten times a second, never on stdout. While it
is on screen, writes of the program to a *terminal* (its stdout or stderr)
first clear the bar's line, so the two do not mix; the program's bytes
pass through unchanged, and the bar comes back at the next line start.
Streams that are not terminals are not touched at all.
"""

from __future__ import annotations

import math
import os
import sys
import threading

#: Seconds between redraws: on a terminal, and (``--progress=always``) elsewhere.
TICK_TERMINAL = 0.1
TICK_FILE = 1.0

MODES = ("auto", "always", "never")


class Progress:
    """An observer that keeps the task counts and a thread that draws them."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.terminal = _isatty(stream)
        self.lock = threading.RLock()
        self.submitted = self.done = self.failed = 0
        self.in_flight: set[int] = set()  # sent, no result yet
        self.failed_ended: set[int] = set()  # counted at their end; their commit is not new
        self.at_line_start = True
        self.shown = True  # tqdm draws the bar as it is made
        self.closed = False
        self.bar = _bar_class()(
            total=0, file=stream, desc="autofuture", unit=" tasks", leave=True,
            mininterval=math.inf,  # drawn by our thread only, under our lock
            smoothing=0, ascii=None, **_width(stream, self.terminal),
            bar_format="{desc} {percentage:3.0f}%|{bar}| {n}/{total} tasks "
                       "[{elapsed}<{remaining}, {rate_noinv_fmt}{postfix}]",
        )
        self.bar.postfix = self._postfix()
        self.streams = []
        if self.terminal:
            self._wrap_terminal_streams()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="autofuture-progress",
                                       daemon=True)
        self.thread.start()

    # -- the observer (workflow thread) ---------------------------------------

    def __call__(self, event: dict) -> None:
        kind = event["event"]
        if kind == "task":
            self.submitted += 1
        elif kind == "send":
            self.in_flight.update(event["ids"])
        elif kind == "end":
            self.in_flight.discard(event["id"])
            if event["ok"]:
                self.done += 1
            else:
                self.failed += 1
                self.failed_ended.add(event["id"])
        elif kind == "commit" and event["failed"]:
            if event["id"] in self.failed_ended:
                self.failed_ended.discard(event["id"])
            else:  # never ran (a failed input), or its worker was lost
                self.in_flight.discard(event["id"])
                self.failed += 1

    def _postfix(self) -> str:
        running = len(self.in_flight)
        queued = max(0, self.submitted - self.done - self.failed - running)
        return f"running {running}, queued {queued}, failed {self.failed}"

    # -- drawing (the bar's thread) -------------------------------------------

    def _run(self) -> None:
        tick = TICK_TERMINAL if self.terminal else TICK_FILE
        while not self.stop.wait(tick):
            self.draw()

    def draw(self) -> None:
        with self.lock:
            if self.closed or not self.at_line_start:
                return
            self._update()
            self.bar.refresh(nolock=True)
            self.shown = True

    def _update(self) -> None:
        bar = self.bar
        bar.total = self.submitted
        bar.n = self.done + self.failed
        bar.postfix = self._postfix()

    def hide(self) -> None:
        """Clear the bar's line (before the program writes to the terminal), if it is there."""
        if self.shown and not self.closed:
            self.bar.clear(nolock=True)
            self.shown = False

    def close(self) -> None:
        """Draw the final counts, leave them on screen, and give the streams back."""
        self.stop.set()
        self.thread.join()
        with self.lock:
            if self.closed:
                return
            self.closed = True
            for name, wrapper in self.streams:
                if getattr(sys, name) is wrapper:
                    setattr(sys, name, wrapper.real)
            self._update()
            partial_line = not self.at_line_start
        if partial_line:  # the program left a line open: the bar goes below it
            self.stream.write("\n")
        self.bar.close()  # draws the final counts and leaves them (tqdm's own lock)

    def _wrap_terminal_streams(self) -> None:
        for name in ("stdout", "stderr"):
            real = getattr(sys, name)
            if _isatty(real):
                wrapper = _ClearingStream(real, self)
                setattr(sys, name, wrapper)
                self.streams.append((name, wrapper))


class _ClearingStream:
    """Stands in for a terminal stream: clears the bar before the program writes.

    Every other attribute is the real stream's (``buffer``, ``fileno``,
    ``isatty``, ``encoding``...), and the text is written as given.
    """

    def __init__(self, real, progress: Progress) -> None:
        self.real = real
        self.progress = progress

    def write(self, text):
        progress = self.progress
        with progress.lock:
            if progress.closed:
                return self.real.write(text)
            progress.hide()
            written = self.real.write(text)
            if text:
                progress.at_line_start = text.endswith("\n")
                if progress.at_line_start:
                    self.real.flush()  # on screen before the bar is drawn under it
            return written

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.real.flush()

    def __getattr__(self, name):
        return getattr(self.real, name)


def _bar_class():
    """tqdm without its monitor thread: our thread draws, and only it."""
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0

    return Bar


def _width(stream, terminal: bool) -> dict:
    """Follow the terminal's width as it changes, unless it reports none (a bare pty)."""
    if terminal:
        try:
            if os.get_terminal_size(stream.fileno()).columns > 0:
                return {"dynamic_ncols": True}
        except (OSError, ValueError, AttributeError):
            pass
    return {"ncols": 100, "nrows": 24}


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


def start(mode: str, stream=None) -> Progress | None:
    """A running bar for ``--progress=MODE``, or None when it is not wanted here.

    'auto' draws only when the stream (stderr) is a terminal; 'always' draws
    on whatever it is; 'never' never.
    """
    stream = sys.stderr if stream is None else stream
    if mode == "never" or (mode == "auto" and not _isatty(stream)):
        return None
    return Progress(stream)
