# autofuture
"""Concurrency probe for tests/test_concurrency.py: independent tasks run in parallel,
ahead of a pending local call (its output is timing, not compared).

Usage: pending_effect.py RENDEZVOUS_DIR

`note(gate)` is a local call that waits for the slow task `gate`, which waits (at most
WAIT seconds) until the four probes and `after` have dropped their markers in
RENDEZVOUS_DIR. While it is pending, the probes (given plain numbers) and `after`
(given two probes' results, which no effect has been given) read nothing it can
change, so they run at once: `gate` then ends early, and every one of them started
before it ended. A sequential run starts them after `gate` has sat out its wait: the
plain run is the control. `snapshot(log)` reads the list `note` appends to: it waits
for `note`, and sees its entry.
"""
import json
import os
import sys
import threading
import time

import autofuture

WAIT = 5.0
MARKERS = 5  # four probes and `after`


def stamp(name, start):
    return {
        "name": name,
        "start": start,
        "end": time.time(),
        "pid": os.getpid(),
        "thread": threading.get_ident(),
    }


def arrive(rendezvous, name):
    with open(os.path.join(rendezvous, f"started-{name}"), "w"):
        pass


def gate(rendezvous):
    start = time.time()
    while len(os.listdir(rendezvous)) < MARKERS and time.time() < start + WAIT:
        time.sleep(0.01)
    return stamp("gate", start)


def probe(i, rendezvous):
    start = time.time()
    arrive(rendezvous, f"probe{i}")
    while len(os.listdir(rendezvous)) < 2 and time.time() < start + WAIT:
        time.sleep(0.01)
    time.sleep(0.2)
    return stamp(f"probe{i}", start)


def after(first, second, rendezvous):
    start = time.time()
    arrive(rendezvous, "after")
    record = stamp("after", start)
    record["deps"] = [first["name"], second["name"]]
    return record


def snapshot(entries):
    return list(entries)


log = []


@autofuture.local
def note(record):
    log.append(record["name"])


rendezvous = sys.argv[1]
opened = gate(rendezvous)
note(opened)
first = probe(0, rendezvous)
second = probe(1, rendezvous)
third = probe(2, rendezvous)
fourth = probe(3, rendezvous)
dependent = after(first, second, rendezvous)
seen = snapshot(log)
print(json.dumps({"workflow_pid": os.getpid(), "gate": opened, "seen": seen,
                  "tasks": [first, second, third, fourth, dependent]}))
