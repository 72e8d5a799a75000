# autofuture
"""Concurrency probe for tests/test_concurrency.py: a loop over a list that prints
each result submits all its tasks at once (its output is timing, not compared).

Usage: loop_print.py RENDEZVOUS_DIR

A pending `print` writes its stream and nothing else, so the loop's next item
may be taken from the list before it has run: the four probes overlap. A
probe waits (bounded) for a second one to start, so a run that took each item
only after the previous step's print would not overlap.
"""
import os
import sys
import time

WAIT = 5.0


def probe(i, rendezvous):
    start = time.time()
    with open(os.path.join(rendezvous, f"started-{i}"), "w"):
        pass
    while len(os.listdir(rendezvous)) < 2 and time.time() < start + WAIT:
        time.sleep(0.01)
    time.sleep(0.2)
    return {"name": f"probe{i}", "start": start, "end": time.time()}


rendezvous = sys.argv[1]
items = [0, 1, 2, 3]
for i in items:
    record = probe(i, rendezvous)
    print(record)  # print changes its stream alone (json.dumps, a library's, could do more)
