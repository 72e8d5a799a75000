# autofuture
"""A caught task error's own traceback points at the call site and at the task's lines,
including standard-library frames between them."""
import json
import os
import traceback

import autofuture


def encode(obj):
    return json.dumps(obj, default=refuse)


def refuse(value):
    raise TypeError(f"cannot encode {type(value).__name__}")


@autofuture.local
def frames(exc):
    return [(os.path.basename(f.filename), f.lineno, f.name) for f in traceback.extract_tb(exc.__traceback__)]


print(encode({"a": 1}))
try:
    text = encode({"b": object()})
    print("not reached", text)
except TypeError as e:
    print("caught:", e)
    print(frames(e))
