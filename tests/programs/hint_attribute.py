# autofuture
"""An AttributeError raised in a task: Python's 'Did you mean' hint and the caret line."""


def shout(s):
    return s.uper()


print(shout.__name__)
loud = shout("hi")
print("never", loud)
