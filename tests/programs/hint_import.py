# autofuture
"""`from module import misspelled` inside a task (from 3.12 Python suggests the name)."""


def load(name):
    from json import dumpz

    return dumpz(name)


print("start")
text = load("x")
print("never", text)
