"""The workflow's side of results kept on workers: references, lineage, freeing.

A task result that stayed on its worker (see ``worker.store``) is, in the
workflow, a ``Held`` handle in its future's ``_af_value``. The handle points
at a ``Node``: where the value lives (a worker's address), how big it is, and
its lineage (the task's serialized function and arguments, and the nodes of
the held values it read), from which it can be made again when its worker is
lost.

- A future's value is *fetched* into the workflow only where the workflow
  needs it (``value_of``: a strict point, a local call, a lazy read in the
  workflow). From then on the workflow's copy is the value (an effect may
  mutate it), and the worker's copy is freed.
- A task that reads a held future is sent a reference (``worker.store.lookup``
  in its pickled arguments), and the message says where each referenced value
  is.
- A value no handle refers to any more is freed on its worker. Handles are
  counted per node on the workflow thread: ``Held.__del__`` (which may run on
  any thread) only queues the node on ``released``.
"""

from __future__ import annotations

import collections
import weakref

from ..worker import store

_NONE = object()

#: Nodes whose handles died, to be counted down on the workflow thread.
released: collections.deque = collections.deque()

#: While a task's arguments are pickled: the handles they reference (else None).
collecting: list | None = None


class Node:
    """One held result: where it is, how big, and how to make it again."""

    __slots__ = ("number", "label", "sent", "inputs", "address", "nbytes", "value", "users",
                 "waiters", "recomputing", "recomputes", "failed", "type_name", "__weakref__")

    def __init__(self, number, label, sent, inputs, address, nbytes, type_name=""):
        self.number = number
        self.label = label
        self.sent = sent  # ((token, function payload), task payload): the lineage
        self.inputs = inputs  # nodes of the held values the task read
        self.address = address  # the holder, or None when no worker has it
        self.nbytes = nbytes
        self.type_name = type_name
        self.value = _NONE  # the workflow's copy, once fetched
        self.users = 0  # live Held handles
        self.waiters: list = []  # entries waiting for a recompute
        self.recomputing = False
        self.recomputes = 0
        self.failed = None  # the exception when it could not be made again

    def available(self) -> bool:
        return self.value is not _NONE or self.address is not None


class Held:
    """A future's value that lives on a worker (or, once fetched, in the workflow)."""

    __slots__ = ("node", "owner", "pending", "__weakref__")

    def __init__(self, node: Node):
        self.node = node
        node.users += 1
        self.owner = None  # weakref to the future whose value this is
        self.pending = 0  # entries in flight that read it

    def __del__(self):
        released.append(self.node)

    def get(self):
        node = self.node
        if node.value is not _NONE:
            return node.value
        from . import current

        scheduler = current.scheduler
        if scheduler is None:
            raise RuntimeError(f"the value of {node.label} is on a worker of a run that ended")
        return scheduler.fetch_held(node)

    def reduce(self):
        node = self.node
        if node.value is not _NONE:
            return _identity, (node.value,)
        if collecting is None:  # pickled outside a task's arguments: the value itself
            return _identity, (self.get(),)
        collecting.append(self)
        return store.lookup, (node.number,)

    def sole_user(self) -> bool:
        """No future and no other pending task refers to this value: a task may take it."""
        return self.node.users == 1 and self.pending == 1 and (
            self.owner is None or self.owner() is None)

    def __repr__(self) -> str:
        node = self.node
        where = "in the workflow" if node.value is not _NONE else f"at {node.address}"
        return f"<held {node.type_name} of {node.nbytes} bytes {where}>"


def _identity(value):
    return value


def handle(node: Node, owner=None) -> Held:
    held = Held(node)
    if owner is not None:
        held.owner = weakref.ref(owner)
    return held


def value_of(value):
    """A future's ``_af_value`` as the workflow uses it: fetched if it is held."""
    return value.get() if type(value) is Held else value


def take_released() -> list:
    """Nodes no handle refers to any more (workflow thread): their data may be freed."""
    freed = []
    while released:
        node = released.popleft()
        node.users -= 1
        if node.users <= 0 and node.address is not None:
            freed.append(node)
    return freed
