# autofuture
"""`with open(...)` writing a temporary file between tasks that produce and read it."""
import os
import tempfile


def produce(i):
    return f"line {i}"


def read_back(path):
    with open(path) as fh:
        return fh.read().splitlines()


lines = [produce(i) for i in range(3)]
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "out.txt")
    with open(path, "w") as fh:
        for line in lines:
            fh.write(f"{line}\n")
    print("written")
    print("read back", read_back(path))
    with open(path, "a") as fh:
        fh.write(produce(99) + "\n")
    print("appended", read_back(path))
    print(os.path.exists(path), os.path.getsize(path))
print("tmp dir removed")
