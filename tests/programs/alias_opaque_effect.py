# autofuture
# A read through another name of what a pending local call changes, whose value an
# effect of a library's code is then given: it still waits for the local call.
import json
import sys
import time

import autofuture


def work(i):
    time.sleep(0.3)
    return i


def size(xs):
    return len(xs)


@autofuture.local
def fill(d, v):
    d["a"].append(v)


sys.stdout.write(f"{work(1)}\n")  # a library's code: it may change anything
data = {"a": []}
part = data["a"]
fill(data, work(2))
print(json.dumps([len(part), size(part), part, bool(part), 2 in part]))
