# autofuture
"""Concurrency probe for tests/test_concurrency.py (its output is timing, not compared).

Usage: overlap.py RENDEZVOUS_DIR

Four independent `probe` tasks each record when and where they ran. Each
drops a marker in RENDEZVOUS_DIR and then waits, at most WAIT seconds, until
a second marker exists: with two or more tasks running at once their
intervals overlap; a sequential run just sits out the wait once. `after`
depends on two probes and records when it started.
"""
import json
import os
import sys
import threading
import time

WAIT = 5.0


def stamp(name, start):
    return {
        "name": name,
        "start": start,
        "end": time.time(),
        "pid": os.getpid(),
        "thread": threading.get_ident(),
    }


def probe(i, rendezvous):
    start = time.time()
    with open(os.path.join(rendezvous, f"started-{i}"), "w"):
        pass
    while len(os.listdir(rendezvous)) < 2 and time.time() < start + WAIT:
        time.sleep(0.01)
    time.sleep(0.2)
    return stamp(f"probe{i}", start)


def after(first, second):
    record = stamp("after", time.time())
    record["deps"] = [first["name"], second["name"]]
    return record


rendezvous = sys.argv[1]
probes = [probe(i, rendezvous) for i in range(4)]
dependent = after(probes[0], probes[1])
print(json.dumps({"workflow_pid": os.getpid(), "tasks": probes + [dependent]}))
