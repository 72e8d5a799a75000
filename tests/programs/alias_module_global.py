# autofuture
"""A module global mutated by a local helper it is not given, or appended to while a
slow task is pending, or by a method through another of its class's: a task that
reads the global, reads of it in the workflow, and an object whose __len__ reads it,
see the mutation in program order."""
import time

import autofuture

REGISTRY = []
SETTINGS = {"scale": 1}


def work(i):
    time.sleep(0.3)
    return i


def registered():
    return len(REGISTRY), sum(REGISTRY)


def scaled(x):
    return x * SETTINGS["scale"]


@autofuture.local
def register(v):
    REGISTRY.append(v)


@autofuture.local
def configure(scale):
    SETTINGS["scale"] = scale


class View:
    def __len__(self):
        return len(REGISTRY)


register(work(4))
print(registered(), len(REGISTRY), REGISTRY)
configure(work(10))
print(scaled(3), SETTINGS["scale"], SETTINGS)
view = View()
REGISTRY.append(work(5))
print(len(view), registered())


class Keeper:
    def keep(self, v):
        self._into(v)

    def _into(self, v):
        REGISTRY.append(v)


keeper = Keeper()
keeper.keep(work(6))
print(registered(), len(REGISTRY), REGISTRY[-1])
